"""Attention over the packed engine's rows in blocks of queries, each against the keys up to its own last query.

A decoder's token never sees a later one, so the keys after a block's last query are masked for every query in it;
dense kernels with a custom mask (SDPA's CPU kernel, its memory-efficient CUDA kernel) compute them all the same.
Cut into `BLOCKS` blocks, a row of width W computes about (BLOCKS + 1) / (2 BLOCKS) of its W x W query-key pairs
(56% with 8 blocks) and the results are exactly SDPA's, block by block:

    with blocked(model): model(input_ids=..., attention_mask=mask_4d, position_ids=...)

It is registered in transformers' attention interface as `NAME` (SDPA's own mask function serves it, so a 2-D
mask builds as for SDPA), and set on a model only for the engine's forward passes (`blocked`): anywhere else the
model runs as loaded.
"""

from __future__ import annotations

from contextlib import contextmanager

NAME = "social_rm_blocked_sdpa"
BLOCKS = 8  # measured on the CPU: 4 blocks of 64 or more queries took 12% longer in all (tiny model, BBQ)
MIN_BLOCK = 32  # queries a block; a row this short is one block


def bounds(queries: int) -> list[tuple[int, int]]:
    """The (start, end) of each block of `queries` queries."""
    size = max(MIN_BLOCK, -(-queries // BLOCKS))
    return [(start, min(start + size, queries)) for start in range(0, queries, size)]


def pairs_computed(width: int) -> int:
    """The query-key pairs computed for a row of `width` tokens (against width² for one dense call)."""
    return sum((end - start) * end for start, end in bounds(width))


def blocked_sdpa(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """transformers' SDPA attention (`sdpa_attention_forward`), a block of queries at a time against the keys up
    to the block's end (with a cache in front, `offset` keys more). Grouped key/value heads are repeated once for
    all blocks, as transformers repeats them where a mask is given. Without a mask (SDPA's own causal kernel) or
    for a short row it is transformers' call as is."""
    import torch
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    queries = query.shape[2]
    if attention_mask is None or queries <= MIN_BLOCK:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    groups = getattr(module, "num_key_value_groups", 1)
    key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    offset = key.shape[2] - queries
    output = torch.empty_like(query)
    for start, end in bounds(queries):
        output[:, :, start:end] = torch.nn.functional.scaled_dot_product_attention(
            query[:, :, start:end],
            key[:, :, : offset + end],
            value[:, :, : offset + end],
            attn_mask=attention_mask[:, :, start:end, : offset + end],
            dropout_p=dropout if module.training else 0.0,
            scale=scaling,
        )
    return output.transpose(1, 2).contiguous(), None  # (batch, queries, heads, head dim), as SDPA returns


def register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(NAME, blocked_sdpa)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)


@contextmanager
def blocked(model):
    """Within the `with` statement, the model's SDPA attention is computed in blocks (`blocked_sdpa`); other
    implementations (eager for Gemma-2's soft-capping) stay as they are."""
    config = model.config
    if config._attn_implementation != "sdpa":
        yield
        return
    register()
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = "sdpa"
