"""Leaderboard submissions: validate a results file and its per-pair scores against the published social-pairs,
then open a pull request on the results dataset repo (`--dry-run DIR` writes it locally instead).

Validation never executes anything from the submitter: it reads JSON, parquet and the model card's YAML with
safe loaders, and recomputes every figure from the scores.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import yaml

from social_rm.data import fingerprint, load_pairs
from social_rm.evaluation import align, compute
from social_rm.runner import read_scores

MODEL_FIELDS = ("name", "kind", "parameters", "license", "link")  # the model card's YAML front matter


class SubmissionError(ValueError):
    """A submission that does not validate; the message says which part and why."""


def read_model_card(path: Path) -> tuple[dict, str]:
    text = Path(path).read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    meta = yaml.safe_load(match.group(1)) if match else None
    if not isinstance(meta, dict):
        raise SubmissionError(f"{path}: the model card needs YAML front matter with {list(MODEL_FIELDS)}")
    missing = [f for f in MODEL_FIELDS if meta.get(f) in (None, "")]
    if missing:
        raise SubmissionError(f"{path}: the model card's front matter lacks {missing}")
    return meta, text


def _compare(claimed, recomputed, where: str) -> None:
    """Every number in `claimed` must equal the recomputed one (1e-9), recursively."""
    if isinstance(recomputed, dict):
        if not isinstance(claimed, dict) or set(claimed) != set(recomputed):
            raise SubmissionError(f"results.json: {where or 'results'} does not have the metric's keys")
        for key in recomputed:
            _compare(claimed[key], recomputed[key], f"{where}.{key}" if where else key)
    elif isinstance(recomputed, list):
        if not isinstance(claimed, list) or len(claimed) != len(recomputed):
            raise SubmissionError(
                f"results.json: figure {where!r} is {claimed!r} but the scores give {recomputed!r}"
            )
        for i, (a, b) in enumerate(zip(claimed, recomputed)):
            _compare(a, b, f"{where}[{i}]")
    elif recomputed is None or isinstance(recomputed, str):
        if claimed != recomputed:
            raise SubmissionError(
                f"results.json: figure {where!r} is {claimed!r} but the scores give {recomputed!r}"
            )
    elif not isinstance(claimed, (int, float)) or not math.isclose(
        claimed, recomputed, rel_tol=1e-9, abs_tol=1e-12
    ):
        raise SubmissionError(
            f"results.json: figure {where!r} is {claimed!r} but the scores give {recomputed!r}"
        )


def validate(results_path: Path, scores_path: Path, card_path: Path, dataset: str | Path) -> dict:
    """Check a submission against the published dataset; returns its model metadata."""
    try:
        document = json.loads(Path(results_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SubmissionError(f"{results_path}: not readable JSON ({error})") from error
    for key in ("results", "dataset", "metric", "model"):
        if key not in document:
            raise SubmissionError(f"{results_path}: missing {key!r} (write it with `social-rm evaluate`)")
    meta, _ = read_model_card(card_path)
    published = fingerprint(dataset)
    scores = read_scores(scores_path)
    for what, info in (
        ("results.json", document["dataset"]),
        ("the scores file", scores.metadata.get("dataset", {})),
    ):
        if info.get("fingerprint") != published:
            raise SubmissionError(
                f"{what} was computed on dataset fingerprint {str(info.get('fingerprint'))[:12]}, not the published "
                f"social-pairs ({published[:12]}); score the published revision"
            )
    info = document["dataset"]
    ds = load_pairs(dataset, info.get("config", "default"), info.get("split", "test"))
    align(ds, scores, str(scores_path))  # every pair scored exactly once
    recomputed = compute(
        ds,
        scores,
        n_bootstrap=document["metric"].get("n_bootstrap", 1000),
        seed=document["metric"].get("seed", 0),
    )
    _compare(document["results"], json.loads(json.dumps(recomputed)), "")
    return meta


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "--", name).strip("-")


def stage(results_path: Path, scores_path: Path, card_path: Path, meta: dict, out: Path) -> Path:
    """Lay the submission out as it goes into the results repo: submissions/<model>/{results.json, ...}."""
    folder = Path(out) / "submissions" / slug(str(meta["name"]))
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(results_path, folder / "results.json")
    shutil.copyfile(scores_path, folder / "scores.parquet")
    shutil.copyfile(card_path, folder / "model_card.md")
    return folder
