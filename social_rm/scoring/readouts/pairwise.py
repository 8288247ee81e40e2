"""The `pairwise` read-out: a reward model that reads both responses together (PairRM). Each pair is encoded as
llm-blender's `tokenize_pair` does on PairRM's card: the source and each candidate tokenized on their own, each
with its prefix token and its own special tokens, the source cut at 1,224 tokens and each candidate at half of
what is left of 2,048. The first output's logit (at --label-index, default the last) says how much better the
first candidate is; the score of a pair is sigmoid of it, averaged over both orders. The model's own forward pass
runs in padded batches."""

from __future__ import annotations

import numpy as np

from social_rm.scoring.encoding import Encoded
from social_rm.scoring.pairs import average_orders, both_orders, transcript
from social_rm.scoring.readouts.base import ReadOut, first_output

SOURCE_PREFIX, FIRST_PREFIX, SECOND_PREFIX = "<|source|>", "<|candidate1|>", "<|candidate2|>"
SOURCE_MAX_LENGTH, CANDIDATE_MAX_LENGTH = 1224, 412


class Pairwise(ReadOut):
    name = "pairwise"
    help = (
        "a model that scores the two responses together (PairRM, as llm-blender encodes a pair), both orders"
    )
    unit = "pair"
    bradley_terry = False  # a probability, not a reward

    def sequences(self, units):
        return both_orders(units, self.encode_pair)

    def encode_pair(self, pair, first: str, second: str) -> Encoded:
        return encode_pair(self.tokenizer, pair, first, second)

    def read_padded(self, encoded) -> np.ndarray:
        logits = self.own_forward(encoded, lambda output: first_output(output, self.options.label_index))
        return 1 / (1 + np.exp(-logits))

    def combine(self, stream):
        return average_orders(stream)

    def identity(self) -> dict:
        return {"encoding": f"llm-blender tokenize_pair ({SOURCE_MAX_LENGTH}, {CANDIDATE_MAX_LENGTH})"}


def encode_pair(tokenizer, pair, first: str, second: str) -> Encoded:
    """The source (the prompt's one message, or a transcript of several) and the two candidates, as llm-blender's
    `tokenize_pair`; `response_start` is where the first candidate starts."""
    source = pair.prompt[0][1] if len(pair.prompt) == 1 else transcript(pair)
    cut = False

    def encode(text: str, limit: int) -> list[int]:
        """`tokenizer.encode(text, max_length=limit, truncation=True)`, tokenizing twice only when over."""
        nonlocal cut
        ids = tokenizer.encode(text)
        if len(ids) <= limit:
            return ids
        cut = True
        return tokenizer.encode(text, max_length=limit, truncation=True)

    source_ids = encode(SOURCE_PREFIX + source, SOURCE_MAX_LENGTH)
    room = (SOURCE_MAX_LENGTH + 2 * CANDIDATE_MAX_LENGTH - len(source_ids)) // 2
    ids = source_ids + encode(FIRST_PREFIX + first, room) + encode(SECOND_PREFIX + second, room)
    return Encoded(ids, len(source_ids), cut)
