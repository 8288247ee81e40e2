"""social-pairs in other tools' formats.

RewardBench (`rewardbench --model M --dataset social-pairs.jsonl --load_json`): its loader
(`rewardbench/utils.py:load_preference_dataset`) takes `prompt = chosen[:-1]` whenever the `prompt` feature is
not a Python list, which with `datasets` >= 4 (a `List` feature) is always: run on social-pairs as it is, every
prompt comes out empty. So the RewardBench file has no `prompt` column: `chosen` and `rejected` are the whole
conversations (the prompt's turns, then the response), the schema its loader reads with the prompt intact. Its
templating also re-assigns roles by position (user, assistant, user, ...), so every prompt must alternate so.

    social-rm convert --dataset out/social-pairs --config bbq --to rewardbench --out bbq.rewardbench.jsonl
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets

from social_rm.errors import SocialRMError
from social_rm.io import atomic_path


def to_rewardbench(ds: datasets.Dataset) -> list[dict]:
    """One row per pair: `id`, and `chosen`/`rejected` as whole conversations ending with the response."""
    table = ds.with_format("arrow")[:].select(["id", "prompt", "chosen", "rejected"]).to_pylist()
    rows = []
    for row in table:
        roles = [m["role"] for m in row["prompt"]]
        if roles != ["user", "assistant"] * (len(roles) // 2) + ["user"]:
            raise SocialRMError(
                f"pair {row['id']!r}: RewardBench reads prompt turns as user, assistant, user, ...; "
                f"this prompt's roles are {roles}"
            )
        rows.append(
            {
                "id": row["id"],
                "chosen": row["prompt"] + row["chosen"],
                "rejected": row["prompt"] + row["rejected"],
            }
        )
    return rows


def write_rewardbench(ds: datasets.Dataset, path: Path) -> None:
    """Write the RewardBench rows as JSON Lines, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in to_rewardbench(ds)), encoding="utf-8"
        )
