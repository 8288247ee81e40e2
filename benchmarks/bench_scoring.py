"""The scoring runner against the naive method, as RewardBench's runner does it: pairs in dataset order, fixed
batches of pairs, chosen and rejected as separate left-padded forward passes.

    .venv/bin/python benchmarks/bench_scoring.py --dataset out/social-pairs [--time-pairs 2000|all] [--device cuda]

1. Tokens computed, padding included, on the full dataset (hardware-independent): naive at 8 and 64 pairs a
   batch, against the packed engine (each item's prompt once, its responses after it, items whose prompts share
   their start in one row, rows in token-budget batches), and against its rows' own tokens (each shared start once,
   each response once: the useful tokens); and the engine's
   attention and mask work against its linear layers' FLOPs, counted for the Llama-3-8B and Qwen3-0.6B shapes.
2. Pairs per second on `--time-pairs` pairs of BBQ for a randomly initialised sequence classifier (`--config
   llama3-8b qwen3-0.6b` on a GPU: the real shapes in bf16, in Llama's class; default for a CPU the tests' tiny
   model with its own 600-token vocabulary, `tests-tiny`, the same shape with the 32k tokenizer, `tiny`, and
   `small`),
   naive at 8 and 64 and padded, length-sorted batches of the same token budget against the engine, with and
   without shared prompts, and its FLOP utilisation (2 x non-embedding parameters x useful
   tokens per second) against the device's own measured matmul rate in the same dtype; then the forward passes
   alone, padded against the engine, each chunk prepared first (the host work, the same for both paths, can hide
   behind a GPU's forward passes but shares a small CPU with them). Each path runs `--repeats` times; the fastest
   counts. `--time-pairs all` times every BBQ pair.
3. What the host adds (hardware-independent): the runner on the same pairs with the forward pass replaced by a
   wait as long as a device computing `--device-tokens-per-s` would take; chat templates, tokenization and packing
   run in a background thread meanwhile, so the run should take little more than the wait.

The tokenizer is a byte-level BPE with a 32k vocabulary trained on the dataset's own text (Llama-3's own
tokenizer cannot be downloaded here), with the chat template of `social_rm.testing`; for `tests-tiny`, one of the
tests' 600 tokens, so its sequences are twice as long and its forward passes weigh more against the host's work.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager

CONFIGS = {
    # the tests' tiny model as `social_rm.testing.save_tiny_model` writes it: its shape and its 600-token vocabulary
    "tests-tiny": dict(),
    "tiny": dict(),  # the same shape (`social_rm.testing.tiny_config`), with the 32k tokenizer
    "small": dict(hidden=256, layers=4, heads=4, kv_heads=2, intermediate=688),
    "llama3-8b": dict(hidden=4096, layers=32, heads=32, kv_heads=8, intermediate=14336, rope_theta=500000.0),
    # Qwen3-0.6B's shape (Skywork-Reward-V2-Qwen3-0.6B) in Llama's class: on a GPU, whether the host keeps up
    "qwen3-0.6b": dict(
        hidden=1024, layers=28, heads=16, kv_heads=8, intermediate=3072, head_dim=128, rope_theta=1000000.0
    ),
}
VOCABULARY = {"tests-tiny": 600}  # the tokenizer's size for a config; 32,000 for the others


def naive_tokens(chosen_lengths, rejected_lengths, batch_pairs: int) -> int:
    total = 0
    for start in range(0, len(chosen_lengths), batch_pairs):
        c, r = chosen_lengths[start : start + batch_pairs], rejected_lengths[start : start + batch_pairs]
        total += len(c) * max(c) + len(r) * max(r)
    return total


def packed_tokens(units, encoded, max_tokens: int, share: bool = True) -> tuple[int, int, list, int]:
    """(tokens computed, padding included; useful tokens; each batch's (rows, width); the longest row) of the
    packed engine, chunk by chunk as the runner packs them."""
    from social_rm.scoring import engine
    from social_rm.scoring.batching import key_chunks, token_batches

    useful = longest = 0
    shapes = []
    for chunk in key_chunks([u.prompt for u in units]):
        lengths = [
            len(r.ids)
            for r in engine.pack([units[i].prompt for i in chunk], [encoded[i] for i in chunk], share)
        ]
        shapes += [(len(b), max(lengths[i] for i in b)) for b in token_batches(lengths, max_tokens)]
        useful += sum(lengths)
        longest = max(longest, *lengths)
    computed = sum(n * width for n, width in shapes)
    return computed, useful, shapes, longest


# Real shapes, for the attention count (hidden, layers, query heads x head dim, key/value heads x head dim, MLP)
SHAPES = {
    "Llama-3-8B": dict(hidden=4096, layers=32, q=32 * 128, kv=8 * 128, heads=32, intermediate=14336),
    "Qwen3-0.6B": dict(hidden=1024, layers=28, q=16 * 128, kv=8 * 128, heads=16, intermediate=3072),
}


def attention_share(shapes: list, shape: dict) -> tuple[float, float, float]:
    """(attention FLOPs, mask work, linear FLOPs) of the engine's batches (rows x width each, padding included).
    Linear: 2 x the layers' weights (q, k, v, o and the gated MLP) a token. Attention: QK^T and AV, 4 x query
    dims a query-key pair a layer, over the pairs the engine's blocks of queries compute (`attention.pairs_computed`:
    each block against the keys up to its end, as dense kernels compute a block). Mask: 4 operations an entry to
    build the row's (width x width) mask once a batch, and one a computed pair a head a layer where attention
    applies it."""
    from social_rm.scoring.attention import pairs_computed

    h, q, kv = shape["hidden"], shape["q"], shape["kv"]
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * shape["intermediate"]
    tokens = sum(n * width for n, width in shapes)
    squares = sum(n * width * width for n, width in shapes)
    computed = sum(n * pairs_computed(width) for n, width in shapes)
    linear = 2 * per_layer * shape["layers"] * tokens
    attention = 4 * q * shape["layers"] * computed
    mask = 4 * squares + shape["layers"] * shape["heads"] * computed
    return attention, mask, linear


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True, help="a built social-pairs folder")
    parser.add_argument("--max-tokens-per-batch", type=int, default=None, help="default: auto, as the runner")
    parser.add_argument(
        "--time-pairs",
        default="1000",
        help="BBQ pairs to time the forward passes on (0: skip; all: every BBQ pair)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each path; the fastest counts (a busy machine)"
    )
    parser.add_argument("--config", nargs="+", default=["tests-tiny", "tiny", "small"], choices=list(CONFIGS))
    parser.add_argument(
        "--device-tokens-per-s",
        type=float,
        default=28_000,
        help="the simulated device of part 3 (28,000: ~1,000 BBQ pairs/s)",
    )
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from datasets import load_dataset

    from social_rm.scoring import engine
    from social_rm.scoring.encoding import encode_many
    from social_rm.scoring.runner import completions
    from social_rm.scoring.units import messages
    from social_rm.testing import train_tokenizer

    ds = load_dataset(str(args.dataset), "default", split="test")
    units, chosen_at, rejected_at, ids = completions(ds)
    tokenizers: dict = {}

    def tokenizer_of(config_name: str):
        size = VOCABULARY.get(config_name, 32_000)
        if size not in tokenizers:
            texts = (t for u in units for t in (u.response, *(c for _, c in u.prompt)))
            tokenizers[size] = train_tokenizer(texts, vocab_size=size)
        return tokenizers[size]

    tokenizer = tokenizer_of("tiny")
    start = time.perf_counter()
    encoded = encode_many(tokenizer, [messages(u.prompt) for u in units], [u.response for u in units], 4096)
    lengths = [len(e.ids) for e in encoded]
    print(
        f"{len(ids):,} pairs, {len(units):,} unique completions, chat-templated and tokenized in "
        f"{time.perf_counter() - start:.1f} s (host-side; the runner overlaps it with the forward passes)"
    )
    chosen_lengths = [lengths[i] for i in chosen_at]
    rejected_lengths = [lengths[i] for i in rejected_at]
    print(
        f"real tokens of all pairs (chosen + rejected, no padding): {sum(chosen_lengths) + sum(rejected_lengths):,}"
    )
    from social_rm.scoring.models import CPU_TOKEN_BUDGET

    budget = args.max_tokens_per_batch or CPU_TOKEN_BUDGET  # the token counts do not depend on the device
    ours, useful, shapes, longest = packed_tokens(units, encoded, budget)
    for batch in (8, 64):
        naive = naive_tokens(chosen_lengths, rejected_lengths, batch)
        print(
            f"naive, {batch} pairs a batch: {naive:,} tokens computed; the engine: {ours:,} ({naive / ours:.2f}x fewer)"
        )
    print(
        f"the engine: {ours:,} tokens computed in {len(shapes):,} batches against {useful:,} useful tokens (each shared "
        f"start once, each response once): {ours / useful:.3f}x"
    )
    print(
        f"the longest row: {longest:,} tokens (a row of several sequences holds at most {engine.ROW_LENGTH:,}; "
        f"the longest sequence has {max(lengths):,})"
    )
    for name, shape in SHAPES.items():
        attention, mask, linear = attention_share(shapes, shape)
        print(
            f"{name} shape on all of it: attention {attention / 1e15:.2f} PFLOP and mask work {mask / 1e15:.3f} P "
            f"against {linear / 1e15:.1f} PFLOP in the linear layers: {(attention + mask) / linear:.1%}"
        )
    whole, whole_useful, *_ = packed_tokens(units, encoded, budget, share=False)
    print(
        f"--no-prefix-sharing: {whole:,} tokens computed ({whole_useful:,} useful), {whole / ours:.2f}x the shared"
    )

    if args.time_pairs != "0":
        bbq = ds.filter(lambda source: source == "bbq", input_columns="source")
        if args.time_pairs != "all":
            bbq = bbq.select(range(int(args.time_pairs)))
        for config_name in args.config:
            time_forward(args, bbq, tokenizer_of(config_name), config_name)
        host_overhead(bbq, tokenizer, args.device_tokens_per_s)


def time_forward(args, bbq, tokenizer, config_name: str) -> None:
    import torch
    from transformers import LlamaForSequenceClassification

    from social_rm.scoring import engine
    from social_rm.scoring.batching import collections_between
    from social_rm.scoring.encoding import encode_many
    from social_rm.scoring.models import pick_device
    from social_rm.scoring.options import ModelSettings
    from social_rm.scoring.rewards import RewardModelScorer
    from social_rm.scoring.runner import completions, score_pairs
    from social_rm.scoring.units import messages
    from social_rm.testing import tiny_config

    device = pick_device(args.device)
    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    torch.manual_seed(0)
    config = tiny_config(tokenizer, num_labels=1, **CONFIGS[config_name])
    with torch.device(device):
        model = LlamaForSequenceClassification(config).to(dtype=dtype).eval()

    def naive(batch_pairs: int) -> float:
        tokenizer.padding_side = "left"
        rows = list(bbq)
        start = time.perf_counter()
        for i in range(0, len(rows), batch_pairs):
            for side in ("chosen", "rejected"):
                texts = [
                    tokenizer.apply_chat_template(r["prompt"] + r[side], tokenize=False)
                    for r in rows[i : i + batch_pairs]
                ]
                batch = tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt").to(
                    device
                )
                with torch.inference_mode():
                    model(**batch)
        _sync(device)
        return len(rows) / (time.perf_counter() - start)

    def runner(sharing: bool, packed: bool = True, overlap: bool = True) -> tuple[float, float]:
        """(seconds in all, seconds in forward passes) of one run; without `overlap` each chunk is prepared in the
        main thread first, so the forward passes are timed alone."""
        settings = ModelSettings(
            f"random {config_name}",
            max_tokens_per_batch=args.max_tokens_per_batch,
            prefix_sharing=sharing,
        )
        scorer = RewardModelScorer(settings, loaded=(tokenizer, model))
        scorer.packs = packed  # False: the padded, length-sorted batches other architectures take
        if not overlap:
            scorer.background = False  # nothing runs beside the forward passes
        forward: list[float] = []
        start = time.perf_counter()
        with timed_batches(forward, device):
            score_pairs(bbq, scorer, progress=False)
        _sync(device)
        return time.perf_counter() - start, sum(forward)

    # useful work: every unique completion's tokens once (no sharing), or each shared start once (shared)
    units, *_ = completions(bbq)
    with collections_between():  # as the runner: no full collection of the millions of objects held here
        start = time.perf_counter()
        encoded = encode_many(
            tokenizer, [messages(u.prompt) for u in units], [u.response for u in units], 4096
        )
        host = time.perf_counter() - start
    useful = {
        share: sum(len(r.ids) for r in engine.pack([u.prompt for u in units], encoded, share))
        for share in (False, True)
    }
    params = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name)
    rate = matmul_rate(device, dtype)

    def fastest(*path) -> float:
        return min(runner(*path)[0] for _ in range(args.repeats))

    padded = fastest(False, False)
    seconds = {sharing: fastest(sharing) for sharing in (False, True)}
    alone = {
        path: min(runner(path, path, overlap=False)[1] for _ in range(args.repeats)) for path in (False, True)
    }
    print(
        f"{config_name} on {device} ({dtype}), {len(bbq):,} BBQ pairs, pairs/s: naive batch 8 {naive(8):.1f}, naive batch 64 "
        f"{naive(64):.1f}, padded length-sorted batches {len(bbq) / padded:.1f}, the engine without shared prompts "
        f"{len(bbq) / seconds[False]:.1f}, with {len(bbq) / seconds[True]:.1f} ({padded / seconds[True]:.2f}x the padded)"
    )
    print(
        f"the forward passes alone (each chunk prepared first): padded batches {alone[False]:.2f} s, the engine "
        f"{alone[True]:.2f} s ({alone[False] / alone[True]:.2f}x)"
    )
    print(
        f"host-side chat templates and tokenization of these pairs alone: {host:.2f} s ({len(bbq) / host:,.0f} pairs/s); "
        f"the engine's run {seconds[True]:.2f} s against its forward passes alone {alone[True]:.2f} s (on a GPU the "
        f"preparation runs beside them: a run much longer than its forward passes waits for the host)"
    )
    for sharing, label in ((False, "without shared prompts"), (True, "with shared prompts")):
        flops = 2 * params * useful[sharing] / seconds[sharing]
        print(
            f"{label}: {useful[sharing]:,} useful tokens, {flops / 1e12:.2f} TFLOP/s = {flops / rate:.0%} of the measured "
            f"{dtype} matmul rate ({rate / 1e12:.1f} TFLOP/s)"
        )


def host_overhead(bbq, tokenizer, tokens_per_s: float) -> None:
    import torch
    from transformers import LlamaForSequenceClassification

    from social_rm.scoring import engine
    from social_rm.scoring.options import ModelSettings
    from social_rm.scoring.rewards import RewardModelScorer
    from social_rm.scoring.runner import score_pairs
    from social_rm.testing import tiny_config

    waited = []

    def device(model, rows, read, encoded, verdict_ids=None):
        waited.append(sum(len(r.ids) for r in rows) / tokens_per_s)
        time.sleep(waited[-1])
        members = [member for row in rows for member, *_ in row.spans]
        return members, torch.zeros(len(members), model.config.hidden_size)

    model = LlamaForSequenceClassification(tiny_config(tokenizer, num_labels=1, **CONFIGS["small"])).eval()
    budget = 131_072  # what `auto` gives an 8B model on an H100
    scorer = RewardModelScorer(
        ModelSettings("simulated", max_tokens_per_batch=budget), loaded=(tokenizer, model)
    )
    scorer.background = True  # as beside a GPU (the model is on the CPU)
    forward, engine.forward = engine.forward, device
    try:
        start = time.perf_counter()
        score_pairs(bbq, scorer, progress=False)
        seconds = time.perf_counter() - start
    finally:
        engine.forward = forward
    print(
        f"a device at {tokens_per_s:,.0f} tokens/s: {sum(waited):.2f} s of forward passes, the run {seconds:.2f} s "
        f"({len(bbq) / seconds:.0f} pairs/s; the host adds {seconds / sum(waited) - 1:.1%})"
    )


@contextmanager
def timed_batches(seconds: list, device: str):
    """Every batch's forward pass timed into `seconds`."""
    from social_rm.scoring import batching

    run_batches = batching.run_batches

    def timed_run_batches(lengths, budget, run):
        def timed(batch):
            start = time.perf_counter()
            out = run(batch)
            _sync(device)
            seconds.append(time.perf_counter() - start)
            return out

        return run_batches(lengths, budget, timed)

    batching.run_batches = timed_run_batches
    try:
        yield
    finally:
        batching.run_batches = run_batches


def matmul_rate(device: str, dtype) -> float:
    """The device's own dense matmul rate in FLOP/s for `dtype` (square matmuls, after a warm-up)."""
    import torch

    n, repeats = (8192, 20) if device == "cuda" else (1024, 5)
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    for _ in range(3):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
