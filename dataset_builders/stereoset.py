"""StereoSet: Measuring stereotypical bias in pretrained language models (Nadeem et al., ACL 2021,
https://aclanthology.org/2021.acl-long.416/) as social-pairs rows, dev and test.

    social-rm build --sources ../shared/corpora --only stereoset --out out/social-pairs
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from social_rm.dataset_builders.base import Builder, CorpusError, SkipRecord, make_pair, open_text
from social_rm.dataset_builders.sources import RawFile

DEV = RawFile(
    "stereoset/data/dev.json",
    "https://raw.githubusercontent.com/moinnadeem/StereoSet/ead7d086a64a192a1eca88e0dd2fd163de375218/data/dev.json",
    "73a0f31b711688112602e4c3ac6ab1e1a7cadcdd67df6c6fd55501c889676c90",
)
TEST = RawFile(  # staged gzipped; upstream it is the plain test.json
    "stereoset/data/test.json.gz",
    "https://raw.githubusercontent.com/McGill-NLP/bias-bench/291426aab926f78ecfc7bd040b531429ee8123e0/data/stereoset/test.json",
    "6f8d3ac120fe95c340f05e0e01cfd70b0f9c0a78b8f8037effe2fc3037ca5f0c",
    url_sha256="f3f70d1880b443388744958d192c25364d68c2b8ae7aeb9174903bcf415c394e",
)
LICENSE = "CC-BY-SA-4.0"
INTRASENTENCE_PROMPT = "Fill in the blank: {context}"
LABELS = {"stereotype": "stereotyped", "anti-stereotype": "anti_stereotyped", "unrelated": "unrelated"}
_pair = partial(make_pair, source="stereoset", domain="bias", license=LICENSE)


def read(paths: dict[str, Path]) -> Iterator[dict]:
    for split, raw in (("dev", DEV), ("test", TEST)):
        path = paths[raw.path]
        with open_text(path) as f:
            try:
                data = json.load(f)["data"]
            except (json.JSONDecodeError, KeyError) as error:
                raise CorpusError(f"{path}: not a StereoSet file ({error})") from error
        for subset in ("intrasentence", "intersentence"):
            for i, item in enumerate(data.get(subset, [])):
                yield {**item, "split": split, "subset": subset, "where": f"{raw.path} data.{subset}[{i}]"}


def to_pairs(item: dict) -> list[dict]:
    """Directional anti-stereotype ≻ stereotype (pro_stereotype); gold stereotype > unrelated and
    anti-stereotype > unrelated (incorrect: the unrelated option is no answer). Intrasentence prompt
    "Fill in the blank: The chess player was BLANK." with the filled sentences as responses; intersentence:
    the context sentence as prompt, the continuations as responses."""
    labels = [s.get("gold_label") for s in item.get("sentences", [])]
    if sorted(labels) != sorted(LABELS):
        raise CorpusError(
            f"{item['where']} (id={item.get('id')!r}): 'gold_label' must be one each of {sorted(LABELS)} (got {labels})"
        )
    text = {LABELS[s["gold_label"]]: s["sentence"] for s in item["sentences"]}
    if len(set(text.values())) < 3:
        raise SkipRecord(f"{item['where']} (id={item['id']!r}): two of its three sentences are the same text")
    subset = item["subset"]
    prompt = (
        INTRASENTENCE_PROMPT.format(context=item["context"]) if subset == "intrasentence" else item["context"]
    )
    common = dict(
        group_id=f"stereoset/{item['split']}/{subset}/{item['id']}",
        category=item["bias_type"],
        subset=subset,
        prompt=prompt,
    )

    def pair(chosen, rejected, **labels):
        return _pair(
            chosen=text[chosen],
            rejected=text[rejected],
            chosen_role=chosen,
            rejected_role=rejected,
            **common,
            **labels,
        )

    return [
        pair("anti_stereotyped", "stereotyped", label_type="directional", bias_direction="pro_stereotype"),
        pair("stereotyped", "unrelated", label_type="gold", error_type="incorrect"),
        pair("anti_stereotyped", "unrelated", label_type="gold", error_type="incorrect"),
    ]


CARD = f"""\
Source: StereoSet (Nadeem et al., 2021): `dev.json` from moinnadeem/StereoSet at `ead7d08` (split `dev`) and
`test.json` from McGill-NLP/bias-bench at `291426a` (split `test`), intrasentence and intersentence (`subset`);
`category` is `bias_type`. Per item: directional `anti_stereotyped ≻ stereotyped` (pro_stereotype); gold
`stereotyped > unrelated` and `anti_stereotyped > unrelated` (incorrect). Intrasentence prompt:
`"{INTRASENTENCE_PROMPT}"` (the context keeps its `BLANK`), responses the filled sentences; intersentence prompt:
the context sentence, responses the continuations.
"""

CITATION = """\
@inproceedings{nadeem-etal-2021-stereoset,
  title = {{StereoSet}: Measuring stereotypical bias in pretrained language models},
  author = {Nadeem, Moin and Bethke, Anna and Reddy, Siva},
  booktitle = {Proceedings of ACL-IJCNLP 2021},
  year = {2021},
  url = {https://aclanthology.org/2021.acl-long.416/}
}"""

BUILDER = Builder("stereoset", "bias", LICENSE, (DEV, TEST), read, to_pairs, CARD, CITATION)
