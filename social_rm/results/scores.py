"""The scores file: one row per pair (`id`, `chosen_score`, `rejected_score`), with the model's identity and the
dataset's identity in its metadata. Parquet is what the runner writes; JSON Lines, a JSON array and CSV with the
same columns are read alike.

    scores = read_scores("out/scores/rm.parquet"); chosen, rejected = align(pairs, scores)
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from social_rm.errors import SocialRMError
from social_rm.io import atomic_path

METADATA_KEY = b"social_rm"
# beyond this, differences and squares of scores overflow float64 (the metric's and the diagnostics' arithmetic)
LARGEST_SCORE = 1e150
COLUMNS = ("id", "chosen_score", "rejected_score")
UNPARSED = "n_unparsed"  # optional: a generative judge's unparsed verdicts per pair
FORMATS = (".parquet", ".jsonl", ".json", ".csv")


class ScoresFileError(SocialRMError, ValueError):
    """A scores file that cannot be read, or whose values or ids do not fit the dataset."""


@dataclass
class Scores:
    ids: list[str]
    chosen: np.ndarray
    rejected: np.ndarray
    metadata: dict = field(default_factory=dict)  # {"model": {...}, "dataset": {...}}
    # a generative judge's: per pair, the verdicts it could not parse (the `n_unparsed` column)
    unparsed: np.ndarray | None = None
    generations: list[dict] | None = None  # its replies, written beside the scores (`generations_path`)


def generations_path(scores_path: Path) -> Path:
    """Where a generative judge's replies are written: beside the scores file, `NAME.generations.jsonl`."""
    return Path(scores_path).with_suffix(".generations.jsonl")


def write_generations(records: list[dict], path: Path) -> None:
    """The replies as JSON Lines (pair id, order, prompt hash, text, parsed verdict), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_scores(scores: Scores, path: Path) -> None:
    """Write the scores file atomically (a temporary file renamed into place)."""
    columns = {
        "id": pa.array(scores.ids, pa.string()),
        "chosen_score": pa.array(scores.chosen, pa.float64()),
        "rejected_score": pa.array(scores.rejected, pa.float64()),
    }
    if scores.unparsed is not None:
        columns[UNPARSED] = pa.array(scores.unparsed, pa.int64())
    table = pa.table(columns).replace_schema_metadata(
        {METADATA_KEY: json.dumps(scores.metadata, sort_keys=True)}
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _read_rows(path: Path) -> tuple[list[dict], dict]:
    """The file's rows as dicts (every format) and its metadata (parquet only)."""
    if path.suffix == ".parquet":
        try:
            _unique_columns(path, pq.read_schema(path).names)
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as error:
            problem = " ".join(str(error).split())
            raise ScoresFileError(f"scores file {path}: not a readable parquet file ({problem})") from None
        try:
            metadata = json.loads((table.schema.metadata or {}).get(METADATA_KEY, b"{}"))
        except ValueError as error:
            raise ScoresFileError(
                f"scores file {path}: its social_rm metadata is not JSON ({error})"
            ) from None
        if not isinstance(metadata, dict):
            raise ScoresFileError(f"scores file {path}: its social_rm metadata is not a JSON object")
        return table.to_pylist(), metadata
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ScoresFileError(f"scores file {path}: not UTF-8 text ({error})") from None
    if not text.strip():
        raise ScoresFileError(f"scores file {path} is empty")
    if path.suffix == ".csv":
        import csv
        import io

        _unique_columns(path, next(csv.reader(io.StringIO(text)), []))
        rows = list(csv.DictReader(io.StringIO(text)))
        for row in rows:  # CSV has no types: numbers are parsed here, anything else stays text and is refused
            for column in ("chosen_score", "rejected_score"):
                with contextlib.suppress(TypeError, ValueError, KeyError):
                    row[column] = float(row[column])
        return rows, {}
    if path.suffix == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as error:  # broken, or an integer of over 4,300 digits
            raise ScoresFileError(f"scores file {path}: broken JSON ({error})") from None
        return rows, {}
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as error:  # broken, or an integer of over 4,300 digits
            raise ScoresFileError(
                f"scores file {path} line {number}: broken JSON Lines ({getattr(error, 'msg', error)})"
            ) from None
    return rows, {}


def _unique_columns(path: Path, names: list[str]) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ScoresFileError(f"scores file {path}: column {repeated[0]!r} appears more than once")


def read_scores(path: Path) -> Scores:
    """Read a scores file (.parquet, .jsonl, .json as JSON Lines or one array, .csv). Every bad value is refused
    with the file, its own row (0-based), the pair id, the column and the value."""
    path = Path(path)
    if path.is_dir():
        raise ScoresFileError(f"scores file {path} is a folder, not a file")
    if not path.is_file():
        raise ScoresFileError(f"scores file {path} does not exist")
    if path.suffix not in FORMATS:
        raise ScoresFileError(
            f"scores file {path}: expected one of {', '.join(FORMATS)} (got {path.suffix!r})"
        )
    rows, metadata = _read_rows(path)
    if not rows:
        raise ScoresFileError(f"scores file {path} has no rows")
    ids, values = [], {"chosen_score": [], "rejected_score": []}
    unparsed = [] if isinstance(rows[0], dict) and UNPARSED in rows[0] else None
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ScoresFileError(
                f"scores file {path} row {i}: expected an object with {list(COLUMNS)} (got {row!r})"
            )
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise ScoresFileError(
                f"scores file {path} row {i}: missing columns {missing} (has {sorted(row)})"
            )
        pair_id = row["id"]
        if not isinstance(pair_id, str) or not pair_id:
            raise ScoresFileError(
                f"scores file {path} row {i}: 'id' must be a non-empty string (got {pair_id!r})"
            )
        for column, out in values.items():
            value = row[column]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ScoresFileError(
                    f"scores file {path} row {i} (id={pair_id!r}): {column!r} must be a number (got {value!r})"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise ScoresFileError(
                    f"scores file {path} row {i} (id={pair_id!r}): {column!r} must be finite (got {value!r})"
                )
            if abs(value) > LARGEST_SCORE:  # exact for integers of any size
                shown = (
                    repr(value) if len(str(value)) < 40 else f"an integer of {len(str(abs(value)))} digits"
                )
                raise ScoresFileError(
                    f"scores file {path} row {i} (id={pair_id!r}): {column!r} is {shown}, beyond the largest "
                    f"score the metric takes ({LARGEST_SCORE:g}): rescale the scores"
                )
            out.append(value)
        if unparsed is not None:
            count = row.get(UNPARSED)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ScoresFileError(
                    f"scores file {path} row {i} (id={pair_id!r}): {UNPARSED!r} must be a count of verdicts, "
                    f"0 or more (got {count!r})"
                )
            unparsed.append(count)
        ids.append(pair_id)
    return Scores(
        ids,
        np.asarray(values["chosen_score"], np.float64),
        np.asarray(values["rejected_score"], np.float64),
        metadata,
        None if unparsed is None else np.asarray(unparsed, np.int64),
    )


def align(
    ids: list[str], scores: Scores, source: str = "scores file", subset: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The chosen and rejected scores in the order of the dataset's pair `ids`. Refuses a scores file whose ids
    are not exactly the dataset's (with `subset`, a superset of them: the whole dataset's scores evaluated on one
    config), with both counts."""
    position = {pair_id: i for i, pair_id in enumerate(scores.ids)}
    if len(position) != len(scores.ids):
        seen: set[str] = set()
        row, duplicate = next((r, i) for r, i in enumerate(scores.ids) if i in seen or seen.add(i))
        raise ScoresFileError(f"{source} row {row}: pair id {duplicate!r} is scored more than once")
    missing = [i for i in ids if i not in position]
    extra = set(position) - set(ids)
    if missing or (extra and not subset):
        raise ScoresFileError(
            f"{source} does not match the dataset: the dataset has {len(ids):,} pairs, the scores "
            f"{len(scores.ids):,}; {len(missing):,} dataset ids have no score"
            + (f" (e.g. {missing[0]!r})" if missing else "")
            + f", {len(extra):,} scored ids are not in the dataset"
            + (f" (e.g. {sorted(extra)[0]!r})" if extra else "")
        )
    order = np.fromiter((position[i] for i in ids), dtype=np.int64, count=len(ids))
    return scores.chosen[order], scores.rejected[order]
