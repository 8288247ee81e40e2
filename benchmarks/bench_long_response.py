"""Peak memory when one response is 100,000 characters long: the tiny classifier scores BBQ's demo pairs with the
first chosen response replaced by it, at the default --max-length (4096), the response cut at its end.

    .venv/bin/python benchmarks/bench_long_response.py [--chars 100000] [--max-length 4096]

Before responses were cut, this grew to 21 GB until the kernel killed it. The figure is the process's peak
resident memory (torch and the tiny model included).
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--max-length", type=int, default=4096)
    args = parser.parse_args()

    from datasets import load_dataset

    from social_rm.cli import DEMO_SOURCES
    from social_rm.dataset_builders.build import build
    from social_rm.scoring.kinds import get_scorer
    from social_rm.scoring.options import ModelSettings
    from social_rm.scoring.runner import score_pairs
    from social_rm.testing import save_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp) / "social-pairs", DEMO_SOURCES, verify=False)
        ds = load_dataset(str(Path(tmp) / "social-pairs"), "bbq", split="test")
        texts = [m["content"] for row in ds for m in row["prompt"] + row["chosen"] + row["rejected"]]
        model = save_tiny_model(Path(tmp) / "rm", "classifier", texts)
        long = ("The answer is the grandson, " * (args.chars // 28 + 1))[: args.chars]
        ds = ds.map(
            lambda row, i: {"chosen": [{"role": "assistant", "content": long}]} if i == 0 else {},
            with_indices=True,
        )
        scorer = get_scorer("classifier", ModelSettings(str(model), max_length=args.max_length))
        start = time.perf_counter()
        scores = score_pairs(ds, scorer, progress=False)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(
        f"{len(scores.ids)} pairs, one response of {args.chars:,} characters, --max-length {args.max_length}: "
        f"{seconds:.1f} s, {scores.metadata['truncated']} sequence(s) cut, peak memory {peak:.2f} GiB"
    )


if __name__ == "__main__":
    main()
