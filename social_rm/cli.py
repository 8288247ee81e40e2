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
    score.add_argument("--model", required=True, help="scorer: random, length or shortest")
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
    run.add_argument("--model", action="append", help="scorer (repeatable; default: every baseline)")
    run.add_argument("--sources", type=Path, help="folder of raw corpora (default: the bundled demo corpora)")
    run.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    _add_build_args(run)
    _add_metric_args(run)
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


def _score(dataset, config, split, model, seed, out: Path):
    from social_rm.data import fingerprint, load_pairs
    from social_rm.runner import score_pairs, write_scores
    from social_rm.scorers import get_scorer

    ds = load_pairs(dataset, config, split)
    scores = score_pairs(ds, get_scorer(model, seed=seed))
    scores.metadata["dataset"] = {
        "path": str(dataset),
        "config": config,
        "split": split,
        "fingerprint": fingerprint(dataset),
    }
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
    _score(args.dataset, args.config, args.split, args.model, args.seed, args.out)


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
            f"demo: building from the bundled demo corpora in {DEMO_SOURCES} (not the real corpora; pass "
            "--sources DIR for those)"
        )
    dataset = args.out / "social-pairs"
    build(
        dataset,
        DEMO_SOURCES if demo else args.sources,
        args.only,
        args.exclude_license,
        verify=not (demo or args.no_verify),
        with_train=args.with_train,
    )
    metric = load_metric()
    for model in args.model or BASELINES:
        ds, scores = _score(
            dataset, "default", "test", model, args.seed, args.out / "scores" / f"{model}.parquet"
        )
        out = args.out / "results" / f"{model}.json"
        result = _evaluate(ds, scores, dataset, "default", "test", args.n_bootstrap, args.seed, out, metric)
        print()
        print(format_table(result, f"social_rm: {model} ({result['n_pairs']:,} pairs)"))
        print(f"wrote {out}\n")


COMMANDS = {"build": cmd_build, "score": cmd_score, "evaluate": cmd_evaluate, "run": cmd_run}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (ValueError, KeyError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"social-rm {args.command}: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
