"""The `social-rm` command: build social-pairs, score it, evaluate scores, or all three at once (`run`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEMO_SOURCES = Path(__file__).resolve().parent / "demo_corpora"


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _add_build_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", type=_csv, help="comma-separated sources to build (default: all)")
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


def _dataset_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="a built social-pairs folder or a Hub dataset id")
    parser.add_argument("--config", default="default", help="dataset config (a source, a domain or default)")
    parser.add_argument("--split", default="test")


def _add_model_args(parser: argparse.ArgumentParser, repeat: bool = False) -> None:
    """The scorer: a registry kind, the model and how it runs."""
    if repeat:
        parser.add_argument(
            "--model",
            action="append",
            help="model path or Hub id, or a baseline (repeatable; default: every baseline)",
        )
    else:
        parser.add_argument("--model", help="model path or Hub id (a baseline needs none)")
    parser.add_argument(
        "--kind",
        help="scorer kind: random, length, shortest, classifier, logprob, judge, dpo, file (default: classifier for a model, the baseline for a baseline name)",
    )
    parser.add_argument("--ref-model", help="reference model of the dpo kind")
    parser.add_argument(
        "--label-index",
        type=int,
        help="classifier: the logit to read on a multi-logit head (default: the last)",
    )
    parser.add_argument(
        "--reduction",
        default="mean",
        choices=["mean", "sum"],
        help="logprob: mean or sum over response tokens",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=4096,
        help="tokens per sequence; longer prompts are cut from the left",
    )
    parser.add_argument(
        "--max-tokens-per-batch", type=int, default=16_384, help="token budget of a batch, padding included"
    )
    parser.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), or a torch device")
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "bfloat16", "float16", "float32"],
        help="auto: bfloat16 on an accelerator, float32 on cpu",
    )
    parser.add_argument("--revision", help="model revision (Hub branch, tag or commit)")
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="run the model repository's own code"
    )
    parser.add_argument(
        "--allow-pickle", action="store_true", help="load pickle (.bin) weights when there are no safetensors"
    )
    parser.add_argument(
        "--cache", type=Path, help="score cache (default: one per model in $HF_HOME/social-rm/scores)"
    )
    parser.add_argument("--no-cache", action="store_true", help="score without a cache (nothing to resume)")
    parser.add_argument(
        "--no-prefix-sharing",
        action="store_true",
        help="score each completion whole (no shared-prompt cache)",
    )


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="social-rm", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build social-pairs from the raw corpora")
    build.add_argument(
        "--sources", type=Path, help="folder of raw corpora (default: $SOCIAL_RM_SOURCES, else download)"
    )
    build.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    _add_build_args(build)

    score = commands.add_parser("score", help="score every pair of social-pairs with a model")
    _dataset_args(score)
    _add_model_args(score)
    score.add_argument("--seed", type=int, default=0, help="seed of the random baseline")
    score.add_argument("--out", type=Path, required=True, help="scores file to write (.parquet)")

    evaluate = commands.add_parser("evaluate", help="compute social_rm from a scores file")
    _dataset_args(evaluate)
    evaluate.add_argument(
        "--scores", type=Path, required=True, help="scores file: id, chosen_score, rejected_score"
    )
    evaluate.add_argument("--out", type=Path, required=True, help="results JSON to write")
    _add_metric_args(evaluate)

    run = commands.add_parser(
        "run", help="build, score and evaluate in one go (no arguments: the offline demo)"
    )
    _add_model_args(run, repeat=True)
    run.add_argument("--sources", type=Path, help="folder of raw corpora (default: the bundled demo corpora)")
    run.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    _add_build_args(run)
    _add_metric_args(run)

    report = commands.add_parser("report", help="the leaderboard's tables and plots as one static HTML file")
    report.add_argument("results", nargs="+", type=Path, help="results JSON files")
    report.add_argument("--out", type=Path, required=True, help="HTML file to write")

    submit = commands.add_parser(
        "submit", help="validate a submission and open a pull request on the results repo"
    )
    submit.add_argument("--results", type=Path, required=True, help="results JSON from `social-rm evaluate`")
    submit.add_argument("--scores", type=Path, required=True, help="the per-pair scores it was computed from")
    submit.add_argument(
        "--model-card",
        type=Path,
        required=True,
        help="markdown with YAML front matter: name, kind, parameters, license, link",
    )
    submit.add_argument("--dataset", required=True, help="the published social-pairs (a folder or Hub id)")
    submit.add_argument(
        "--org", default="social-rm", help="organisation of the results repo <org>/social-rm-results"
    )
    submit.add_argument(
        "--dry-run", type=Path, help="write the pull request's files here instead of opening it"
    )
    return main


def cmd_build(args) -> None:
    from dataset_builders.build import build
    from dataset_builders.sources import default_sources_dir

    sources = args.sources or default_sources_dir()
    build(
        args.out,
        sources,
        args.only,
        args.exclude_license,
        verify=not args.no_verify,
        with_train=args.with_train,
    )


def make_scorer(args, model: str | None):
    """The scorer named by --kind/--model, and its score cache (None for baselines or with --no-cache)."""
    from social_rm.cache import ScoreCache
    from social_rm.models import LoadOptions
    from social_rm.scorers import BASELINES, KINDS, ModelSettings, get_scorer

    if not args.kind and model and model not in BASELINES and "/" not in model and not Path(model).exists():
        get_scorer(model)  # neither a baseline nor a model: raises with the names there are
    kind = args.kind or (model if model in BASELINES else "classifier")
    if kind in BASELINES:
        return get_scorer(kind, seed=args.seed), None
    if kind not in KINDS:
        get_scorer(kind)  # raises with the available kinds
    if not model:
        raise ValueError(f"the {kind} kind needs --model")
    options = LoadOptions(args.device, args.dtype, args.revision, args.trust_remote_code, args.allow_pickle)
    settings = ModelSettings(
        model, options, args.max_length, args.max_tokens_per_batch, prefix_sharing=not args.no_prefix_sharing
    )
    scorer = get_scorer(
        kind, settings, label_index=args.label_index, reduction=args.reduction, ref_model=args.ref_model
    )
    if args.no_cache:
        return scorer, None
    fingerprint = scorer.fingerprint()
    path = args.cache or default_cache_dir() / f"{fingerprint[:16]}.sqlite"
    return scorer, ScoreCache(path, fingerprint, scorer.identity())


def default_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "social-rm" / "scores"


def _is_main_process() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0


def _score(args, dataset, config, split, model, out: Path):
    from social_rm.data import fingerprint, load_pairs
    from social_rm.runner import read_scores, score_pairs, write_scores

    ds = load_pairs(dataset, config, split)
    if args.kind == "file":  # precomputed scores: checked against the dataset, then written like any other
        from social_rm.evaluation import align

        scores = read_scores(Path(model))
        scores.chosen, scores.rejected = align(ds, scores, str(model))
        scores.ids = ds.with_format("arrow")[:].column("id").to_pylist()
        scores.metadata.setdefault("model", {"name": str(model), "kind": "file"})
    else:
        scorer, cache = make_scorer(args, model)
        scores = score_pairs(ds, scorer, cache)
        if scores.metadata.get("truncated"):
            print(
                f"{scores.metadata['truncated']:,} sequences were longer than --max-length {args.max_length} and lost the start of their prompt"
            )
    scores.metadata["dataset"] = {
        "path": str(dataset),
        "config": config,
        "split": split,
        "fingerprint": fingerprint(dataset),
    }
    if _is_main_process():
        write_scores(scores, out)
        print(f"wrote {out} ({len(scores.ids):,} pairs)")
    return ds, scores


def _evaluate(ds, scores, dataset, config, split, n_bootstrap, seed, out: Path, metric=None) -> dict:
    from social_rm.data import fingerprint
    from social_rm.evaluation import compute, results_document, write_json

    result = compute(ds, scores, n_bootstrap=n_bootstrap, seed=seed, metric=metric)
    info = {"path": str(dataset), "config": config, "split": split, "fingerprint": fingerprint(dataset)}
    write_json(results_document(result, scores, info, n_bootstrap, seed), out)
    return result


def cmd_score(args) -> None:
    _score(args, args.dataset, args.config, args.split, args.model, args.out)


def cmd_evaluate(args) -> None:
    from social_rm.data import load_pairs
    from social_rm.report import format_table
    from social_rm.runner import read_scores

    ds = load_pairs(args.dataset, args.config, args.split)
    scores = read_scores(args.scores)
    result = _evaluate(
        ds, scores, args.dataset, args.config, args.split, args.n_bootstrap, args.seed, args.out
    )
    print(format_table(result, f"social_rm: {scores.metadata.get('model', {}).get('name', args.scores)}"))
    print(f"wrote {args.out}")


def cmd_run(args) -> None:
    from dataset_builders.build import build
    from social_rm.evaluation import load_metric
    from social_rm.report import format_table
    from social_rm.scorers import BASELINES

    demo = args.sources is None
    if demo:
        print(
            f"demo: building from the bundled demo corpora in {DEMO_SOURCES} (not the real corpora; pass --sources DIR for those)"
        )
    dataset = args.out / "social-pairs"
    build(dataset, DEMO_SOURCES if demo else args.sources, args.only, args.exclude_license,
          verify=not (demo or args.no_verify), with_train=args.with_train)  # fmt: skip
    metric = load_metric()
    for model in args.model or BASELINES:
        label = Path(model).name if model not in BASELINES else model
        ds, scores = _score(args, dataset, "default", "test", model, args.out / "scores" / f"{label}.parquet")
        out = args.out / "results" / f"{label}.json"
        result = _evaluate(ds, scores, dataset, "default", "test", args.n_bootstrap, args.seed, out, metric)
        print()
        print(format_table(result, f"social_rm: {label} ({result['n_pairs']:,} pairs)"))
        print(f"wrote {out}\n")


def cmd_report(args) -> None:
    from social_rm.io import atomic_path
    from social_rm.report import load_documents, render_html

    page = render_html(load_documents(args.results))
    with atomic_path(args.out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    print(f"wrote {args.out} ({len(args.results)} models)")


def cmd_submit(args) -> None:
    from social_rm import submission

    meta = submission.validate(args.results, args.scores, args.model_card, args.dataset)
    print(
        f"valid submission: {meta['name']} ({meta['kind']}, {meta['parameters']} parameters, {meta['license']})"
    )
    if args.dry_run:
        folder = submission.stage(args.results, args.scores, args.model_card, meta, args.dry_run)
        print(f"dry run: wrote the pull request's files to {folder}")
        return
    import tempfile

    from social_rm.hub import open_pull_request

    with tempfile.TemporaryDirectory() as tmp:
        submission.stage(args.results, args.scores, args.model_card, meta, Path(tmp))
        url = open_pull_request(f"{args.org}/social-rm-results", Path(tmp), f"Submit {meta['name']}")
    print(f"opened {url}")


COMMANDS = {
    "build": cmd_build,
    "score": cmd_score,
    "evaluate": cmd_evaluate,
    "run": cmd_run,
    "report": cmd_report,
    "submit": cmd_submit,
}


def main(argv: list[str] | None = None) -> int:
    from social_rm.hub import HubError

    args = parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (ValueError, KeyError, OSError, HubError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"social-rm {args.command}: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
