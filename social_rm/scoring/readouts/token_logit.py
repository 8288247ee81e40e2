"""The `token-logit` read-out: a causal LM whose reward is the logit of one vocabulary entry as the next token after
the templated conversation (Llama-3.1-Nemotron-70B-Reward-HF reads token 0)."""

from __future__ import annotations

import numpy as np

from social_rm.scoring import engine
from social_rm.scoring.encoding import encode_completions
from social_rm.scoring.padded import next_token_logits
from social_rm.scoring.readouts.base import ReadOut


class TokenLogit(ReadOut):
    name = "token-logit"
    help = "a causal LM's logit of --token-index after the templated conversation (Nemotron-Reward-HF)"
    auto_class = "AutoModelForCausalLM"
    needs = ("token_index",)

    def sequences(self, units):
        """The conversation followed by the next turn's generation prompt, read at its last token."""
        return [u.prompt for u in units], encode_completions(
            self.tokenizer, units, self.settings.max_length, generation_prompt=True
        )

    def packing_models(self) -> tuple:
        return (self.model,)

    def read_packed(self, rows, encoded):
        members, logits = engine.forward(
            self.model, rows, "next", encoded, verdict_ids=[self.options.token_index]
        )
        return members, logits[:, 0]

    def read_padded(self, encoded) -> np.ndarray:
        return next_token_logits(self.model, [e.ids for e in encoded], [self.options.token_index])[:, 0]
