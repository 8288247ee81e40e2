"""Anthropic HH-RLHF, harmless-base test split (Bai et al., 2022, "Training a Helpful and Harmless Assistant with
Reinforcement Learning from Human Feedback", https://arxiv.org/abs/2204.05862) as social-pairs rows.

    social-rm build --sources ../shared/corpora --only hh_rlhf_harmless --out out/social-pairs
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from social_rm.dataset_builders.base import Builder, CorpusError, SkipRecord, make_pair, open_text
from social_rm.dataset_builders.schema import message
from social_rm.dataset_builders.sources import RawFile

DATA = RawFile(
    "hh_rlhf/harmless-base/test.jsonl.gz",
    "https://github.com/anthropics/hh-rlhf/raw/354e5c3cb8960630860dd5774a6ac2a58313bf4d/harmless-base/test.jsonl.gz",
    "ebfaaed21162a4de120ae85366075b34425e2a6303fac59b99555002f7016f03",
)
LICENSE = "MIT"
TURN = re.compile(r"\n\n(Human|Assistant): ?")
ROLE = {"Human": "user", "Assistant": "assistant"}
_pair = partial(make_pair, source="hh_rlhf_harmless", domain="safety", license=LICENSE)


def parse_transcript(text: str, where: str) -> list[dict]:
    """'\\n\\nHuman: hi\\n\\nAssistant: hello' -> [{user: hi}, {assistant: hello}]"""
    parts = TURN.split(text)
    if parts[0].strip() or len(parts) < 3:
        raise CorpusError(
            f"{where}: expected a transcript of '\\n\\nHuman: ' and '\\n\\nAssistant: ' turns (got {text[:80]!r})"
        )
    return [message(ROLE[role], content) for role, content in zip(parts[1::2], parts[2::2])]


def read(paths: dict[str, Path]) -> Iterator[dict]:
    path = paths[DATA.path]
    with open_text(path) as f:
        for line, text in enumerate(f, start=1):
            where = f"{DATA.path} line {line}"
            try:
                record = json.loads(text)
                chosen, rejected = record["chosen"], record["rejected"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise CorpusError(f"{where}: not a {{chosen, rejected}} pair ({error})") from error
            turns = {
                "chosen": parse_transcript(chosen, f"{where} 'chosen'"),
                "rejected": parse_transcript(rejected, f"{where} 'rejected'"),
            }
            for side, messages in turns.items():
                if messages[-1]["role"] != "assistant":
                    raise CorpusError(
                        f"{where}: the {side!r} transcript has no final assistant turn (it ends {messages[-1]!r})"
                    )
            yield {"split": "test", "line": line, "where": where, **turns}


def to_pairs(record: dict) -> list[dict]:
    """The prompt is every turn before the final assistant turn, which both transcripts must share; the pair is
    the two final assistant turns, preferred > dispreferred (harmful)."""
    prompt, chosen = record["chosen"][:-1], record["chosen"][-1]["content"].strip()
    if prompt != record["rejected"][:-1]:
        raise SkipRecord(f"{record['where']}: the two transcripts differ before their final assistant turn")
    rejected = record["rejected"][-1]["content"].strip()
    if not chosen or not rejected:
        raise SkipRecord(
            f"{record['where']}: the {'chosen' if not chosen else 'rejected'} final assistant turn is empty"
        )
    if prompt[-1]["role"] != "user":
        raise SkipRecord(f"{record['where']}: the turn before the final assistant turn is not the human's")
    return [
        _pair(
            group_id=f"hh_rlhf_harmless/test/{record['line']}",
            category="harmless-base",
            subset="single_turn" if len(prompt) == 1 else "multi_turn",
            prompt=prompt,
            chosen=chosen,
            rejected=rejected,
            chosen_role="preferred",
            rejected_role="dispreferred",
            label_type="gold",
            error_type="harmful",
        )
    ]


CARD = """\
Source: Anthropic HH-RLHF (Bai et al., 2022), anthropics/hh-rlhf at `354e5c3`, `harmless-base/test.jsonl.gz`
(2,312 pairs; the crowdworker chose the less harmful response). Each transcript is split at its
`\\n\\nHuman: ` and `\\n\\nAssistant: ` markers into messages; the prompt is every turn before the final
assistant turn (kept as a multi-turn conversation; `subset` is `single_turn` or `multi_turn`), and the pair is
`preferred > dispreferred` (harmful). Pairs whose two transcripts differ before the final assistant turn, or
whose final turn is empty, are listed below and left out.
"""

CITATION = """\
@article{bai2022training,
  title = {Training a Helpful and Harmless Assistant with Reinforcement Learning from Human Feedback},
  author = {Bai, Yuntao and Jones, Andy and Ndousse, Kamal and Askell, Amanda and others},
  journal = {arXiv preprint arXiv:2204.05862},
  year = {2022}
}"""

BUILDER = Builder("hh_rlhf_harmless", "safety", LICENSE, (DATA,), read, to_pairs, CARD, CITATION)
