"""Build social-pairs from raw corpora into a folder laid out as the Hub dataset repo:
``data/<source>/<split>-00000-of-00001.parquet`` and a ``README.md`` card whose YAML declares every config.

    social-rm build --sources ../shared/corpora --out out/social-pairs [--only bbq]
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dataset_builders import (
    bbq,
    crows_pairs,
    ethics,
    hh_rlhf,
    moral_stories,
    moralchoice,
    stereoset,
    winobias,
    winogender,
    xstest,
)
from dataset_builders.base import Builder, SkipRecord
from dataset_builders.card import render_card
from dataset_builders.schema import FEATURES, encode, validate
from dataset_builders.sources import SourceError, locate

BUILDERS: dict[str, Builder] = {
    builder.name: builder
    for builder in (
        *(corpus.BUILDER for corpus in (bbq, crows_pairs, stereoset, winobias, winogender, xstest, hh_rlhf)),
        *ethics.BUILDERS,
        moralchoice.BUILDER,
        moral_stories.BUILDER,
    )
}


def get_builder(name: str) -> Builder:
    if name not in BUILDERS:
        close = difflib.get_close_matches(name, BUILDERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown source {name!r}: available are {', '.join(BUILDERS)}{hint}")
    return BUILDERS[name]


@dataclass
class BuiltSource:
    builder: Builder
    splits: dict[str, list[dict]] = field(default_factory=dict)  # split -> rows (ClassLabels as names)
    num_bytes: dict[str, int] = field(default_factory=dict)  # split -> Arrow size, for the card
    skipped: list[str] = field(default_factory=list)  # records left out, each with its reason

    def counts(self) -> dict[str, Counter]:
        return {
            split: Counter((r["subset"], r["label_type"]) for r in rows)
            for split, rows in self.splits.items()
        }


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
    log=print,
) -> list[BuiltSource]:
    """Build every selected source and write the dataset folder atomically: everything goes to a temporary
    folder beside `out_dir` that replaces it only once complete, so a failed build leaves the old one intact.
    `with_train` adds the train splits that some sources keep out by default (ETHICS)."""
    builders = select(only, exclude_licenses)
    if not builders:
        raise ValueError("no source left to build: check --only and --exclude-license")
    built = []
    for builder in builders:
        log(f"building {builder.name} ...")
        try:
            built.append(build_source(builder, sources_dir, verify, with_train))
        except SourceError as error:
            if only or not builder.optional:
                raise
            log(
                f"  left out {builder.name} (its files cannot be fetched from here; name it with --only to require it): {error}"
            )
            continue
        log(f"  {builder.name}: " + ", ".join(f"{len(r):,} {s} pairs" for s, r in built[-1].splits.items()))
        for reason in built[-1].skipped[:5]:
            log(f"  left out: {reason}")
        if len(built[-1].skipped) > 5:
            log(
                f"  ... and {len(built[-1].skipped) - 5} more records left out (all listed in the dataset card)"
            )
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tmp.chmod(0o755)
    try:
        for source in built:
            for split, rows in source.splits.items():
                path = tmp / "data" / source.builder.name / f"{split}-00000-of-00001.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                source.num_bytes[split] = write_parquet(rows, path)
        (tmp / "README.md").write_text(render_card(built), encoding="utf-8")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"wrote {out_dir}")
    return built


def _replace_dir(new: Path, target: Path) -> None:
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
        os.replace(new, target)
        shutil.rmtree(old)
    else:
        os.replace(new, target)
