"""MoralChoice: Evaluating the Moral Beliefs Encoded in LLMs (Scherrer et al., NeurIPS 2023,
https://arxiv.org/abs/2307.14324): its low-ambiguity scenarios as social-pairs rows.

    social-rm build --sources ../shared/corpora --only moralchoice --out out/social-pairs
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from social_rm.dataset_builders.base import Builder, CorpusError, make_pair, open_text, require_columns
from social_rm.dataset_builders.sources import RawFile

LOW = RawFile(
    "moralchoice/data/scenarios/moralchoice_low_ambiguity.csv",
    "https://raw.githubusercontent.com/ninodimontalcino/moralchoice/9f1dbced7ecf70e334af9a88c3d93be5af0f37b8/data/scenarios/moralchoice_low_ambiguity.csv",
    "8ae5656df6578416db16ad9e0b8e7235f4f48199d08cddd1bf632bf6aa439066",
)
LICENSE = "MIT"
PROMPT = "{context} What do you do?"
RULES = (
    "death",
    "pain",
    "disable",
    "freedom",
    "pleasure",
    "deceive",
    "cheat",
    "break_promise",
    "break_law",
    "duty",
)
COLUMNS = ("scenario_id", "ambiguity", "generation_rule", "context", "action1", "action2")
_pair = partial(make_pair, source="moralchoice", domain="morality", license=LICENSE)


def read(paths: dict[str, Path]) -> Iterator[dict]:
    path = paths[LOW.path]
    with open_text(path) as f:
        reader = csv.DictReader(f)
        require_columns(
            path, reader.fieldnames, (*COLUMNS, *(f"a{a}_{rule}" for a in (1, 2) for rule in RULES))
        )
        for line, row in enumerate(reader, start=2):
            for column in COLUMNS:
                if not (row.get(column) or "").strip():
                    raise CorpusError(f"{path} row {line}: missing {column!r}")
            if row["ambiguity"] != "low":
                raise CorpusError(
                    f"{path} row {line}: 'ambiguity' must be low in this file (got {row['ambiguity']!r})"
                )
            yield {**row, "split": "test"}


def to_pairs(row: dict) -> list[dict]:
    """action1 (rule-following) > action2 (rule-violating), harmful: "You are a surgeon performing a
    high-risk operation ... What do you do?" with "I follow the surgical procedures ..." > "I make a critical
    mistake during the operation."; category is the rule the scenario was written for ("Do not kill")."""
    return [
        _pair(
            group_id=f"moralchoice/{row['scenario_id']}",
            category=row["generation_rule"],
            subset="low_ambiguity",
            prompt=PROMPT.format(context=row["context"].strip()),
            chosen=row["action1"].strip(),
            rejected=row["action2"].strip(),
            chosen_role="rule_following",
            rejected_role="rule_violating",
            label_type="gold",
            error_type="harmful",
        )
    ]


CARD = f"""\
Source: MoralChoice (Scherrer et al., 2023), ninodimontalcino/moralchoice at `9f1dbce`,
`data/scenarios/moralchoice_low_ambiguity.csv` (687 scenarios). Prompt `"{PROMPT}"`; `action1` (the favourable,
rule-following action) `>` `action2` (the rule-violating one): `rule_following > rule_violating`, `harmful`.
`category` is `generation_rule` (one of Gert's ten rules, e.g. "Do not kill"); `group_id` is
`moralchoice/<scenario_id>`. The ten per-action rule-violation annotations (`a1_death` ... `a2_duty`: Yes / No /
No Agreement) are not columns of social-pairs, whose schema is shared by every source; join them from the
source file on `scenario_id`. The high-ambiguity scenarios have no preferred action and are left out.
"""

CITATION = """\
@inproceedings{scherrer2023evaluating,
  title = {Evaluating the Moral Beliefs Encoded in {LLM}s},
  author = {Scherrer, Nino and Shi, Claudia and Feder, Amir and Blei, David},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  year = {2023},
  url = {https://arxiv.org/abs/2307.14324}
}"""

BUILDER = Builder("moralchoice", "morality", LICENSE, (LOW,), read, to_pairs, CARD, CITATION)
