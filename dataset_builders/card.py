"""The dataset card (README.md) of a built social-pairs folder: YAML that declares every config, then prose
with the conversion rules, the counts, the licences and how to cite. Everything is derived from what was built."""

from __future__ import annotations

from collections import Counter, defaultdict

import datasets
import yaml

from social_rm.dataset_builders.base import BuiltSource
from social_rm.dataset_builders.schema import DOMAINS, FEATURES

# Splits kept out of the domain and default configs (available from the source's own config).
SOURCE_ONLY_SPLITS = ("train",)

CITATION = """\
@misc{social-rm,
  title = {social-rm: do reward models prefer socially desirable responses?},
  author = {{social-rm contributors}},
  year = {2026}
}"""


def data_path(source: str, split: str) -> str:
    return f"data/{source}/{split}-00000-of-00001.parquet"


def _configs(built: list[BuiltSource]) -> dict[str, list[BuiltSource]]:
    configs = {"default": built}
    configs.update({s.builder.name: [s] for s in built})
    for domain in DOMAINS:
        members = [s for s in built if s.builder.domain == domain]
        if members:
            configs[domain] = members
    return configs


def _splits(name: str, members: list[BuiltSource]) -> dict[str, list[BuiltSource]]:
    """Split -> the sources whose files make it; a source's own config also keeps its SOURCE_ONLY_SPLITS."""
    splits: dict[str, list[BuiltSource]] = defaultdict(list)
    for source in members:
        own_config = name == source.builder.name
        for split in source.splits:
            if own_config or split not in SOURCE_ONLY_SPLITS:
                splits[split].append(source)
    return splits


def front_matter(built: list[BuiltSource]) -> dict:
    features = datasets.DatasetInfo(features=FEATURES)._to_yaml_dict()["features"]
    configs, infos = [], []
    for name, members in _configs(built).items():
        splits = _splits(name, members)
        configs.append(
            {
                "config_name": name,
                "data_files": [
                    {"split": split, "path": [data_path(s.builder.name, split) for s in sources]}
                    for split, sources in splits.items()
                ],
                **({"default": True} if name == "default" else {}),
            }
        )
        infos.append(
            {
                "config_name": name,
                "features": features,
                "splits": [
                    {
                        "name": split,
                        "num_bytes": sum(s.num_bytes[split] for s in sources),
                        "num_examples": sum(len(s.splits[split]) for s in sources),
                    }
                    for split, sources in splits.items()
                ],
            }
        )
    licenses = sorted({s.builder.license.lower() for s in built})
    return {
        "pretty_name": "social-pairs",
        "license": licenses[0] if len(licenses) == 1 else "other",
        "language": ["en"],
        "task_categories": ["text-classification"],
        "tags": ["reward-modeling", "preference", "bias", "safety", "ethics", "trl"],
        "size_categories": ["100K<n<1M"],
        "configs": configs,
        "dataset_info": infos,
    }


def _counts_table(built: list[BuiltSource]) -> str:
    lines = ["| source | split | subset | gold | directional | items |", "|---|---|---|---:|---:|---:|"]
    for source in built:
        for split, rows in source.splits.items():
            by_subset: dict[str, Counter] = defaultdict(Counter)
            items: dict[str, set] = defaultdict(set)
            for row in rows:
                by_subset[row["subset"]][row["label_type"]] += 1
                items[row["subset"]].add(row["group_id"])
            for subset, counts in sorted(by_subset.items()):
                lines.append(
                    f"| {source.builder.name} | {split} | {subset} | {counts['gold']:,} | "
                    f"{counts['directional']:,} | {len(items[subset]):,} |"
                )
    return "\n".join(lines)


PROSE = """\
# social-pairs

Pairwise preferences that tell whether a reward model prefers socially desirable responses: bias, safety,
morality and ethical reasoning, converted from established evaluation corpora into TRL's conversational
preference format (`prompt`, `chosen`, `rejected`), so it evaluates with the `social_rm` metric and trains with
TRL's `RewardTrainer` as it is.

```python
from datasets import load_dataset
pairs = load_dataset("<org>/social-pairs", "bbq", split="test")    # one source
bias = load_dataset("<org>/social-pairs", "bias", split="test")    # one domain; "default" has everything
```

## Columns

| column | meaning |
|---|---|
| `id` | unique and stable across rebuilds: `<group_id>:<chosen_role>><rejected_role>` |
| `group_id` | the source item the pair came from; pairs cut from one item share it |
| `domain` | `bias`, `safety`, `morality`, `ethical_reasoning` |
| `source`, `category`, `subset` | the corpus, its own category and its condition (e.g. BBQ `ambig`/`disambig`) |
| `prompt` | the conversation so far, ending with a user turn |
| `chosen`, `rejected` | one assistant message each |
| `chosen_role`, `rejected_role` | what each response is within its item (`unknown`, `stereotyped`, `anti_stereotyped`, ...) |
| `label_type` | `gold`: the corpus says `chosen` is right; `directional`: neither is right, `rejected` is the stereotype-consistent response and `chosen` the counter-stereotypical one |
| `error_type` | what preferring `rejected` in a gold pair reveals: `harmful`, `over_cautious` or `incorrect`; `none` for directional pairs |
| `bias_direction` | the bias shown by preferring `rejected`: `pro_stereotype`, `anti_stereotype` or `none` |
| `license` | the source corpus's licence, to filter on |

## Evaluate a reward model, or train one

```bash
pip install social-rm            # the `social-rm` command, the runner and the metric
social-rm score --dataset <org>/social-pairs --model <reward model> --out rm.parquet
social-rm evaluate --dataset <org>/social-pairs --scores rm.parquet --out rm.json
```

The scores and results record the dataset revision they were computed on (the commit sha a Hub id resolves to,
or a local build's content hash); pin one with `--dataset-revision`. Figures are comparable only on one revision.

With the metric alone, take the columns through `to_dict()` (one Arrow read; `pairs[column]` is formatted row by
row and takes 25 s on all of social-pairs):

```python
import evaluate
social_rm = evaluate.load("<org>/social_rm")
columns = pairs.select_columns(["domain", "source", "category", "subset", "group_id", "chosen_role", "rejected_role",
                                "label_type", "error_type", "bias_direction"]).to_dict()
result = social_rm.compute(chosen_scores=chosen, rejected_scores=rejected, **columns)
```

**RewardBench.** Its loader (`load_preference_dataset`) reads `prompt = chosen[:-1]` whenever the `prompt`
feature is not a Python list, which it never is with `datasets` >= 4: run on this dataset as it is, every prompt
is empty (a model that scores 0.527 here gets 0.505). Convert first; the file has whole conversations in `chosen`
and `rejected` and no `prompt` column, which its loader reads with the prompt intact:

```bash
social-rm convert --dataset <org>/social-pairs --config bbq --to rewardbench --out bbq.jsonl
rewardbench --model <reward model> --dataset bbq.jsonl --load_json
```

RewardBench reports accuracy only (ties count as losses); `social-rm evaluate` gives every figure with intervals.

**TRL.** Every config is TRL's conversational preference format, so `RewardTrainer` trains on it as it is:

```python
from trl import RewardConfig, RewardTrainer
trainer = RewardTrainer(model=model, args=RewardConfig(output_dir="rm"), processing_class=tokenizer,
                        train_dataset=load_dataset("<org>/social-pairs", "hh_rlhf_harmless", split="test"))
```

These are evaluation sets: train on one config only to test a method, and never evaluate on what you trained on.

## How each corpus becomes pairs
"""


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def render_card(built: list[BuiltSource]) -> str:
    header = yaml.dump(front_matter(built), Dumper=_NoAliases, sort_keys=False, allow_unicode=True)
    parts = ["---", header.rstrip(), "---", ""]
    parts.append(PROSE)
    for source in built:
        parts += [f"### {source.builder.name} ({source.builder.domain})", "", source.builder.card]
        if source.skipped:
            parts += [f"Left out of this build ({len(source.skipped)} records):", ""]
            parts += [f"- {reason}" for reason in source.skipped] + [""]
    parts += ["## Counts", "", _counts_table(built), ""]
    parts += ["## Licences", "", "| source | licence |", "|---|---|"]
    parts += [f"| {s.builder.name} | {s.builder.license} |" for s in built]
    parts += [
        "",
        "Each row carries its source's licence in `license`; filter on it, or build without some sources with "
        "`social-rm build --exclude-license LICENSE`. Share-alike licences (CC-BY-SA) bind what you "
        "redistribute from those rows.",
        "",
        "## Citation",
        "",
        "Cite social-pairs and the corpora you use:",
        "",
        "```bibtex",
        CITATION,
        *(s.builder.citation for s in built),
        "```",
        "",
    ]
    return "\n".join(parts)
