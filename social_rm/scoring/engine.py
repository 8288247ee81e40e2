"""The packed forward pass of decoder models: each item's shared prompt once, followed by each of its responses,
several items to a row of fixed length with no padding between them. Every token gets its own position (a
response continues its prompt's positions) and a 4-D attention mask lets a token see only the earlier tokens of
its own prompt and its own response (within the model's sliding window, on the layers that have one). A
completion that shares nothing is an item with one response, so there is no other path for these models.

    rows = pack(plan(units, encoded), encoded, row_length=2048)
    for batch in token_batches(...): outputs = forward(model, [rows[i] for i in batch], read)

Architectures known to honour a custom 4-D mask are listed in `PACKED_MODEL_TYPES` (each tested against
one-sequence passes); any other model takes padded, length-sorted batches (`padded.py`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from social_rm.scoring.models import input_device, is_library_class
from social_rm.scoring.padded import token_logprobs

logger = logging.getLogger(__name__)

PACKED_MODEL_TYPES = ("llama", "mistral", "qwen2", "gemma2")
ROW_LENGTH = 2048


@dataclass
class Item:
    members: list[int]  # completion indices
    prefix: int  # leading tokens all members share, computed once


@dataclass
class Row:
    ids: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    item: list[int] = field(default_factory=list)  # the item each token belongs to (its index in the row)
    branch: list[int] = field(default_factory=list)  # 0: the shared prefix; k: the k-th member's response
    # per member, in packing order: (completion, row index of its item's first prefix token, prefix length, row
    # index of its own first token)
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)


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
        shared = min(len(s) for s in sequences) - 1
        first = sequences[0]
        for k in range(shared):
            if any(s[k] != first[k] for s in sequences[1:]):
                shared = k
                break
        item, size = Item([], shared), shared
        for member, sequence in zip(members, sequences):
            if item.members and size + len(sequence) - shared > row_length:
                items.append(item)
                item, size = Item([], shared), shared
            item.members.append(member)
            size += len(sequence) - shared
        items.append(item)
    return items


def item_tokens(item: Item, encoded) -> int:
    return item.prefix + sum(len(encoded[i].ids) - item.prefix for i in item.members)


def pack(items: list[Item], encoded, row_length: int | None = None) -> list[Row]:
    """Rows of at most `row_length` tokens (default `ROW_LENGTH`; an item longer than that gets a row of its own),
    filled first-fit with the items longest first."""
    row_length = row_length or ROW_LENGTH
    rows: list[Row] = []
    for item in sorted(items, key=lambda it: -item_tokens(it, encoded)):
        size = item_tokens(item, encoded)
        row = next((r for r in rows if len(r.ids) + size <= row_length), None)
        if row is None:
            row = Row()
            rows.append(row)
        index = max(row.item, default=-1) + 1
        head, prefix_at = encoded[item.members[0]].ids[: item.prefix], len(row.ids)
        row.ids += head
        row.positions += range(item.prefix)
        row.item += [index] * item.prefix
        row.branch += [0] * item.prefix
        for k, member in enumerate(item.members, start=1):
            own = encoded[member].ids[item.prefix :]
            row.spans.append((member, prefix_at, item.prefix, len(row.ids)))
            row.ids += own
            row.positions += range(item.prefix, item.prefix + len(own))
            row.item += [index] * len(own)
            row.branch += [k] * len(own)
    return rows


def _masks(model, rows: list[Row], width: int, device):
    """The attention mask(s) the model takes: one (batch, 1, width, width) mask, or a dict per layer type where
    some layers slide. Boolean for SDPA (True: attend), additive float for eager attention."""
    import torch

    def tensor(values, fill):
        out = torch.full((len(rows), width), fill, dtype=torch.long)
        for r, row in enumerate(rows):
            out[r, : len(row.ids)] = torch.tensor(values(row), dtype=torch.long)
        return out.to(device)

    item, branch, position = (
        tensor(lambda r: r.item, -1),
        tensor(lambda r: r.branch, 0),
        tensor(lambda r: r.positions, 0),
    )
    q, k = (slice(None), None, slice(None), None), (slice(None), None, None, slice(None))
    full = (
        (item[q] == item[k])
        & (item[q] >= 0)
        & ((branch[k] == 0) | (branch[k] == branch[q]))
        & (position[k] <= position[q])
    )
    full |= torch.eye(width, dtype=torch.bool, device=device)[None, None] & (
        item[q] < 0
    )  # padding sees itself
    config = model.config
    window = getattr(config, "sliding_window", None)
    sliding = full & (position[k] > position[q] - window) if window else None
    if model.config._attn_implementation != "sdpa":
        dtype = next(model.parameters()).dtype  # meta parameters (offloaded) keep theirs

        def additive(mask):
            return torch.zeros(mask.shape, dtype=dtype, device=device).masked_fill(
                ~mask, torch.finfo(dtype).min
            )

        full, sliding = additive(full), None if sliding is None else additive(sliding)
    layer_types = getattr(config, "layer_types", None)
    if layer_types and "sliding_attention" in layer_types:
        return {"full_attention": full, "sliding_attention": sliding}
    return sliding if sliding is not None and not layer_types else full


def forward(model, rows: list[Row], read: str, encoded, verdict_ids=None):
    """Run a batch of rows and read each member: `hidden` (`model` is a base model: its last hidden state at the
    member's last token, one row of a tensor), `logprob` (the log-probabilities of its response tokens, a float32
    tensor per member) or `next` (the logits of `verdict_ids` after its last token). Returns (completion indices,
    outputs) in packing order."""
    import torch

    device = input_device(model)
    width = max(len(r.ids) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row.ids)] = torch.tensor(row.ids)
        positions[r, : len(row.ids)] = torch.tensor(row.positions)
    ids, positions = ids.to(device), positions.to(device)
    mask = _masks(model, rows, width, device)
    members, at = [], []  # per member: its completion, and its tokens' row indices in full-sequence order
    for r, row in enumerate(rows):
        for member, prefix_at, prefix, own_at in row.spans:
            n = len(encoded[member].ids)
            at.append((r, [prefix_at + t if t < prefix else own_at + t - prefix for t in range(n)]))
            members.append(member)
    last = [[r, index[-1]] for r, index in at]
    with torch.inference_mode():
        output = model(input_ids=ids, attention_mask=mask, position_ids=positions)
        if read == "hidden":
            hidden = output.last_hidden_state
            last = torch.tensor(last, device=hidden.device)
            return members, hidden[last[:, 0], last[:, 1]]
        logits = output.logits
        if read == "next":
            last = torch.tensor(last, device=logits.device)
            return members, logits[last[:, 0], last[:, 1]][:, verdict_ids].float().cpu().numpy().astype(
                np.float64
            )
        outputs = []
        for member, (r, index) in zip(members, at):
            start = max(encoded[member].response_start, 1)
            where = torch.tensor(index[start - 1 : -1], device=logits.device)  # token t is predicted at t - 1
            targets = torch.tensor(encoded[member].ids[start:], device=logits.device)
            outputs.append(token_logprobs(logits[r, where], targets).double())
        return members, outputs
