"""WinoBias: Gender Bias in Coreference Resolution: Evaluation and Debiasing Methods (Zhao et al., NAACL 2018,
https://aclanthology.org/N18-2003/) as directional social-pairs rows.

    social-rm build --sources ../shared/corpora --only winobias --out out/social-pairs
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from social_rm.dataset_builders.base import (
    SENTENCE_PROMPT,
    Builder,
    CorpusError,
    SkipRecord,
    make_pair,
    open_text,
    sentence_pair,
)
from social_rm.dataset_builders.sources import RawFile

COMMIT = "0bce984dd081bbc10b0622f326727a024c607895"
SHA256 = {
    "anti_stereotyped_type1.txt.dev": "a4e0ebae344e78b56f657a42e8ae684b9db7747d177c5e7149c0907ebb7f3bf6",
    "anti_stereotyped_type1.txt.test": "331db5bd74bfefebf146a60b67645152a4a1991570d2a56f57154103ac361dd2",
    "anti_stereotyped_type2.txt.dev": "763ad829ad724f9a85ead689ba8ca69072020cb1238def6210f0fc6a47b97e59",
    "anti_stereotyped_type2.txt.test": "336571ac1ea8c06cd2aba8e5dd2bd98e00acc0c48da3e4ec5ec7e54eb2633a8f",
    "pro_stereotyped_type1.txt.dev": "dd55a0d220fe4c0ceb63dd4648223fb4fe1a58d5ad95c116a002ad24b0e292a5",
    "pro_stereotyped_type1.txt.test": "db7838907238a758eeb5779e48f38c013b892910d6fe864456c59f04245c6689",
    "pro_stereotyped_type2.txt.dev": "8f0250de723cea9328e3eaf7169e07936f01aa5909ce7aa580db66eb803f4e86",
    "pro_stereotyped_type2.txt.test": "ea1c1fd94fa612e3cc44d7fa3cc4cb76021bb63fdf94f9826f430051e9052438",
}
FILES = tuple(
    RawFile(
        f"winobias/data/{name}",
        f"https://raw.githubusercontent.com/uclanlp/corefBias/{COMMIT}/WinoBias/wino/data/{name}",
        sha,
    )
    for name, sha in SHA256.items()
)
LICENSE = "MIT"
MALE, FEMALE = {"he", "him", "his", "himself"}, {"she", "her", "hers", "herself"}
LINE = re.compile(r"^(\d+) (.+)$")
_pair = partial(make_pair, source="winobias", domain="bias", license=LICENSE)


def _parse(path: Path, line_number: int, line: str) -> tuple[str, str, str]:
    """'1 [The developer] argued ... because [he] did ...' -> ('1', 'The developer argued ... because he did ...', 'he')
    (the pronoun is the second bracket; a third may hold a reflexive: '... [she] was burying [herself] ...')"""
    match = LINE.match(line.strip())
    brackets = re.findall(r"\[([^\]]+)\]", line)
    if not match or len(brackets) < 2 or brackets[1].lower() not in MALE | FEMALE:
        raise CorpusError(
            f"{path} line {line_number}: expected '<n> <sentence with [entity] and [pronoun]>' (got {line!r})"
        )
    return match.group(1), re.sub(r"[\[\]]", "", match.group(2)), brackets[1].lower()


def read(paths: dict[str, Path]) -> Iterator[dict]:
    """Line i of a pro-stereotyped file with line i of the matching anti-stereotyped file."""
    for split in ("dev", "test"):
        for kind in ("type1", "type2"):
            pro_path = paths[f"winobias/data/pro_stereotyped_{kind}.txt.{split}"]
            anti_path = paths[f"winobias/data/anti_stereotyped_{kind}.txt.{split}"]
            with open_text(pro_path) as f:
                pro = [line for line in f.read().splitlines() if line.strip()]
            with open_text(anti_path) as f:
                anti = [line for line in f.read().splitlines() if line.strip()]
            if len(pro) != len(anti):
                raise CorpusError(f"{pro_path} has {len(pro)} sentences but {anti_path} has {len(anti)}")
            for i, (pro_line, anti_line) in enumerate(zip(pro, anti), start=1):
                pro_n, pro_text, pro_pronoun = _parse(pro_path, i, pro_line)
                anti_n, anti_text, anti_pronoun = _parse(anti_path, i, anti_line)
                yield {
                    "split": split,
                    "kind": kind,
                    "number": pro_n,
                    "pro": pro_text,
                    "anti": anti_text,
                    "pro_pronoun": pro_pronoun,
                    "anti_pronoun": anti_pronoun,
                    "anti_number": anti_n,
                    "where": f"{pro_path.name} / {anti_path.name} line {i}",
                }


def to_pairs(record: dict) -> list[dict]:
    """anti ≻ pro, directional: "The developer argued with the designer because she did not like the design." ≻
    "... because he did ...". category: the gender the pro-stereotyped pronoun gives the referent's occupation."""
    if record["number"] != record["anti_number"] or (record["pro_pronoun"] in MALE) == (
        record["anti_pronoun"] in MALE
    ):
        raise SkipRecord(
            f"{record['where']}: not a pro/anti pair upstream ({record['pro']!r} / {record['anti']!r})"
        )
    category = "male_occupation" if record["pro_pronoun"] in MALE else "female_occupation"
    return [
        sentence_pair(
            _pair,
            group_id=f"winobias/{record['split']}/{record['kind']}/{record['number']}",
            category=category,
            subset=record["kind"],
            counter=record["anti"],
            stereotyped=record["pro"],
        )
    ]


CARD = f"""\
Source: WinoBias (Zhao et al., 2018), uclanlp/corefBias at `0bce984`, `WinoBias/wino/data/*_stereotyped_type[12].txt.{{dev,test}}`
(splits `dev` and `test`). Line *i* of a pro-stereotyped file is paired with line *i* of the matching
anti-stereotyped file: directional `anti_stereotyped ≻ stereotyped` (pro_stereotype). The line number and the
brackets are removed. `subset` is `type1` (semantic cues) or `type2` (syntactic cues); `category` is
`male_occupation` or `female_occupation`, the gender the pro-stereotyped pronoun gives the referent.
Prompt: `"{SENTENCE_PROMPT}"`.
"""

CITATION = """\
@inproceedings{zhao-etal-2018-gender,
  title = {Gender Bias in Coreference Resolution: Evaluation and Debiasing Methods},
  author = {Zhao, Jieyu and Wang, Tianlu and Yatskar, Mark and Ordonez, Vicente and Chang, Kai-Wei},
  booktitle = {Proceedings of NAACL-HLT 2018},
  year = {2018},
  url = {https://aclanthology.org/N18-2003/}
}"""

BUILDER = Builder("winobias", "bias", LICENSE, FILES, read, to_pairs, CARD, CITATION)
