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

from social_rm.data import load_pairs, resolve
from social_rm.errors import SocialRMError
from social_rm.results.evaluation import compute
from social_rm.results.scores import read_scores

MODEL_FIELDS = ("name", "kind", "parameters", "license", "link")  # the model card's YAML front matter


class SubmissionError(SocialRMError, ValueError):
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


# what the leaderboard ranks on: all of social-pairs
LEADERBOARD_CONFIG, LEADERBOARD_SPLIT = "default", "test"


def _same_parameters(card_value, recorded) -> bool:
    """The card's parameter count (a number, or text such as "8.03B" or "350M") equals the recorded count to the
    precision the card writes it with."""
    if isinstance(card_value, bool):
        return False
    if isinstance(card_value, (int, float)):
        return int(card_value) == recorded
    match = re.fullmatch(r"\s*([0-9]+(?:\.([0-9]+))?)\s*([KMB]?)\s*", str(card_value), re.I)
    if not match or not isinstance(recorded, int):
        return False
    scale = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9}[match.group(3).upper()]
    step = scale / 10 ** len(match.group(2) or "")
    return abs(float(match.group(1)) * scale - recorded) <= step / 2


def validate(
    results_path: Path, scores_path: Path, card_path: Path, dataset: str | Path, revision: str | None = None
) -> dict:
    """Check a submission against the published dataset; returns the model card's metadata, which is what the
    leaderboard shows. Refused: another dataset revision, anything but the whole published dataset, a model
    card whose name, kind or parameters differ from what the scores record, and any figure the scores do not
    give."""
    try:
        document = json.loads(Path(results_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SubmissionError(f"{results_path}: not readable JSON ({error})") from error
    for key in ("results", "dataset", "metric", "model"):
        if key not in document:
            raise SubmissionError(f"{results_path}: missing {key!r} (write it with `social-rm evaluate`)")
    meta, _ = read_model_card(card_path)
    published = resolve(dataset, LEADERBOARD_CONFIG, LEADERBOARD_SPLIT, revision)
    ds = load_pairs(published)
    scores = read_scores(scores_path)
    needed = f"the leaderboard needs all {len(ds):,} pairs of config {LEADERBOARD_CONFIG!r}, split {LEADERBOARD_SPLIT!r}"
    for what, info in (
        ("results.json", document["dataset"]),
        ("the scores file", scores.metadata.get("dataset", {})),
    ):
        if info.get("fingerprint") != published.fingerprint:
            raise SubmissionError(
                f"{what} was computed on dataset {str(info.get('fingerprint'))[:24]}, not the published social-pairs "
                f"({published.fingerprint[:24]}); score the published revision"
            )
        if (info.get("config"), info.get("split")) != (LEADERBOARD_CONFIG, LEADERBOARD_SPLIT):
            raise SubmissionError(
                f"{what} covers config {info.get('config')!r}, split {info.get('split')!r} "
                f"({len(scores.ids):,} pairs); {needed}"
            )
    if len(scores.ids) != len(ds) or document["results"].get("n_pairs") != len(ds):
        raise SubmissionError(
            f"{scores_path} has {len(scores.ids):,} pairs and {results_path} "
            f"{document['results'].get('n_pairs')!r}; {needed}"
        )
    recorded = scores.metadata.get("model", {})
    if document["model"] != recorded:
        raise SubmissionError(
            f"{results_path}: its model {document['model']!r} is not the one the scores file "
            f"records ({recorded!r})"
        )
    for field in ("name", "kind"):
        if str(meta[field]) != str(recorded.get(field)):
            raise SubmissionError(
                f"{card_path}: the model card's {field} {meta[field]!r} is not the scored model's "
                f"({recorded.get(field)!r})"
            )
    if not _same_parameters(meta["parameters"], recorded.get("parameters")):
        raise SubmissionError(
            f"{card_path}: the model card's parameters {meta['parameters']!r} are not the scored "
            f"model's ({recorded.get('parameters')!r})"
        )
    recomputed = compute(
        ds,
        scores,
        n_bootstrap=document["metric"].get("n_bootstrap", 1000),
        seed=document["metric"].get("seed", 0),
        source=f"scores file {scores_path}",
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
