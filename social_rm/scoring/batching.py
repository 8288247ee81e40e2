"""Batching: chunks of work whose preparation overlaps the model's on an accelerator, and token-budget batches
within a chunk.

    for chunk, prepared in prefetched(key_chunks(keys), prepare):      # the next one prepared meanwhile
        for batch, scores in run_batches(lengths, budget, run): ...   # longest batches first

A chunk keeps the units of one key (an item's completions, which share their prompt) together. A batch is sorted
by length and filled up to a budget of tokens (padding included), so almost no compute goes to padding; on
out-of-memory the budget halves, for the rest of the run, and the batch is retried.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

logger = logging.getLogger(__name__)

FIRST_CHUNK = 256  # units: the model starts after preparing this many
LARGEST_CHUNK = 16_384


def key_chunks(
    keys: Sequence[Hashable], first: int = FIRST_CHUNK, largest: int = LARGEST_CHUNK
) -> list[list[int]]:
    """Indices of `keys` in chunks, the units of one key always together (in the order keys first appear): the
    first chunk holds at least `first` units, each next one up to twice as many as the last (at most `largest`)
    but never more than half of the units still left (at least `first`). The model starts on a small chunk at once
    and ends on a small one, so neither it nor the preparation of the next chunk waits long for the other; the
    chunks between are large, so few rows are left part-filled."""
    groups: dict = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    chunks, chunk, size, left = [], [], first, len(keys)
    for members in groups.values():
        chunk += members
        if len(chunk) >= size:
            chunks.append(chunk)
            left -= len(chunk)
            chunk, size = [], max(first, min(2 * size, largest, left // 2))
    if chunk:
        chunks.append(chunk)
    return chunks


def prefetched(
    chunks: Sequence, prepare: Callable, background: bool = True
) -> Iterator[tuple[object, object]]:
    """(chunk, prepare(chunk)) for each chunk. In the `background`, the next chunk is prepared in a thread while the
    caller works on this one, so host-side work (chat templates, tokenization) overlaps the forward passes on an
    accelerator; otherwise each chunk is prepared when it is reached. An error in `prepare` is raised where its
    chunk is reached."""
    from concurrent.futures import ThreadPoolExecutor

    if not background:
        yield from ((chunk, prepare(chunk)) for chunk in chunks)
        return
    if not chunks:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="social-rm-prepare") as pool:
        pending = pool.submit(prepare, chunks[0])
        for n, chunk in enumerate(chunks):
            ready = pending.result()
            if n + 1 < len(chunks):
                pending = pool.submit(prepare, chunks[n + 1])
            yield chunk, ready


@contextmanager
def collections_between():
    """Python's automatic cyclic garbage collection paused within the block (as it was after it, whatever is
    raised); the callable it gives collects what was made since its last call (the young generation), for the
    caller to call as each batch is done. A run makes millions of containers (units, token lists, rows) and no
    cycles of its own; automatic full collections traversed them again and again: a quarter of scoring all of
    BBQ with a tiny model on the CPU (8 of 33 s). Entered in plain functions, not generators, so that an
    interrupted run restores the collector at once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield lambda: gc.collect(0)
    finally:
        if enabled:
            gc.enable()


@dataclass
class TokenBudget:
    """The tokens a batch may hold, padding included; halved on out-of-memory, for every later batch."""

    tokens: int


def token_batches(lengths: Sequence[int], max_tokens: int) -> Iterator[list[int]]:
    """Indices of `lengths` (sequences, or packed rows) grouped into batches, longest first. A batch's cost is its
    size times its longest member (what a padded batch computes); a batch holds at least one member even if that
    alone exceeds `max_tokens`."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) + 1) * lengths[batch[0]] > max_tokens:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def is_out_of_memory(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def run_batches(
    lengths: Sequence[int], budget: TokenBudget, run: Callable[[list[int]], object]
) -> Iterator[tuple[list[int], object]]:
    """Yield `(batch, run(batch))` for token-budget batches covering every index of `lengths`. On
    out-of-memory `budget` halves (it stays halved for the caller's later calls) and the failed batch is cut
    again; a single sequence that does not fit is an error."""
    done: set[int] = set()
    while len(done) < len(lengths):
        pending = [i for i in range(len(lengths)) if i not in done]
        for batch in token_batches([lengths[i] for i in pending], budget.tokens):
            indices = [pending[j] for j in batch]
            try:
                result = run(indices)
            except Exception as error:
                if not is_out_of_memory(error) or len(indices) == 1:
                    raise
                _free_memory()
                budget.tokens = max(1, budget.tokens // 2)
                logger.warning(
                    f"out of memory on a batch of {len(indices)}; the token budget is now {budget.tokens:,}"
                )
                break
            done.update(indices)
            yield indices, result


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
