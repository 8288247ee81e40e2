"""The `social-rm` command: build social-pairs, score it, evaluate scores, or all three at once (`run`); reports,
leaderboard submissions and conversions. It parses arguments and calls the library; a `SocialRMError` is printed
as one line, any other exception shows its traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields
from pathlib import Path

from social_rm.errors import SocialRMError
from social_rm.io import check_output

DEMO_SOURCES = Path(__file__).resolve().parent / "demo_corpora"
logger = logging.getLogger("social_rm")


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {value!r})")
    return int(value)


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
    parser.add_argument("--n-bootstrap", type=int, default=1000, help="bootstrap resamples (0: no intervals)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and the random baseline")


def _add_dataset_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="a built social-pairs folder or a Hub dataset id")
    parser.add_argument("--config", default="default", help="dataset config (a source, a domain or default)")
    parser.add_argument("--split", default="test")
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


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="social-rm", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build social-pairs from the raw corpora")
    build.add_argument(
        "--sources", type=Path, help="folder of raw corpora (default: $SOCIAL_RM_SOURCES, else download)"
    )
    build.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    _add_build_args(build)

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
    verify.add_argument("--sample", type=_positive_int, default=500, help="pairs to re-score (default 500)")
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
    compare.add_argument("--figure", default="social_score", help="the figure the printed table shows")
    _add_metric_args(compare)

    models = commands.add_parser(
        "models", help="the registry of known reward models: how each is read, its licence and link"
    )
    models.add_argument("--read-outs", action="store_true", help="list the read-outs (--reward-from) instead")

    convert = commands.add_parser("convert", help="write social-pairs in another tool's format (rewardbench)")
    _add_dataset_args(convert)
    convert.add_argument("--to", required=True, choices=["rewardbench"], help="the target format")
    convert.add_argument("--out", type=Path, required=True, help="file to write (.jsonl)")
    return main


def _dataset(args):
    from social_rm.data import load_pairs, resolve

    ref = resolve(args.dataset, args.config, args.split, args.dataset_revision)
    return ref, load_pairs(ref)


def cmd_build(args) -> None:
    from social_rm.dataset_builders.build import build
    from social_rm.dataset_builders.sources import default_sources_dir

    build(
        args.out,
        args.sources or default_sources_dir(),
        args.only,
        args.exclude_license,
        verify=not args.no_verify,
        with_train=args.with_train,
    )


def _scorer(args, model: str | None):
    """The scorer of `--model`/`--kind` with the options the user set; a baseline refuses model options."""
    from social_rm.scoring.kinds import KINDS, get_scorer, option_classes, resolve_kind
    from social_rm.scoring.options import LoadOptions, ModelSettings, flag, given

    kind = resolve_kind(model, args.kind)
    options = {name: value for cls in option_classes() for name, value in given(args, cls).items()}
    if args.command == "run" and "seed" not in {f.name for f in fields(KINDS[kind].options)}:
        options.pop("seed", None)  # `run`'s --seed also seeds the bootstrap
    load, settings = given(args, LoadOptions), given(args, ModelSettings)
    if not KINDS[kind].takes and (load or settings):
        name, cls = next(
            (name, cls) for cls, set_ in ((LoadOptions, load), (ModelSettings, settings)) for name in set_
        )
        raise SocialRMError(f"the {kind} kind loads no model: it does not take {flag(name, cls)}")
    return get_scorer(kind, ModelSettings(model, LoadOptions(**load), **settings), **options)


def _score(args, ds, ref, model: str | None, out: Path):
    from social_rm.results.scores import write_scores
    from social_rm.scoring.runner import is_main_process, open_cache, score_pairs

    scorer = _scorer(args, model)
    scores = score_pairs(ds, scorer, None if args.no_cache else open_cache(scorer, args.cache))
    if scores.metadata.get("truncated"):
        logger.warning(
            f"{scores.metadata['truncated']:,} sequences were longer than --max-length "
            f"{scorer.settings.max_length} and were cut (the prompt from its start, a response too long alone at its end)"
        )
    scores.metadata["dataset"] = ref.to_dict()
    if is_main_process():
        write_scores(scores, out)
        logger.info(f"wrote {out} ({len(scores.ids):,} pairs)")
    return scores


def _evaluate(ds, ref, scores, out: Path, args, metric=None, source: str = "scores file") -> dict:
    from social_rm.results.evaluation import evaluate_scores, write_json

    document = evaluate_scores(
        ds,
        ref,
        scores,
        args.n_bootstrap,
        args.seed,
        metric,
        source,
        getattr(args, "allow_other_dataset", False),
    )
    write_json(document, out)
    return document["results"]


def cmd_score(args) -> None:
    check_output(args.out, (".parquet",), [args.model], "a scores file")
    ref, ds = _dataset(args)
    _score(args, ds, ref, args.model, args.out)


def cmd_evaluate(args) -> None:
    from social_rm.results.report import format_table
    from social_rm.results.scores import read_scores

    check_output(args.out, (".json",), [args.scores], "the results")
    ref, ds = _dataset(args)
    scores = read_scores(args.scores)
    result = _evaluate(ds, ref, scores, args.out, args, source=f"scores file {args.scores}")
    print(format_table(result, f"social_rm: {scores.metadata.get('model', {}).get('name', args.scores)}"))
    logger.info(f"wrote {args.out}")


def cmd_run(args) -> None:
    from social_rm.data import load_pairs, resolve
    from social_rm.dataset_builders.build import build
    from social_rm.results.evaluation import load_metric
    from social_rm.results.report import format_table
    from social_rm.scoring.kinds import BASELINES

    demo = args.sources is None
    out = args.out or Path("out/demo" if demo else "out")
    if demo:
        logger.info(
            f"demo: building from the bundled demo corpora in {DEMO_SOURCES} into {out} "
            "(not the real corpora; pass --sources DIR for those)"
        )
    dataset = out / "social-pairs"
    build(
        dataset,
        DEMO_SOURCES if demo else args.sources,
        args.only,
        args.exclude_license,
        verify=not (demo or args.no_verify),
        with_train=args.with_train,
    )
    ref = resolve(dataset)
    ds = load_pairs(ref)
    metric = load_metric()
    for model in args.model or BASELINES:
        label = Path(model).stem if model not in BASELINES else model
        scores = _score(args, ds, ref, model, out / "scores" / f"{label}.parquet")
        result = _evaluate(ds, ref, scores, out / "results" / f"{label}.json", args, metric)
        print()
        print(format_table(result, f"social_rm: {label} ({result['n_pairs']:,} pairs)"))
        logger.info(f"wrote {out / 'results' / f'{label}.json'}\n")


def cmd_report(args) -> None:
    import json

    from social_rm.io import atomic_path
    from social_rm.results.report import load_documents, render_html

    check_output(args.out, (".html", ".htm"), [*args.results, args.comparison], "the report")
    comparison = json.loads(args.comparison.read_text(encoding="utf-8")) if args.comparison else None
    page = render_html(load_documents(args.results), comparison)
    with atomic_path(args.out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.info(f"wrote {args.out} ({len(args.results)} models)")


def cmd_submit(args) -> None:
    import tempfile

    from social_rm.publish import submission
    from social_rm.publish.hub import open_pull_request

    meta, scores, document = submission.validate(
        args.scores, args.model_card, args.dataset, args.dataset_revision
    )
    print(
        f"valid submission: {meta['name']} ({meta['kind']}, {meta['parameters']} parameters, {meta['license']}); "
        f"figures computed from the scores ({submission.LEADERBOARD_N_BOOTSTRAP} bootstrap resamples, seed "
        f"{submission.LEADERBOARD_SEED}); self-reported until verified"
    )
    if args.dry_run:
        folder = submission.stage(scores, args.model_card, meta, document, args.dry_run)
        print(f"dry run: wrote the pull request's files to {folder}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        submission.stage(scores, args.model_card, meta, document, Path(tmp))
        url = open_pull_request(f"{args.org}/social-rm-results", Path(tmp), f"Submit {meta['name']}")
    print(f"opened {url}")


def cmd_verify(args) -> None:
    from social_rm.publish.verify import verify

    record = verify(
        args.submission,
        args.dataset,
        args.dataset_revision,
        weights=args.weights,
        sample=args.sample,
        seed=args.seed,
        tolerance=args.tolerance,
        device=args.device,
    )
    print(f"{args.submission}: {record['status']}: {record['reason']}")
    if record["status"] != "verified":
        raise SocialRMError(f"{args.submission} is not verified (recorded in verification.json)")


def cmd_compare(args) -> None:
    from social_rm.results.comparison import compare, format_comparison
    from social_rm.results.evaluation import write_json

    check_output(args.out, (".json",), args.scores, "the comparison")
    ref, ds = _dataset(args)
    result = compare(ds, ref, args.scores, args.n_bootstrap, args.seed)
    write_json(result, args.out)
    print(format_comparison(result, args.figure))
    logger.info(f"wrote {args.out}")


def cmd_convert(args) -> None:
    from social_rm.formats import write_rewardbench

    check_output(args.out, (".jsonl",), [], "RewardBench's format")
    ref, ds = _dataset(args)
    write_rewardbench(ds, args.out)
    logger.info(f"wrote {args.out} ({len(ds):,} pairs in RewardBench's format)")


def cmd_models(args) -> None:
    from social_rm.scoring.known_models import table
    from social_rm.scoring.readouts import READOUTS

    if not args.read_outs:
        print(table())
        return
    width = max(map(len, READOUTS))
    for name, readout in READOUTS.items():
        print(f"  {name.ljust(width)}  {readout.help}")


COMMANDS = {
    "models": cmd_models,
    "build": cmd_build,
    "score": cmd_score,
    "evaluate": cmd_evaluate,
    "run": cmd_run,
    "report": cmd_report,
    "submit": cmd_submit,
    "verify": cmd_verify,
    "compare": cmd_compare,
    "convert": cmd_convert,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(format="%(message)s", stream=sys.stderr)
    logger.setLevel(logging.INFO)
    try:
        COMMANDS[args.command](args)
    except SocialRMError as error:
        print(f"social-rm {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
