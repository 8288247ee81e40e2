"""Conversations to token ids: each prompt + response chat-templated, the response's first token found, and an
over-long prompt cut from the left (never the response).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Encoded:
    ids: list[int]
    response_start: int  # index of the first response token in `ids`
    truncated: bool


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def encode_many(
    tokenizer,
    prompts: list[list[dict]],
    responses: list[str],
    max_length: int | None,
    generation_prompt: bool = False,
) -> list[Encoded]:
    """Chat-template each prompt + response into token ids (followed by the next turn's generation prompt if
    `generation_prompt`). A response starts where its templated prompt (with its generation prompt) stops matching
    the full sequence's tokens. Over `max_length`, the prompt is cut from the left (keeping a leading BOS), never
    the response. Each distinct prompt is templated once, and all texts go through the tokenizer in one batched
    call (2.2-2.6x faster than one at a time on 4,000 BBQ pairs, 2 cores)."""
    texts = [
        tokenizer.apply_chat_template(
            [*prompt, {"role": "assistant", "content": response}],
            tokenize=False,
            add_generation_prompt=generation_prompt,
        )
        for prompt, response in zip(prompts, responses)
    ]
    keys = [tuple((m["role"], m["content"]) for m in prompt) for prompt in prompts]
    distinct = {key: prompt for key, prompt in zip(keys, prompts)}
    heads = [
        tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
        for p in distinct.values()
    ]
    tokenize = lambda batch: tokenizer(batch, add_special_tokens=False)["input_ids"] if batch else []  # noqa: E731
    head_ids = dict(zip(distinct, tokenize(heads)))
    out = []
    for full, key in zip(tokenize(texts), keys):
        start = common_prefix(full, head_ids[key])
        if max_length is None or len(full) <= max_length:
            out.append(Encoded(full, start, False))
            continue
        keep_bos = int(bool(full) and full[0] == tokenizer.bos_token_id)
        cut = min(len(full) - max_length, start - keep_bos)  # never into the response
        out.append(Encoded(full[:keep_bos] + full[keep_bos + cut :], start - cut, True))
    return out


def encode_completions(
    tokenizer, units, max_length: int | None, generation_prompt: bool = False
) -> list[Encoded]:
    """`encode_many` of completions (`units.Completion`)."""
    from social_rm.scoring.units import messages

    prompts, responses = [messages(u.prompt) for u in units], [u.response for u in units]
    return encode_many(tokenizer, prompts, responses, max_length, generation_prompt)
