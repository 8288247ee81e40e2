"""Reward-model classes that their Hub repositories do not ship, restated from the model cards that define them, so
that `--model NAME` loads them (a registry entry's `model_class`). Each keeps its card's module names, so the
checkpoint's weights load into it, and its card's reading: the score head over the last hidden state at the
position the card reads.

    INFORMForSequenceClassification: infly/INF-ORM-Llama3.1-70B, a two-layer score head.
    LlamaValueHeadModel: Nexusflow/Starling-RM-34B, `transformer` and a `v_head`.
    LlamaRegressionHeadModel: openbmb/UltraRM-13b, `model` and a `regression_head`.
    AtheneForSequenceClassification: Nexusflow/Athene-RM-8B and -70B, `model` and a `v_head` read at the CLS token
    the card appends.
    LDLRewardModel27B: ShikaiChen/LDL-Reward-Gemma-2-27B-v0.1 (reward-bench's class), a Gemma-2 model whose two
    heads are kept in their own files.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import Gemma2Model, Gemma2PreTrainedModel, LlamaModel, LlamaPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutputWithPast


class INFORMForSequenceClassification(LlamaPreTrainedModel):
    """INF-ORM's card: a Llama model and `score = Linear(h, h), ReLU, Linear(h, 1)`, read at the token before the
    first pad token (the last token where there is none)."""

    pools_at = "first-pad"  # the engine cuts each sequence there (`ReadOut.sequences`)
    score_on_backbone = True  # the reward is `score(hidden state)`: the engine can run the backbone packed

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = LlamaModel(config)
        self.score = nn.Sequential(
            nn.Linear(config.hidden_size, config.hidden_size), nn.ReLU(), nn.Linear(config.hidden_size, 1)
        )
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, use_cache=None, **kwargs):
        hidden = self.model(
            input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=use_cache
        )[0]
        logits = self.score(hidden)
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        if self.config.pad_token_id is None:
            last = torch.full_like(rows, hidden.shape[1] - 1)
        else:
            last = (torch.eq(input_ids, self.config.pad_token_id).int().argmax(-1) - 1) % input_ids.shape[-1]
        return SequenceClassifierOutputWithPast(logits=logits[rows, last.to(hidden.device)])


class _LlamaWithHead(LlamaPreTrainedModel):
    """A Llama backbone under the attribute `backbone_name` and a bias-free linear head under `head_name`, its
    reward at each sequence's last attended token."""

    backbone_name = head_name = ""

    def __init__(self, config):
        super().__init__(config)
        setattr(self, self.backbone_name, LlamaModel(config))
        setattr(self, self.head_name, nn.Linear(config.hidden_size, 1, bias=False))
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, use_cache=None, **kwargs):
        backbone, head = getattr(self, self.backbone_name), getattr(self, self.head_name)
        hidden = backbone(input_ids, attention_mask=attention_mask, use_cache=use_cache)[0]
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], dtype=torch.long, device=hidden.device)
        last = attention_mask.cumsum(dim=1).argmax(dim=1)
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        return head(hidden[rows, last])


class LlamaValueHeadModel(_LlamaWithHead):
    """Starling-RM-34B's class on its card and in reward-bench: `transformer` and `v_head`."""

    base_model_prefix = backbone_name = "transformer"
    head_name = "v_head"


class LlamaRegressionHeadModel(_LlamaWithHead):
    """UltraRM-13b's `LlamaRewardModel` on its card: `model` and `regression_head`."""

    base_model_prefix = backbone_name = "model"
    head_name = "regression_head"


class AtheneForSequenceClassification(_LlamaWithHead):
    """Athene-RM's card: `model` and `v_head`, read at the last CLS token (`<|reserved_special_token_1|>`, id
    128003) of `tokenizer(apply_chat_template(conversation) + cls_token)`: the value-head read-out appends the CLS
    token, so it is the last attended token."""

    base_model_prefix = backbone_name = "model"
    head_name = "v_head"
    # the tokenizer's token that the card appends and reads at (`readouts.heads.ValueHead`)
    appends = "cls_token"


class _Network(nn.Module):
    """reward-bench's `MultiOutputNN` and `GatingNN` layer stacks: `network` = (Linear, LeakyReLU[, Dropout]) for
    each hidden width, then a Linear out (dropout is identity at inference, but keeps the checkpoint's indices)."""

    def __init__(self, sizes: list[int], dropout: bool):
        super().__init__()
        layers: list[nn.Module] = []
        for inputs, outputs in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(inputs, outputs), nn.LeakyReLU()] + ([nn.Dropout(0.0)] if dropout else [])
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.network = nn.Sequential(*layers)


class LDLScore(nn.Module):
    """LDL-Reward's reward from the last hidden state, as reward-bench's `LDLRewardModel27B.forward` computes it in
    float32: the regression layer's `objectives / 10` distributions over 10 bins (softmax), mixed by the gating
    layer's weights (softmax over them only where the config says `softmax`, at its `temperature`), and the
    expected value of the mixture over the bins 0, 1/9, ..., 1."""

    def __init__(self, config):
        super().__init__()
        settings = config.to_dict()
        objectives, width = settings.get("num_objectives", 220), 4096
        self.temperature, self.softmax = settings.get("temperature", 1.0), settings.get("softmax", False)
        self.regression_layer = _Network([config.hidden_size, width, width, objectives], dropout=False)
        self.gating_layer = _Network([config.hidden_size, width, width, objectives // 10], dropout=True)

    def forward(self, hidden):
        rewards = self.regression_layer.network(hidden)
        rewards = torch.softmax(rewards.view(rewards.size(0), -1, 10), dim=-1)
        weights = self.gating_layer.network(hidden)
        if self.softmax:
            weights = torch.softmax(weights / self.temperature, dim=1)
        distribution = torch.bmm(weights.unsqueeze(1), rewards).squeeze(1)
        bins = torch.linspace(0, 1, distribution.size(-1), device=distribution.device)
        return (distribution * bins).sum(-1)


class LDLRewardModel27B(Gemma2PreTrainedModel):
    """reward-bench's LDL-Reward class: a Gemma-2 model (its weights in the checkpoint's safetensors) and two heads
    in `regression_layer.pt` and `gating_layer.pt` (state dicts, loaded without unpickling objects), in float32,
    read at the token before the first pad token. The heads live under `score` here, so the engine runs the
    backbone packed and applies them to its last hidden state."""

    pools_at = "first-pad"
    score_on_backbone = True
    HEAD_FILES = ("regression_layer", "gating_layer")

    def __init__(self, config):
        super().__init__(config)
        self.model = Gemma2Model(config)
        self.score = LDLScore(config)
        self.post_init()

    @classmethod
    def from_pretrained(cls, name, *args, output_loading_info: bool = False, **kwargs):
        from transformers.utils import cached_file

        model, info = super().from_pretrained(name, *args, output_loading_info=True, **kwargs)
        model.score.float()
        for head in cls.HEAD_FILES:
            path = cached_file(name, f"{head}.pt", revision=kwargs.get("revision"))
            state = torch.load(path, map_location="cpu", weights_only=True)
            getattr(model.score, head).load_state_dict(state)
        prefix = "score."
        info["missing_keys"] = [k for k in info.get("missing_keys", ()) if not k.startswith(prefix)]
        return (model, info) if output_loading_info else model
