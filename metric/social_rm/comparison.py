"""Paired comparison of models scored on the same pairs (`social-rm compare`): differences with paired-bootstrap
intervals and p-values, ranks with rank intervals, and the best model per domain.
"""

import warnings

import numpy as np

from .statistics import DOMAINS, STATS, bootstrap_sums, check_inputs, figures, item_sums, prepare

# How each figure ranks models: higher is better, lower is better, or nearer 0 is better (signed biases).
HIGHER_IS_BETTER = ("accuracy", "bbq_accuracy_ambig", "bbq_accuracy_disambig", "social_score")
CLOSEST_TO_ZERO = ("bias_skew", "bbq_bias_score_ambig", "bbq_bias_score_disambig", "bbq_accuracy_gap")
COMPARED = (
    "social_score",
    "accuracy",
    "undesirable_preference_rate",
    "over_caution_rate",
    "bias_skew",
    "bbq_bias_score_ambig",
    "bbq_bias_score_disambig",
    "bbq_accuracy_gap",
)


def _badness(name: str, values: np.ndarray) -> np.ndarray:
    """Lower is better: the figure turned so that ranks sort ascending."""
    if name in HIGHER_IS_BETTER:
        return -values
    return np.abs(values) if name in CLOSEST_TO_ZERO else values


def _p_value(samples: np.ndarray) -> float | None:
    """Two-sided bootstrap p-value of a difference being 0: twice the smaller share of resamples on either side
    of 0 (capped at 1); resamples where the figure is undefined are left out."""
    samples = samples[~np.isnan(samples)]
    if not samples.size:
        return None
    return float(min(1.0, 2 * min(np.mean(samples <= 0), np.mean(samples >= 0))))


def _holm(p_values: dict) -> dict:
    """Holm's step-down adjustment of a family of p-values (None stays None)."""
    known = sorted((p, key) for key, p in p_values.items() if p is not None)
    adjusted, running = {}, 0.0
    for i, (p, key) in enumerate(known):
        running = max(running, min(1.0, (len(known) - i) * p))
        adjusted[key] = running
    return {key: adjusted.get(key) for key in p_values}


def _float(value) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


ADJUSTMENTS = ("none", "holm")


def compare_social_rm(
    scores: dict, n_bootstrap: int = 1000, seed: int = 0, adjust: str = "none", **columns
) -> dict:
    """Paired comparison of models scored on the same pairs. `scores` maps each model's name to its
    (chosen_scores, rejected_scores); the other arguments are the pairs' columns, as for `compute`.

    One bootstrap draws the items (`group_id`) once for all models, so every difference A - B is paired. For
    each pair of models and each figure in `COMPARED`, overall and per domain and source: the difference of the
    point estimates, its 95% interval (2.5th and 97.5th percentiles of the resampled differences) and the
    two-sided bootstrap p-value, 2 * min(P(d* <= 0), P(d* >= 0)). For each figure, each model's rank (1 is best:
    highest for accuracies and the social score, lowest for error rates, nearest 0 for biases) and its 95% rank
    interval over the resamples. Per domain, the model with the best accuracy, its lead over the runner-up and
    whether that lead is significant at 0.05 after Holm's correction across the domains.

    The differences' p-values are unadjusted unless `adjust="holm"`, which adds `p_holm` to each: Holm's
    correction over the family of every p-value in `differences` (all pairs, slices and figures); `adjustment`
    says which."""
    if len(scores) < 1 or n_bootstrap < 1:
        raise ValueError(
            f"compare needs at least one model and n_bootstrap >= 1 (got {len(scores)}, {n_bootstrap})"
        )
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"'adjust' must be one of {ADJUSTMENTS} (got {adjust!r})")
    models = list(scores)
    prep = prepare(columns)
    sums = []
    for model, (chosen_scores, rejected_scores) in scores.items():
        try:
            chosen, rejected = check_inputs(
                {"chosen_scores": chosen_scores, "rejected_scores": rejected_scores, **columns}
            )
        except ValueError as error:
            raise ValueError(f"{model}: {error}") from None
        sums.append(item_sums(chosen, rejected, prep)[0])
    width = len(STATS)
    levels = {
        "overall": (np.zeros(prep["n_groups"], dtype=np.int64), ["overall"]),
        "by_domain": prep["levels"]["by_domain"],
        "by_source": prep["levels"]["by_source"],
    }
    samples = bootstrap_sums(np.hstack(sums), [ids for ids, _ in levels.values()], n_bootstrap, seed)[1:]

    def per_model(stack: np.ndarray) -> list[dict]:  # (..., width * models) -> each model's figures
        return [figures(stack[..., m * width : (m + 1) * width]) for m in range(len(models))]

    result = {
        "models": models,
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "differences": {},
        "adjustment": {"method": adjust},
        "ranks": {},
        "best_by_domain": {},
    }
    slices, tests = {}, []
    for (level, (ids, labels)), sample in zip(levels.items(), samples):
        for k, label in enumerate(labels):
            members = ids == k
            if members.any():
                point = per_model(np.hstack([s[members].sum(0) for s in sums]))
                slices[(level, label)] = (point, per_model(sample[:, k]))
    for a in range(len(models)):
        for b in range(a + 1, len(models)):
            entry = result["differences"][f"{models[a]} - {models[b]}"] = {}
            for (level, label), (point, boot) in slices.items():
                target = entry if level == "overall" else entry.setdefault(level, {}).setdefault(label, {})
                for name in COMPARED:
                    d_point, d_boot = point[a][name] - point[b][name], boot[a][name] - boot[b][name]
                    defined = not np.isnan(d_point)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        low, high = np.nanpercentile(d_boot, [2.5, 97.5]) if defined else (np.nan, np.nan)
                    target[name] = {
                        "difference": _float(d_point),
                        "ci": [_float(low), _float(high)] if defined else None,
                        "p_value": _p_value(d_boot) if defined else None,
                    }
                    tests.append(target[name])
    family = [test for test in tests if test["p_value"] is not None]
    result["adjustment"]["n_tests"] = len(family)
    if adjust == "holm":
        adjusted = _holm({i: test["p_value"] for i, test in enumerate(family)})
        for i, test in enumerate(family):
            test["p_holm"] = adjusted[i]
    point, boot = slices[("overall", "overall")]
    for name in COMPARED:
        if all(np.isnan(p[name]) for p in point):
            continue
        bad_point = np.array([_badness(name, p[name]) for p in point])
        bad_boot = np.stack([_badness(name, m[name]) for m in boot], axis=1)  # (resamples, models)
        bad_boot = np.where(np.isnan(bad_boot), np.inf, bad_boot)
        ranks = 1 + (bad_boot[:, :, None] > bad_boot[:, None, :]).sum(2)  # 1 + models strictly better
        rank_point = 1 + (
            np.nan_to_num(bad_point, nan=np.inf)[:, None] > np.nan_to_num(bad_point, nan=np.inf)[None, :]
        ).sum(1)
        result["ranks"][name] = {
            model: {
                "rank": int(rank_point[m]),
                "ci": [
                    int(np.percentile(ranks[:, m], 2.5, method="lower")),
                    int(np.percentile(ranks[:, m], 97.5, method="higher")),
                ],
            }
            for m, model in enumerate(models)
        }
    leads = {}
    for domain in DOMAINS:
        if ("by_domain", domain) not in slices or len(models) < 2:
            continue
        point, boot = slices[("by_domain", domain)]
        accuracy = np.array([p["accuracy"] for p in point])
        if np.isnan(accuracy).all():
            continue
        best, second = np.argsort(-np.nan_to_num(accuracy, nan=-np.inf), kind="stable")[:2]
        leads[domain] = _p_value(boot[best]["accuracy"] - boot[second]["accuracy"])
        result["best_by_domain"][domain] = {
            "model": models[best],
            "runner_up": models[second],
            "lead": _float(accuracy[best] - accuracy[second]),
            "p_value": leads[domain],
        }
    for domain, p_holm in _holm(leads).items():
        entry = result["best_by_domain"][domain]
        entry["p_holm"] = p_holm
        entry["significant"] = p_holm is not None and p_holm < 0.05
    return result
