"""BBQ: A Hand-Built Bias Benchmark for Question Answering (Parrish et al., ACL Findings 2022,
https://aclanthology.org/2022.findings-acl.165/) as social-pairs rows.

    social-rm build --sources ../shared/corpora --only bbq --out out/social-pairs
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from social_rm.dataset_builders.base import Builder, CorpusError, make_pair
from social_rm.dataset_builders.sources import RawFile

COMMIT = "bea11bd97d79217245b5871acd247b9d6eb24598"
URL = f"https://raw.githubusercontent.com/nyu-mll/BBQ/{COMMIT}/"
CATEGORY_SHA256 = {
    "Age": "46e805b3fc2d8cbd26eeb8e8430d98cf7b2dc9c83574ff3674e8ce4f0fca2a60",
    "Disability_status": "375d40d9b71f056150264445ec189b13934998f3f49a1e311aa7578eb3b45e5f",
    "Gender_identity": "8b5adbb368510a97d5775dc43e1c719e0249fe2da33f13c83e3e29edafec7a00",
    "Nationality": "a583e74666aec0341ded8aa3983e7cad694eb24de72c254d28b2df3035720090",
    "Physical_appearance": "e48d7e13508565f4801574e611043470c25c95a0a62af3699cb5ee7cb02608fb",
    "Race_ethnicity": "4a9f1214cfaa115ce7f0bdb40609122e431f5152c71b8ca64d665e483b946ae6",
    "Race_x_SES": "af8e2ae3d0e5be9ebcbfe7149e591d47ff649e263307f4548f7fb12f6a6d83e8",
    "Race_x_gender": "e5dbba782f8c4e25b99dd5470b5136e2db73dbf401cf6d4a5a3ed31b02f95696",
    "Religion": "cb9555f9f3454a52cd2df85956b59bd7fcca5aa922c8527693b1164d08417616",
    "SES": "9f92754bb037b0982604b9112705fb81d60a19d9e759c67e4a85e484a070f528",
    "Sexual_orientation": "2c71036b9e7584fe589c42aef32c1a42bc01b9a5e9b1b8704342630cdb08cefd",
}
METADATA = RawFile(
    "bbq/supplemental/additional_metadata.csv",
    URL + "supplemental/additional_metadata.csv",
    "f36708416b0e7adb81b47ad1926f9c39c2beb611702b73b01e06c9b6c9ffbd3d",
)
FILES = (
    *(RawFile(f"bbq/data/{c}.jsonl", f"{URL}data/{c}.jsonl", sha) for c, sha in CATEGORY_SHA256.items()),
    METADATA,
)
LICENSE = "CC-BY-4.0"
PROMPT_TEMPLATE = "{context}\n\n{question}"
_pair = partial(make_pair, source="bbq", domain="bias", license=LICENSE)


def _read_target_locs(path: Path) -> dict[tuple[str, str, int], int | None]:
    """(category, question_index, example_id) -> target_loc, the answer index a biased model would choose,
    already adjusted for question polarity. ``NA`` (16 Gender_identity rows) -> None. The 64 keys listed twice
    (Gender_identity, question_index 12) agree on target_loc and are kept once."""
    locs: dict[tuple[str, str, int], int | None] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                key = (row["category"], row["question_index"], int(row["example_id"]))
                value = row["target_loc"]
            except (KeyError, TypeError, ValueError) as error:
                raise CorpusError(f"{path} row {line}: unreadable metadata row {row!r} ({error})") from error
            loc = None if value == "NA" else int(value) if value in ("0", "1", "2") else -1
            if loc == -1:
                raise CorpusError(f"{path} row {line}: 'target_loc' must be 0, 1, 2 or NA (got {value!r})")
            if key in locs and locs[key] != loc:
                raise CorpusError(
                    f"{path} row {line}: key {key} listed twice with target_loc {locs[key]} and {loc}"
                )
            locs[key] = loc
    return locs


def read(paths: dict[str, Path]) -> Iterator[dict]:
    """Every BBQ item, with its metadata ``target_loc``, the file and line it came from, and ``split='test'``."""
    locs = _read_target_locs(paths[METADATA.path])
    for category in CATEGORY_SHA256:
        path = paths[f"bbq/data/{category}.jsonl"]
        with open(path, encoding="utf-8") as f:
            for line, text in enumerate(f, start=1):
                try:
                    item = json.loads(text)
                    # question_index is a string in the jsonl and the csv; example_id restarts per category
                    key = (item["category"], str(item["question_index"]), int(item["example_id"]))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                    raise CorpusError(
                        f"{path} line {line}: not a BBQ item ({error}): {text[:120]!r}"
                    ) from error
                if key not in locs:
                    raise CorpusError(
                        f"{path} line {line}: no row in {paths[METADATA.path]} for "
                        f"(category, question_index, example_id) = {key}"
                    )
                yield {**item, "target_loc": locs[key], "split": "test", "file": str(path), "line": line}


def _roles(item: dict) -> list[str]:
    """The role of ans0..ans2. The unknown answer is the one tagged ``unknown`` (the only reliable tag: 344
    group tags are empty upstream); the stereotyped one is ``target_loc``; the third is anti-stereotyped.
    Example: Age/0, tags [old, nonOld, unknown], target_loc 0 -> [stereotyped, anti_stereotyped, unknown]."""
    where = f"{item['file']} line {item['line']}"
    tags = [item["answer_info"][f"ans{i}"][1] for i in range(3)]
    unknown = [i for i, tag in enumerate(tags) if tag == "unknown"]
    if len(unknown) != 1:
        raise CorpusError(f"{where}: 'answer_info' must tag exactly one answer 'unknown' (got {tags!r})")
    target = item["target_loc"]
    if target == unknown[0]:
        raise CorpusError(f"{where}: 'target_loc' points at the unknown answer ({target})")
    roles, groups = ["unknown"] * 3, iter(("group_a", "group_b"))
    for i in range(3):
        if i != unknown[0]:
            roles[i] = (
                next(groups) if target is None else "stereotyped" if i == target else "anti_stereotyped"
            )
    return roles


def to_pairs(item: dict) -> list[dict]:
    """Ambiguous item (the answer is always unknown): gold unknown>stereotyped (harmful), gold
    unknown>anti_stereotyped (incorrect), directional anti_stereotyped≻stereotyped (pro_stereotype).
    Disambiguated item: gold correct>other group (harmful + pro_stereotype when the other is stereotyped,
    else incorrect + anti_stereotype), gold correct>unknown (over_cautious).
    target_loc = NA: the gold pairs only, with no stereotype direction (error_type incorrect)."""
    roles = _roles(item)
    answers = {role: item[f"ans{i}"] for i, role in enumerate(roles)}
    condition, label = item["context_condition"], item["label"]
    where = f"{item['file']} line {item['line']}"
    if condition not in ("ambig", "disambig"):
        raise CorpusError(f"{where}: 'context_condition' must be ambig or disambig (got {condition!r})")
    if label not in (0, 1, 2) or (roles[label] == "unknown") != (condition == "ambig"):
        raise CorpusError(
            f"{where}: 'label' {label!r} must be the unknown answer exactly when the context is ambig"
        )
    group_id = f"bbq/{item['category']}/{condition}/{item['example_id']}"
    prompt = PROMPT_TEMPLATE.format(context=item["context"], question=item["question"])

    def pair(chosen: str, rejected: str, label_type: str, error_type: str, bias_direction: str) -> dict:
        return _pair(
            group_id=group_id,
            category=item["category"],
            subset=condition,
            prompt=prompt,
            chosen=answers[chosen],
            rejected=answers[rejected],
            chosen_role=chosen,
            rejected_role=rejected,
            label_type=label_type,
            error_type=error_type,
            bias_direction=bias_direction,
        )

    if item["target_loc"] is None:
        others = [role for role in ("group_a", "group_b") if role != roles[label]]
        if condition == "ambig":
            return [pair("unknown", other, "gold", "incorrect", "none") for other in others]
        return [
            pair(roles[label], others[0], "gold", "incorrect", "none"),
            pair(roles[label], "unknown", "gold", "over_cautious", "none"),
        ]
    if condition == "ambig":
        return [
            pair("unknown", "stereotyped", "gold", "harmful", "none"),
            pair("unknown", "anti_stereotyped", "gold", "incorrect", "none"),
            pair("anti_stereotyped", "stereotyped", "directional", "none", "pro_stereotype"),
        ]
    correct = roles[label]
    if correct == "anti_stereotyped":  # the biased answer is the wrong one
        wrong = pair(correct, "stereotyped", "gold", "harmful", "pro_stereotype")
    else:
        wrong = pair(correct, "anti_stereotyped", "gold", "incorrect", "anti_stereotype")
    return [wrong, pair(correct, "unknown", "gold", "over_cautious", "none")]


CARD = """\
Source: BBQ (Parrish et al., 2022), nyu-mll/BBQ at `bea11bd`, all 11 categories, both context conditions.
Prompt: one user turn, `"{context}\\n\\n{question}"`; responses: the answer texts (`ans0`..`ans2`).
Roles come from `supplemental/additional_metadata.csv`: `target_loc` (already adjusted for question polarity,
not flipped again) is `stereotyped`, the answer tagged `unknown` is `unknown`, the third is `anti_stereotyped`.
`category` is the BBQ category, `subset` the context condition, `group_id` `bbq/<category>/<condition>/<example_id>`.

| context | pairs per item |
|---|---|
| ambiguous | gold `unknown > stereotyped` (harmful); gold `unknown > anti_stereotyped` (incorrect); directional `anti_stereotyped ≻ stereotyped` (pro_stereotype) |
| disambiguated | gold `correct > other group` (harmful + pro_stereotype when the other is stereotyped, else incorrect + anti_stereotype); gold `correct > unknown` (over_cautious) |

Traps handled: the 16 metadata rows of Gender_identity question 13 with `target_loc = NA` keep their gold pairs
(roles `group_a`/`group_b` in answer order, `error_type = incorrect`, `bias_direction = none`) and have no
directional pair, so BBQ bias scores leave them out as the official script does; the 64 metadata keys listed
twice agree on `target_loc` and are kept once; `question_index` is read as a string and `example_id` restarts
per category, so both join on (category, question_index, example_id); the 344 empty group tags are never read
(only the `unknown` tag is). BBQ's own `label_type` (explicit label or proper name) is not carried.
"""

CITATION = """\
@inproceedings{parrish-etal-2022-bbq,
  title = {{BBQ}: A Hand-Built Bias Benchmark for Question Answering},
  author = {Parrish, Alicia and Chen, Angelica and Nangia, Nikita and Padmakumar, Vishakh and Phang, Jason and
            Thompson, Jana and Htut, Phu Mon and Bowman, Samuel},
  booktitle = {Findings of the Association for Computational Linguistics: ACL 2022},
  year = {2022},
  url = {https://aclanthology.org/2022.findings-acl.165/}
}"""

BUILDER = Builder("bbq", "bias", LICENSE, FILES, read, to_pairs, CARD, CITATION)
