"""The `pairwise` read-out: a reward model that reads both responses together (PairRM). Its first output's logit
(at --label-index, default the last) says how much better the first response is; the score of a pair is sigmoid of
it, averaged over both orders. The model's own forward pass runs in padded batches."""

from __future__ import annotations

import numpy as np

from social_rm.scoring.pairs import average_orders, both_orders, fit_conversation
from social_rm.scoring.readouts.base import ReadOut, first_output

PAIRRM_TEMPLATE = "<|source|>{conversation}<|candidate1|>{a}<|candidate2|>{b}"


class Pairwise(ReadOut):
    name = "pairwise"
    help = "a model that scores the two responses together (PairRM), both orders"
    unit = "pair"
    bradley_terry = False  # a probability, not a reward
    template = PAIRRM_TEMPLATE

    def sequences(self, units):
        return both_orders(units, self.encode_pair)

    def encode_pair(self, pair, first: str, second: str):
        def build(conversation: str) -> list[int]:
            return self.tokenizer(self.template.format(conversation=conversation, a=first, b=second))[
                "input_ids"
            ]

        return fit_conversation(pair, build, self.tokenizer, self.settings.max_length, self.settings.model)

    def read_padded(self, encoded) -> np.ndarray:
        logits = self.own_forward(encoded, lambda output: first_output(output, self.options.label_index))
        return 1 / (1 + np.exp(-logits))

    def combine(self, stream):
        return average_orders(stream)

    def identity(self) -> dict:
        return {"template": self.template}
