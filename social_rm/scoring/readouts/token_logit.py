"""The `token-logit` read-out: a causal LM whose reward is the logit of one vocabulary entry as the next token after
the templated conversation, as the Nemotron reward models' cards read it: the conversation templated without a
generation prompt (`add_generation_prompt=False`), then `generate(max_new_tokens=1, output_scores=True)` and the
score of token 0 (`scores[0][0][0]`), which is the next-token logit at the conversation's last token."""

from __future__ import annotations

import numpy as np

from social_rm.scoring import engine
from social_rm.scoring.padded import next_token_logits
from social_rm.scoring.readouts.base import ReadOut


class TokenLogit(ReadOut):
    name = "token-logit"
    help = "a causal LM's logit of --token-index after the templated conversation (Nemotron-Reward-HF)"
    auto_class = "AutoModelForCausalLM"
    needs = ("token_index",)

    def sequences(self, units):
        """The templated conversation, read at its last token (the end of the response's turn)."""
        return [u.prompt for u in units], self.encode(units)

    def packing_models(self) -> tuple:
        return (self.model,)

    def read_packed(self, rows, encoded):
        members, logits = engine.forward(
            self.model, rows, "next", encoded, verdict_ids=[self.options.token_index]
        )
        return members, logits[:, 0]

    def read_padded(self, encoded) -> np.ndarray:
        return next_token_logits(self.model, [e.ids for e in encoded], [self.options.token_index])[:, 0]
