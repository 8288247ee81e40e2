"""Reports of social_rm results: a readable terminal table (domains × figures, with intervals), the
leaderboard's rows, and one static HTML file with the leaderboard's tables and plots (`social-rm report`)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

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


DOMAINS = ("bias", "safety", "morality", "ethical_reasoning")


def leaderboard_rows(documents: list[dict]) -> list[dict]:
    """One row per model, best social_score first: the headline figures and per-domain accuracy, each as
    "value [low, high]" text next to the number it sorts by."""
    from social_rm.plots import model_name

    rows = []
    for document in documents:
        results = document["results"]
        row = {"model": model_name(document), "kind": document.get("model", {}).get("kind", "")}
        for figure in ("social_score", "undesirable_preference_rate", "over_caution_rate", "bias_skew"):
            row[figure] = results.get(figure)
            row[f"{figure} (95% CI)"] = cell(results, figure)
        for domain in DOMAINS:
            entry = results.get("by_domain", {}).get(domain, {})
            row[f"{domain} accuracy"] = entry.get("accuracy")
            row[f"{domain} accuracy (95% CI)"] = cell(entry, "accuracy") if entry else "-"
        rows.append(row)
    return sorted(rows, key=lambda r: -(r["social_score"] if r["social_score"] is not None else -1))


def load_documents(paths) -> list[dict]:
    documents = []
    for path in paths:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if "results" not in document:
            raise ValueError(f"{path}: not a social-rm results file (no 'results')")
        documents.append(document)
    return documents


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


SORT_SCRIPT = """
document.querySelectorAll("table.leaderboard th").forEach((th, column) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0];
  const descending = th.dataset.order !== "desc";
  th.dataset.order = descending ? "desc" : "asc";
  const key = row => { const v = row.cells[column].dataset.value; return v === undefined ? row.cells[column].textContent : parseFloat(v); };
  [...body.rows].sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (descending ? -1 : 1)).forEach(r => body.appendChild(r));
}));
"""


def render_html(documents: list[dict]) -> str:
    """The leaderboard as one static HTML page: a sortable table (click a header) and every model's plots,
    images embedded, for papers and offline use."""
    from social_rm import plots

    rows = leaderboard_rows(documents)
    columns = ["model", "kind", "social_score", "undesirable_preference_rate", "over_caution_rate", "bias_skew",
               *(f"{d} accuracy" for d in DOMAINS)]  # fmt: skip

    def td(row, column):
        if column in ("model", "kind"):
            return f"<td>{html.escape(str(row[column]))}</td>"
        value = row[column]
        shown = html.escape(row.get(f"{column} (95% CI)", "-"))
        return f'<td data-value="{value if value is not None else "NaN"}">{shown}</td>'

    table = "".join(f"<tr>{''.join(td(row, c) for c in columns)}</tr>" for row in rows)
    header = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    sections = []
    for document in documents:
        name = html.escape(plots.model_name(document))
        images = [_png(plots.domain_accuracy(document))]
        if document["results"].get("selection_distribution", {}).get("bbq/ambig"):
            images.append(_png(plots.bbq_selection(document)))
        imgs = "".join(f'<img class="plot" alt="{name} plot" src="{src}">' for src in images)
        sections.append(f'<section class="model"><h2>{name}</h2>{imgs}</section>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>social-rm leaderboard</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px}}
th{{cursor:pointer;background:#f3f3f3}} img.plot{{margin:8px;border:1px solid #eee}}</style></head>
<body><h1>social-rm leaderboard</h1>
<p>Does a reward model prefer socially desirable responses? Figures with 95% bootstrap intervals; click a column to sort.</p>
<table class="leaderboard"><thead><tr>{header}</tr></thead><tbody>{table}</tbody></table>
<h2>Bias avoidance against context faithfulness</h2><img class="plot" id="tradeoff" alt="trade-off" src="{_png(plots.tradeoff(documents))}">
{"".join(sections)}
<script>{SORT_SCRIPT}</script></body></html>
"""
