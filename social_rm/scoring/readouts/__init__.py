"""Read-outs: where a reward model's reward is in its output, one `ReadOut` class each (`base.ReadOut`). The
registry below names them: `--reward-from NAME` picks one, and a new read-out is its class and one line here (or
`register(MyReadOut)` from outside the package). Without `--reward-from`, the registry of known reward models
names the read-out, else it is chosen from the loaded model (`detect`).
"""

from __future__ import annotations

from social_rm.errors import SocialRMError, lookup
from social_rm.scoring.readouts.base import ReadOut
from social_rm.scoring.readouts.heads import Logits, ValueHead, is_sequence_classifier, value_head
from social_rm.scoring.readouts.outputs import FirstOutput, Score
from social_rm.scoring.readouts.pairwise import Pairwise
from social_rm.scoring.readouts.token_logit import TokenLogit

READOUTS: dict[str, type[ReadOut]] = {}


def register(readout: type[ReadOut]) -> type[ReadOut]:
    """Add a read-out to the registry under its `name` (usable as a class decorator)."""
    if not readout.name:
        raise SocialRMError(f"the read-out {readout.__name__} has no name")
    READOUTS[readout.name] = readout
    return readout


for _readout in (Logits, Score, FirstOutput, ValueHead, TokenLogit, Pairwise):
    register(_readout)


def get_readout(name: str | None) -> type[ReadOut]:
    """The read-out class of `name` (None: `logits`, the class a model is loaded with before detection)."""
    return Logits if name is None else lookup(READOUTS, name, "read-out (--reward-from)")


PROBE = [{"role": "user", "content": "Hello."}, {"role": "assistant", "content": "Hello! How can I help?"}]


def detect(model, tokenizer, name: str) -> str:
    """The read-out of a loaded model: a value head if it has one, `logits` for transformers' own
    sequence-classification classes, else what its output holds (`score`, `logits`, or a first element) on a
    short conversation in its chat template (a model's own code may look for its template's tokens, as ArmoRM's
    gating does). A forward pass that fails says to name the read-out."""
    import torch

    from social_rm.scoring.models import input_device

    if value_head(model) is not None:
        return ValueHead.name
    if is_sequence_classifier(model):
        return Logits.name
    if hasattr(model, "get_score") or getattr(model.config, "reward_token_id", None) is not None:
        return FirstOutput.name
    text = tokenizer.apply_chat_template(PROBE, tokenize=False)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    try:
        with torch.inference_mode():
            output = model(input_ids=torch.tensor([ids], device=input_device(model)))
    except Exception as error:  # the model's own code: any error
        raise SocialRMError(
            f"{name}: cannot tell where {type(model).__name__} puts its reward: its forward pass on a templated "
            f"conversation raised {type(error).__name__}: {error}. Name the read-out with --reward-from "
            "(social-rm models --read-outs)"
        ) from error
    keys = output.keys() if hasattr(output, "keys") else ()
    return Score.name if "score" in keys else Logits.name if "logits" in keys else FirstOutput.name


__all__ = ["READOUTS", "ReadOut", "detect", "get_readout", "register"]
