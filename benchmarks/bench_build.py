"""Time building social-pairs from the raw corpora (sha256 checks included).

.venv/bin/python benchmarks/bench_build.py [--sources ../shared/corpora] [--only bbq]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from dataset_builders.build import BUILDERS, build

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    default = os.environ.get("SOCIAL_RM_SOURCES", REPO.parent / "shared" / "corpora")
    parser.add_argument("--sources", type=Path, default=Path(default))
    parser.add_argument(
        "--only", default=",".join(BUILDERS), help="comma-separated sources, timed one by one"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            start = time.perf_counter()
            (built,) = build(Path(tmp) / name, args.sources, only=[name], log=lambda *_: None)
            seconds = time.perf_counter() - start
            pairs = sum(len(rows) for rows in built.splits.values())
            print(f"{name}: {pairs:,} pairs in {seconds:.1f} s")


if __name__ == "__main__":
    main()
