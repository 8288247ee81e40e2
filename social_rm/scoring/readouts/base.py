"""The `ReadOut` base: everything model-specific about reading a reward model. A read-out names the Auto class its
models load with, encodes completions (or pairs) as the model reads them, and reads a batch: packed rows through
the engine where it computes the reward from a backbone the engine serves, padded batches otherwise.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from social_rm.errors import SocialRMError
from social_rm.scoring.encoding import Encoded, encode_completions
from social_rm.scoring.padded import own_forward


class ReadOut:
    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    auto_class: ClassVar[str] = "AutoModelForSequenceClassification"
    unit: ClassVar[str] = "completion"  # or "pair": the read-out scores two responses together
    bradley_terry: ClassVar[bool] = True  # its scores are rewards whose difference is a log-odds
    needs: ClassVar[tuple[str, ...]] = ()  # options it cannot do without, e.g. ("token_index",)

    def __init__(self, model, tokenizer, settings, options):
        """`settings`: the `options.ModelSettings`; `options`: the classifier kind's `rewards.RewardOptions`."""
        self.model, self.tokenizer, self.settings, self.options = model, tokenizer, settings, options
        self.pad_id = model.config.pad_token_id  # read once; nothing changes it while scoring
        self.appended: list[int] = []  # token ids read after every sequence (InternLM2's reward token)

    @classmethod
    def check(cls, name: str, config: dict, options) -> None:
        """Refuse, before loading, a model or options this read-out cannot read (`config`: its config.json)."""
        for needed in cls.needs:
            if getattr(options, needed) is None:
                flag = "--" + needed.replace("_", "-")
                raise SocialRMError(f"--reward-from {cls.name} needs {flag}")

    def encode(self, units, generation_prompt: bool = False, follow_up: str | None = None) -> list[Encoded]:
        """The units' token ids, tokenized as the model's card does (`options.tokenize`), cut to leave room for
        the tokens the read-out appends (`appended`); a user's `follow_up` turn after the response, if any."""
        limit = self.settings.max_length
        return encode_completions(
            self.tokenizer,
            units,
            limit - len(self.appended) if limit else limit,
            generation_prompt,
            self.options.tokenize or "template",
            follow_up,
        )

    def sequences(self, units) -> tuple[list, list[Encoded]]:
        """(a key per sequence: sequences with one key share their common prefix when packed; the sequences).
        By default the reward is read at the last token as transformers pools a sequence-classification head in a
        one-sequence pass: the last token that is not the pad token. A model trained with pad = eos (TRL's default
        without a pad token) whose chat template ends a turn with eos is read at the token before that eos, so
        trailing pad ids are cut. A head that pools before the first pad token (`pools_at = "first-pad"` on its
        class, as INF-ORM's) is read there: the sequence is cut before its first pad id, which a causal model's
        hidden states before it do not see. The read-out's `appended` tokens follow, within --max-length."""
        encoded = self.encode(units)
        first_pad = getattr(type(self.model), "pools_at", "") == "first-pad"
        for e in encoded:
            if first_pad and self.pad_id in e.ids[1:]:
                e.ids = e.ids[: e.ids.index(self.pad_id, 1)]
            while self.pad_id is not None and len(e.ids) > e.response_start + 1 and e.ids[-1] == self.pad_id:
                e.ids = e.ids[:-1]
            e.ids = e.ids + self.appended
        return [u.prompt for u in units], encoded

    def packing_models(self) -> tuple:
        """The models the packed engine runs for this read-out (() where it reads the model's own forward)."""
        return ()

    def read_packed(self, rows, encoded) -> tuple[list[int], np.ndarray]:
        """(the members of `rows`, in packing order, and their scores)."""
        raise NotImplementedError

    def read_padded(self, encoded: list[Encoded]) -> np.ndarray:
        """One score per sequence of a padded batch."""
        raise NotImplementedError

    def own_forward(self, encoded: list[Encoded], read) -> np.ndarray:
        """`read(output)` of the model's own forward pass on a padded batch (`padded.own_forward`)."""
        return own_forward(self.model, [e.ids for e in encoded], self.pad_id, read)

    def combine(self, stream):
        """From (sequence indices, scores) batches to (unit indices, scores): one sequence a unit by default."""
        return stream

    def identity(self) -> dict:
        """What this read-out adds to the scorer's identity."""
        return {}


def column(values, label_index: int | None, what: str) -> np.ndarray:
    """One float64 per sequence from a (batch,) or (batch, labels) tensor: the label at `label_index`, default the
    last."""
    values = values.float()
    if values.dim() == 1:
        values = values[:, None]
    if values.dim() != 2:
        raise SocialRMError(
            f"{what} has shape {tuple(values.shape)}; a reward is one value, or one per label, a sequence"
        )
    index = values.shape[-1] - 1 if label_index is None else label_index
    if not 0 <= index < values.shape[-1]:
        raise SocialRMError(f"--label-index {label_index} is outside the {values.shape[-1]} values of {what}")
    return values[:, index].cpu().numpy().astype(np.float64)


def first_output(output, label_index: int | None) -> np.ndarray:
    """The rewards in the first element of a model's output (a tensor, a tuple or a ModelOutput)."""
    if isinstance(output, (tuple, list, dict)) or hasattr(output, "keys"):
        output = output[0]
    return column(output, label_index, "the model's first output")
