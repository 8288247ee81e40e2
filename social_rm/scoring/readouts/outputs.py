"""Read-outs of what a model's own forward pass returns, for models with their own code: ArmoRM's `score` (or its
multi-objective `rewards`), and a first output (Qwen2.5-Math-RM, Eurus-RM, InternLM2 with its reward token). They
run in padded batches.
"""

from __future__ import annotations

import numpy as np

from social_rm.scoring.readouts.base import ReadOut, column, first_output


class Score(ReadOut):
    name = "score"
    help = "the output's `score` (ArmoRM); with --label-index, the multi-objective `rewards` at that index"

    def read_padded(self, encoded) -> np.ndarray:
        return self.own_forward(encoded, self.read)

    def read(self, output) -> np.ndarray:
        if self.options.label_index is not None:
            return column(output["rewards"], self.options.label_index, "the output's rewards")
        return column(output["score"], None, "the output's score")


class FirstOutput(ReadOut):
    name = "first-output"
    help = (
        "the first element of the output (Qwen2.5-Math-RM, Eurus-RM); a model with a `reward_token_id` in its "
        "config (InternLM2) reads it appended, as its own `get_score` does"
    )
    auto_class = "AutoModel"

    def __init__(self, model, tokenizer, settings, options):
        """InternLM2's `get_score(tokenizer, conversation)` templates the conversation, appends the config's
        `reward_token_id` and reads its forward pass's first output; here the same runs in padded batches."""
        super().__init__(model, tokenizer, settings, options)
        token = getattr(model.config, "reward_token_id", None)
        self.appended = [] if token is None else [token]

    def read_padded(self, encoded) -> np.ndarray:
        return self.own_forward(encoded, lambda output: first_output(output, self.options.label_index))
