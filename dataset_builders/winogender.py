"""Winogender Schemas: Gender Bias in Coreference Resolution (Rudinger et al., NAACL 2018,
https://aclanthology.org/N18-2002/) as directional social-pairs rows.

    social-rm build --sources ../shared/corpora --only winogender --out out/social-pairs
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from social_rm.dataset_builders.base import (
    SENTENCE_PROMPT,
    Builder,
    CorpusError,
    make_pair,
    open_text,
    require_columns,
    sentence_pair,
)
from social_rm.dataset_builders.sources import RawFile

URL = "https://raw.githubusercontent.com/rudinger/winogender-schemas/1c7f8b481ad8a234b41e9f76a424d6e856e13f7f/data/"
SENTENCES = RawFile(
    "winogender/data/all_sentences.tsv",
    URL + "all_sentences.tsv",
    "bd69da16bf228cb8df63fd0843aec2d8b5c36a7f21bf8c7b168bcc83932556c8",
)
STATS = RawFile(
    "winogender/data/occupations-stats.tsv",
    URL + "occupations-stats.tsv",
    "3f7f37c16381a70571356982ea7fe613ac700ad04a6d3b19b9f2be18248df567",
)
LICENSE = "MIT"
REFERENT = {"0": "occupation", "1": "participant"}  # what the pronoun refers to
_pair = partial(make_pair, source="winogender", domain="bias", license=LICENSE)


def read(paths: dict[str, Path]) -> Iterator[dict]:
    """One record per (occupation, participant, answer) with its male and female sentences and the
    occupation's BLS female share."""
    with open_text(paths[STATS.path]) as f:
        reader = csv.DictReader(f, delimiter="\t")
        require_columns(paths[STATS.path], reader.fieldnames, ("occupation", "bls_pct_female"))
        female_share = {row["occupation"]: float(row["bls_pct_female"]) for row in reader}
    path = paths[SENTENCES.path]
    variants: dict[tuple, dict] = defaultdict(dict)
    with open_text(path) as f:
        reader = csv.DictReader(f, delimiter="\t")
        require_columns(path, reader.fieldnames, ("sentid", "sentence"))
        for line, row in enumerate(reader, start=2):
            parts = row["sentid"].split(".")
            if len(parts) != 5 or parts[2] not in REFERENT or parts[3] not in ("male", "female", "neutral"):
                raise CorpusError(
                    f"{path} row {line}: 'sentid' must be occupation.participant.answer.gender.txt (got {row['sentid']!r})"
                )
            if parts[0] not in female_share:
                raise CorpusError(f"{path} row {line}: occupation {parts[0]!r} is not in {paths[STATS.path]}")
            variants[tuple(parts[:3])][parts[3]] = row["sentence"]
    for (occupation, participant, answer), sentences in variants.items():
        if not {"male", "female"} <= set(sentences):
            raise CorpusError(
                f"{path}: {occupation}.{participant}.{answer} lacks a male or a female sentence"
            )
        yield {
            "split": "test",
            "occupation": occupation,
            "participant": participant,
            "answer": answer,
            "female_share": female_share[occupation],
            **sentences,
        }


def to_pairs(record: dict) -> list[dict]:
    """The counter-stereotypical gendered sentence ≻ the stereotype-consistent one, directional. Stereotype-
    consistent means the pronoun's gender is the occupation's majority in the BLS statistics, e.g. technician
    (40.34% female): "The technician told the customer that she could pay with cash." ≻ "... he could ..."."""
    female_majority = record["female_share"] > 50
    stereotyped, counter = ("female", "male") if female_majority else ("male", "female")
    return [
        sentence_pair(
            _pair,
            group_id=f"winogender/{record['occupation']}.{record['participant']}.{record['answer']}",
            category="female_majority_occupation" if female_majority else "male_majority_occupation",
            subset=REFERENT[record["answer"]],
            counter=record[counter],
            stereotyped=record[stereotyped],
        )
    ]


CARD = f"""\
Source: Winogender Schemas (Rudinger et al., 2018), rudinger/winogender-schemas at `1c7f8b4`, `all_sentences.tsv`
and `occupations-stats.tsv`. For each occupation, participant and answer, the male and female variants make one
directional pair: the counter-stereotypical variant `≻` the stereotype-consistent one, where the
stereotype-consistent gender is the occupation's majority in `bls_pct_female` (> 50: female). The neutral
(they) variants are not used. `subset` is what the pronoun refers to (`occupation` or `participant`);
`category` is `female_majority_occupation` or `male_majority_occupation`. Prompt: `"{SENTENCE_PROMPT}"`.
"""

CITATION = """\
@inproceedings{rudinger-etal-2018-gender,
  title = {Gender Bias in Coreference Resolution},
  author = {Rudinger, Rachel and Naradowsky, Jason and Leonard, Brian and Van Durme, Benjamin},
  booktitle = {Proceedings of NAACL-HLT 2018},
  year = {2018},
  url = {https://aclanthology.org/N18-2002/}
}"""

BUILDER = Builder("winogender", "bias", LICENSE, (SENTENCES, STATS), read, to_pairs, CARD, CITATION)
