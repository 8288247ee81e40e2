"""Tiny reward models with their own code, in the shapes public reward models take (saved with `auto_map` and
this file by `register_for_auto_class`, loaded back with trust_remote_code): ArmoRM's `score` / `rewards` output,
a tuple output (Qwen2.5-Math-RM, Eurus-RM), InternLM2's `get_score`, and a value head (Starling-RM, UltraRM)."""

from dataclasses import dataclass

import torch
from transformers import LlamaModel, LlamaPreTrainedModel
from transformers.utils import ModelOutput


def _last(hidden, attention_mask):
    """Each sequence's hidden state at its last attended token (right padding)."""
    if attention_mask is None:
        attention_mask = torch.ones(hidden.shape[:2], dtype=torch.long, device=hidden.device)
    last = attention_mask.sum(-1) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


@dataclass
class MultiObjectiveOutput(ModelOutput):
    score: torch.FloatTensor = None
    rewards: torch.FloatTensor = None


class TinyScoreRM(LlamaPreTrainedModel):
    """ArmoRM's shape: three objective rewards and their gated sum `score`."""

    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.regression_layer = torch.nn.Linear(config.hidden_size, 3, bias=False)
        self.gate = torch.nn.Linear(config.hidden_size, 3, bias=False)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        hidden = _last(
            self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state, attention_mask
        )
        rewards = self.regression_layer(hidden)
        score = (torch.softmax(self.gate(hidden), -1) * rewards).sum(-1, keepdim=True)
        return MultiObjectiveOutput(score=score, rewards=rewards)


class TinyTupleRM(LlamaPreTrainedModel):
    """A model whose forward returns a plain tuple, the reward first."""

    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.reward = torch.nn.Linear(config.hidden_size, 1, bias=False)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        hidden = _last(
            self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state, attention_mask
        )
        return (self.reward(hidden), hidden)


class TinyGetScoreRM(TinyTupleRM):
    """InternLM2's shape: `get_score` templates the conversation and appends a reward token before reading."""

    def get_score(self, tokenizer, conversation):
        text = tokenizer.apply_chat_template(conversation, tokenize=False)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [self.config.reward_token_id]
        return self(input_ids=torch.tensor([ids], device=self.device))[0][0, 0].item()


class TinyValueHeadRM(LlamaPreTrainedModel):
    """Starling-RM's shape: a value head `v_head` over every position of the last hidden state."""

    def __init__(self, config):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.v_head = torch.nn.Linear(config.hidden_size, 1, bias=False)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        return self.v_head(self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state)
