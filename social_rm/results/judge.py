"""What the results say of a generative judge: the verdicts it could not parse, per source, the tokens it used,
and a few of its replies per source (its generations file, beside its scores, holds them all), for the results
document and the report.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import datasets

from social_rm.data import columns, pair_ids
from social_rm.results.scores import Scores

SAMPLES_PER_SOURCE = 3
SAMPLE_CHARACTERS = 2000


def judge_summary(ds: datasets.Dataset, scores: Scores, generations: Path | None = None) -> dict:
    """A generative judge's verdicts that could not be parsed (each counted as a tie), overall and per source, the
    tokens it used, and from its generations file the first few replies of each source, so a reader sees why it
    chose what it chose."""
    position = {pair_id: i for i, pair_id in enumerate(scores.ids)}
    source_of = dict(zip(pair_ids(ds), columns(ds, ("source",))["source"]))
    by_source: dict[str, int] = {}
    for pair_id, source in source_of.items():
        by_source[source] = by_source.get(source, 0) + int(scores.unparsed[position[pair_id]])
    summary = {
        "n_unparsed": {"overall": sum(by_source.values()), "by_source": by_source},
        "usage": scores.metadata.get("usage", {}),
    }
    if generations is not None and generations.is_file():
        samples: dict[str, list] = {source: [] for source in by_source}
        wanted = SAMPLES_PER_SOURCE * len(samples)
        with open(generations, encoding="utf-8") as lines:
            for line in lines:  # until every source has its few
                record = json.loads(line)
                kept = samples.get(source_of.get(record.get("id")))
                if kept is not None and len(kept) < SAMPLES_PER_SOURCE:
                    kept.append({**record, "text": (record.get("text") or "")[:SAMPLE_CHARACTERS]})
                    wanted -= 1
                    if not wanted:
                        break
        summary.update(generations=generations.name, samples={s: kept for s, kept in samples.items() if kept})
    return summary


def judge_html(document: dict) -> str:
    """A generative judge's unparsed verdicts per source and, per source, a few of its replies (from the
    generations file beside its scores, which holds them all)."""
    judge = document.get("judge")
    if not judge:
        return ""
    unparsed = judge["n_unparsed"]
    counts = ", ".join(f"{_text(s)} {n:,}" for s, n in sorted(unparsed["by_source"].items()))
    parts = [
        f"<h3>The judge's replies</h3><p>Verdicts that could not be parsed (each counted as a tie): "
        f"{unparsed['overall']:,} ({counts}).</p>"
    ]
    if judge.get("samples"):
        parts.append(
            f"<p>A few replies per source; all of them are in <code>{_text(judge['generations'])}</code>.</p>"
        )
    for source, records in sorted(judge.get("samples", {}).items()):
        rows = "".join(
            f"<tr><td>{_text(r.get('id'))}</td><td>{_text(r.get('order'))}</td><td>{_text(r.get('verdict'))}</td>"
            f"<td><pre>{_text(r.get('text'))}</pre></td></tr>"
            for r in records
        )
        parts.append(
            f'<details><summary>{_text(source)}</summary><table class="replies"><tr><th>pair</th><th>order</th>'
            f"<th>verdict</th><th>reply</th></tr>{rows}</table></details>"
        )
    return "".join(parts)


def _text(value) -> str:
    return html.escape(str(value))
