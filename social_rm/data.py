"""Loading social-pairs (a built folder or a Hub id) and reading its columns fast.

In `datasets` a column read as ``ds["col"]`` is formatted row by row; everything here goes through Arrow.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import datasets

PAIR_COLUMNS = (
    "domain",
    "source",
    "category",
    "subset",
    "group_id",
    "chosen_role",
    "rejected_role",
    "label_type",
    "error_type",
    "bias_direction",
)


def load_pairs(dataset: str | Path, config: str = "default", split: str = "test") -> datasets.Dataset:
    """`load_dataset(dataset, config, split=split)`, with a clear error for a folder that is not social-pairs."""
    if Path(dataset).exists() and not (Path(dataset) / "README.md").is_file():
        raise FileNotFoundError(f"{dataset}: no README.md; build social-pairs there with `social-rm build`")
    return datasets.load_dataset(str(dataset), config, split=split)


def columns(ds: datasets.Dataset, names) -> dict[str, list]:
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


def fingerprint(dataset: str | Path) -> str:
    """A content hash of a built social-pairs folder (its card and every data file); for a Hub id, the id."""
    root = Path(dataset)
    if not root.is_dir():
        return str(dataset)
    digest = hashlib.sha256()
    for path in sorted([root / "README.md", *root.glob("data/**/*.parquet")]):
        digest.update(
            str(path.relative_to(root)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest()
        )
    return digest.hexdigest()
