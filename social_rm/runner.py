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

from social_rm.cache import ScoreCache
from social_rm.io import atomic_path
from social_rm.scorers import Completion, PairUnit, Scorer

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
    prompts, chosen, rejected, ids = _columns(ds)
    index: dict[Completion, int] = {}
    sides = []
    for responses in (chosen, rejected):
        sides.append(
            np.fromiter(
                (index.setdefault(Completion(p, r), len(index)) for p, r in zip(prompts, responses)),
                np.int64,
                len(ids),
            )
        )
    return list(index), sides[0], sides[1], ids


def pair_units(ds: datasets.Dataset) -> tuple[list[PairUnit], np.ndarray, list[str]]:
    """The unique (prompt, chosen, rejected) triples of `ds` and each pair's index among them."""
    prompts, chosen, rejected, ids = _columns(ds)
    index: dict[PairUnit, int] = {}
    where = np.fromiter(
        (index.setdefault(PairUnit(*t), len(index)) for t in zip(prompts, chosen, rejected)),
        np.int64,
        len(ids),
    )
    return list(index), where, ids


def _columns(ds: datasets.Dataset):
    table = ds.with_format("arrow")[:]
    prompts = [tuple((m["role"], m["content"]) for m in p) for p in table.column("prompt").to_pylist()]
    chosen = [r[0]["content"] for r in table.column("chosen").to_pylist()]
    rejected = [r[0]["content"] for r in table.column("rejected").to_pylist()]
    return prompts, chosen, rejected, table.column("id").to_pylist()


def score_units(
    units: list, scorer: Scorer, cache: ScoreCache | None = None, progress: bool = True, log=print
) -> np.ndarray:
    """Score every unit once: read what `cache` has, score the rest batch by batch (committing each batch to
    the cache as it comes), sharded over processes when launched with `accelerate launch`."""
    keys = [u.key() for u in units]
    values = np.full(len(units), np.nan)
    known = cache.get(keys) if cache is not None else {}
    for i, key in enumerate(keys):
        if key in known:
            values[i] = known[key]
    todo = np.flatnonzero(np.isnan(values)).tolist()
    state = _distributed_state()
    if state and cache is None:
        raise ValueError("several processes gather their scores through the score cache: drop --no-cache")
    mine = todo[state.process_index :: state.num_processes] if state else todo
    if known:
        log(f"{len(known):,} of {len(units):,} {scorer.unit}s already scored in {cache.path}")
    with tqdm(
        total=len(mine),
        unit=scorer.unit,
        desc=f"scoring with {scorer.name}",
        disable=not progress or not mine,
    ) as bar:
        for batch, scores in scorer.score_stream([units[i] for i in mine]) if mine else ():
            indices = [mine[b] for b in batch]
            values[indices] = scores
            if cache is not None:
                cache.put((keys[i], float(v)) for i, v in zip(indices, scores))
            bar.update(len(batch))
    if state and state.num_processes > 1:
        state.wait_for_everyone()  # every shard is in the cache now
        found = cache.get(keys)
        values = np.array([found[k] for k in keys], dtype=np.float64)
    return values


def _distributed_state():
    """accelerate's PartialState when launched with several processes, else None."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    from accelerate import PartialState

    return PartialState()


def score_pairs(
    ds: datasets.Dataset, scorer: Scorer, cache: ScoreCache | None = None, progress: bool = True, log=print
) -> Scores:
    """Per-pair scores for `ds`. Completion scorers score each unique completion once and map the scores back;
    a pair scorer's score p for a pair gives chosen p and rejected 1 - p."""
    if scorer.unit == "pair":
        units, where, ids = pair_units(ds)
        values = score_units(units, scorer, cache, progress, log)
        chosen, rejected = values[where], 1 - values[where]
    else:
        units, chosen_at, rejected_at, ids = completions(ds)
        values = score_units(units, scorer, cache, progress, log)
        chosen, rejected = values[chosen_at], values[rejected_at]
    return Scores(
        ids, chosen, rejected, {"model": scorer.identity(), "truncated": getattr(scorer, "truncated", 0)}
    )


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
