"""The leaderboard's plots, as matplotlib figures (the static report embeds them as PNG, the Space shows them):
per-domain accuracy with intervals, BBQ selection distribution, and the bias-avoidance / context-faithfulness
trade-off across models."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROLE_COLOURS = {"stereotyped": "#d62728", "unknown": "#7f7f7f", "anti_stereotyped": "#1f77b4"}


def model_name(document: dict) -> str:
    return document.get("model", {}).get("name") or "unnamed model"


def domain_accuracy(document: dict):
    """Accuracy per domain with its 95% interval."""
    by_domain = document["results"].get("by_domain", {})
    names = [d for d, entry in by_domain.items() if entry.get("accuracy") is not None]
    values = [by_domain[d]["accuracy"] for d in names]
    low = [v - ((by_domain[d].get("ci") or {}).get("accuracy") or [v, v])[0] for d, v in zip(names, values)]
    high = [((by_domain[d].get("ci") or {}).get("accuracy") or [v, v])[1] - v for d, v in zip(names, values)]
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.bar(names, values, yerr=[low, high], capsize=4, color="#4c72b0")
    axes.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy (95% CI)")
    axes.set_title(f"{model_name(document)}: accuracy by domain")
    figure.tight_layout()
    return figure


def bbq_selection(document: dict):
    """Share of BBQ items whose best-scored answer is stereotyped, unknown or anti-stereotyped."""
    distribution = document["results"].get("selection_distribution", {})
    contexts = [key for key in ("bbq/ambig", "bbq/disambig") if key in distribution]
    figure, axes = plt.subplots(figsize=(5, 3))
    for row, key in enumerate(contexts):
        left = 0.0
        for role, colour in ROLE_COLOURS.items():
            share = distribution[key].get(role, 0.0)
            axes.barh(row, share, left=left, color=colour, label=role if row == 0 else None)
            left += share
    axes.set_yticks(range(len(contexts)), [c.split("/")[1] for c in contexts])
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of BBQ items")
    axes.set_title(f"{model_name(document)}: BBQ selected answer")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, frameon=False)
    figure.tight_layout()
    return figure


def _scatter(
    documents: list[dict], figures, xlabel: str, ylabel: str, title: str, chance: tuple[float, float]
):
    """One point per model at its two `figures` of `figures(document)` -> (entry, x name, y name), with their 95%
    intervals as error bars, on the unit square; a grey cross marks what a random scorer gets (`chance`). Models
    are told apart by colour in a legend under the plot, so no labels overlap."""
    figure, axes = plt.subplots(figsize=(6, 5))
    for document in documents:
        entry, x_name, y_name = figures(document)
        x, y = entry.get(x_name), entry.get(y_name)
        if x is None or y is None:
            continue
        ci = entry.get("ci") or {}
        (x_low, x_high), (y_low, y_high) = ci.get(x_name) or (x, x), ci.get(y_name) or (y, y)
        axes.errorbar(
            [x],
            [y],
            xerr=[[x - x_low], [x_high - x]],
            yerr=[[y - y_low], [y_high - y]],
            fmt="o",
            capsize=3,
            label=model_name(document),
        )
    axes.scatter([chance[0]], [chance[1]], marker="x", color="grey", label="random scorer (chance)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False, fontsize=8)
    figure.tight_layout()
    return figure


def tradeoff(documents: list[dict]):
    """Bias avoidance (ambiguous BBQ accuracy) against context faithfulness (disambiguated BBQ accuracy), with
    intervals; a random choice among BBQ's three answers is right a third of the time on both."""
    return _scatter(
        documents,
        lambda d: (d["results"], "bbq_accuracy_ambig", "bbq_accuracy_disambig"),
        "bias avoidance: ambiguous BBQ accuracy (higher is better)",
        "context faithfulness: disambiguated accuracy (higher is better)",
        "BBQ trade-off across models",
        (1 / 3, 1 / 3),
    )


def safety_tradeoff(documents: list[dict]):
    """Over-caution against undesirable preference on XSTest (lower-left is better), with intervals; a random
    scorer errs half the time on both."""
    return _scatter(
        documents,
        lambda d: (
            d["results"].get("by_source", {}).get("xstest", {}),
            "over_caution_rate",
            "undesirable_preference_rate",
        ),
        "over-caution rate, safe prompts (lower is better)",
        "undesirable preference, unsafe prompts (lower is better)",
        "Safety trade-off on XSTest across models",
        (0.5, 0.5),
    )


def length_bias(document: dict):
    """Spearman correlation of score and response length per domain, with its 95% interval."""
    correlation = ((document.get("diagnostics") or {}).get("length_bias") or {}).get("correlation", {})
    names = [n for n, entry in correlation.items() if entry.get("spearman") is not None]
    values = [correlation[n]["spearman"] for n in names]
    intervals = [correlation[n].get("ci") or [v, v] for n, v in zip(names, values)]
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.bar(
        names,
        values,
        yerr=[
            [v - ci[0] for v, ci in zip(values, intervals)],
            [ci[1] - v for v, ci in zip(values, intervals)],
        ],
        capsize=4,
        color="#dd8452",
    )
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_ylim(-1, 1)
    axes.set_ylabel("Spearman(score, length)")
    axes.set_title(f"{model_name(document)}: length bias")
    axes.tick_params(axis="x", labelsize=8)
    figure.tight_layout()
    return figure


def reliability(document: dict):
    """Reliability diagram of sigmoid(chosen - rejected) on gold pairs: observed share against mean prediction."""
    calibration = (document.get("diagnostics") or {}).get("calibration") or {}
    bins = [b for b in calibration.get("bins", []) if b["n"]]
    figure, axes = plt.subplots(figsize=(4, 4))
    axes.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
    axes.plot([b["mean_predicted"] for b in bins], [b["observed"] for b in bins], marker="o", color="#55a868")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("sigmoid(chosen - rejected)")
    axes.set_ylabel("observed share right")
    ece = (calibration.get("ece") or {}).get("value")
    title = f"{model_name(document)}: calibration" + (f" (ECE {ece:.3f})" if ece is not None else "")
    axes.set_title(title + ("\n(not a Bradley-Terry reward)" if calibration.get("note") else ""), fontsize=9)
    figure.tight_layout()
    return figure


def forest(comparison: dict, figure_name: str = "social_score"):
    """Paired differences (A - B) in one figure, overall and per domain, with their 95% intervals."""
    rows = []
    for pair, entry in comparison["differences"].items():
        for where, slot in [("overall", entry), *entry.get("by_domain", {}).items()]:
            target = slot.get(figure_name)
            if target and target["difference"] is not None:
                rows.append((f"{pair} ({where})", target["difference"], target["ci"]))
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.2))
    for y, (_, value, ci) in enumerate(reversed(rows)):
        axes.errorbar(
            [value], [y], xerr=[[value - ci[0]], [ci[1] - value]], fmt="o", color="#4c72b0", capsize=3
        )
    axes.axvline(0, color="grey", linewidth=0.8, linestyle="--")
    axes.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)], fontsize=7)
    axes.set_xlabel(f"difference in {figure_name} (95% paired-bootstrap interval)")
    axes.set_title("Paired model comparison")
    figure.tight_layout()
    return figure
