"""The packed forward pass of decoder models: sequences that start alike computed as a tree, each shared start
once. The completions of one prompt share it (an item: the prompt, then each response), and items whose prompts
share their start (BBQ's contexts under two questions, the ambiguous context under the disambiguated one) go in one
row when they share at least as many tokens as they add: the row holds each token once, in depth-first order. Every
token keeps its own position (a branch continues the positions of the start it shares) and a 4-D attention mask lets
a token see only the earlier tokens of its own path from the root (within the model's sliding window, on the layers
that have one). Rows of similar width are batched together (`batching.token_batches`), so attention and masks cost
what the items cost: no unrelated item attends over another's tokens, padding is only the few tokens by which rows
of one batch differ, and SDPA runs in blocks of queries that skip the keys after each block (`attention.py`). A
completion that shares nothing is an item with one response, so there is no other path for these models.

    rows = pack(keys, encoded)
    for batch in token_batches([len(r.ids) for r in rows], budget): outputs = forward(model, batch rows, read)

Architectures known to honour a custom 4-D mask are listed in `PACKED_MODEL_TYPES` (each tested against
one-sequence passes); any other model takes padded, length-sorted batches (`padded.py`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from social_rm.scoring.attention import blocked
from social_rm.scoring.encoding import common_prefix
from social_rm.scoring.models import input_device, is_library_class
from social_rm.scoring.padded import no_cache, token_logprobs

logger = logging.getLogger(__name__)

PACKED_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3", "gemma2")
# The most tokens a row of several sequences holds (a longer sequence is a row of its own): its attention is dense
# over the row, so a prompt shared by thousands of short responses makes many rows of this size
ROW_LENGTH = 1024


@dataclass
class Item:
    members: list[int]  # completion indices
    prefix: int  # leading tokens all members share, computed once


@dataclass
class Row:
    """Items as a tree: each token once, depth-first. A token is seen by the tokens after it up to its `reach`:
    the end of its branch (a member's own tokens), or of the items that share it (a prompt's tokens)."""

    ids: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    reach: list[int] = field(default_factory=list)
    # per member: (completion, the (start, length) runs of the row that hold its tokens, in order)
    spans: list[tuple[int, tuple[tuple[int, int], ...]]] = field(default_factory=list)


def supports_packing(model) -> bool:
    """transformers' own class of an architecture known to honour a 4-D mask (a repository's own code may not)."""
    return getattr(model.config, "model_type", None) in PACKED_MODEL_TYPES and is_library_class(model)


def plan(keys, encoded, share: bool = True, row_length: int | None = None) -> list[Item]:
    """Items: the sequences with one key (the completions of one prompt, the two orders of a judged pair) share
    their longest common token prefix, each keeping at least one token of its own; with `share` False, or alone,
    a sequence is an item of its own. A key with more sequences than a row holds (`row_length`, default
    `ROW_LENGTH`: 5,074 completions share one prompt in social-pairs) makes several items that each fit a row,
    each with the shared prefix, so that no row grows past its length (and its mask past length squared)."""
    row_length = row_length or ROW_LENGTH
    groups: dict = defaultdict(list)
    for i, key in enumerate(keys):
        groups[key if share else i].append(i)
    items = []
    for members in groups.values():
        sequences = [encoded[i].ids for i in members]
        shared = _shared_prefix(sequences, min(encoded[i].response_start for i in members))
        item, size = Item([], shared), shared
        for member, sequence in zip(members, sequences):
            if item.members and size + len(sequence) - shared > row_length:
                items.append(item)
                item, size = Item([], shared), shared
            item.members.append(member)
            size += len(sequence) - shared
        items.append(item)
    return items


def _shared_prefix(sequences: list[list[int]], guess: int) -> int:
    """The longest prefix all `sequences` share, leaving each at least one token of its own. `guess` (where their
    responses start) is checked with slice comparisons and extended token by token; only if it does not hold
    (prompts truncated differently) is the prefix found token by token from the start."""
    first, others = sequences[0], sequences[1:]
    limit = min(len(s) for s in sequences) - 1
    if not others:
        return limit
    shared = min(guess, limit)
    if any(s[:shared] != first[:shared] for s in others):
        shared = 0
    while shared < limit and all(s[shared] == first[shared] for s in others):
        shared += 1
    return shared


def pack(keys, encoded, share: bool = True, row_length: int | None = None) -> list[Row]:
    """The rows of the sequences' items (`plan`). Sorted by their prompts' tokens, an item joins the row before it
    when the start it shares with that row's last prompt is at least as long as the tokens it adds (so the row grows
    by no more than it saves, and unrelated prompts that share only a chat template's header stay apart) and the row
    stays within `row_length` (default `ROW_LENGTH`); without `share`, each sequence is a row of its own."""
    row_length = row_length or ROW_LENGTH
    items = plan(keys, encoded, share, row_length)
    heads = [encoded[item.members[0]].ids[: item.prefix] for item in items]
    order = sorted(range(len(items)), key=heads.__getitem__) if share else range(len(items))
    rows: list[Row] = []
    row, path, last = Row(), [], []  # path: the runs of the row that hold the last prompt's tokens
    for i in order:
        item, head = items[i], heads[i]
        own = sum(len(encoded[m].ids) for m in item.members) - len(item.members) * item.prefix
        shared = common_prefix(last, head) if share and row.ids else 0
        added = item.prefix - shared + own
        if row.ids and (shared < added or len(row.ids) + added > row_length):  # the item starts a row
            _closed(row, path, 0)
            rows.append(row)
            row, path, shared = Row(), [], 0
        path = _closed(row, path, shared)
        if item.prefix > shared:
            path.append((len(row.ids), item.prefix - shared))
            row.ids += head[shared:]
            row.positions += range(shared, item.prefix)
            row.reach += [0] * (item.prefix - shared)  # set when the path closes
        for member in item.members:
            sequence, at = encoded[member].ids, len(row.ids)
            row.ids += sequence[item.prefix :]
            row.positions += range(item.prefix, len(sequence))
            row.reach += [len(row.ids)] * (len(row.ids) - at)
            row.spans.append((member, (*path, (at, len(row.ids) - at))))
        last = head
    _closed(row, path, 0)
    if row.ids:
        rows.append(row)
    return rows


def _closed(row: Row, path: list, depth: int) -> list:
    """The path's tokens from `depth` on are seen by nothing added after this: their reach ends here. Returns the
    runs of the path before `depth`."""
    kept, at = [], 0
    for start, length in path:
        cut = max(0, min(length, depth - at))
        row.reach[start + cut : start + length] = [len(row.ids)] * (length - cut)
        if cut:
            kept.append((start, cut))
        at += length
    return kept


def _padded(rows: list[Row], values, fill: int, device):
    """A (rows, width) tensor on `device` of one per-token list of each row, right-padded with `fill`."""
    import torch

    width = max(len(r.ids) for r in rows)
    out = np.full((len(rows), width), fill, dtype=np.int64)
    for r, row in enumerate(rows):
        out[r, : len(row.ids)] = values(row)
    return torch.from_numpy(out).to(device)


MASK_PIECE = 1 << 22  # mask entries worked out at a time: the largest boolean temporary (4 MiB)


def _masks(model, reach, position):
    """The attention mask(s) the model takes, from the per-token reach (padding: past the row's end) and position of
    each row: one (batch, 1, width, width) mask, or a dict per layer type where some layers slide. Token q sees token
    k at or before it whose reach is past q (the earlier tokens of q's own path: its prompt, the start that prompt
    shares, its own response); padding sees only padding, and is never read. On a sliding layer, only the last
    `sliding_window` positions of those.
    Additive, in the model's dtype (0: attend; SDPA would otherwise turn a boolean mask into one on every call, and
    eager attention takes no other), and written a few rows at a time from the compact tensors, so that the only
    (rows x width x width) tensor is the one the attention reads."""
    config = model.config
    window = getattr(config, "sliding_window", None)
    layer_types = getattr(config, "layer_types", None)
    if layer_types and "sliding_attention" in layer_types:
        full, sliding = _written(model, reach, position, (None, window))
        return {"full_attention": full, "sliding_attention": sliding}
    return _written(model, reach, position, (window if window and not layer_types else None,))[0]


def _written(model, reach, position, windows: tuple) -> list:
    """An additive mask per entry of `windows` (None: no sliding window), each piece of rows' seen pairs worked
    out once for all of them."""
    import torch

    rows, width = reach.shape
    device = reach.device
    dtype = next(model.parameters()).dtype  # meta parameters (offloaded) keep theirs
    causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
    query = torch.arange(width, device=device)[None, None, :, None]
    masks = [
        torch.full((rows, 1, width, width), torch.finfo(dtype).min, dtype=dtype, device=device)
        for _ in windows
    ]
    step = max(1, MASK_PIECE // (width * width))
    for start in range(0, rows, step):
        piece = slice(start, start + step)
        seen = reach[piece, None, None, :] > query
        seen &= causal
        for mask, window in zip(masks, windows):
            if window:
                p = position[piece]
                mask[piece].masked_fill_(seen & (p[:, None, None, :] > p[:, None, :, None] - window), 0)
            else:
                mask[piece].masked_fill_(seen, 0)
    return masks


def forward(model, rows: list[Row], read: str, encoded, verdict_ids=None):
    """Run a batch of rows and read each member: `hidden` (`model` is a base model: its last hidden state at the
    member's last token, one row of a tensor), `logprob` (the log-probabilities of its response tokens, a float32
    tensor per member) or `next` (the logits of `verdict_ids` after its last token). Returns (completion indices,
    outputs) in packing order."""
    import torch

    device = input_device(model)
    ids, positions = (
        _padded(rows, lambda r: r.ids, 0, device),
        _padded(rows, lambda r: r.positions, 0, device),
    )
    width = ids.shape[1]
    mask = _masks(model, _padded(rows, lambda r: r.reach, width + 1, device), positions)
    members = [member for row in rows for member, _ in row.spans]
    # each member's last token: the end of its last run
    ends = [(r, runs[-1][0] + runs[-1][1] - 1) for r, row in enumerate(rows) for _, runs in row.spans]
    with torch.inference_mode(), blocked(model):
        output = model(input_ids=ids, attention_mask=mask, position_ids=positions, **no_cache(model))
        if read == "hidden":
            hidden = output.last_hidden_state
            last = torch.tensor(ends, device=hidden.device)
            return members, hidden[last[:, 0], last[:, 1]]
        logits = output.logits
        if read == "next":
            last = torch.tensor(ends, device=logits.device)
            return members, logits[last[:, 0], last[:, 1]][:, verdict_ids].float().cpu().numpy().astype(
                np.float64
            )
        outputs = []
        for r, row in enumerate(rows):
            for member, runs in row.spans:
                n, start = len(encoded[member].ids), max(encoded[member].response_start, 1)
                at = np.concatenate([np.arange(first, first + length) for first, length in runs])
                # token t is predicted where token t - 1 is
                where = torch.from_numpy(at[start - 1 : n - 1]).to(logits.device)
                targets = torch.tensor(encoded[member].ids[start:], device=logits.device)
                outputs.append(token_logprobs(logits[r, where], targets).double())
        return members, outputs
