"""Read-outs: where a reward model's reward is in its output. `--reward-from` names one; without it the read-out is
chosen from the loaded model (`detect`). The packed engine serves the standard architectures' heads; a model's own
forward (custom code) runs in padded, length-sorted batches (`models.own_forward`).
"""

from __future__ import annotations

import numpy as np

from social_rm.errors import SocialRMError

READOUTS = {
    "logits": "a sequence-classification head's logits, at --label-index on a multi-logit head (default the last)",
    "score": "the output's `score` (ArmoRM); with --label-index, the multi-objective `rewards` at that index",
    "first-output": "the first element of the output, or `model.get_score` where the model has one (InternLM2)",
    "value-head": "a value head over the last hidden state at the last response token (Starling-RM, UltraRM)",
    "token-logit": "a causal LM's logit of --token-index after the templated conversation (Nemotron-Reward-HF)",
    "pairwise": "a model that scores the two responses together (PairRM), both orders",
}
# The Auto class each read-out loads with, unless the model's own code registers another (models.auto_class_for).
AUTO_CLASS = {"first-output": "AutoModel", "value-head": "AutoModel", "token-logit": "AutoModelForCausalLM"}
VALUE_HEAD_NAMES = ("v_head", "value_head", "regression_head", "reward_head")


def auto_class(reward_from: str | None) -> str:
    return AUTO_CLASS.get(reward_from, "AutoModelForSequenceClassification")


def check(reward_from: str | None) -> None:
    if reward_from is not None and reward_from not in READOUTS:
        raise SocialRMError(f"--reward-from must be one of {', '.join(READOUTS)} (got {reward_from!r})")


def is_library_class(model) -> bool:
    """A class transformers itself defines (not a repository's own code)."""
    return type(model).__module__.startswith("transformers.")


def value_head(model):
    """The model's value head module (the first of `VALUE_HEAD_NAMES` it has), or None."""
    import torch

    return next((getattr(model, n) for n in VALUE_HEAD_NAMES if isinstance(getattr(model, n, None), torch.nn.Module)),
                None)  # fmt: skip


def backbone(model):
    """The transformer under a head: the model's base model (`base_model_prefix`, or `model` / `transformer`)."""
    for name in (getattr(model, "base_model_prefix", ""), "model", "transformer"):
        inner = getattr(model, name, None) if name else None
        if inner is not None and inner is not model and hasattr(inner, "config"):
            return inner
    raise SocialRMError(f"cannot find the transformer under {type(model).__name__}'s value head")


def detect(model) -> str:
    """The read-out of a loaded model: a value head if it has one, `logits` for transformers' own
    sequence-classification classes, else what its output holds (`score`, `logits`, or a first element)."""
    import torch

    if value_head(model) is not None:
        return "value-head"
    if is_library_class(model) and type(model).__name__.endswith("ForSequenceClassification"):
        return "logits"
    if hasattr(model, "get_score"):
        return "first-output"
    from social_rm.scoring.models import input_device

    with torch.inference_mode():
        output = model(input_ids=torch.tensor([[model.config.bos_token_id or 0, 1]], device=input_device(model)))
    keys = output.keys() if hasattr(output, "keys") else ()
    return "score" if "score" in keys else "logits" if "logits" in keys else "first-output"


def column(values, label_index: int | None, what: str) -> np.ndarray:
    """One float64 per sequence from a (batch,) or (batch, labels) tensor: the label at `label_index`, default the
    last."""
    values = values.float()
    if values.dim() == 1:
        values = values[:, None]
    if values.dim() != 2:
        raise SocialRMError(f"{what} has shape {tuple(values.shape)}; a reward is one value, or one per label, a sequence")
    index = values.shape[-1] - 1 if label_index is None else label_index
    if not 0 <= index < values.shape[-1]:
        raise SocialRMError(f"--label-index {label_index} is outside the {values.shape[-1]} values of {what}")
    return values[:, index].cpu().numpy().astype(np.float64)


def read(output, reward_from: str, label_index: int | None) -> np.ndarray:
    """The rewards in the output of a model's own forward pass on a batch."""
    if reward_from == "score":
        if label_index is not None:
            return column(output["rewards"], label_index, "the output's rewards")
        return column(output["score"], None, "the output's score")
    if reward_from == "logits":
        return column(output["logits"], label_index, "the logits")
    first = output if not isinstance(output, (tuple, list, dict)) and not hasattr(output, "keys") else output[0]
    return column(first, label_index, "the model's first output")
