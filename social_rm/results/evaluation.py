"""Scores + social-pairs -> the social_rm result, and the results JSON that records how it was made."""

from __future__ import annotations

import json
import logging
import platform
import sys
from importlib import metadata
from pathlib import Path

import datasets
from tqdm.auto import tqdm

from social_rm.data import DatasetError, DatasetRef, columns, pair_ids
from social_rm.errors import SocialRMError
from social_rm.io import atomic_path
from social_rm.metric import SCRIPT as METRIC_SCRIPT
from social_rm.results.scores import Scores, align

logger = logging.getLogger(__name__)


class MetricInputError(SocialRMError, ValueError):
    """Scores or pairs the metric refuses (its own `ValueError`, raised again with the scores file named)."""


def load_metric():
    """The social_rm evaluate module shipped in this package (in a checkout: metric/social_rm)."""
    import evaluate

    return evaluate.load(str(METRIC_SCRIPT))


def check_same_dataset(scores: Scores, ref: DatasetRef, source: str, allow_other: bool = False) -> None:
    """Refuse scores whose recorded dataset fingerprint is not `ref`'s (`allow_other` lets them through)."""
    recorded = scores.metadata.get("dataset", {}).get("fingerprint")
    if recorded and recorded != ref.fingerprint and not allow_other:
        raise DatasetError(
            f"{source} was computed on another build of the dataset (fingerprint {recorded[:16]}), not "
            f"{ref.path} (fingerprint {ref.fingerprint[:16]}): score this dataset, or pass --allow-other-dataset"
        )


def compute(
    ds: datasets.Dataset,
    scores: Scores,
    n_bootstrap: int = 1000,
    seed: int = 0,
    metric=None,
    source: str = "scores file",
) -> dict:
    """The social_rm result of `scores` on `ds` (the metric through `evaluate`)."""
    chosen, rejected = align(pair_ids(ds), scores, source)
    return _metric(ds, chosen, rejected, n_bootstrap, seed, metric, source)


def _metric(ds, chosen, rejected, n_bootstrap, seed, metric, source) -> dict:
    metric = metric or load_metric()
    try:
        return metric.compute(
            chosen_scores=chosen, rejected_scores=rejected, n_bootstrap=n_bootstrap, seed=seed, **columns(ds)
        )
    except ValueError as error:
        raise MetricInputError(f"{source}: {error}") from None


def evaluate_scores(
    ds: datasets.Dataset,
    ref: DatasetRef,
    scores: Scores,
    n_bootstrap: int = 1000,
    seed: int = 0,
    metric=None,
    source: str = "scores file",
    allow_other_dataset: bool = False,
    progress: bool = True,
    generations: Path | None = None,
) -> dict:
    """The results document of `scores` on `ds`: the metric's result, the diagnostics and how they were made.
    Scores recorded for another build of the dataset are refused unless `allow_other_dataset`. A generative
    judge's `generations` file (beside its scores) lends the document a few replies per source."""
    from social_rm.results.diagnostics import diagnostics
    from social_rm.results.judge import judge_summary

    check_same_dataset(scores, ref, source, allow_other_dataset)
    sample = scores.metadata.get("sample")
    if sample:  # scores of a sample of items (score --sample): the metric on those pairs
        scored = set(scores.ids)
        ds = ds.select([i for i, pair_id in enumerate(pair_ids(ds)) if pair_id in scored])
        logger.info(f"{source} scores a sample of {sample.get('n_items')} items: the figures are estimates")
    chosen, rejected = align(pair_ids(ds), scores, source, subset=True)
    bar = tqdm(total=2, desc="evaluating: the metric", unit="step", disable=not progress)
    result = _metric(ds, chosen, rejected, n_bootstrap, seed, metric, source)
    bar.update()
    bar.set_description("evaluating: the diagnostics")
    model = scores.metadata.get("model", {})
    document = results_document(result, scores, ref, n_bootstrap, seed, allow_other_dataset)
    if len(scores.ids) > len(ds):  # e.g. scores of the whole dataset, evaluated on one config
        document["dataset"]["subset_of_scores"] = {
            "n_scored": len(scores.ids),
            "config": scores.metadata.get("dataset", {}).get("config"),
        }
        logger.info(
            f"evaluating the {len(ds):,} pairs of config {ref.config!r} out of the {len(scores.ids):,} in {source}"
        )
    if sample:
        document["sample"] = sample
    if scores.unparsed is not None:
        document["judge"] = judge_summary(ds, scores, generations)
    document["diagnostics"] = diagnostics(
        ds, chosen, rejected, model.get("kind"), n_bootstrap, seed, model.get("bradley_terry")
    )
    bar.update()
    bar.close()
    return document


def versions() -> dict:
    out = {"python": platform.python_version()}
    for package in ("social-rm", "datasets", "evaluate", "numpy", "pyarrow", "torch", "transformers"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out


def results_document(
    result: dict, scores: Scores, ref: DatasetRef, n_bootstrap: int, seed: int, other_dataset: bool = False
) -> dict:
    """The results JSON: the metric's output next to the command, versions, model and dataset (with the
    scores' own dataset where `--allow-other-dataset` let a different one through)."""
    dataset = ref.to_dict()
    dataset["n_pairs"] = result["n_pairs"]
    if other_dataset:
        dataset["scores_dataset"] = scores.metadata.get("dataset", {})
    return {
        "results": result,
        "model": scores.metadata.get("model", {}),
        "dataset": dataset,
        "metric": {"name": "social_rm", "n_bootstrap": n_bootstrap, "seed": seed},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "versions": versions(),
    }


def write_json(document: dict, path: Path) -> None:
    """Write JSON (indent 2, sorted keys) atomically; never a bare NaN or Infinity, which JSON does not have."""
    try:
        text = json.dumps(document, indent=2, sort_keys=True, allow_nan=False)
    except ValueError as error:
        raise SocialRMError(f"{path}: not written: {error} (a figure is NaN or infinite)") from None
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
