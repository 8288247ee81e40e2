"""Loading social-pairs (a built folder or a Hub id), its identity, and reading its columns fast.

A dataset's identity is what its scores and results record: for a folder, a content hash of its card and data
files; for a Hub id, the commit sha its revision resolves to (a branch such as `main` moves, a sha does not).
In `datasets` a column read as ``ds["col"]`` is formatted row by row; everything here goes through Arrow.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import datasets

from social_rm.dataset_builders.schema import PAIR_COLUMNS
from social_rm.errors import SocialRMError

logger = logging.getLogger(__name__)


class DatasetError(SocialRMError, ValueError):
    """A dataset that cannot be loaded or does not match what scores or results were computed on."""


@dataclass(frozen=True)
class DatasetRef:
    """Which social-pairs: `path` (folder or Hub id), its config and split, and `fingerprint` (the folder's
    content hash, or `<hub id>@<commit sha>`); `revision` is the resolved sha of a Hub id."""

    path: str
    config: str = "default"
    split: str = "test"
    revision: str | None = None
    fingerprint: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def is_local(dataset: str | Path) -> bool:
    return Path(dataset).exists()


def resolve(
    dataset: str | Path, config: str = "default", split: str = "test", revision: str | None = None
) -> DatasetRef:
    """The dataset's identity. A Hub id's `revision` (default `main`) is resolved to its commit sha through
    `huggingface_hub`; a folder is hashed."""
    if is_local(dataset):
        if revision:
            raise DatasetError(f"--dataset-revision {revision!r} is for Hub ids; {dataset} is a local folder")
        return DatasetRef(str(dataset), config, split, None, folder_fingerprint(dataset))
    from huggingface_hub import HfApi

    from social_rm.scoring.models import looks_like_hub_id

    if not looks_like_hub_id(str(dataset)):
        raise DatasetError(
            f"dataset folder {dataset} does not exist (build one with `social-rm build --out`)"
        )
    try:
        sha = HfApi().dataset_info(str(dataset), revision=revision).sha
    except Exception as error:  # the Hub's HTTP errors, offline mode, a network that cannot be reached
        problem = str(error).splitlines()[0] if str(error) else ""
        raise DatasetError(
            f"dataset {dataset!r} is not a local folder (none at {Path(dataset).resolve()}), and as a Hub id its "
            f"revision {revision or 'main'!r} could not be resolved: {type(error).__name__}: {problem}"
        ) from None
    return DatasetRef(str(dataset), config, split, sha, f"{dataset}@{sha}")


def load_pairs(
    ref: DatasetRef | str | Path, config: str = "default", split: str = "test"
) -> datasets.Dataset:
    """`load_dataset(path, config, split=split, revision=sha)` for a `DatasetRef` (or a folder or Hub id, with
    `config` and `split`), with a clear error for a folder that is not social-pairs or a config or split it does
    not have."""
    if not isinstance(ref, DatasetRef):
        ref = DatasetRef(str(ref), config, split) if is_local(ref) else resolve(ref, config, split)
    if is_local(ref.path) and not (Path(ref.path) / "README.md").is_file():
        raise DatasetError(f"{ref.path}: no README.md; build social-pairs there with `social-rm build`")
    try:
        return datasets.load_dataset(ref.path, ref.config, split=ref.split, revision=ref.revision)
    except ValueError as error:  # an unknown config or split: datasets lists the ones there are
        raise DatasetError(f"{ref.path}: {error}") from None


def columns(ds: datasets.Dataset, names=PAIR_COLUMNS) -> dict[str, list]:
    """The named columns as Python lists, ClassLabel columns as their names."""
    table = ds.with_format("arrow")[:]
    out = {}
    for name in names:
        values = table.column(name).to_pylist()
        feature = ds.features[name]
        if isinstance(feature, datasets.ClassLabel):
            values = [feature.names[v] for v in values]
        out[name] = values
    return out


def pair_ids(ds: datasets.Dataset) -> list[str]:
    return ds.with_format("arrow")[:].column("id").to_pylist()


def stratified_sample(sources: list[str], n: int, seed: int) -> list[int]:
    """About `n` row indices (sorted), drawn without replacement within each source in proportion to its size,
    at least one from each source."""
    import numpy as np

    rng = np.random.default_rng(seed)
    by_source: dict[str, list[int]] = {}
    for i, source in enumerate(sources):
        by_source.setdefault(source, []).append(i)
    picked: list[int] = []
    for source in sorted(by_source):
        rows = by_source[source]
        take = min(len(rows), max(1, round(n * len(rows) / len(sources))))
        picked += rng.choice(rows, size=take, replace=False).tolist()
    return sorted(picked)


def sample_items(ds: datasets.Dataset, n: int, seed: int = 0) -> tuple[datasets.Dataset, dict]:
    """A seeded sample of about `n` items (`group_id`s) stratified by source, each with all its pairs, so BBQ's
    and CrowS-Pairs' paired figures stay defined; and what the results record of it."""
    table = ds.with_format("arrow")[:]
    keys = list(zip(table.column("source").to_pylist(), table.column("group_id").to_pylist()))
    items = list(dict.fromkeys(keys))
    picked = {items[i] for i in stratified_sample([source for source, _ in items], n, seed)}
    rows = [i for i, key in enumerate(keys) if key in picked]
    record = {
        "n_items": len(picked),
        "of_items": len(items),
        "n_pairs": len(rows),
        "of_pairs": len(ds),
        "seed": seed,
    }
    return ds.select(rows), record


def folder_fingerprint(dataset: str | Path) -> str:
    """A content hash of a built social-pairs folder: its card and every data file."""
    root = Path(dataset)
    digest = hashlib.sha256()
    for path in sorted([root / "README.md", *root.glob("data/**/*.parquet")]):
        digest.update(
            str(path.relative_to(root)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest()
        )
    return digest.hexdigest()
