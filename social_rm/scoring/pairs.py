"""Scoring a pair in both orders: the conversation and the two responses in one sequence, each pair shown with
its chosen response first and then second, and the two verdicts averaged so that a preference for a position
cancels (the judge kind and pairwise reward models).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from social_rm.errors import SocialRMError
from social_rm.scoring.encoding import Encoded
from social_rm.scoring.units import PairUnit


def transcript(pair: PairUnit) -> str:
    return "\n".join(f"{role.capitalize()}: {content}" for role, content in pair.prompt)


def fit_conversation(
    pair: PairUnit, build: Callable[[str], list[int]], tokenizer, limit: int | None, name: str
) -> Encoded:
    """`build(conversation text)` as token ids. Over `limit`, the conversation loses its start ("..." marks the cut,
    and the sequence is marked truncated); the instruction and the two responses are never cut."""
    conversation = transcript(pair)
    ids = build(conversation)
    if not limit or len(ids) <= limit:
        return Encoded(ids, len(ids), False)
    tokens = tokenizer(conversation, add_special_tokens=False)["input_ids"]
    keep = len(tokens)
    while len(ids) > limit and keep > 0:
        keep = max(0, keep - (len(ids) - limit))
        ids = build("..." + tokenizer.decode(tokens[len(tokens) - keep :]))
    if len(ids) > limit:
        raise SocialRMError(
            f"{name}: the instruction and the two responses alone take {len(ids):,} tokens, over --max-length {limit:,}"
        )
    return Encoded(ids, len(ids), True)


def both_orders(
    units: list[PairUnit], encode: Callable[[PairUnit, str, str], Encoded]
) -> tuple[list[int], list]:
    """Each sequence's pair (the two orders share their prefix in the packed engine), and the sequences of both
    orders of each pair (2k shows pair k's chosen response first, 2k + 1 its rejected one)."""
    sequences = [
        seq for u in units for seq in (encode(u, u.chosen, u.rejected), encode(u, u.rejected, u.chosen))
    ]
    return [i // 2 for i in range(len(sequences))], sequences


def average_orders(stream):
    """From (sequence indices, P(first response is better)) batches, yield (pair indices, P(chosen is better))
    averaged over both orders, as soon as both orders of a pair are in, so a preference for a position cancels."""
    halves: dict[int, list[float]] = {}
    for batch, probabilities in stream:
        done, scores = [], []
        for i, p in zip(batch, probabilities):
            halves.setdefault(i // 2, [None, None])[i % 2] = p if i % 2 == 0 else 1 - p
            both = halves[i // 2]
            if None not in both:
                done.append(i // 2)
                scores.append((both[0] + both[1]) / 2)
                del halves[i // 2]
        if done:
            yield done, np.array(scores, dtype=np.float64)
