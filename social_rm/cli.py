"""The `social-rm` command: build social-pairs, score it, evaluate scores, or all three at once (`run`); reports,
leaderboard submissions and conversions. It parses arguments and calls the library; a `SocialRMError` is printed
as one line, any other exception shows its traceback."""

from __future__ import annotations

import logging
import sys
from dataclasses import fields
from pathlib import Path

from social_rm.arguments import parser
from social_rm.errors import SocialRMError
from social_rm.io import check_output

DEMO_SOURCES = Path(__file__).resolve().parent / "demo_corpora"
logger = logging.getLogger("social_rm")


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


def cmd_fetch_corpora(args) -> None:
    from social_rm.dataset_builders.fetch import fetch_corpora, pinned_files, target

    if args.list:
        for raw in pinned_files(args.with_train):
            print(f"{raw.url}\t{target(raw, args.to)}")
        return
    kept, fetched = fetch_corpora(args.to, args.with_train)
    print(f"{kept + fetched} raw files verified in {args.to or 'the download cache'} ({fetched} fetched)")


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
    from social_rm.data import sample_items
    from social_rm.results.scores import generations_path, write_generations, write_scores
    from social_rm.scoring.runner import is_main_process, open_cache, score_pairs

    sample = None
    if args.sample:
        ds, sample = sample_items(ds, args.sample, args.sample_seed)
        logger.info(
            f"scoring a sample: {sample['n_items']:,} of {sample['of_items']:,} items ({sample['n_pairs']:,} of "
            f"{sample['of_pairs']:,} pairs), stratified by source, seed {sample['seed']}"
        )
    scorer = _scorer(args, model)
    scores = score_pairs(ds, scorer, None if args.no_cache else open_cache(scorer, args.cache))
    if sample:
        scores.metadata["sample"] = sample
    if scores.metadata.get("truncated"):
        logger.warning(
            f"{scores.metadata['truncated']:,} sequences were longer than --max-length "
            f"{scorer.settings.max_length} and were cut (the prompt from its start, a response too long alone at its end)"
        )
    scores.metadata["dataset"] = ref.to_dict()
    if is_main_process():
        write_scores(scores, out)
        logger.info(f"wrote {out} ({len(scores.ids):,} pairs)")
        if scores.generations is not None:
            write_generations(scores.generations, generations_path(out))
            logger.info(
                f"wrote the judge's {len(scores.generations):,} replies to {generations_path(out)}; "
                f"{int(scores.unparsed.sum()):,} verdicts could not be parsed (each counted as a tie)"
            )
    return scores


def _evaluate(
    ds,
    ref,
    scores,
    out: Path,
    args,
    metric=None,
    source: str = "scores file",
    scores_path: Path | None = None,
) -> dict:
    from social_rm.results.evaluation import evaluate_scores, write_json
    from social_rm.results.scores import generations_path

    document = evaluate_scores(
        ds,
        ref,
        scores,
        args.n_bootstrap,
        args.seed,
        metric,
        source,
        getattr(args, "allow_other_dataset", False),
        generations=generations_path(scores_path) if scores_path else None,
    )
    write_json(document, out)
    return document["results"]


def cmd_score(args) -> None:
    from social_rm.scoring.kinds import resolve_kind

    check_output(args.out, (".parquet",), [args.model], "a scores file")
    resolve_kind(args.model, args.kind)  # a model that is not there, before the dataset loads
    ref, ds = _dataset(args)
    _score(args, ds, ref, args.model, args.out)


def cmd_evaluate(args) -> None:
    from social_rm.results.report import format_table
    from social_rm.results.scores import read_scores

    check_output(args.out, (".json",), [args.scores], "the results")
    ref, ds = _dataset(args)
    scores = read_scores(args.scores)
    result = _evaluate(
        ds, ref, scores, args.out, args, source=f"scores file {args.scores}", scores_path=args.scores
    )
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
    results = []
    for model in args.model or BASELINES:
        label = Path(model).stem if model not in BASELINES else model
        scores_path = out / "scores" / f"{label}.parquet"
        scores = _score(args, ds, ref, model, scores_path)
        results.append(out / "results" / f"{label}.json")
        result = _evaluate(ds, ref, scores, results[-1], args, metric, scores_path=scores_path)
        print()
        print(format_table(result, f"social_rm: {label} ({result['n_pairs']:,} pairs)"))
        logger.info(f"wrote {results[-1]}\n")
    _write_report(results, out / "report.html")
    scored = " ".join(str(out / "scores" / f"{p.stem}.parquet") for p in results)
    print(
        f"\nthe report of these models, with plots and a glossary: {out / 'report.html'}\nnext:\n"
        f"  social-rm compare --dataset {dataset} --scores {scored} --out {out / 'compare.json'}\n"
        f"  social-rm score --dataset {dataset} --model ORG/REWARD-MODEL --out {out / 'scores' / 'rm.parquet'}"
    )


def _write_report(results: list[Path], out: Path, comparison: Path | None = None) -> None:
    import json

    from social_rm.io import atomic_path
    from social_rm.results.report import load_documents, render_html

    loaded = json.loads(comparison.read_text(encoding="utf-8")) if comparison else None
    page = render_html(load_documents(results), loaded)
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")


def cmd_report(args) -> None:
    check_output(args.out, (".html", ".htm"), [*args.results, args.comparison], "the report")
    _write_report(args.results, args.out, args.comparison)
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
    result = compare(ds, ref, args.scores, args.n_bootstrap, args.seed, args.adjust)
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

    if args.name:
        from social_rm.scoring.options import LoadOptions
        from social_rm.scoring.show import show

        if not args.dataset:
            raise SocialRMError(
                "social-rm models NAME shows a pair of --dataset as the model reads it: name one"
            )
        _, ds = _dataset(args)
        load = LoadOptions(trust_remote_code=args.trust_remote_code)
        print(show(args.name, ds[0], args.max_length, load))
        return
    if not args.read_outs:
        print(table())
        return
    width = max(map(len, READOUTS))
    for name, readout in READOUTS.items():
        print(f"  {name.ljust(width)}  {readout.help}")


COMMANDS = {
    "models": cmd_models,
    "build": cmd_build,
    "fetch-corpora": cmd_fetch_corpora,
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
