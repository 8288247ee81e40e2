"""Forward passes on padded batches, for the models the packed engine does not serve (`engine.supports_packing`)
and for models read through their own forward pass. Each batch is right-padded and each sequence read at its own
positions, so a score does not depend on the batch it was computed in (within float tolerance).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from social_rm.scoring.encoding import Encoded
from social_rm.scoring.models import input_device


def padded(sequences: list[list[int]], pad: int, device):
    """(input ids, attention mask) of `sequences` right-padded with `pad`."""
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def no_cache(model) -> dict:
    """`use_cache=False` for a model whose forward takes it: scoring reads one pass, and a decoder would otherwise
    build a key/value cache of every layer (concatenations and memory for nothing)."""
    return {"use_cache": False} if _takes_use_cache(type(model)) else {}


@functools.cache
def _takes_use_cache(cls) -> bool:
    import inspect

    return "use_cache" in inspect.signature(cls.forward).parameters


def own_forward(model, sequences: list[list[int]], pad: int | None, read: Callable) -> np.ndarray:
    """`read(output)` of the model's own forward pass, one float64 per sequence. A head that pools at the last
    token that is not the pad token (transformers' sequence classifiers) reads each sequence's last token when the
    batch is right-padded with the model's pad token `pad`; a sequence that ends with that token, and every
    sequence of a model without one, runs on its own. The model's config is never changed."""
    import torch

    alone = [i for i, s in enumerate(sequences) if pad is None or s[-1] == pad]
    together = [i for i in range(len(sequences)) if pad is not None and sequences[i][-1] != pad]
    out = np.empty(len(sequences))
    device = input_device(model)
    with torch.inference_mode():
        for group in [together] * bool(together) + [[i] for i in alone]:
            ids, mask = padded([sequences[i] for i in group], 0 if pad is None else pad, device)
            out[group] = read(model(input_ids=ids, attention_mask=mask, **no_cache(model)))
    return out


def last_hidden(backbone, sequences: list[list[int]]):
    """The last hidden state at each sequence's last token, from a right-padded batch."""
    import torch

    ids, mask = padded(sequences, 0, input_device(backbone))
    with torch.inference_mode():
        hidden = backbone(input_ids=ids, attention_mask=mask, **no_cache(backbone)).last_hidden_state
    last = torch.tensor([len(s) - 1 for s in sequences], device=hidden.device)
    return hidden[torch.arange(len(sequences), device=hidden.device), last]


def token_logprobs(logits, targets, chunk: int = 1024):
    """log p(target) at each position, in float32, from logits in the model's dtype: each chunk of positions is
    upcast on its own and only the targets' logits are gathered, so no float32 copy of positions x vocabulary is
    ever held (a 128k vocabulary makes that 0.5 MB a token). TRL's `selective_log_softmax` is the same idea but
    takes bf16 logits through a bf16 softmax, which loses the precision the dpo kind's sums need."""
    import torch

    flat, index = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
    out = torch.empty(index.shape, dtype=torch.float32, device=logits.device)
    for start in range(0, len(index), chunk):
        part = flat[start : start + chunk].float()
        picked = part.gather(-1, index[start : start + chunk, None])[:, 0]
        out[start : start + chunk] = picked - torch.logsumexp(part, -1)
    return out.reshape(targets.shape)


def reduce(values, reduction: str) -> np.ndarray:
    """Per sequence: the sum, or the mean, of its response tokens' log-probabilities (0 for an empty response)."""
    out = [
        float(v.double().sum() if reduction == "sum" else v.double().mean()) if len(v) else 0.0
        for v in values
    ]
    return np.array(out, dtype=np.float64)


def response_logprobs(model, encoded: list[Encoded], reduction: str) -> np.ndarray:
    """log p(response | prompt) per sequence: the sum, or the mean over response tokens, of the token log
    probabilities of the response given everything before it."""
    import torch

    ids, mask = padded([e.ids for e in encoded], 0, input_device(model))
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask, **no_cache(model)).logits
        logprobs = token_logprobs(logits[:, :-1], ids[:, 1:])
    # token t is predicted at position t - 1
    return reduce(
        [logprobs[row, max(e.response_start, 1) - 1 : len(e.ids) - 1] for row, e in enumerate(encoded)],
        reduction,
    )


def next_token_logits(model, sequences: list[list[int]], token_ids: list[int]) -> np.ndarray:
    """The logits of `token_ids` as the next token after each sequence."""
    import torch

    device = input_device(model)
    ids, mask = padded(sequences, 0, device)
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask, **no_cache(model)).logits
    last = torch.tensor([len(s) - 1 for s in sequences], device=device)
    picked = logits[torch.arange(len(sequences), device=device), last][:, token_ids]
    return picked.float().cpu().numpy().astype(np.float64)
