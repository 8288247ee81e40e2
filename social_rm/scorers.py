"""Scorers: each maps unique (prompt, response) completions to one float (SPEC §4).

The registry holds the built-in baselines, which need no model; `get_scorer` builds one by name.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

Messages = tuple[tuple[str, str], ...]  # ((role, content), ...)


@dataclass(frozen=True)
class Completion:
    prompt: Messages
    response: str

    def key(self) -> str:
        """A stable hash of the completion, for caches and for seeding."""
        text = json.dumps([self.prompt, self.response], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


class Scorer(Protocol):
    name: str

    def identity(self) -> dict:
        """What produced the scores (name, kind, settings), recorded next to them."""

    def score(self, completions: Sequence[Completion]) -> np.ndarray:
        """One float64 score per completion, independent of the order and batching of `completions`."""


@dataclass(frozen=True)
class LengthScorer:
    """Baseline: the response's length in characters (`sign=+1`: longer wins; `-1`: shorter wins)."""

    name: str = "length"
    sign: int = 1

    def identity(self) -> dict:
        return {"name": self.name, "kind": "baseline"}

    def score(self, completions: Sequence[Completion]) -> np.ndarray:
        return self.sign * np.array([len(c.response) for c in completions], dtype=np.float64)


@dataclass(frozen=True)
class RandomScorer:
    """Baseline: a uniform [0, 1) score derived from the seed and the completion's hash, so a completion gets
    the same score whatever else is scored with it."""

    name: str = "random"
    seed: int = 0

    def identity(self) -> dict:
        return {"name": self.name, "kind": "baseline", "seed": self.seed}

    def score(self, completions: Sequence[Completion]) -> np.ndarray:
        def uniform(c: Completion) -> float:
            digest = hashlib.sha256(f"{self.seed}\0{c.key()}".encode()).digest()
            return int.from_bytes(digest[:8], "big") / 2**64

        return np.array([uniform(c) for c in completions], dtype=np.float64)


SCORERS: dict[str, Callable[..., Scorer]] = {
    "random": lambda seed=0: RandomScorer(seed=seed),
    "length": lambda seed=0: LengthScorer(),
    "shortest": lambda seed=0: LengthScorer(name="shortest", sign=-1),
}
BASELINES = ("random", "length", "shortest")


def get_scorer(name: str, seed: int = 0) -> Scorer:
    if name not in SCORERS:
        close = difflib.get_close_matches(name, SCORERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown scorer {name!r}: available are {', '.join(SCORERS)}{hint}")
    return SCORERS[name](seed=seed)
