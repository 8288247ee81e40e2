"""Scores + social-pairs -> the social_rm result, and the results JSON that records how it was made."""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path

import datasets
import numpy as np

from social_rm.data import PAIR_COLUMNS, columns
from social_rm.io import atomic_path
from social_rm.runner import Scores

METRIC_DIR = Path(__file__).resolve().parent.parent / "metric" / "social_rm"


def load_metric():
    """The social_rm evaluate module from this checkout (`evaluate.load("metric/social_rm")`)."""
    import evaluate

    return evaluate.load(str(METRIC_DIR))


def align(ds: datasets.Dataset, scores: Scores, source: str = "scores file") -> tuple[np.ndarray, np.ndarray]:
    """The chosen and rejected scores in the dataset's row order. Refuses a scores file whose ids are not
    exactly the dataset's, with both counts."""
    ids = ds.with_format("arrow")[:].column("id").to_pylist()
    position = {pair_id: i for i, pair_id in enumerate(scores.ids)}
    if len(position) != len(scores.ids):
        seen: set[str] = set()
        duplicate = next(i for i in scores.ids if i in seen or seen.add(i))
        raise ValueError(f"{source}: pair id {duplicate!r} is scored more than once")
    missing = [i for i in ids if i not in position]
    extra = set(position) - set(ids)
    if missing or extra:
        raise ValueError(
            f"{source} does not match the dataset: the dataset has {len(ids):,} pairs, the scores "
            f"{len(scores.ids):,}; {len(missing):,} dataset ids have no score"
            + (f" (e.g. {missing[0]!r})" if missing else "")
            + f", {len(extra):,} scored ids are not in the dataset"
            + (f" (e.g. {sorted(extra)[0]!r})" if extra else "")
        )
    order = np.fromiter((position[i] for i in ids), dtype=np.int64, count=len(ids))
    return scores.chosen[order], scores.rejected[order]


def compute(
    ds: datasets.Dataset, scores: Scores, n_bootstrap: int = 1000, seed: int = 0, metric=None
) -> dict:
    chosen, rejected = align(ds, scores)
    metric = metric or load_metric()
    return metric.compute(
        chosen_scores=chosen.tolist(),
        rejected_scores=rejected.tolist(),
        n_bootstrap=n_bootstrap,
        seed=seed,
        **columns(ds, PAIR_COLUMNS),
    )


def versions() -> dict:
    out = {"python": platform.python_version()}
    for package in ("social-rm", "datasets", "evaluate", "numpy", "pyarrow", "torch", "transformers"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out


def results_document(result: dict, scores: Scores, dataset: dict, n_bootstrap: int, seed: int) -> dict:
    """The results JSON: the metric's output next to the command, versions, model and dataset."""
    return {
        "results": result,
        "model": scores.metadata.get("model", {}),
        "dataset": dataset,
        "metric": {"name": "social_rm", "n_bootstrap": n_bootstrap, "seed": seed},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "versions": versions(),
    }


def write_json(document: dict, path: Path) -> None:
    """Write JSON (indent 2, sorted keys) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
