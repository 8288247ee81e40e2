"""The scoring runner against the naive method, as RewardBench's runner does it: pairs in dataset order, fixed
batches of pairs, chosen and rejected as separate left-padded forward passes.

    .venv/bin/python benchmarks/bench_scoring.py --dataset out/social-pairs [--time-pairs 2000] [--device cuda]

1. Tokens computed, padding included, on the full dataset (hardware-independent): naive at 8 and 64 pairs a
   batch, against the packed engine (each item's prompt once, its responses after it, rows of 2,048 tokens in
   token-budget batches), and against the useful tokens (each prompt once, each response once).
2. Pairs per second on `--time-pairs` pairs of BBQ for a randomly initialised sequence classifier (`--config
   llama3-8b` on a GPU: the real Llama-3-8B shape in bf16; default `small` for a CPU), naive at 8 and 64 against
   the engine, with and without shared prompts, and its FLOP utilisation (2 x non-embedding parameters x useful
   tokens per second) against the device's own measured matmul rate in the same dtype.

The tokenizer is a byte-level BPE with a 32k vocabulary trained on the dataset's own text (Llama-3's own
tokenizer cannot be downloaded here), with the chat template of `social_rm.testing`.
"""

from __future__ import annotations

import argparse
import time

CONFIGS = {
    "small": dict(hidden=256, layers=4, heads=4, kv_heads=2, intermediate=688),
    "llama3-8b": dict(hidden=4096, layers=32, heads=32, kv_heads=8, intermediate=14336, rope_theta=500000.0),
}


def naive_tokens(chosen_lengths, rejected_lengths, batch_pairs: int) -> int:
    total = 0
    for start in range(0, len(chosen_lengths), batch_pairs):
        c, r = chosen_lengths[start : start + batch_pairs], rejected_lengths[start : start + batch_pairs]
        total += len(c) * max(c) + len(r) * max(r)
    return total


def packed_tokens(units, encoded, max_tokens: int, share: bool = True) -> tuple[int, int, int]:
    """(tokens computed, padding included; useful tokens; batches) of the packed engine."""
    from social_rm.scoring import engine
    from social_rm.scoring.batching import token_batches

    items = engine.plan([u.prompt for u in units], encoded, share)
    rows = engine.pack(items, encoded)
    lengths = [len(r.ids) for r in rows]
    batches = list(token_batches(lengths, max_tokens))
    computed = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return computed, sum(engine.item_tokens(it, encoded) for it in items), len(batches)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True, help="a built social-pairs folder")
    parser.add_argument("--max-tokens-per-batch", type=int, default=None, help="default: auto, as the runner")
    parser.add_argument(
        "--time-pairs", type=int, default=1000, help="BBQ pairs to time the forward passes on (0: skip)"
    )
    parser.add_argument("--config", default="small", choices=list(CONFIGS))
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from datasets import load_dataset

    from social_rm.scoring.kinds import messages
    from social_rm.scoring.models import encode_many
    from social_rm.scoring.runner import completions
    from social_rm.testing import train_tokenizer

    ds = load_dataset(str(args.dataset), "default", split="test")
    units, chosen_at, rejected_at, ids = completions(ds)
    start = time.perf_counter()
    tokenizer = train_tokenizer(
        (t for u in units for t in (u.response, *(c for _, c in u.prompt))), vocab_size=32_000
    )
    encoded = encode_many(tokenizer, [messages(u.prompt) for u in units], [u.response for u in units], 4096)
    lengths = [len(e.ids) for e in encoded]
    print(f"{len(ids):,} pairs, {len(units):,} unique completions; tokenizer trained and applied in "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    chosen_lengths = [lengths[i] for i in chosen_at]
    rejected_lengths = [lengths[i] for i in rejected_at]
    print(f"real tokens of all pairs (chosen + rejected, no padding): {sum(chosen_lengths) + sum(rejected_lengths):,}")
    from social_rm.scoring.models import CPU_TOKEN_BUDGET

    budget = args.max_tokens_per_batch or CPU_TOKEN_BUDGET  # the token counts do not depend on the device
    ours, useful, n_batches = packed_tokens(units, encoded, budget)
    for batch in (8, 64):
        naive = naive_tokens(chosen_lengths, rejected_lengths, batch)
        print(f"naive, {batch} pairs a batch: {naive:,} tokens computed; the engine: {ours:,} ({naive / ours:.2f}x fewer)")
    print(f"the engine: {ours:,} tokens computed in {n_batches:,} batches against {useful:,} useful tokens (each prompt "
          f"once, each response once): {ours / useful:.3f}x")  # fmt: skip
    whole, whole_useful, _ = packed_tokens(units, encoded, budget, share=False)
    print(f"--no-prefix-sharing: {whole:,} tokens computed ({whole_useful:,} useful), {whole / ours:.2f}x the shared")

    if args.time_pairs:
        time_forward(args, ds, tokenizer)


def time_forward(args, ds, tokenizer) -> None:
    import torch
    from transformers import LlamaForSequenceClassification

    from social_rm.scoring import engine
    from social_rm.scoring.kinds import ModelSettings, RewardModelScorer, messages
    from social_rm.scoring.models import encode_many, pick_device
    from social_rm.scoring.runner import completions, score_pairs
    from social_rm.testing import tiny_config

    device = pick_device(args.device)
    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    bbq = ds.filter(lambda source: source == "bbq", input_columns="source").select(range(args.time_pairs))
    torch.manual_seed(0)
    config = tiny_config(tokenizer, num_labels=1, **CONFIGS[args.config])
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

    def runner(sharing: bool) -> float:
        settings = ModelSettings(
            f"random {args.config}",
            max_tokens_per_batch=args.max_tokens_per_batch,
            prefix_sharing=sharing,
        )
        scorer = RewardModelScorer(settings, loaded=(tokenizer, model))
        start = time.perf_counter()
        score_pairs(bbq, scorer, progress=False)
        _sync(device)
        return time.perf_counter() - start

    # useful work: every unique completion's tokens once (no sharing), or each shared prompt once (shared)
    units, *_ = completions(bbq)
    encoded = encode_many(tokenizer, [messages(u.prompt) for u in units], [u.response for u in units], 4096)
    useful = {share: sum(engine.item_tokens(it, encoded) for it in engine.plan([u.prompt for u in units], encoded, share))
              for share in (False, True)}  # fmt: skip
    params = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name)
    rate = matmul_rate(device, dtype)
    seconds = {sharing: runner(sharing) for sharing in (False, True)}
    print(f"{args.config} on {device} ({dtype}), {len(bbq):,} BBQ pairs, pairs/s: naive batch 8 {naive(8):.1f}, naive batch 64 "
          f"{naive(64):.1f}, the engine without shared prompts {len(bbq) / seconds[False]:.1f}, with {len(bbq) / seconds[True]:.1f}")  # fmt: skip
    for sharing, label in ((False, "without shared prompts"), (True, "with shared prompts")):
        flops = 2 * params * useful[sharing] / seconds[sharing]
        print(f"{label}: {useful[sharing]:,} useful tokens, {flops / 1e12:.2f} TFLOP/s = {flops / rate:.0%} of the measured "
              f"{dtype} matmul rate ({rate / 1e12:.1f} TFLOP/s)")  # fmt: skip


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
