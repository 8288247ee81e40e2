"""From a scorer to per-pair scores: score each unique completion once, map the scores back to the pairs, and
write or read the scores file (one row per pair: `id`, `chosen_score`, `rejected_score`, with the model's
identity and the dataset's fingerprint in the parquet metadata)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from social_rm.io import atomic_path
from social_rm.scorers import Completion, Scorer

METADATA_KEY = b"social_rm"


@dataclass
class Scores:
    ids: list[str]
    chosen: np.ndarray
    rejected: np.ndarray
    metadata: dict = field(default_factory=dict)  # {"model": {...}, "dataset": {...}}


def completions(ds: datasets.Dataset) -> tuple[list[Completion], np.ndarray, np.ndarray, list[str]]:
    """The unique completions of `ds`, and for each pair the index of its chosen and rejected completion.
    Pairs share responses (a BBQ item's three answers make five pairs), so each is scored once."""
    table = ds.with_format("arrow")[:]
    ids = table.column("id").to_pylist()
    index: dict[Completion, int] = {}
    chosen, rejected = np.empty(len(ids), np.int64), np.empty(len(ids), np.int64)
    for side, out in (("chosen", chosen), ("rejected", rejected)):
        for row, (prompt, response) in enumerate(
            zip(table.column("prompt").to_pylist(), table.column(side).to_pylist())
        ):
            completion = Completion(tuple((m["role"], m["content"]) for m in prompt), response[0]["content"])
            out[row] = index.setdefault(completion, len(index))
    return list(index), chosen, rejected, ids


def score_pairs(
    ds: datasets.Dataset, scorer: Scorer, chunk_size: int = 4096, progress: bool = True
) -> Scores:
    unique, chosen, rejected, ids = completions(ds)
    values = np.empty(len(unique), dtype=np.float64)
    with tqdm(
        total=len(unique), unit="completion", desc=f"scoring with {scorer.name}", disable=not progress
    ) as bar:
        for start in range(0, len(unique), chunk_size):
            batch = unique[start : start + chunk_size]
            values[start : start + len(batch)] = scorer.score(batch)
            bar.update(len(batch))
    return Scores(ids, values[chosen], values[rejected], {"model": scorer.identity()})


def write_scores(scores: Scores, path: Path) -> None:
    """Write the scores file atomically (a temporary file renamed into place)."""
    table = pa.table(
        {
            "id": pa.array(scores.ids, pa.string()),
            "chosen_score": pa.array(scores.chosen, pa.float64()),
            "rejected_score": pa.array(scores.rejected, pa.float64()),
        }
    ).replace_schema_metadata({METADATA_KEY: json.dumps(scores.metadata, sort_keys=True)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_scores(path: Path) -> Scores:
    """Read a scores file (parquet, or CSV/JSONL with the same columns)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scores file {path} does not exist")
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    elif path.suffix in (".jsonl", ".json"):
        table = pa.Table.from_pylist(
            [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        )
    elif path.suffix == ".csv":
        import pyarrow.csv

        table = pyarrow.csv.read_csv(path)
    else:
        raise ValueError(f"scores file {path}: expected .parquet, .jsonl or .csv")
    missing = {"id", "chosen_score", "rejected_score"} - set(table.column_names)
    if missing:
        raise ValueError(f"scores file {path}: missing columns {sorted(missing)} (has {table.column_names})")
    metadata = json.loads((table.schema.metadata or {}).get(METADATA_KEY, b"{}"))
    columns = {}
    for name in ("chosen_score", "rejected_score"):
        values = table.column(name).to_pylist()
        bad = next((i for i, v in enumerate(values) if not isinstance(v, (int, float))), None)
        if bad is not None:
            raise ValueError(f"scores file {path} row {bad}: {name!r} must be a number (got {values[bad]!r})")
        columns[name] = np.asarray(values, dtype=np.float64)
    return Scores(
        [str(i) for i in table.column("id").to_pylist()],
        columns["chosen_score"],
        columns["rejected_score"],
        metadata,
    )
