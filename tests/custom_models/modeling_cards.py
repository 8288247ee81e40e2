"""Tiny instances of reward-model classes that live in their repositories' own code, restated from those
repositories and reward-bench's copies of them, keeping what decides the reading: where the reward is pooled and
what the output holds. Saved with `auto_map` and loaded back with trust_remote_code.

- `GatingRM` / `GemmaGatingRM`: ArmoRM and QRM: read at the token before the first pad token, a gating network fed
  the hidden state at the last `<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n` (which raises where
  the input has none), the output's `score` and `rewards`.
- `URMLike`: URM: `logits` with the reward in column 0.
- `GRewardModel`: GRM's sftreg models: a value head, read at the last attended token, returned as a tensor.
- `RegressionRM`: Eurus-RM: a regression head read at the last attended token, returned as a tensor.
- `StarlingGPTRewardModel`: Starling-RM-7B's card: a LlamaForCausalLM as `model`, its transformer as
  `transformer`, a `v_head`, read at the token before the first pad (unk) token.
- `LDLRewardModel27B`: reward-bench's LDL-Reward class (rewardbench/models/ldlreward.py): a Gemma-2 model, a
  regression and a gating network saved in their own `.pt` files, the expected value of the gated mixture of
  10-bin distributions, read at the token before the first pad token. Saved and loaded as reward-bench does,
  without its hub download, flash attention and bfloat16.
"""

from dataclasses import dataclass

import torch
from transformers import (
    Gemma2Model,
    Gemma2PreTrainedModel,
    LlamaForCausalLM,
    LlamaModel,
    LlamaPreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.utils import ModelOutput


def before_first_pad(input_ids, pad_token_id):
    """The card classes' pooling: the token before the first pad token, the last token where there is none."""
    return (torch.eq(input_ids, pad_token_id).int().argmax(-1) - 1) % input_ids.shape[-1]


def last_attended(attention_mask, shape, device):
    if attention_mask is None:
        attention_mask = torch.ones(shape, dtype=torch.long, device=device)
    return attention_mask.cumsum(dim=1).argmax(dim=1)


@dataclass
class GatedOutput(ModelOutput):
    rewards: torch.FloatTensor = None
    gating_output: torch.FloatTensor = None
    score: torch.FloatTensor = None


class _Gating:
    def _build(self, config):
        self.regression_layer = torch.nn.Linear(config.hidden_size, 4, bias=False)
        self.gating = torch.nn.Linear(config.hidden_size, 4)

    def _gating_position(self, ids: list[int]) -> int:
        pattern = self.config.gating_pattern
        for j in range(len(ids) - len(pattern), -1, -1):
            if ids[j : j + len(pattern)] == pattern:
                return j
        raise ValueError("Token pattern not found in the list.")

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        hidden = self.model(input_ids, attention_mask=attention_mask).last_hidden_state
        rows = torch.arange(hidden.shape[0])
        pooled = hidden[rows, before_first_pad(input_ids, self.config.pad_token_id)]
        rewards = self.regression_layer(pooled)
        prompt = hidden[rows, [self._gating_position(ids.tolist()) for ids in input_ids]]
        gating = torch.softmax(self.gating(prompt), dim=1)
        return GatedOutput(
            rewards=rewards, gating_output=gating, score=(gating * rewards).sum(-1, keepdim=True)
        )


class GatingRM(_Gating, LlamaPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self._build(config)
        self.post_init()


class GemmaGatingRM(_Gating, Gemma2PreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.model = Gemma2Model(config)
        self._build(config)
        self.post_init()


class URMLike(LlamaPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.score = torch.nn.Linear(config.hidden_size, 2, bias=False)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        hidden = self.model(input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = hidden[torch.arange(hidden.shape[0]), before_first_pad(input_ids, self.config.pad_token_id)]
        return SequenceClassifierOutput(logits=self.score(pooled))


class _HeadAtEnd(LlamaPreTrainedModel):
    head_name = ""

    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        setattr(self, self.head_name, torch.nn.Linear(config.hidden_size, 1, bias=False))
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        hidden = self.model(input_ids, attention_mask=attention_mask).last_hidden_state
        last = last_attended(attention_mask, hidden.shape[:2], hidden.device)
        return getattr(self, self.head_name)(hidden[torch.arange(hidden.shape[0]), last])


class GRewardModel(_HeadAtEnd):
    head_name = "v_head"


class RegressionRM(_HeadAtEnd):
    head_name = "regression_head"


class StarlingGPTRewardModel(LlamaPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaForCausalLM(config)
        self.v_head = torch.nn.Linear(config.hidden_size, 1, bias=False)
        self.PAD_ID = config.pad_token_id
        self.post_init()

    @property
    def transformer(self):
        """The card's `self.transformer = model.model` (a property here, so the weights are saved once)."""
        return self.model.model

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        hidden = self.transformer(input_ids, attention_mask=attention_mask)[0]
        rewards = self.v_head(hidden).squeeze(-1)
        scores = []
        for i in range(input_ids.shape[0]):
            c_inds = (input_ids[i] == self.PAD_ID).nonzero()
            c_ind = c_inds[0].item() if len(c_inds) > 0 else input_ids.shape[1]
            scores.append(rewards[i, c_ind - 1])
        return torch.stack(scores)


class MultiOutputNN(torch.nn.Module):
    def __init__(self, input_dim, output_dim, hidden_dims=(4096, 4096)):
        super().__init__()
        layers = [torch.nn.Linear(input_dim, hidden_dims[0]), torch.nn.LeakyReLU()]
        for i in range(1, len(hidden_dims)):
            layers += [torch.nn.Linear(hidden_dims[i - 1], hidden_dims[i]), torch.nn.LeakyReLU()]
        layers.append(torch.nn.Linear(hidden_dims[-1], output_dim))
        self.network = torch.nn.Sequential(*layers)
        self.softmax = torch.nn.Softmax(dim=-1)

    def forward(self, x):
        x = self.network(x)
        return self.softmax(x.view(x.size(0), -1, 10))


class GatingNN(torch.nn.Module):
    def __init__(self, input_dim, output_dim, hidden_dim=4096, num_layers=2, temperature=1.0, softmax=False):
        super().__init__()
        self.temperature, self.softmax = temperature, softmax
        layers = [torch.nn.Linear(input_dim, hidden_dim), torch.nn.LeakyReLU(), torch.nn.Dropout(0.0)]
        for _ in range(num_layers - 1):
            layers += [torch.nn.Linear(hidden_dim, hidden_dim), torch.nn.LeakyReLU(), torch.nn.Dropout(0.0)]
        layers.append(torch.nn.Linear(hidden_dim, output_dim))
        self.network = torch.nn.Sequential(*layers)

    def forward(self, x):
        x = self.network(x)
        return torch.nn.functional.softmax(x / self.temperature, dim=1) if self.softmax else x


class LDLRewardModel27B(Gemma2PreTrainedModel):
    package_class = True  # reward-bench's package ships it: saved without auto_map, the registry restates it

    def __init__(self, config):
        super().__init__(config)
        self.model = Gemma2Model(config)
        settings = config.to_dict()
        self.num_objectives = settings.get("num_objectives", 220)
        self.regression_layer = MultiOutputNN(config.hidden_size, self.num_objectives)
        self.gating_layer = GatingNN(
            config.hidden_size,
            self.num_objectives // 10,
            temperature=settings.get("temperature", 1.0),
            softmax=settings.get("softmax", False),
        )
        self.post_init()  # not in reward-bench's class: transformers 5 needs it to load one

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        hidden = self.model(input_ids, attention_mask=attention_mask)[0]
        hidden = hidden[
            torch.arange(input_ids.shape[0]), before_first_pad(input_ids, self.config.pad_token_id)
        ]
        rewards = self.regression_layer(hidden)
        weights = self.gating_layer(hidden).unsqueeze(1)
        distribution = torch.bmm(weights, rewards).squeeze(1)
        score = (distribution * torch.linspace(0, 1, distribution.size(-1))).sum(-1)
        return SequenceClassifierOutput(logits=score)

    def save_pretrained(self, save_directory):
        import os

        self.model.save_pretrained(save_directory)
        torch.save(self.regression_layer.state_dict(), os.path.join(save_directory, "regression_layer.pt"))
        torch.save(self.gating_layer.state_dict(), os.path.join(save_directory, "gating_layer.pt"))
        self.config.save_pretrained(save_directory)

    @classmethod
    def from_pretrained(cls, directory, *args, **kwargs):
        import os

        model = super().from_pretrained(directory, attn_implementation="eager")  # theirs: flash attention
        for name in ("regression_layer", "gating_layer"):
            state = torch.load(os.path.join(directory, f"{name}.pt"), map_location="cpu")
            getattr(model, name).float().load_state_dict(state)
        return model
