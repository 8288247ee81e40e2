"""Paired comparisons of models scored on the same social-pairs: differences with paired-bootstrap intervals and
p-values, rank intervals, and the best model per domain (`social-rm compare`). The statistics are the metric
module's `compare_social_rm` (metric/social_rm/comparison.py); this module checks the scores files, names the models and writes the table.

    social-rm compare --dataset out/social-pairs --scores a.parquet b.parquet --out compare.json
"""

from __future__ import annotations

import logging
from pathlib import Path

import datasets
from tqdm.auto import tqdm

from social_rm.data import DatasetRef, columns, pair_ids
from social_rm.errors import SocialRMError
from social_rm.results.evaluation import MetricInputError, check_same_dataset
from social_rm.results.scores import Scores, align

logger = logging.getLogger(__name__)

# a bootstrap p-value is at least 2 / n_bootstrap: under 100 resamples a comparison cannot say much at 5%
MIN_BOOTSTRAP = 100


def model_names(named: list[tuple[Path, Scores]]) -> list[str]:
    """Each model's recorded name, else its file's stem; a name given by several files gets each file's stem in
    brackets, or its path where the stems are the same too. One file given twice is refused."""
    seen: dict[Path, Path] = {}
    for path, _ in named:
        if path.resolve() in seen:
            raise SocialRMError(f"scores file {path} is given twice (as {seen[path.resolve()]} too)")
        seen[path.resolve()] = path
    names = [s.metadata.get("model", {}).get("name") or path.stem for path, s in named]
    labels = [f"{n} [{path.stem}]" if names.count(n) > 1 else n for n, (path, _) in zip(names, named)]
    return [
        f"{n} [{path}]" if labels.count(label) > 1 else label
        for n, label, (path, _) in zip(names, labels, named)
    ]


def compare(
    ds: datasets.Dataset,
    ref: DatasetRef,
    files: list[Path],
    n_bootstrap: int = 1000,
    seed: int = 0,
    adjust: str = "none",
) -> dict:
    """The comparison of the models in the scores `files`, all scored on `ref` (another revision is refused);
    `adjust="holm"` adds Holm-adjusted p-values over every difference."""
    from social_rm.metric.comparison import compare_social_rm
    from social_rm.results.scores import read_scores

    if len(files) < 2:
        raise SocialRMError(f"compare needs two or more scores files (got {len(files)})")
    if n_bootstrap < MIN_BOOTSTRAP:
        raise SocialRMError(
            f"compare needs --n-bootstrap of at least {MIN_BOOTSTRAP} (got {n_bootstrap}): its p-values come from "
            f"the bootstrap and cannot go below 2/n_bootstrap"
        )
    named = [
        (Path(f), read_scores(f)) for f in tqdm(files, desc="reading scores files", unit="file", leave=False)
    ]
    names = model_names(named)
    for path, scores in named:
        check_same_dataset(scores, ref, f"scores file {path}")
    ids = pair_ids(ds)
    aligned = {name: align(ids, scores, f"scores file {path}") for name, (path, scores) in zip(names, named)}
    logger.info(f"comparing {len(names)} models: {n_bootstrap:,} paired resamples of the items ...")
    try:
        result = compare_social_rm(aligned, n_bootstrap=n_bootstrap, seed=seed, adjust=adjust, **columns(ds))
    except ValueError as error:
        raise MetricInputError(str(error)) from None
    result["dataset"] = ref.to_dict()
    result["files"] = {name: str(path) for name, (path, _) in zip(names, named)}
    return result


def _value(x, sign: bool = True) -> str:
    return "-" if x is None else f"{x:+.3f}" if sign else f"{x:.3f}"


def format_comparison(result: dict, figure: str = "social_score") -> str:
    """The differences in `figure` overall and per domain (with Holm-adjusted p-values where the comparison has
    them), the rank intervals, and the best model per domain."""
    adjusted = result.get("adjustment", {}).get("method") == "holm"
    lines = [
        f"paired differences in {figure} (95% interval, bootstrap p; items resampled once for all models)",
    ]
    rows = []
    for pair, entry in result["differences"].items():
        for where, slot in [("overall", entry), *((d, e) for d, e in entry.get("by_domain", {}).items())]:
            target = slot.get(figure)  # within a domain, the social score is the domain's accuracy
            if target and target["difference"] is not None:
                ci = target["ci"]
                rows.append(
                    [
                        pair,
                        where,
                        _value(target["difference"]),
                        f"[{_value(ci[0])}, {_value(ci[1])}]",
                        f"{target['p_value']:.3f}",
                        *([_value(target.get("p_holm"), sign=False)] if adjusted else []),
                    ]
                )
    header = ["models", "slice", "difference", "95% interval", "p", *(["Holm p"] if adjusted else [])]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in [header, *rows]]
    n_tests = result.get("adjustment", {}).get("n_tests")
    lines.append(
        f"Holm p: adjusted over all {n_tests:,} p-values of the comparison (every pair, slice and figure)"
        if adjusted
        else f"p: unadjusted, one of {n_tests or 0:,} p-values in the comparison; --adjust holm corrects them all"
    )
    ranks = result["ranks"].get(figure, {})
    if ranks:
        lines.append(
            f"ranks by {figure} (95% interval): "
            + ", ".join(
                f"{m} {r['rank']} [{r['ci'][0]}-{r['ci'][1]}]"
                for m, r in sorted(ranks.items(), key=lambda kv: kv[1]["rank"])
            )
        )
    for domain, best in result["best_by_domain"].items():
        verdict = "significant" if best["significant"] else "not significant"
        lines.append(
            f"best on {domain}: {best['model']} by {best['lead']:+.3f} over {best['runner_up']} "
            f"(Holm p across the domains {best['p_holm']:.3f}, {verdict})"
        )
    return "\n".join(lines)
