"""What scorers score, and the `Scorer` protocol every scorer follows.

A completion (a prompt and one response) gets one float, a reward; a pair (a prompt and two responses) gets the
probability that its chosen response is the better one. Both are hashed by content, for the score cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

Messages = tuple[tuple[str, str], ...]  # ((role, content), ...)


def stable_hash(value) -> str:
    """The sha256 of a JSON-serialisable value, for cache keys and seeds."""
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Completion:
    prompt: Messages
    response: str

    def key(self) -> str:
        return stable_hash([self.prompt, self.response])


@dataclass(frozen=True)
class PairUnit:
    prompt: Messages
    chosen: str
    rejected: str

    def key(self) -> str:
        return stable_hash([self.prompt, self.chosen, self.rejected])


def question(prompt: Messages) -> str:
    """A prompt as one text for a judge: its one message, or a transcript of several ("User: ...")."""
    if len(prompt) == 1:
        return prompt[0][1]
    return "\n\n".join(f"{role.capitalize()}: {content}" for role, content in prompt)


def messages(prompt: Messages) -> list[dict]:
    """A prompt as the chat messages a chat template takes."""
    return [{"role": role, "content": content} for role, content in prompt]


class Scorer(Protocol):
    name: str
    unit: str  # "completion", "pair" or "file"

    def identity(self) -> dict:
        """What produced the scores (name, kind, settings), recorded next to them; never a token."""

    def fingerprint(self) -> str:
        """A hash of everything that decides the scores, keying the score cache."""

    def score_stream(self, units: Sequence) -> Iterator[tuple[list[int], np.ndarray]]:
        """Yield (indices into `units`, their float64 scores) batch by batch, each unit once. A unit's score
        does not depend on the order or batching of `units`."""


def in_chunks(units: Sequence, score: Callable[[list], np.ndarray], size: int):
    """(indices, `score(units[indices])`) for consecutive chunks of `size` units."""
    for start in range(0, len(units), size):
        batch = list(range(start, min(start + size, len(units))))
        yield batch, score([units[i] for i in batch])
