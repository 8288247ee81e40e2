"""Build social-pairs from raw corpora into a folder laid out as the Hub dataset repo:
``data/<source>/<split>-00000-of-00001.parquet`` and a ``README.md`` card whose YAML declares every config.

    social-rm build --sources ../shared/corpora --out out/social-pairs [--only bbq]
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from social_rm.dataset_builders.base import Builder, BuiltSource, SkipRecord
from social_rm.dataset_builders.card import render_card
from social_rm.dataset_builders.output import MARKER, check_out_dir, recover, replace
from social_rm.dataset_builders.registry import BUILDERS, get_builder
from social_rm.dataset_builders.schema import FEATURES, decode, encode, validate
from social_rm.dataset_builders.sources import SourceError, locate
from social_rm.errors import SocialRMError

logger = logging.getLogger(__name__)


def select(only: list[str] | None = None, exclude_licenses: list[str] = ()) -> list[Builder]:
    """The builders to run: `only` (names) or all, less those whose licence contains any of `exclude_licenses`
    (case-insensitive: "CC-BY-SA" leaves out CC-BY-SA-4.0)."""
    builders = [get_builder(name) for name in only] if only else list(BUILDERS.values())
    excluded = [license.lower() for license in exclude_licenses]
    return [b for b in builders if not any(token in b.license.lower() for token in excluded)]


def build_source(
    builder: Builder, sources_dir: Path | None, verify: bool = True, with_train: bool = False
) -> BuiltSource:
    """Read, convert and validate one corpus. Raises on the first bad file, record or row."""
    files = builder.files + (builder.extra_files if with_train else ())
    paths = {raw.path: locate(raw, sources_dir, verify) for raw in files}
    splits: dict[str, list[dict]] = defaultdict(list)
    skipped = []
    for record in builder.read(paths):
        try:
            splits[record["split"]].extend(builder.to_pairs(record))
        except SkipRecord as reason:
            skipped.append(str(reason))
    validated = {split: validate(rows, builder.name) for split, rows in splits.items()}
    return BuiltSource(builder, validated, skipped=skipped)


def write_parquet(rows: list[dict], path: Path) -> int:
    """Write `rows` with the social-pairs features; returns the table's Arrow size in bytes."""
    table = pa.Table.from_pylist(encode(rows), schema=FEATURES.arrow_schema)
    pq.write_table(table, path, row_group_size=10_000)
    return table.nbytes


def build(
    out_dir: Path,
    sources_dir: Path | None = None,
    only: list[str] | None = None,
    exclude_licenses: list[str] = (),
    verify: bool = True,
    with_train: bool = False,
    progress: bool = True,
) -> list[BuiltSource]:
    """Build every selected source and write the dataset folder atomically: everything goes to a temporary
    folder beside `out_dir` that replaces it in one step only once complete (`output.replace`), so a failed or
    killed build leaves the old one intact, and the next build puts right what a killed one left. `out_dir` must
    be new, empty or a previous build (`output.check_out_dir`). With `only`, the named sources are added
    or replaced and the other sources already in `out_dir` are kept. `with_train` adds the train splits that
    some sources keep out by default (ETHICS)."""
    if only is not None and not only:
        raise SocialRMError("--only names no source: name one or more of " + ", ".join(BUILDERS))
    out_dir = check_out_dir(Path(out_dir), sources_dir, set(BUILDERS))
    recover(out_dir)
    builders = select(only, exclude_licenses)
    if not builders:
        raise SocialRMError("no source left to build: check --only and --exclude-license")
    named = {b.name for b in builders}
    kept = [name for name in existing_sources(out_dir) if name not in named] if only else []
    built = []
    for builder in tqdm(builders, desc="building social-pairs", unit="source", disable=not progress):
        logger.info(f"building {builder.name} ...")
        try:
            built.append(build_source(builder, sources_dir, verify, with_train))
        except SourceError as error:
            if only or not builder.optional:
                raise
            logger.info(
                f"  left out {builder.name} (its files cannot be fetched from here; name it with --only to require it): {error}"
            )
            continue
        logger.info(
            f"  {builder.name}: " + ", ".join(f"{len(r):,} {s} pairs" for s, r in built[-1].splits.items())
        )
        for reason in built[-1].skipped[:5]:
            logger.info(f"  left out: {reason}")
        if len(built[-1].skipped) > 5:
            logger.info(
                f"  ... and {len(built[-1].skipped) - 5} more records left out (all listed in the dataset card)"
            )
    if kept:
        logger.info(f"keeping {', '.join(kept)} from {out_dir}")
        built = sorted(
            [*built, *(read_built(out_dir, name) for name in kept)],
            key=lambda b: list(BUILDERS).index(b.builder.name),
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-{os.getpid()}-", dir=out_dir.parent))
    tmp.chmod(0o755)
    try:
        for source in built:
            folder = tmp / "data" / source.builder.name
            folder.mkdir(parents=True, exist_ok=True)
            for split, rows in source.splits.items():
                source.num_bytes[split] = write_parquet(rows, folder / f"{split}-00000-of-00001.parquet")
            (folder / LEFT_OUT).write_text(json.dumps(source.skipped, indent=1) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(render_card(built), encoding="utf-8")
        (tmp / MARKER).write_text(
            "a social-pairs build: `social-rm build` may replace this folder\n", encoding="utf-8"
        )
        replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info(f"wrote {out_dir}")
    return built


LEFT_OUT = "left_out.json"  # beside a source's parquet files: the records its build left out, with reasons


def existing_sources(out_dir: Path) -> list[str]:
    """The sources a built folder holds."""
    data = Path(out_dir) / "data"
    return (
        sorted(p.name for p in data.iterdir() if p.is_dir() and p.name in BUILDERS) if data.is_dir() else []
    )


def read_built(out_dir: Path, name: str) -> BuiltSource:
    """A source as an earlier build wrote it into `out_dir` (its rows, splits and left-out records)."""
    folder = Path(out_dir) / "data" / name
    splits = {}
    for path in sorted(folder.glob("*-00000-of-00001.parquet")):
        rows = pq.read_table(path).to_pylist()
        splits[path.name.split("-00000-")[0]] = decode(rows)
    left_out = folder / LEFT_OUT
    skipped = json.loads(left_out.read_text(encoding="utf-8")) if left_out.is_file() else []
    return BuiltSource(BUILDERS[name], splits, skipped=skipped)
