"""What every corpus module provides: a `Builder` registry entry with the same small interface."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dataset_builders.sources import RawFile


class CorpusError(ValueError):
    """A raw record that cannot become pairs; the message names the file, row, column and value."""


@dataclass(frozen=True)
class Builder:
    """One corpus. `read` turns the verified raw files (keyed by `RawFile.path`) into records, each with a
    ``split`` key; `to_pairs` turns one record into its social-pairs rows (ClassLabel columns as names)."""

    name: str
    domain: str
    license: str
    files: tuple[RawFile, ...]
    read: Callable[[dict[str, Path]], Iterator[dict]]
    to_pairs: Callable[[dict], list[dict]]
    card: str  # markdown: how the corpus becomes pairs, with its templates
    citation: str
