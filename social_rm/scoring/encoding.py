"""Conversations to token ids: each prompt + response chat-templated, the response's first token found, and an
over-long sequence cut: its prompt from the left, or a response too long on its own at its end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from social_rm.scoring.units import messages, question

# How a model's card turns a conversation into tokens (a registry entry's `tokenize`, or --tokenize).
TOKENIZE = {
    "template": "the chat template's tokens, nothing added: apply_chat_template(conversation, tokenize=True)",
    "tokenizer": "the templated text through tokenizer(text), which adds the tokenizer's own special tokens "
    "(a second BOS after a template's own)",
    "single-bos": "the templated text without its leading BOS through tokenizer(text): one BOS (Skywork-Reward-V2)",
    "text-pair": "tokenizer(prompt, response): the prompt and the response as a text pair (an encoder such as "
    "OpenAssistant's DeBERTa)",
}


@dataclass
class Encoded:
    ids: list[int]
    response_start: int  # index of the first response token in `ids`
    truncated: bool


def common_prefix(a: list[int], b: list[int]) -> int:
    """The length of the longest prefix two token lists share, by slice comparisons (run in C): steps that double
    while the slices agree, then halve into the first that does not (a token at a time took 20 us for BBQ's prompts)."""
    n, low, step = min(len(a), len(b)), 0, 8
    while low < n:  # a[:low] == b[:low]
        high = min(low + step, n)
        if a[low:high] != b[low:high]:
            break
        low, step = high, 2 * step
    else:
        return n
    while high - low > 1:  # a[low:high] != b[low:high]
        middle = (low + high) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle
    return low


def encode_many(
    tokenizer,
    prompts: list[list[dict]],
    responses: list[str],
    max_length: int | None,
    generation_prompt: bool = False,
    tokenize: str = "template",
    follow_up: str | None = None,
) -> list[Encoded]:
    """Chat-template each prompt + response into token ids (then a user's `follow_up` turn, if any, and the next
    turn's generation prompt if `generation_prompt`), with the tokenizer's own special tokens added as `tokenize`
    says (`TOKENIZE`). A response starts where its templated prompt (with its generation prompt) stops matching
    the full sequence's tokens. Over `max_length`, the prompt is cut from the left, or a response too long on its
    own at its end (`_cut`). Each distinct prompt is templated once, its shared text tokenized once where that is exact
    (`_tokenize_shared`), and all texts go through the tokenizer in batched calls."""
    after = [{"role": "user", "content": follow_up}] if follow_up else []
    conversations = [
        [*prompt, {"role": "assistant", "content": response}, *after]
        for prompt, response in zip(prompts, responses)
    ]
    texts = _templated(tokenizer, conversations, generation_prompt)
    keys = [tuple((m["role"], m["content"]) for m in prompt) for prompt in prompts]
    groups: dict = {}
    for i, (key, prompt) in enumerate(zip(keys, prompts)):
        groups.setdefault(key, (prompt, []))[1].append(i)
    heads = dict(zip(groups, _templated(tokenizer, [prompt for prompt, _ in groups.values()], True)))
    full, starts = _tokenize_shared(tokenizer, texts, heads, {key: m for key, (_, m) in groups.items()})
    if tokenize in ("tokenizer", "single-bos"):
        full, starts = _with_specials(tokenizer, full, starts, tokenize == "single-bos")
    out = []
    for text, response, ids, start in zip(texts, responses, full, starts):
        if max_length is None or len(ids) <= max_length:
            out.append(Encoded(ids, start, False))
        else:
            out.append(_cut(tokenizer, ids, start, max_length, text, response))
    return out


def _with_specials(tokenizer, full: list, starts: list, single_bos: bool) -> tuple[list, list]:
    """The token ids `tokenizer(text)` gives where `full` are those of `tokenizer(text, add_special_tokens=False)`:
    the special tokens its post-processor adds around a text (BOS for Llama, Gemma, Mistral; none for Qwen), after
    dropping the template's own leading BOS if `single_bos`."""
    probe = tokenizer("a")["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    at = next(i for i in range(len(probe)) if probe[i : i + len(plain)] == plain)
    prefix, suffix = probe[:at], probe[at + len(plain) :]
    bos = tokenizer.bos_token_id
    out, out_starts = [], []
    for ids, start in zip(full, starts):
        if single_bos and bos is not None and ids[:1] == [bos]:
            ids, start = ids[1:], start - 1
        out.append(prefix + ids + suffix)
        out_starts.append(start + len(prefix))
    return out, out_starts


def encode_text_pairs(tokenizer, units, max_length: int | None) -> list[Encoded]:
    """`tokenizer(question, response)` per completion (an encoder's text pair: `[CLS] question [SEP] response
    [SEP]`); the question is the prompt's one message, or a transcript of several (`units.question`). Over
    `max_length`, the question is cut."""
    questions, responses = [question(u.prompt) for u in units], [u.response for u in units]
    encoded = tokenizer(questions, responses)
    whole = [len(ids) for ids in encoded["input_ids"]]
    if max_length and max(whole, default=0) > max_length:
        encoded = tokenizer(questions, responses, truncation="only_first", max_length=max_length)
    return [
        Encoded(ids, encoded.sequence_ids(i).index(1), len(ids) < whole[i])
        for i, ids in enumerate(encoded["input_ids"])
    ]


def _cut(tokenizer, ids: list[int], start: int, max_length: int, text: str, response: str) -> Encoded:
    """`ids` cut to `max_length`. Where the response fits, the prompt is cut from the left (keeping a leading BOS).
    A response that does not fit alone keeps the prompt's last half of `max_length`, then its own start and the
    tokens the template writes after it (end of turn, generation prompt), where the model is read."""
    keep_bos = int(bool(ids) and ids[0] == tokenizer.bos_token_id)
    fits = len(ids) - start + keep_bos <= max_length
    cut = len(ids) - max_length if fits else max(start - max(max_length // 2, keep_bos), 0)
    ids, start = ids[:keep_bos] + ids[keep_bos + cut :], start - cut
    if not fits:
        after = text[text.rfind(response) + len(response) :] if response and response in text else ""
        tail = len(token_ids(tokenizer, [after])[0]) if after else 0
        kept = max(max_length - start - tail, 1)
        ids = ids[: start + kept] + (ids[len(ids) - tail :] if tail else [])
    return Encoded(ids, start, True)


def _templated(tokenizer, conversations: list, generation_prompt: bool) -> list[str]:
    if not conversations:
        return []
    return tokenizer.apply_chat_template(
        conversations, tokenize=False, add_generation_prompt=generation_prompt
    )


def _tokenize_shared(tokenizer, texts: list[str], heads: dict, groups: dict) -> tuple[list, list]:
    """The token ids of every text, and where its response starts: where its tokens stop matching its prompt's
    head (the prompt with its generation prompt). A fast tokenizer cuts its input at special tokens and tokenizes
    the pieces on their own, so where a prompt's texts share their start up to a special token, that start is
    tokenized once and only the rest of each text on its own (BBQ's three answers to one context: half the
    tokenizer's work). A prompt whose first text does not tokenize the same way whole is tokenized whole."""
    boundaries = _boundaries(tokenizer)
    batch, plans = [], {}

    def add(text: str) -> int:
        batch.append(text)
        return len(batch) - 1

    for key, members in groups.items():
        first, head = texts[members[0]], heads[key]
        cut = _special_end(head, first, boundaries) if len(members) > 1 else 0
        if cut and all(texts[i].startswith(first[:cut]) for i in members):
            plans[key] = (
                add(first[:cut]),
                add(first),
                add(head[cut:]),
                [add(texts[i][cut:]) for i in members],
            )
        else:
            plans[key] = (None, None, add(head), [add(texts[i]) for i in members])
    tokens = token_ids(tokenizer, batch)
    full, starts, whole = [None] * len(texts), [0] * len(texts), []
    for key, (shared, check, head, rest) in plans.items():
        if shared is not None and tokens[shared] + tokens[rest[0]] != tokens[check]:
            whole.append(key)  # not exact for this tokenizer: tokenized whole below
            continue
        prefix = tokens[shared] if shared is not None else []
        for i, at in zip(groups[key], rest):
            full[i], starts[i] = prefix + tokens[at], len(prefix) + common_prefix(tokens[at], tokens[head])
    if whole:
        members = [i for key in whole for i in groups[key]]
        tokens = token_ids(tokenizer, [texts[i] for i in members] + [heads[key] for key in whole])
        head_ids = dict(zip(whole, tokens[len(members) :]))
        keys = [key for key in whole for _ in groups[key]]
        for i, ids, key in zip(members, tokens, keys):
            full[i], starts[i] = ids, common_prefix(ids, head_ids[key])
    return full, starts


def token_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """`tokenizer(texts, add_special_tokens=False)["input_ids"]`, straight from a fast tokenizer's Rust backend where
    it neither truncates nor pads (transformers' per-text conversion of the result took longer than the
    tokenization of short texts), without the character offsets nothing here reads (`encode_batch_fast`, where
    the tokenizers library has it: the same ids, 10-30% faster on BBQ's texts)."""
    if not texts:
        return []
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and backend.truncation is None and backend.padding is None:
        encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
        return [encoding.ids for encoding in encode(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _boundaries(tokenizer):
    """A pattern of the added (special) tokens the tokenizer cuts its input at: those that strip no space around
    them, longest first; None where it has none or does not say. One search of a prompt for all of them: a
    `str.find` per token took 60 us a prompt with Llama-3's 256 special tokens, 3.5 s on all of BBQ."""
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    texts = {t.content for t in decoder.values() if getattr(t, "content", "") and not (t.rstrip or t.lstrip)}
    if not texts:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True)))


def _special_end(head: str, text: str, boundaries) -> int:
    """The end of the last special token of `head` up to which `text` starts as `head` does (0: none)."""
    ends = sorted((m.end() for m in boundaries.finditer(head)), reverse=True) if boundaries else []
    return next((end for end in ends if text.startswith(head[:end])), 0)


def encode_completions(
    tokenizer,
    units,
    max_length: int | None,
    generation_prompt: bool = False,
    tokenize: str = "template",
    follow_up: str | None = None,
) -> list[Encoded]:
    """`encode_many` of completions (`units.Completion`), or their text pairs (`encode_text_pairs`)."""
    if tokenize == "text-pair":
        return encode_text_pairs(tokenizer, units, max_length)
    prompts, responses = [messages(u.prompt) for u in units], [u.response for u in units]
    return encode_many(tokenizer, prompts, responses, max_length, generation_prompt, tokenize, follow_up)
