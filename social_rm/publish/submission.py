"""Leaderboard submissions: validate per-pair scores and a model card against the published social-pairs, compute
every figure from the scores with the leaderboard's bootstrap (never read from the submitter), then open a pull
request on the results dataset repo (`--dry-run DIR` writes it locally instead).

Validation never executes anything from the submitter: it reads parquet and the model card's YAML with safe
loaders. A row stays *self-reported* until `social-rm verify` (`verify.py`) re-scores a sample with the model.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
from dataclasses import replace
from pathlib import Path

import yaml

from social_rm.data import load_pairs, resolve
from social_rm.errors import SocialRMError
from social_rm.results.evaluation import evaluate_scores, write_json
from social_rm.results.scores import Scores, read_scores, write_scores

MODEL_FIELDS = ("name", "kind", "parameters", "license", "link")  # the model card's YAML front matter
PRIVATE = ("local_path",)  # recorded in a scores file, never published


class SubmissionError(SocialRMError, ValueError):
    """A submission that does not validate; the message says which part and why."""


def read_model_card(path: Path) -> tuple[dict, str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SubmissionError(f"{path}: not a readable model card ({error})") from None
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    try:
        meta = yaml.safe_load(match.group(1)) if match else None
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise SubmissionError(
            f"{path}: the model card's front matter is not valid YAML ({problem})"
        ) from None
    if not isinstance(meta, dict):
        raise SubmissionError(f"{path}: the model card needs YAML front matter with {list(MODEL_FIELDS)}")
    missing = [f for f in MODEL_FIELDS if meta.get(f) in (None, "")]
    if missing:
        raise SubmissionError(f"{path}: the model card's front matter lacks {missing}")
    return meta, text


# what the leaderboard ranks on: all of social-pairs; its bootstrap, whatever the submitter used
LEADERBOARD_CONFIG, LEADERBOARD_SPLIT = "default", "test"
LEADERBOARD_N_BOOTSTRAP, LEADERBOARD_SEED = 1000, 0


def _same_parameters(card_value, recorded) -> bool:
    """The card's parameter count (a number, or text such as "8.03B" or "350M") equals the recorded count to the
    precision the card writes it with."""
    if isinstance(card_value, bool) or (isinstance(card_value, float) and not math.isfinite(card_value)):
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
    scores_path: Path, card_path: Path, dataset: str | Path, revision: str | None = None
) -> tuple[dict, Scores, dict]:
    """Check a submission against the published dataset; returns the model card's metadata (what the leaderboard
    shows), the scores, and the results document computed from them with the leaderboard's bootstrap. Refused: another
    dataset revision, anything but the whole published dataset, and a model card whose name, kind or parameters
    differ from what the scores record."""
    meta, _ = read_model_card(card_path)
    published = resolve(dataset, LEADERBOARD_CONFIG, LEADERBOARD_SPLIT, revision)
    ds = load_pairs(published)
    scores = read_scores(scores_path)
    info = scores.metadata.get("dataset", {})
    if info.get("fingerprint") != published.fingerprint:
        raise SubmissionError(
            f"{scores_path} was computed on dataset {str(info.get('fingerprint'))[:24]}, not the published "
            f"social-pairs ({published.fingerprint[:24]}); score the published revision"
        )
    sample = scores.metadata.get("sample")
    if sample:
        raise SubmissionError(
            f"{scores_path} scores a sample of {sample.get('n_items')} items (score --sample): an estimate; the "
            f"leaderboard takes only scores of all {len(ds):,} pairs"
        )
    if (info.get("config"), info.get("split")) != (LEADERBOARD_CONFIG, LEADERBOARD_SPLIT) or len(
        scores.ids
    ) != len(ds):
        raise SubmissionError(
            f"{scores_path} covers config {info.get('config')!r}, split {info.get('split')!r} "
            f"({len(scores.ids):,} pairs); the leaderboard needs all {len(ds):,} pairs of config "
            f"{LEADERBOARD_CONFIG!r}, split {LEADERBOARD_SPLIT!r}"
        )
    recorded = scores.metadata.get("model", {})
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
    document = evaluate_scores(
        ds, published, scores, LEADERBOARD_N_BOOTSTRAP, LEADERBOARD_SEED, source=f"scores file {scores_path}"
    )
    return meta, scores, document


def slug(name: str) -> str:
    """A submission's folder name: the name's safe characters (never "." or "..", at most 80) and a hash of the
    whole name, so that no two names share a folder ("org/model", "org model") and none leaves `submissions/`."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:80].strip(".-")
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{safe}-{digest}" if safe else digest


def stage(scores: Scores, card_path: Path, meta: dict, document: dict, out: Path) -> Path:
    """Lay the submission out as it goes into the results repo: submissions/<slug>/{results.json (computed here),
    scores.parquet, model_card.md}."""
    folder = Path(out) / "submissions" / slug(str(meta["name"]))
    folder.mkdir(parents=True, exist_ok=True)
    # the submitter's own paths stay home: the local checkpoint (`score --name`) and the command line
    model = {k: v for k, v in scores.metadata.get("model", {}).items() if k not in PRIVATE}
    scores = replace(scores, metadata={**scores.metadata, "model": model})
    write_json({**document, "model": model, "command": "social-rm submit"}, folder / "results.json")
    write_scores(scores, folder / "scores.parquet")
    shutil.copyfile(card_path, folder / "model_card.md")
    return folder
