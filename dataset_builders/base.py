"""What every corpus module provides: a `Builder` registry entry with the same small interface."""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from social_rm.dataset_builders.schema import message
from social_rm.dataset_builders.sources import RawFile
from social_rm.errors import SocialRMError

# The prompt for corpora whose items are bare sentences (CrowS-Pairs, WinoBias, Winogender): both responses
# answer it, so a reward model's preference between them is a preference between the sentences.
SENTENCE_PROMPT = "Write one sentence about everyday life."


class CorpusError(SocialRMError, ValueError):
    """A raw record that cannot become pairs; the message names the file, row, column and value."""


class SkipRecord(Exception):
    """A record that the corpus itself gets wrong in a known way (say, an empty response): it is left out, and
    the build reports it (in its log and in the dataset card) instead of dropping it silently."""


def open_text(path: Path) -> IO[str]:
    """Open a text file, gzipped or not (decided by its first bytes, not its name)."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8") if gzipped else open(path, encoding="utf-8", newline="")


def require_columns(path: Path, header, columns) -> None:
    missing = [c for c in columns if c not in (header or [])]
    if missing:
        raise CorpusError(f"{path}: missing column(s) {missing}; the header is {list(header or [])}")


@dataclass(frozen=True)
class Builder:
    """One corpus. `read` turns the verified raw files (keyed by `RawFile.path`) into records, each with a
    ``split`` key; `to_pairs` turns one record into its social-pairs rows (ClassLabel columns as names), or
    raises `SkipRecord` for a known upstream defect."""

    name: str
    domain: str
    license: str
    files: tuple[RawFile, ...]
    read: Callable[[dict[str, Path]], Iterator[dict]]
    to_pairs: Callable[[dict], list[dict]]
    card: str  # markdown: how the corpus becomes pairs, with its templates
    citation: str
    extra_files: tuple[RawFile, ...] = ()  # train files, read only when asked for (`--with-train`)
    # True where the corpus cannot be fetched from here (Moral Stories): a build of every source leaves it out,
    # saying so, when its files are missing; naming it with --only requires them
    optional: bool = False


def make_pair(
    *,
    source: str,
    domain: str,
    license: str,
    group_id: str,
    category: str,
    subset: str,
    prompt: str | list[dict],
    chosen: str,
    rejected: str,
    chosen_role: str,
    rejected_role: str,
    label_type: str,
    error_type: str = "none",
    bias_direction: str = "none",
    name: str | None = None,
) -> dict:
    """One social-pairs row. `prompt` is a user message or a list of messages; `name` tells pairs with the same
    roles apart in the id (default ``<chosen_role>><rejected_role>``). Corpus modules bind the first three with
    `functools.partial`."""
    return {
        "id": f"{group_id}:{name or f'{chosen_role}>{rejected_role}'}",
        "group_id": group_id,
        "domain": domain,
        "source": source,
        "category": category,
        "subset": subset,
        "prompt": [message("user", prompt)] if isinstance(prompt, str) else prompt,
        "chosen": [message("assistant", chosen)],
        "rejected": [message("assistant", rejected)],
        "chosen_role": chosen_role,
        "rejected_role": rejected_role,
        "label_type": label_type,
        "error_type": error_type,
        "bias_direction": bias_direction,
        "license": license,
    }


def sentence_pair(
    pair: Callable[..., dict], *, group_id: str, category: str, subset: str, counter: str, stereotyped: str
) -> dict:
    """A directional pair of two bare sentences under `SENTENCE_PROMPT`: the counter-stereotypical sentence ≻
    the stereotype-consistent one (CrowS-Pairs, WinoBias, Winogender). `pair` is the corpus's `make_pair`."""
    return pair(
        group_id=group_id,
        category=category,
        subset=subset,
        prompt=SENTENCE_PROMPT,
        chosen=counter,
        rejected=stereotyped,
        chosen_role="anti_stereotyped",
        rejected_role="stereotyped",
        label_type="directional",
        bias_direction="pro_stereotype",
    )


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
