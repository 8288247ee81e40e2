"""Read-outs of what a model's own forward pass returns, for models with their own code: ArmoRM's `score` (or its
multi-objective `rewards`), and a first output (Qwen2.5-Math-RM, Eurus-RM), or `get_score` where the model has one
(InternLM2). They run in padded batches.
"""

from __future__ import annotations

import numpy as np

from social_rm.scoring.readouts.base import ReadOut, column, first_output
from social_rm.scoring.units import messages


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
    help = "the first element of the output, or `model.get_score` where the model has one (InternLM2)"
    auto_class = "AutoModel"

    def read_padded(self, encoded) -> np.ndarray:
        return self.own_forward(encoded, lambda output: first_output(output, self.options.label_index))

    @property
    def scores_conversations(self) -> bool:
        return hasattr(self.model, "get_score")

    def score_conversations(self, units) -> np.ndarray:
        """The model's own `get_score(tokenizer, conversation)`, one conversation at a time (InternLM2 reward
        models append their reward token there)."""
        import torch

        conversations = [[*messages(u.prompt), {"role": "assistant", "content": u.response}] for u in units]
        with torch.inference_mode():
            return np.array(
                [self.model.get_score(self.tokenizer, c) for c in conversations], dtype=np.float64
            )
