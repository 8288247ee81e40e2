"""The `token-logit` read-out: a causal LM whose reward is the logit of one vocabulary entry as the next token after
the templated conversation, as the Nemotron reward models' cards read it: the conversation templated without a
generation prompt (`add_generation_prompt=False`), then `generate(max_new_tokens=1, output_scores=True)` and the
score of token 0 (`scores[0][0][0]`), which is the next-token logit at the conversation's last token.

Llama-3.3-Nemotron-70B-Reward-Principle's card asks a question after the response instead (`--follow-up`: a user
turn, then the generation prompt) and reads the logit of "Yes" minus that of "No" (`--token-index 9642
--token-against 2822`)."""

from __future__ import annotations

import numpy as np

from social_rm.scoring import engine
from social_rm.scoring.padded import next_token_logits
from social_rm.scoring.readouts.base import ReadOut


class TokenLogit(ReadOut):
    name = "token-logit"
    help = (
        "a causal LM's logit of --token-index after the templated conversation (Nemotron-Reward-HF), less that of "
        "--token-against after a --follow-up question where given (Nemotron-Reward-Principle)"
    )
    auto_class = "AutoModelForCausalLM"
    needs = ("token_index",)

    def sequences(self, units):
        """The templated conversation, read at its last token: the end of the response's turn, or the generation
        prompt after a follow-up question."""
        follow_up = self.options.follow_up
        return [u.prompt for u in units], self.encode(units, bool(follow_up), follow_up)

    def packing_models(self) -> tuple:
        return (self.model,)

    def tokens(self) -> list[int]:
        against = self.options.token_against
        return [self.options.token_index] + ([] if against is None else [against])

    def reward(self, logits) -> np.ndarray:
        return logits[:, 0] - logits[:, 1] if logits.shape[1] > 1 else logits[:, 0]

    def read_packed(self, rows, encoded):
        members, logits = engine.forward(self.model, rows, "next", encoded, verdict_ids=self.tokens())
        return members, self.reward(logits)

    def read_padded(self, encoded) -> np.ndarray:
        return self.reward(next_token_logits(self.model, [e.ids for e in encoded], self.tokens()))
