"""The `social-rm` command line's arguments: one subparser per command, the model flags generated from the scoring
option classes (`scoring/options.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from social_rm.scoring.options import positive_int


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """A one-line text (a description) wrapped as argparse does; one of several lines (the examples) kept as
    written."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("social-rm")
    except metadata.PackageNotFoundError:
        return "(not installed)"


MAIN_EPILOG = """a first run:
  social-rm run                                      # the offline demo: build, score and evaluate the baselines
  social-rm build --sources DIR --out out/social-pairs
  social-rm score --dataset out/social-pairs --model ORG/RM --out out/scores/rm.parquet
  social-rm evaluate --dataset out/social-pairs --scores out/scores/rm.parquet --out out/results/rm.json
each command's --help has an example"""

EXAMPLES = {
    "build": ["social-rm build --sources ../shared/corpora --out out/social-pairs --only bbq,xstest"],
    "fetch-corpora": ["social-rm fetch-corpora --to .corpora", "social-rm fetch-corpora --list"],
    "score": [
        "social-rm score --dataset out/social-pairs --model Skywork/Skywork-Reward-V2-Qwen3-0.6B "
        "--out out/scores/skywork.parquet",
        "social-rm score --dataset out/social-pairs --config xstest --model length --out out/scores/length.parquet",
    ],
    "evaluate": [
        "social-rm evaluate --dataset out/social-pairs --scores out/scores/skywork.parquet --out out/results/skywork.json"
    ],
    "run": [
        "social-rm run                       # the offline demo",
        "social-rm run --sources DIR --model ORG/RM",
    ],
    "report": ["social-rm report out/results/*.json --comparison compare.json --out report.html"],
    "submit": [
        "social-rm submit --scores out/scores/rm.parquet --model-card card.md --dataset social-rm/social-pairs "
        "--dry-run pr/"
    ],
    "verify": ["social-rm verify results/submissions/acme-rm-1a2b3c4d5e --dataset social-rm/social-pairs"],
    "compare": [
        "social-rm compare --dataset out/social-pairs --scores out/scores/a.parquet out/scores/b.parquet "
        "--adjust holm --out compare.json"
    ],
    "models": [
        "social-rm models",
        "social-rm models --read-outs",
        "social-rm models Skywork/Skywork-Reward-V2-Llama-3.1-8B --dataset out/social-pairs --config bbq",
    ],
    "convert": ["social-rm convert --dataset out/social-pairs --to rewardbench --out social-pairs.jsonl"],
}

DESCRIPTION = (
    "social-rm: build social-pairs, score it with a reward model, evaluate the scores, compare models, report and "
    "submit to the leaderboard."
)


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _add_build_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        type=_csv,
        help="comma-separated sources to build (default: all); others already in --out are kept",
    )
    parser.add_argument(
        "--exclude-license",
        type=_csv,
        default=[],
        help="leave out sources whose licence contains these (CC-BY-SA,...)",
    )
    parser.add_argument(
        "--no-verify", action="store_true", help="skip sha256 checks (a locally edited corpus)"
    )
    parser.add_argument(
        "--with-train", action="store_true", help="also build the train splits kept out by default"
    )


def _add_metric_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--n-bootstrap", type=int, default=1000, help="bootstrap resamples (0: no intervals; default: 1000)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the bootstrap and the random baseline (default: 0)"
    )


def _add_dataset_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--dataset", required=required, help="a built social-pairs folder or a Hub dataset id"
    )
    parser.add_argument(
        "--config",
        default="default",
        help="dataset config: a source, a domain, or default (all; the default)",
    )
    parser.add_argument("--split", default="test", help="dataset split (default: test)")
    parser.add_argument(
        "--dataset-revision", help="Hub ids: a branch, tag or commit (resolved to its commit sha)"
    )


def _add_model_args(parser: argparse.ArgumentParser, repeat: bool = False) -> None:
    """The scorer: a registry kind, the model, how it loads and runs (`options.ModelSettings`, `LoadOptions`), and
    each kind's own options, all generated from their option classes."""
    from social_rm.scoring.kinds import KINDS, option_classes
    from social_rm.scoring.options import LoadOptions, ModelSettings, add_arguments

    if repeat:
        parser.add_argument(
            "--model",
            action="append",
            help="model folder or Hub id, a scores file, or a baseline (repeatable; default: every baseline)",
        )
    else:
        parser.add_argument(
            "--model", help="model folder or Hub id, a scores file (--kind file), or a baseline name"
        )
    kinds = "; ".join(f"{name}: {kind.help}" for name, kind in KINDS.items())
    parser.add_argument(
        "--kind",
        choices=list(KINDS),
        help=f"scorer kind (default: from --model: a baseline name, a scores file, else classifier). {kinds}",
    )
    for options in (ModelSettings, LoadOptions, *option_classes()):
        add_arguments(parser, options)
    parser.add_argument(
        "--cache", type=Path, help="score cache (default: one per model in $HF_HOME/social-rm/scores)"
    )
    parser.add_argument("--no-cache", action="store_true", help="score without a cache (nothing to resume)")
    parser.add_argument(
        "--sample",
        type=positive_int,
        metavar="N",
        help="score a seeded sample of about N items (each with all its pairs), stratified by source: an estimate, "
        "with intervals from the item bootstrap; the leaderboard refuses it",
    )
    parser.add_argument("--sample-seed", type=int, default=0, help="seed of --sample (default: 0)")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="social-rm", description=DESCRIPTION, epilog=MAIN_EPILOG, formatter_class=_Formatter
    )
    main.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="build social-pairs from the raw corpora")
    build.add_argument(
        "--sources", type=Path, help="folder of raw corpora (default: $SOCIAL_RM_SOURCES, else download)"
    )
    build.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    _add_build_args(build)

    fetch = commands.add_parser(
        "fetch-corpora", help="download the raw corpora from their pinned URLs, sha256-checked, resumable"
    )
    fetch.add_argument(
        "--to",
        type=Path,
        help="a sources folder to fill, for --sources (default: the download cache build reads)",
    )
    fetch.add_argument(
        "--with-train", action="store_true", help="also the train files --with-train builds read"
    )
    fetch.add_argument(
        "--list", action="store_true", help="print each file's URL and where it goes, fetch nothing"
    )

    score = commands.add_parser("score", help="score every pair of social-pairs with a model")
    _add_dataset_args(score)
    _add_model_args(score)
    score.add_argument("--out", type=Path, required=True, help="scores file to write (.parquet)")

    evaluate = commands.add_parser("evaluate", help="compute social_rm from a scores file")
    _add_dataset_args(evaluate)
    evaluate.add_argument(
        "--scores", type=Path, required=True, help="scores file: id, chosen_score, rejected_score"
    )
    evaluate.add_argument("--out", type=Path, required=True, help="results JSON to write")
    evaluate.add_argument(
        "--allow-other-dataset",
        action="store_true",
        help="evaluate scores recorded for another build of the dataset (said in the results)",
    )
    _add_metric_args(evaluate)

    run = commands.add_parser(
        "run", help="build, score and evaluate in one go (no arguments: the offline demo)"
    )
    _add_metric_args(run)
    _add_model_args(run, repeat=True)
    run.add_argument("--sources", type=Path, help="folder of raw corpora (default: the bundled demo corpora)")
    run.add_argument("--out", type=Path, help="output folder (default: out, or out/demo for the demo)")
    _add_build_args(run)

    report = commands.add_parser("report", help="the leaderboard's tables and plots as one static HTML file")
    report.add_argument("results", nargs="+", type=Path, help="results JSON files")
    report.add_argument("--out", type=Path, required=True, help="HTML file to write")
    report.add_argument(
        "--comparison", type=Path, help="a `social-rm compare` JSON to draw (forest plot, ranks)"
    )

    submit = commands.add_parser(
        "submit",
        help="validate a submission and open a pull request on the results repo",
        description="Validate per-pair scores of the whole published social-pairs and a model card, compute "
        "every figure from the scores with the leaderboard's bootstrap, and open a pull request on the results "
        "repo. The row is self-reported until the maintainers run `social-rm verify` on it.",
    )
    submit.add_argument("--scores", type=Path, required=True, help="per-pair scores from `social-rm score`")
    submit.add_argument(
        "--model-card",
        type=Path,
        required=True,
        help="markdown with YAML front matter: name, kind, parameters, license, link",
    )
    submit.add_argument("--dataset", required=True, help="the published social-pairs (a folder or Hub id)")
    submit.add_argument(
        "--dataset-revision", help="Hub ids: the published revision (default main, resolved to its sha)"
    )
    submit.add_argument(
        "--org", default="social-rm", help="organisation of the results repo <org>/social-rm-results"
    )
    submit.add_argument(
        "--dry-run", type=Path, help="write the pull request's files here instead of opening it"
    )

    verify = commands.add_parser(
        "verify",
        help="re-score a sample of a submission with its model and mark the row verified",
        description="What the leaderboard's maintainers run where the model fits: recompute every figure of a "
        "submission folder (submissions/<model>/) from its scores, re-score a seeded sample of pairs, stratified "
        "by source, with the named model at the recorded commit, and record the outcome in the folder's "
        "verification.json. Exit 0 only when verified.",
    )
    verify.add_argument("submission", type=Path, help="a submission folder of the results repo")
    verify.add_argument("--dataset", required=True, help="the published social-pairs (a folder or Hub id)")
    verify.add_argument("--dataset-revision", help="Hub ids: the published revision")
    verify.add_argument(
        "--weights", help="where the model's weights are, if not at its recorded name (a local copy)"
    )
    verify.add_argument("--sample", type=positive_int, default=500, help="pairs to re-score (default 500)")
    verify.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    verify.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="largest |submitted - re-scored| / max(1, |re-scored|) of any score (default 0.05)",
    )
    verify.add_argument("--device", default="auto", help="cuda, mps, cpu or auto")

    compare = commands.add_parser("compare", help="paired comparisons of models scored on the same dataset")
    _add_dataset_args(compare)
    compare.add_argument("--scores", type=Path, nargs="+", required=True, help="two or more scores files")
    compare.add_argument("--out", type=Path, required=True, help="comparison JSON to write")
    compare.add_argument(
        "--figure", default="social_score", help="the figure the printed table shows (default: social_score)"
    )
    compare.add_argument(
        "--adjust",
        choices=["none", "holm"],
        default="none",
        help="holm: add Holm-adjusted p-values over every difference of the comparison (default: none)",
    )
    _add_metric_args(compare)

    models = commands.add_parser(
        "models", help="the registry of known reward models: how each is read, its licence and link"
    )
    models.add_argument(
        "name",
        nargs="?",
        help="a model (Hub id or folder): its entry, and the first pair of --dataset as the model will read it",
    )
    models.add_argument("--read-outs", action="store_true", help="list the read-outs (--reward-from) instead")
    _add_dataset_args(models, required=False)
    models.add_argument("--max-length", type=positive_int, default=4096, help="as social-rm score's")
    models.add_argument("--trust-remote-code", action="store_true", help="as social-rm score's")

    convert = commands.add_parser("convert", help="write social-pairs in another tool's format (rewardbench)")
    _add_dataset_args(convert)
    convert.add_argument("--to", required=True, choices=["rewardbench"], help="the target format")
    convert.add_argument("--out", type=Path, required=True, help="file to write (.jsonl)")
    for name, command in commands.choices.items():
        command.formatter_class = _Formatter
        command.description = command.description or next(
            a.help for a in commands._choices_actions if a.dest == name
        )
        command.epilog = "example:\n  " + "\n  ".join(EXAMPLES[name])
    return main
