"""From a scorer to per-pair scores: score each unique completion once and map the scores back to the pairs."""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from pathlib import Path

import datasets
import numpy as np
from tqdm.auto import tqdm

from social_rm.errors import SocialRMError
from social_rm.results.scores import Scores
from social_rm.scoring.batching import collections_between
from social_rm.scoring.cache import ScoreCache
from social_rm.scoring.units import Completion, PairUnit, Scorer

logger = logging.getLogger(__name__)


def completions(ds: datasets.Dataset) -> tuple[list[Completion], np.ndarray, np.ndarray, list[str]]:
    """The unique completions of `ds`, and for each pair the index of its chosen and rejected completion.
    Pairs share responses (a BBQ item's three answers make five pairs), so each is scored once."""
    index: dict[Completion, int] = {}
    sides = []
    with collections_between():
        prompts, chosen, rejected, ids = _columns(ds)
        for responses in (chosen, rejected):
            sides.append(
                np.fromiter(
                    (index.setdefault(Completion(p, r), len(index)) for p, r in zip(prompts, responses)),
                    np.int64,
                    len(ids),
                )
            )
    return list(index), sides[0], sides[1], ids


def pair_units(ds: datasets.Dataset) -> tuple[list[PairUnit], np.ndarray, list[str]]:
    """The unique (prompt, chosen, rejected) triples of `ds` and each pair's index among them."""
    index: dict[PairUnit, int] = {}
    with collections_between():
        prompts, chosen, rejected, ids = _columns(ds)
        where = np.fromiter(
            (index.setdefault(PairUnit(*t), len(index)) for t in zip(prompts, chosen, rejected)),
            np.int64,
            len(ids),
        )
    return list(index), where, ids


def _columns(ds: datasets.Dataset):
    """Each pair's prompt (`Messages`), chosen and rejected text and id, read a column at a time from Arrow (a dict
    per message through `to_pylist` took 4.5 s on all of BBQ, now 1.5 s). A sampled or filtered dataset comes
    out of Arrow a chunk per row, so the chunks are combined first."""
    table = ds.select_columns(["id", "prompt", "chosen", "rejected"]).with_format("arrow")[:].combine_chunks()
    ids = table.column("id").to_pylist()
    return (
        _messages(table.column("prompt")),
        _response(table.column("chosen"), "chosen", ids),
        _response(table.column("rejected"), "rejected", ids),
        ids,
    )


def _messages(column) -> list[tuple]:
    import pyarrow.compute as pc

    flat = pc.list_flatten(column)
    pairs = list(zip(pc.struct_field(flat, "role").to_pylist(), pc.struct_field(flat, "content").to_pylist()))
    ends = np.cumsum(pc.list_value_length(column).to_numpy()).tolist()
    return [tuple(pairs[start:end]) for start, end in zip([0, *ends], ends)]


def _response(column, name: str, ids: list[str]) -> list[str]:
    """The text of each row's one response message (SPEC: a list of one assistant message)."""
    import pyarrow.compute as pc

    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != 1)
    if len(bad):
        row = int(bad[0])
        raise SocialRMError(
            f"row {row} (id {ids[row]!r}): {name!r} must be a list of one assistant message, got "
            f"{column[row].as_py()!r}"
        )
    return pc.struct_field(pc.list_flatten(column), "content").to_pylist()


def score_units(
    units: list, scorer: Scorer, cache: ScoreCache | None = None, progress: bool = True
) -> np.ndarray:
    """Score every unit once: read what `cache` has, score the rest batch by batch (committing each batch to
    the cache as it comes). Launched with `accelerate launch`, the processes share the work, each writing its own
    shard of the cache, which the main process merges (`ScoreCache.merge_shards`)."""
    keys = [u.key() for u in units]
    state = _distributed_state()
    if state is None:
        if cache is not None and hasattr(scorer, "use_cache"):
            scorer.use_cache(cache)  # a generative judge keeps its replies there as they arrive
        known = cache.get(keys) if cache is not None else {}
        todo = [i for i, key in enumerate(keys) if key not in known]
        _log_known(known, units, scorer, cache)
        values = np.array([known.get(key, np.nan) for key in keys], dtype=np.float64)
        _score_into(values, todo, units, keys, scorer, cache, progress)
        return values
    if cache is None:
        raise SocialRMError("several processes gather their scores through the score cache: drop --no-cache")
    from accelerate.utils import broadcast_object_list

    todo: list = [None]
    if state.is_main_process:
        cache.merge_shards()  # what a killed run's processes scored
        known = cache.get(keys)
        _log_known(known, units, scorer, cache)
        todo = [[i for i, key in enumerate(keys) if key not in known]]
    broadcast_object_list(todo)
    shard = cache.shard(state.process_index)
    if hasattr(scorer, "use_cache"):
        scorer.use_cache(shard)
    try:
        mine = share(todo[0], units, state.process_index, state.num_processes)
        logger.info(
            f"process {state.process_index} of {state.num_processes}: scoring {len(mine):,} of the "
            f"{len(todo[0]):,} {scorer.unit}s left, into {shard.path}"
        )
        _score_into(np.full(len(units), np.nan), mine, units, keys, scorer, shard, progress)
    finally:
        shard.close()
    state.wait_for_everyone()  # every shard is complete
    values: list = [None]
    if state.is_main_process:
        cache.merge_shards()
        found = cache.get(keys)
        values = [np.array([found[k] for k in keys], dtype=np.float64)]
    broadcast_object_list(values)
    return values[0]


def share(todo: list[int], units: list, rank: int, processes: int, most: int = 64) -> list[int]:
    """Process `rank`'s part of `todo`: items (the units of one prompt, at most `most` of them: a prompt of thousands
    of completions makes several) dealt round-robin in order of first appearance, so that an item's completions
    share their prompt on one process and the processes get even shares."""
    seen: dict = defaultdict(int)
    item: dict = {}
    mine = []
    for i in todo:
        prompt = units[i].prompt
        key = (prompt, seen[prompt] // most)
        seen[prompt] += 1
        if item.setdefault(key, len(item)) % processes == rank:
            mine.append(i)
    return mine


def _log_known(known: dict, units: list, scorer: Scorer, cache: ScoreCache | None) -> None:
    if known:
        logger.info(f"{len(known):,} of {len(units):,} {scorer.unit}s already scored in {cache.path}")


def _score_into(
    values: np.ndarray,
    todo: list[int],
    units: list,
    keys: list[str],
    scorer: Scorer,
    cache: ScoreCache | None,
    progress: bool,
) -> None:
    """Score `units[todo]` into `values`, committing each batch to `cache`; a model scorer says how it runs
    (`describe`) and, at the end, what it computed."""
    if todo and hasattr(scorer, "describe"):
        logger.info(scorer.describe())
    start = time.perf_counter()
    with (
        tqdm(
            total=len(todo),
            unit=scorer.unit,
            desc=f"scoring with {scorer.name}",
            disable=not progress or not todo,
        ) as bar,
        collections_between() as collect,
    ):
        for batch, scores in scorer.score_stream([units[i] for i in todo]) if todo else ():
            indices = [todo[b] for b in batch]
            values[indices] = scores
            if cache is not None:
                cache.put((keys[i], float(v)) for i, v in zip(indices, scores))
            bar.update(len(batch))
            collect()
    if todo and getattr(scorer, "summary", None) and scorer.summary():
        logger.info(scorer.summary())
    if todo and hasattr(scorer, "tokens"):
        seconds = time.perf_counter() - start
        logger.info(
            f"scored {len(todo):,} {scorer.unit}s in {seconds:.1f} s: {scorer.tokens:,} tokens through the model "
            f"({scorer.tokens / max(seconds, 1e-9):,.0f} tokens/s), {scorer.truncated:,} sequences cut at --max-length"
        )


def is_main_process() -> bool:
    """Process 0 of an `accelerate launch` (or the only process), which writes the scores file."""
    import os

    return int(os.environ.get("RANK", "0")) == 0


def default_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "social-rm" / "scores"


def open_cache(scorer: Scorer, path: Path | None = None) -> ScoreCache | None:
    """The score cache of a model scorer (one file per model fingerprint unless `path` is given); baselines
    and precomputed scores need none."""
    from social_rm.scoring.kinds import KINDS

    kind = scorer.identity().get("kind")
    if kind not in KINDS or not KINDS[kind].loads_weights:
        return None
    fingerprint = scorer.fingerprint()
    cache = ScoreCache(
        path or default_cache_dir() / f"{fingerprint[:16]}.sqlite", fingerprint, scorer.identity()
    )
    if is_main_process():
        cache.db  # noqa: B018 (open it now: a cache of another model is refused before any scoring)
    return cache


def _distributed_state():
    """accelerate's PartialState when launched with several processes, else None."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    import torch
    from accelerate import PartialState

    cpu = (
        os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
        or not torch.cuda.is_available()
    )
    state = PartialState(cpu=cpu)  # gloo between CPU processes, nccl between GPUs
    _close_at_exit()
    return state


@functools.cache
def _close_at_exit() -> None:
    """Destroy the process group when the interpreter exits, before its C++ threads are torn down (left to the
    interpreter's own teardown, a process now and then aborted with "terminate called without an active
    exception")."""
    import atexit

    import torch.distributed as dist

    atexit.register(lambda: dist.destroy_process_group() if dist.is_initialized() else None)


def score_pairs(
    ds: datasets.Dataset, scorer: Scorer, cache: ScoreCache | None = None, progress: bool = True
) -> Scores:
    """Per-pair scores for `ds`. Completion scorers score each unique completion once and map the scores back;
    a pair scorer's score p for a pair gives chosen p and rejected 1 - p; precomputed scores are read and aligned."""
    if scorer.unit == "file":
        return scorer.score_dataset(ds)
    if scorer.unit == "pair":
        units, where, ids = pair_units(ds)
        values = score_units(units, scorer, cache, progress)
        chosen, rejected = values[where], 1 - values[where]
        sides = [where]
    else:
        units, chosen_at, rejected_at, ids = completions(ds)
        values = score_units(units, scorer, cache, progress)
        chosen, rejected = values[chosen_at], values[rejected_at]
        sides = [chosen_at, rejected_at]
    scores = Scores(
        ids, chosen, rejected, {"model": scorer.identity(), "truncated": getattr(scorer, "truncated", 0)}
    )
    if hasattr(scorer, "generations"):
        _add_generations(scores, scorer, units, sides)
    return scores


def _add_generations(scores: Scores, scorer, units: list, sides: list[np.ndarray]) -> None:
    """A generative judge's replies per pair (its unit's, or its chosen and its rejected completion's), and how
    many of each pair's verdicts could not be parsed."""
    replies = scorer.generations(units)
    scores.generations, unparsed = [], np.zeros(len(scores.ids), dtype=np.int64)
    for row, pair_id in enumerate(scores.ids):
        for side, at in zip(("chosen", "rejected"), sides):
            for record in replies[at[row]]:
                order = record["order"] if len(sides) == 1 else side
                scores.generations.append({"id": pair_id, **record, "order": order})
                unparsed[row] += record["verdict"] is None
    scores.unparsed = unparsed
    scores.metadata["usage"] = dict(scorer.usage)
