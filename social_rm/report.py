"""A readable table of a social_rm result: domains × figures, each with its 95% interval."""

from __future__ import annotations

TABLE_FIGURES = {
    "accuracy": "accuracy",
    "undesirable_preference_rate": "undesirable pref.",
    "over_caution_rate": "over-caution",
    "bias_skew": "bias skew",
    "tie_rate": "ties",
}
BBQ_FIGURES = {
    "bbq_bias_score_ambig": "BBQ bias (ambig)",
    "bbq_bias_score_disambig": "BBQ bias (disambig)",
    "bbq_accuracy_gap": "BBQ accuracy gap",
}


SIGNED = ("bias_skew", *BBQ_FIGURES)  # in [-1, 1], best at 0


def cell(entry: dict, figure: str) -> str:
    value = entry.get(figure)
    if value is None:
        return "-"
    sign = "+" if figure in SIGNED else ""
    interval = (entry.get("ci") or {}).get(figure)
    text = f"{value:{sign}.3f}"
    return text if interval is None else f"{text} [{interval[0]:{sign}.2f}, {interval[1]:{sign}.2f}]"


def format_table(result: dict, title: str) -> str:
    rows = [("overall", result), *result.get("by_domain", {}).items()]
    header = ["", *TABLE_FIGURES.values(), "pairs"]
    body = [[name, *(cell(entry, f) for f in TABLE_FIGURES), f"{entry['n_pairs']:,}"] for name, entry in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in body]
    if result.get("bbq_bias_score_ambig") is not None or result.get("bbq_bias_score_disambig") is not None:
        lines.append("  ".join(f"{label}: {cell(result, f)}" for f, label in BBQ_FIGURES.items()))
    lines.append(f"social_score: {cell(result, 'social_score')}")
    return "\n".join(lines)
