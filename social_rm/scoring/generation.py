"""Text generation for generative judges, on a local transformers model: chats templated with the model's own chat
template, generated in length-sorted, left-padded batches within a token budget. Where the prompts of a batch start
alike (a judge's instructions, one conversation in both orders), their common prefix goes through the model once
and its key/value cache serves every row: rows are laid out as [prefix][padding][rest], the padding masked, so each
row's positions are those it has alone.

    generator = LocalGenerator(tokenizer, model)
    replies = generator.generate([[{"role": "user", "content": "Which is better, A or B?"}]], GenerationSettings())
"""

from __future__ import annotations

from dataclasses import dataclass

from social_rm.scoring import batching
from social_rm.scoring.units import stable_hash

# a prefix shorter than this is not worth a separate forward pass
MIN_SHARED_PREFIX = 16


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 2048
    temperature: float = 0.0  # 0: greedy
    seed: int = 0


@dataclass(frozen=True)
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int

    def record(self, verdict) -> dict:
        """What is kept of a reply: its text, the verdict read from it, and its token counts."""
        return {
            "text": self.text,
            "verdict": verdict,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


def fold_system(messages: list[dict]) -> list[dict]:
    """A system message folded into the first user message (blank line between), for chat templates that refuse a
    system role (Mistral's), as FastChat's templates do."""
    if not messages or messages[0]["role"] != "system" or len(messages) < 2:
        return messages
    first = {"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}
    return [first, *messages[2:]]


def chat_ids(tokenizer, messages: list[dict]) -> list[int]:
    """The token ids of `messages` templated with a generation prompt (the system message folded into the user's
    where the template refuses a system role)."""
    from jinja2.exceptions import TemplateError

    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except TemplateError:
        text = tokenizer.apply_chat_template(
            fold_system(messages), tokenize=False, add_generation_prompt=True
        )
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def cache_argument(model) -> str:
    """What the model's forward pass calls its key/value cache: `cache` (transformers 5.2x), else
    `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def common_prefix(sequences: list[list[int]]) -> int:
    """The length of the longest prefix every sequence shares, leaving each at least one token of its own."""
    shortest = min(len(s) for s in sequences)
    length = 0
    while length < shortest - 1 and all(s[length] == sequences[0][length] for s in sequences):
        length += 1
    return length


class LocalGenerator:
    def __init__(self, tokenizer, model, max_tokens_per_batch: int | None = None):
        self.tokenizer, self.model = tokenizer, model
        self.budget = batching.TokenBudget(max_tokens_per_batch or 16384)
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def generate(self, chats: list[list[dict]], settings: GenerationSettings):
        """Yield (index into `chats`, Reply) batch by batch."""
        prompts = [chat_ids(self.tokenizer, chat) for chat in chats]
        room = settings.max_new_tokens
        for batch, replies in batching.run_batches(
            [len(p) + room for p in prompts],
            self.budget,
            lambda b: self._batch([prompts[i] for i in b], settings),
        ):
            yield from zip(batch, replies)

    def _batch(self, prompts: list[list[int]], settings: GenerationSettings) -> list[Reply]:
        import torch

        from social_rm.scoring.models import input_device

        device = input_device(self.model)
        shared = common_prefix(prompts) if len(prompts) > 1 else 0
        shared = shared if shared >= MIN_SHARED_PREFIX else 0
        width = max(len(p) for p in prompts) - shared
        ids = torch.full((len(prompts), shared + width), self.pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, prompt in enumerate(prompts):  # [prefix][padding][rest]
            ids[row, :shared] = torch.tensor(prompt[:shared])
            mask[row, :shared] = 1
            rest = prompt[shared:]
            ids[row, ids.shape[1] - len(rest) :] = torch.tensor(rest)
            mask[row, ids.shape[1] - len(rest) :] = 1
        ids, mask = ids.to(device), mask.to(device)
        sample = settings.temperature > 0
        extra = {"temperature": settings.temperature, "top_p": 1.0, "top_k": 0} if sample else {}
        if sample:  # one seed per batch's prompts: the same prompts sample alike in any run
            torch.manual_seed(int(stable_hash([settings.seed, prompts])[:8], 16))
        with torch.inference_mode():
            if shared:
                name = cache_argument(self.model)
                prefix = getattr(self.model(ids[:1, :shared], use_cache=True), name)
                prefix.batch_repeat_interleave(len(prompts))
                extra[name] = prefix
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=settings.max_new_tokens,
                do_sample=sample,
                pad_token_id=self.pad,
                **extra,
            )
        new = out[:, ids.shape[1] :].tolist()
        replies = []
        for prompt, tokens in zip(prompts, new):
            end = next((i + 1 for i, t in enumerate(tokens) if t in self._stops), len(tokens))
            replies.append(
                Reply(self.tokenizer.decode(tokens[:end], skip_special_tokens=True), len(prompt), end)
            )
        return replies

    @property
    def _stops(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        return {t for t in [*eos, self.tokenizer.eos_token_id] if t is not None}
