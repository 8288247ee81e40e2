"""Scorers that load no model: the length and random baselines, and precomputed scores from a file.

get_scorer("length").score_all(completions)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from social_rm.scoring.options import option
from social_rm.scoring.units import Completion, in_chunks, stable_hash


class Baseline:
    name: str
    unit = "completion"
    chunk = 4096
    bradley_terry = False

    def identity(self) -> dict:
        return {"name": self.name, "kind": "baseline", "parameters": 0}

    def fingerprint(self) -> str:
        return stable_hash(self.identity())

    def score_stream(self, units):
        yield from in_chunks(units, self.score_all, self.chunk)

    def score_all(self, units) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class NoOptions:
    """A kind with no options of its own."""


@dataclass
class LengthScorer(Baseline):
    """The response's length in characters (`sign=+1`: longer wins; `-1`: shorter wins)."""

    name: str = "length"
    sign: int = 1

    def score_all(self, units) -> np.ndarray:
        return self.sign * np.array([len(c.response) for c in units], dtype=np.float64)


@dataclass(frozen=True)
class RandomOptions:
    seed: int = option(0, "seed of the random baseline")


@dataclass
class RandomScorer(Baseline):
    """A uniform [0, 1) score derived from the seed and the completion's hash, so a completion gets the same score
    whatever else is scored with it."""

    name: str = "random"
    seed: int = 0

    def identity(self) -> dict:
        return {**super().identity(), "seed": self.seed}

    def score_all(self, units) -> np.ndarray:
        def uniform(c: Completion) -> float:
            digest = hashlib.sha256(f"{self.seed}\0{c.key()}".encode()).digest()
            return int.from_bytes(digest[:8], "big") / 2**64

        return np.array([uniform(c) for c in units], dtype=np.float64)


@dataclass
class FileScorer(Baseline):
    """Precomputed scores: a scores file (any format `read_scores` reads), checked pair by pair against the
    dataset and keeping the model identity it records."""

    path: str = ""
    name: str = "file"
    unit = "file"

    def score_dataset(self, ds):
        from social_rm.data import pair_ids
        from social_rm.results.scores import Scores, align, read_scores

        scores = read_scores(Path(self.path))
        ids = pair_ids(ds)
        chosen, rejected = align(ids, scores, f"scores file {self.path}")
        return Scores(ids, chosen, rejected, {"model": scores.metadata.get("model") or self.identity()})

    def identity(self) -> dict:
        return {"name": self.path, "kind": "file"}
