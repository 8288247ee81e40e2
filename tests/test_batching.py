"""Chunks, the background preparation of the next chunk, the out-of-memory back-off and the split between
processes: the pieces that keep the device busy without changing a score."""

import threading
from collections import namedtuple

import pytest

from social_rm.scoring.batching import TokenBudget, key_chunks, prefetched, run_batches
from social_rm.scoring.runner import share


def test_a_chunk_keeps_the_units_of_one_key_together_and_chunks_double_then_halve():
    # "a" and "c" are spread out, as an item's chosen and rejected completions are in `runner.completions`
    assert key_chunks(["a", "b", "a", "c", "d", "c", "e"], first=2, largest=4) == [[0, 2], [1, 3, 5], [4, 6]]
    keys = [i % 300 for i in range(3000)]
    chunks = key_chunks(keys, first=256, largest=1024)
    assert sorted(i for c in chunks for i in c) == list(range(3000))
    assert all(len({keys[i] for i in c}) * 10 == len(c) for c in chunks)  # every key's 10 units in one chunk
    # twice the last, at most 1,024, at most half of what is left: the model ends on a small chunk
    assert [len(c) for c in chunks] == [260, 520, 1030, 600, 300, 260, 30]


def test_the_next_chunk_is_prepared_while_this_one_is_worked_on():
    second_prepared = threading.Event()

    def prepare(chunk):
        if chunk == "second":
            second_prepared.set()
        return chunk.upper()

    seen = []
    for chunk, prepared in prefetched(["first", "second", "third"], prepare):
        if chunk == "first":  # prepared sequentially, "second" would only start after this: a timeout
            assert second_prepared.wait(timeout=60)
        seen.append(prepared)
    assert seen == ["FIRST", "SECOND", "THIRD"]


def test_without_the_background_each_chunk_is_prepared_in_the_callers_thread_when_reached():
    prepared_in = []

    def prepare(chunk):
        prepared_in.append((chunk, threading.current_thread().name))
        return chunk.upper()

    seen = []
    for _, prepared in prefetched(["first", "second"], prepare, background=False):
        seen.append((prepared, [c for c, _ in prepared_in]))
    assert seen == [("FIRST", ["first"]), ("SECOND", ["first", "second"])]  # not one ahead
    assert {thread for _, thread in prepared_in} == {threading.current_thread().name}


def test_an_error_while_preparing_is_raised_at_its_chunk():
    def prepare(chunk):
        if chunk == 2:
            raise ValueError("row 7: bad chat template")
        return chunk

    seen = []
    with pytest.raises(ValueError, match="row 7"):
        for chunk, _ in prefetched([1, 2, 3], prepare):
            seen.append(chunk)
    assert seen == [1]


def test_out_of_memory_halves_the_budget_for_every_later_batch():
    calls = []

    def run(batch):
        calls.append(len(batch))
        if 50 * len(batch) > 100:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return list(batch)

    budget = TokenBudget(400)
    done = [i for _, result in run_batches([50] * 10, budget, run) for i in result]
    assert sorted(done) == list(range(10)) and budget.tokens == 100
    assert calls == [8, 4, 2, 2, 2, 2, 2]
    calls.clear()
    list(run_batches([50] * 4, budget, run))  # the next chunk starts at the halved budget: no failed batch
    assert calls == [2, 2]


def test_other_errors_and_a_single_sequence_that_does_not_fit_are_raised():
    def fails(error):
        def run(batch):
            raise error

        return run

    with pytest.raises(ValueError):
        list(run_batches([5, 5], TokenBudget(100), fails(ValueError("bad input"))))
    with pytest.raises(RuntimeError, match="out of memory"):
        list(run_batches([500], TokenBudget(100), fails(RuntimeError("CUDA out of memory"))))


def test_processes_share_whole_items_of_at_most_most_units():
    Unit = namedtuple("Unit", "prompt")
    units = [Unit(p) for p in ["x", "y", "x", "z", "y", "w", "x"]]
    todo = [0, 1, 2, 3, 4, 6]  # unit 5 is already in the cache
    parts = [share(todo, units, rank, 2) for rank in range(2)]
    assert parts == [[0, 2, 3, 6], [1, 4]]  # items x, z to process 0; y to process 1
    assert {units[i].prompt for i in parts[0]}.isdisjoint({units[i].prompt for i in parts[1]})
    crowded = [Unit("p")] * 5 + [Unit("q")]  # a prompt with more units than an item holds makes several items
    assert [share(list(range(6)), crowded, rank, 2, most=2) for rank in range(2)] == [[0, 1, 4], [2, 3, 5]]


def test_the_runner_collects_cyclic_garbage_after_each_batch_and_restores_the_collector_whatever_happens():
    import gc
    import weakref

    import numpy as np

    from social_rm.scoring.runner import score_units

    class Cycle:
        def __init__(self):
            self.me = self  # dropped at once, only the cyclic collector can free it

    class Scorer:
        name, unit = "cycles", "completion"

        def __init__(self, fail_at=None):
            self.fail_at, self.made, self.seen = fail_at, [], []

        def score_stream(self, units):
            for i in range(len(units)):
                self.seen.append((gc.isenabled(), [ref() is not None for ref in self.made]))
                if i == self.fail_at:
                    raise KeyboardInterrupt
                self.made.append(weakref.ref(Cycle()))
                yield [i], np.array([float(i)])

    units = [namedtuple("Unit", "key")(lambda i=i: str(i)) for i in range(3)]
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            scorer = Scorer()
            assert score_units(units, scorer, progress=False).tolist() == [0.0, 1.0, 2.0]
            # paused throughout; the batch before was collected when the runner had it
            assert scorer.seen == [(False, []), (False, [False]), (False, [False, False])]
            assert gc.isenabled() is enabled
            with pytest.raises(KeyboardInterrupt):
                score_units(units, Scorer(fail_at=1), progress=False)
            # restored at once, while the interrupted run's frames are still referenced
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
