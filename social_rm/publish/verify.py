"""`social-rm verify`: what makes a leaderboard row *verified*. It recomputes every figure of a submission folder
from its scores with the leaderboard's bootstrap (a results.json edited by hand fails), re-scores a seeded sample
of pairs, stratified by source, with the named model at the recorded commit, and requires each submitted score to
match the re-scored one within a tolerance. The outcome goes to the folder's `verification.json`, which the
leaderboard reads next to `results.json` (and believes only for the results.json whose sha256 it records).

    record = verify(Path("results-repo/submissions/Org-RM-1a2b3c4d5e"), "social-rm/social-pairs")
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from social_rm.data import columns, load_pairs, pair_ids, resolve, stratified_sample
from social_rm.errors import SocialRMError
from social_rm.publish.submission import (
    LEADERBOARD_CONFIG,
    LEADERBOARD_N_BOOTSTRAP,
    LEADERBOARD_SEED,
    LEADERBOARD_SPLIT,
    SubmissionError,
)
from social_rm.results.evaluation import evaluate_scores, versions, write_json
from social_rm.results.scores import read_scores

logger = logging.getLogger(__name__)
RECORD = "verification.json"
STATUSES = (
    "verified",
    "failed",
    "self-reported",
)  # self-reported: not (yet) re-scored, or the model did not load


class FiguresDiffer(SubmissionError):
    """A results.json figure that its scores do not give."""


def verify(
    folder: Path,
    dataset: str | Path,
    revision: str | None = None,
    weights: str | None = None,
    sample: int = 500,
    seed: int = 0,
    tolerance: float = 0.05,
    device: str = "auto",
) -> dict:
    """Verify the submission in `folder` and write its `verification.json`; returns the record (its `status` is
    one of `STATUSES`, its `reason` says why). `weights`: where the model is, if not at its recorded name."""
    folder = Path(folder)
    results_path, scores_path = folder / "results.json", folder / "scores.parquet"
    for path in (results_path, scores_path):
        if not path.is_file():
            raise SubmissionError(f"{folder} is not a submission folder: it has no {path.name}")
    scores = read_scores(scores_path)
    identity = scores.metadata.get("model", {})
    ref = resolve(dataset, LEADERBOARD_CONFIG, LEADERBOARD_SPLIT, revision)
    ds = load_pairs(ref)
    record = {
        "model": identity.get("name"),
        "commit": identity.get("commit"),
        "weights": weights or identity.get("name"),
        "dataset": ref.fingerprint,
        "results_sha256": hashlib.sha256(results_path.read_bytes()).hexdigest(),
        "sample": 0,
        "seed": seed,
        "tolerance": tolerance,
        "max_difference": None,
        "versions": versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        recomputed = evaluate_scores(
            ds, ref, scores, LEADERBOARD_N_BOOTSTRAP, LEADERBOARD_SEED, progress=False
        )
        check_figures(results_path, recomputed)
    except SocialRMError as error:  # scores that do not fit the dataset, or a figure they do not give
        return _write(folder, record, "failed", str(error))
    try:
        scorer = scorer_for(identity, weights, device)
    except (SocialRMError, OSError, ValueError) as error:  # not loadable here: the row stays self-reported
        return _write(folder, record, "self-reported", f"the model could not be loaded: {error}")
    from social_rm.scoring.runner import score_pairs

    ids = pair_ids(ds)
    chosen_rows = stratified_sample(columns(ds, ("source",))["source"], sample, seed)
    subset = ds.select(chosen_rows)
    rescored = score_pairs(subset, scorer, progress=False)
    position = {pair_id: i for i, pair_id in enumerate(scores.ids)}
    rows = [position[ids[i]] for i in chosen_rows]
    submitted = np.concatenate([scores.chosen[rows], scores.rejected[rows]])
    again = np.concatenate([rescored.chosen, rescored.rejected])
    differences = np.abs(submitted - again) / np.maximum(1.0, np.abs(again))
    worst = int(np.argmax(differences))
    record.update(sample=len(chosen_rows), max_difference=float(differences[worst]))
    recorded, found = identity.get("parameters"), rescored.metadata["model"].get("parameters")
    if recorded != found:
        return _write(
            folder, record, "failed", f"the scores record {recorded} parameters, the model has {found}"
        )
    if not differences[worst] <= tolerance:
        pair = ids[chosen_rows[worst % len(chosen_rows)]]
        side = "chosen" if worst < len(chosen_rows) else "rejected"
        return _write(
            folder,
            record,
            "failed",
            f"pair {pair!r}: the submitted {side} score {float(submitted[worst])!r} is not the model's "
            f"{float(again[worst])!r} (difference {differences[worst]:.3g}, tolerance {tolerance})",
        )
    return _write(
        folder,
        record,
        "verified",
        f"{len(chosen_rows)} pairs re-scored with {record['weights']}: every score within {tolerance} "
        f"(largest difference {differences[worst]:.3g}); every figure recomputed from the scores",
    )


def _write(folder: Path, record: dict, status: str, reason: str) -> dict:
    record = {**record, "status": status, "reason": reason}
    write_json(record, folder / RECORD)
    logger.info(f"{folder / RECORD}: {status}")
    return record


def check_figures(results_path: Path, recomputed: dict) -> None:
    """Every figure of results.json, diagnostics included, must be what the scores give (1e-9)."""
    try:
        claimed = json.loads(results_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FiguresDiffer(f"{results_path}: not readable JSON ({error})") from None
    recomputed = json.loads(json.dumps(recomputed))
    for part in ("results", "diagnostics"):
        _compare(claimed.get(part) if isinstance(claimed, dict) else None, recomputed[part], part)


def _compare(claimed, recomputed, where: str) -> None:
    """`claimed` must equal `recomputed`, numbers to 1e-9, recursively."""
    differ = FiguresDiffer(
        f"results.json: figure {where!r} is {claimed!r} but the scores give {recomputed!r}"
    )
    if isinstance(recomputed, dict):
        if not isinstance(claimed, dict) or set(claimed) != set(recomputed):
            raise FiguresDiffer(f"results.json: {where} does not have the metric's keys")
        for key in recomputed:
            _compare(claimed[key], recomputed[key], f"{where}.{key}")
    elif isinstance(recomputed, list):
        if not isinstance(claimed, list) or len(claimed) != len(recomputed):
            raise differ
        for i, (a, b) in enumerate(zip(claimed, recomputed)):
            _compare(a, b, f"{where}[{i}]")
    elif recomputed is None or isinstance(recomputed, (str, bool)):
        if claimed != recomputed:
            raise differ
    elif (
        isinstance(claimed, bool)
        or not isinstance(claimed, (int, float))
        or not math.isclose(claimed, recomputed, rel_tol=1e-9, abs_tol=1e-12)
    ):
        raise differ


def scorer_for(identity: dict, weights: str | None, device: str):
    """The scorer that produced scores of this recorded identity: its kind, options, dtype, --max-length and
    the commit it resolved to (`weights`: a local copy instead of the recorded name)."""
    from social_rm.scoring.kinds import KINDS, get_scorer
    from social_rm.scoring.options import LoadOptions, ModelSettings

    kind = identity.get("kind")
    if kind == "baseline" and identity.get("name") in KINDS:
        return get_scorer(identity["name"], **({"seed": identity["seed"]} if "seed" in identity else {}))
    if kind not in KINDS or not KINDS[kind].loads_weights:
        raise SocialRMError(f"scores of kind {kind!r} cannot be re-scored")
    options = {
        f.name: tuple(value) if isinstance(value, list) else value
        for f in fields(KINDS[kind].options)
        if (value := identity.get(f.name)) is not None
    }
    load = LoadOptions(
        device=device,
        dtype=identity.get("dtype") or "auto",
        revision=None if weights else identity.get("commit") or identity.get("revision"),
        quantization=identity.get("quantization"),
    )
    settings = ModelSettings(weights or identity["name"], load, max_length=identity.get("max_length"))
    return get_scorer(kind, settings, **options)


def status_of(results_path: Path) -> dict:
    """The leaderboard's verification of a results.json: the record beside it where it records this very
    results.json, else self-reported."""
    path = Path(results_path).with_name(RECORD)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        digest = hashlib.sha256(Path(results_path).read_bytes()).hexdigest()
    except (OSError, ValueError):
        return {"status": "self-reported", "reason": "not verified"}
    if (
        not isinstance(record, dict)
        or record.get("results_sha256") != digest
        or record.get("status") not in STATUSES
    ):
        return {"status": "self-reported", "reason": f"{path} does not record this results.json"}
    return {"status": record["status"], "reason": str(record.get("reason", ""))}
