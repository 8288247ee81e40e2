"""The social-rm leaderboard Space: a sortable table of every submitted model and a page of plots per model,
read from the results dataset repo (`SOCIAL_RM_RESULTS`: a local folder, or a Hub dataset id, by default
social-rm/social-rm-results).

    SOCIAL_RM_RESULTS=path/to/results python leaderboard/app.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gradio as gr
import pandas as pd

from social_rm.dataset_builders.schema import DOMAINS
from social_rm.results import plots
from social_rm.results.report import HEADLINE, VERIFICATION, leaderboard_rows, load_documents, sort_rows

SORTABLE = {
    "social score": "social_score",
    "undesirable preference": "undesirable_preference_rate",
    "over-caution": "over_caution_rate",
    "bias skew": "bias_skew",
    **{f"{domain} accuracy": f"{domain} accuracy" for domain in DOMAINS},
}
SHOWN = [
    "model",
    "verification",
    "kind",
    "license",
    "pairs",
    "dataset",
    *(f"{figure} (95% CI)" for figure in HEADLINE),
    *(f"{domain} accuracy (95% CI)" for domain in DOMAINS),
]


def results_folder() -> Path:
    source = os.environ.get("SOCIAL_RM_RESULTS", "social-rm/social-rm-results")
    if Path(source).is_dir():
        return Path(source)
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(
            source,
            repo_type="dataset",
            allow_patterns=[
                "submissions/*/results.json",
                "submissions/*/model_card.md",
                "submissions/*/verification.json",
                "comparison.json",
            ],
        )
    )


def result_files(folder: Path) -> list[Path]:
    """The results files of a results repo (`submissions/<model>/results.json`, as `social-rm submit` lays them
    out), else those of a plain folder (`*.json` written by `social-rm evaluate`)."""
    return sorted(folder.glob("submissions/*/results.json")) or sorted(
        p for p in folder.glob("*.json") if p.name != "comparison.json"
    )


EXPECTED = (
    "**No results found in {folder}.** The leaderboard reads a results repo, `submissions/<model>/results.json` "
    "beside `model_card.md` (as `social-rm submit` lays it out), or a plain folder of results files "
    "(`social-rm evaluate --out DIR/NAME.json`), with an optional `comparison.json` from `social-rm compare`."
)


def load() -> list[dict]:
    # each model as its card says
    return load_documents(result_files(results_folder()))


def load_comparison() -> dict | None:
    """`comparison.json` at the results repo's root (`social-rm compare` over the submissions), if there is one."""
    path = results_folder() / "comparison.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def ranks_table(comparison: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "figure": figure,
                "model": model,
                "rank": r["rank"],
                "95% interval": f"{r['ci'][0]} to {r['ci'][1]}",
            }
            for figure, ranks in comparison["ranks"].items()
            for model, r in sorted(ranks.items(), key=lambda kv: kv[1]["rank"])
        ]
    )


def table(documents: list[dict], sort_by: str) -> pd.DataFrame:
    rows = sort_rows(leaderboard_rows(documents), SORTABLE[sort_by])
    return pd.DataFrame([{column: row[column] for column in SHOWN} for row in rows], columns=SHOWN)


def build() -> gr.Blocks:
    documents = load()
    by_name = {plots.model_name(d): d for d in documents}
    with gr.Blocks(title="social-rm leaderboard") as app:
        gr.Markdown(
            "# social-rm leaderboard\nDoes a reward model prefer socially desirable responses? Figures with 95% "
            f"bootstrap intervals, computed from each submission's scores. Verification: {VERIFICATION}."
        )
        if not documents:
            gr.Markdown(EXPECTED.format(folder=results_folder()), elem_id="no-results")
        with gr.Tab("Leaderboard"):
            sort_by = gr.Radio(list(SORTABLE), value="social score", label="Sort by", elem_id="sort-by")
            board = gr.Dataframe(table(documents, "social score"), interactive=False, elem_id="leaderboard")
            sort_by.change(lambda key: table(documents, key), sort_by, board)
            gr.Plot(
                plots.tradeoff(documents),
                label="Bias avoidance against context faithfulness",
                elem_id="tradeoff",
            )
            gr.Plot(
                plots.safety_tradeoff(documents),
                label="Over-caution against undesirable preference (XSTest)",
                elem_id="safety-tradeoff",
            )
        comparison = load_comparison()
        if comparison:
            with gr.Tab("Comparison"):
                gr.Markdown(
                    "Paired differences with 95% paired-bootstrap intervals; items resampled once for all models."
                )
                gr.Plot(
                    plots.forest(comparison), label="Paired differences in social_score", elem_id="forest"
                )
                gr.Dataframe(ranks_table(comparison), interactive=False, elem_id="ranks")
        with gr.Tab("Model"):
            choice = gr.Radio(
                list(by_name), value=next(iter(by_name), None), label="Model", elem_id="model-choice"
            )
            first = by_name[next(iter(by_name))] if by_name else None
            accuracy = gr.Plot(
                plots.domain_accuracy(first) if first else None,
                label="Accuracy by domain",
                elem_id="domain-plot",
            )
            selection = gr.Plot(
                plots.bbq_selection(first) if first else None,
                label="BBQ selected answer",
                elem_id="selection-plot",
            )
            length = gr.Plot(
                plots.length_bias(first) if first else None, label="Length bias", elem_id="length-plot"
            )
            calibration = gr.Plot(
                plots.reliability(first) if first else None, label="Calibration", elem_id="calibration-plot"
            )
            choice.change(
                lambda name: (
                    plots.domain_accuracy(by_name[name]),
                    plots.bbq_selection(by_name[name]),
                    plots.length_bias(by_name[name]),
                    plots.reliability(by_name[name]),
                ),
                choice,
                [accuracy, selection, length, calibration],
            )
    return app


if __name__ == "__main__":
    build().launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )
