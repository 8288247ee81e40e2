"""Read-outs of a head over the last hidden state: transformers' sequence-classification `logits`, and a value head
(Starling-RM, UltraRM). Where the head and its backbone are known, the head is applied here to the backbone's last
hidden state, so the backbone runs packed where the engine serves it; otherwise the model's own forward pass runs
in padded batches.
"""

from __future__ import annotations

import numpy as np

from social_rm.errors import SocialRMError
from social_rm.scoring import engine
from social_rm.scoring.models import is_library_class
from social_rm.scoring.padded import last_hidden
from social_rm.scoring.readouts.base import ReadOut, column

VALUE_HEAD_NAMES = ("v_head", "value_head", "regression_head", "reward_head")


class HeadReadOut(ReadOut):
    """A head applied to the backbone's last hidden state at each sequence's last token."""

    head = backbone = None

    def packing_models(self) -> tuple:
        return (self.backbone,)

    def read_packed(self, rows, encoded):
        members, hidden = engine.forward(self.backbone, rows, "hidden", encoded)
        return members, self.from_head(hidden)

    def read_padded(self, encoded) -> np.ndarray:
        return self.from_head(last_hidden(self.backbone, [e.ids for e in encoded]))

    def from_head(self, hidden) -> np.ndarray:
        import torch

        # on "meta" when offloaded: accelerate's hook brings it and the input
        weight = next(self.head.parameters())
        device = hidden.device if weight.device.type == "meta" else weight.device
        with torch.inference_mode():
            values = self.head(hidden.to(device, weight.dtype))
        return column(values, self.options.label_index, "the head")


class Logits(HeadReadOut):
    name = "logits"
    help = (
        "a sequence-classification head's logits, at --label-index on a multi-logit head (default the last)"
    )

    def __init__(self, model, tokenizer, settings, options):
        super().__init__(model, tokenizer, settings, options)
        # transformers' own classifiers, and a class that says its reward is `score(hidden state)` (INF-ORM's)
        on_backbone = engine.supports_packing(model) or getattr(type(model), "score_on_backbone", False)
        if on_backbone and hasattr(model, "score"):
            self.head, self.backbone = model.score, getattr(model, model.base_model_prefix)

    @classmethod
    def check(cls, name, config, options) -> None:
        architectures = config.get("architectures") or []
        if architectures and all(a.endswith("ForCausalLM") for a in architectures):
            raise SocialRMError(
                f"{name} is a causal LM ({', '.join(architectures)}) with no reward head: read its reward with "
                "--reward-from token-logit --token-index N, or score it as a policy with --kind logprob"
            )

    def packing_models(self) -> tuple:
        return () if self.head is None else (self.backbone,)

    def read_padded(self, encoded) -> np.ndarray:
        if self.head is not None:
            return super().read_padded(encoded)
        return self.own_forward(
            encoded, lambda output: column(output["logits"], self.options.label_index, "the logits")
        )


class ValueHead(HeadReadOut):
    name = "value-head"
    help = (
        "a value head over the last hidden state at the last response token (Starling-RM, UltraRM), or at the "
        "token its card appends (Athene-RM's CLS)"
    )
    auto_class = "AutoModel"

    def __init__(self, model, tokenizer, settings, options):
        super().__init__(model, tokenizer, settings, options)
        self.head = value_head(model)
        if self.head is None:
            raise SocialRMError(
                f"{settings.model} ({type(model).__name__}) has no value head ({', '.join(VALUE_HEAD_NAMES)}); "
                "pass another --reward-from"
            )
        self.backbone = backbone(model)
        # a class whose card appends a token of the tokenizer to the text and reads there (Athene-RM's CLS)
        appends = getattr(type(model), "appends", None)
        if appends:
            token = getattr(tokenizer, appends, None)
            if token is None:
                raise SocialRMError(
                    f"{settings.model}: its card reads the reward at the tokenizer's {appends}, which its "
                    "tokenizer does not define"
                )
            self.appended = [tokenizer.convert_tokens_to_ids(token)]


def value_head(model):
    """The model's value head module (the first of `VALUE_HEAD_NAMES` it has), or None."""
    import torch

    heads = (getattr(model, n, None) for n in VALUE_HEAD_NAMES)
    return next((h for h in heads if isinstance(h, torch.nn.Module)), None)


def backbone(model):
    """The transformer under a head: the model's base model (`base_model_prefix`, or `model` / `transformer`),
    never a language model with its own head (Starling-RM-7B's card class holds both the LlamaForCausalLM as
    `model` and its transformer as `transformer`)."""
    for name in (getattr(model, "base_model_prefix", ""), "model", "transformer"):
        inner = getattr(model, name, None) if name else None
        if (
            inner is not None
            and inner is not model
            and hasattr(inner, "config")
            and not hasattr(inner, "lm_head")
        ):
            return inner
    raise SocialRMError(f"cannot find the transformer under {type(model).__name__}'s value head")


def is_sequence_classifier(model) -> bool:
    """transformers' own sequence-classification class, read by its `logits`."""
    return is_library_class(model) and type(model).__name__.endswith("ForSequenceClassification")
