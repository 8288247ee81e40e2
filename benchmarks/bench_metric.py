"""The social_rm metric over 1,000,000 pairs with 1,000 bootstrap resamples: wall time and peak memory.

    .venv/bin/python benchmarks/bench_metric.py [--pairs 1000000] [--n-bootstrap 1000] [--through-evaluate]

Pairs are BBQ-shaped (items of 3 ambiguous or 2 disambiguated pairs, 11 categories) with random scores, so every
figure, including the item-level BBQ scores and the per-category breakdown, is computed.
"""

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from social_rm.dataset_builders.schema import PAIR_COLUMNS

REPO = Path(__file__).resolve().parent.parent
CATEGORIES = [
    "Age",
    "Disability_status",
    "Gender_identity",
    "Nationality",
    "Physical_appearance",
    "Race_ethnicity",
    "Race_x_SES",
    "Race_x_gender",
    "Religion",
    "SES",
    "Sexual_orientation",
]
AMBIG = [
    ("unknown", "stereotyped", "gold", "harmful", "none"),
    ("unknown", "anti_stereotyped", "gold", "incorrect", "none"),
    ("anti_stereotyped", "stereotyped", "directional", "none", "pro_stereotype"),
]
DISAMBIG = [
    ("anti_stereotyped", "stereotyped", "gold", "harmful", "pro_stereotype"),
    ("anti_stereotyped", "unknown", "gold", "over_cautious", "none"),
]


def synthetic_pairs(n_pairs: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    columns = {c: [] for c in PAIR_COLUMNS}
    chosen, rejected = [], []
    item = 0
    while len(chosen) < n_pairs:
        subset, template = ("ambig", AMBIG) if item % 2 == 0 else ("disambig", DISAMBIG)
        role_score = dict(zip(["unknown", "stereotyped", "anti_stereotyped"], rng.normal(size=3)))
        for chosen_role, rejected_role, label_type, error_type, direction in template:
            for column, value in zip(
                columns,
                [
                    "bias",
                    "bbq",
                    CATEGORIES[item % 11],
                    subset,
                    f"bbq/{item}",
                    chosen_role,
                    rejected_role,
                    label_type,
                    error_type,
                    direction,
                ],
            ):
                columns[column].append(value)
            chosen.append(role_score[chosen_role])
            rejected.append(role_score[rejected_role])
        item += 1
    return {"chosen_scores": chosen, "rejected_scores": rejected, **columns}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--through-evaluate", action="store_true", help="time evaluate.load(...).compute too")
    args = parser.parse_args()

    from social_rm.metric import statistics as metric

    data = synthetic_pairs(args.pairs)
    n_items = len(set(data["group_id"]))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    start = time.perf_counter()
    result = metric.compute_social_rm(n_bootstrap=args.n_bootstrap, seed=0, **data)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"compute_social_rm: {len(data['chosen_scores']):,} pairs, {n_items:,} items, "
        f"{args.n_bootstrap} resamples: {seconds:.1f} s; peak RSS {peak:.2f} GiB "
        f"({peak - base:.2f} GiB above the inputs)"
    )
    print(
        f"  accuracy {result['accuracy']:.4f} {result['ci']['accuracy']}, "
        f"S_DIS {result['bbq_bias_score_disambig']:.4f}, categories {len(result['by_category'])}"
    )
    if args.through_evaluate:
        import evaluate

        module = evaluate.load(str(REPO / "metric" / "social_rm"))
        start = time.perf_counter()
        module.compute(n_bootstrap=args.n_bootstrap, seed=0, **data)
        through = time.perf_counter() - start
        print(
            f"evaluate.load(...).compute: {through:.1f} s ({through / seconds:.2f}x the direct call; target <= 1.5x)"
        )


if __name__ == "__main__":
    main()
