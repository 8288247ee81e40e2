"""Moral Stories: Situated Reasoning about Norms, Intents, Actions, and their Consequences (Emelin et al.,
EMNLP 2021, https://aclanthology.org/2021.emnlp-main.54/) as social-pairs rows.

    social-rm build --sources DIR --only moral_stories --out out/social-pairs

The data is published as `moral_stories_datasets.tar.xz` on Google Drive (linked from demelin/moral_stories)
and on the Hugging Face Hub (demelin/moral_stories); neither is reachable from where this was written, so the
file has no pinned sha256 here. Extract the tarball and place `moral_stories_full.jsonl` at
`DIR/moral_stories/moral_stories_full.jsonl`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from social_rm.dataset_builders.base import Builder, CorpusError, make_pair, open_text
from social_rm.dataset_builders.sources import RawFile

DATA = RawFile(
    "moral_stories/moral_stories_full.jsonl",
    "https://tinyurl.com/moral-stories-data",  # the authors' Google Drive tarball
    sha256="",  # not pinned: no copy could be fetched to compute it
    how="download moral_stories_datasets.tar.xz from https://tinyurl.com/moral-stories-data (linked from "
    "github.com/demelin/moral_stories), extract moral_stories_full.jsonl from it",
)
LICENSE = "MIT"
FIELDS = ("ID", "norm", "situation", "intention", "moral_action", "immoral_action")
PROMPT = "{situation} {intention}\n\nWhat should they do? Keep this norm in mind: {norm}"
_pair = partial(make_pair, source="moral_stories", domain="morality", license=LICENSE)


def read(paths: dict[str, Path]) -> Iterator[dict]:
    path = paths[DATA.path]
    with open_text(path) as f:
        for line, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                story = json.loads(text)
            except json.JSONDecodeError as error:
                raise CorpusError(
                    f"{path} line {line}: not a JSON object ({error}): {text[:120]!r}"
                ) from error
            for field in FIELDS:
                if not isinstance(story.get(field), str) or not story[field].strip():
                    raise CorpusError(f"{path} line {line}: missing {field!r} (got {story.get(field)!r})")
            yield {**story, "split": "test"}


def to_pairs(story: dict) -> list[dict]:
    """moral_action > immoral_action given norm, situation and intention (harmful): "Josh drives Penelope to
    work every day ... Josh needs to get to work. What should they do? Keep this norm in mind: It's kind to wait
    for people." with "Josh continues to sit outside ..." > "Josh shrugs his shoulders and drives away ..."."""
    prompt = PROMPT.format(
        situation=story["situation"].strip(), intention=story["intention"].strip(), norm=story["norm"].strip()
    )
    return [
        _pair(
            group_id=f"moral_stories/{story['ID']}",
            category="moral_stories",
            subset="full",
            prompt=prompt,
            chosen=story["moral_action"].strip(),
            rejected=story["immoral_action"].strip(),
            chosen_role="moral_action",
            rejected_role="immoral_action",
            label_type="gold",
            error_type="harmful",
        )
    ]


CARD = f"""\
Source: Moral Stories (Emelin et al., 2021), `moral_stories_full.jsonl` from the authors' `moral_stories_datasets.tar.xz`
(12k stories; all become split `test`). Prompt `"{PROMPT}"`; `moral_action > immoral_action` (`harmful`). The
consequences are not shown. The file could not be fetched where this builder was written, so it carries no
pinned sha256: a build of every source leaves Moral Stories out unless its file is in the sources folder.
"""

CITATION = """\
@inproceedings{emelin-etal-2021-moral,
  title = {Moral Stories: Situated Reasoning about Norms, Intents, Actions, and their Consequences},
  author = {Emelin, Denis and Le Bras, Ronan and Hwang, Jena D. and Forbes, Maxwell and Choi, Yejin},
  booktitle = {Proceedings of EMNLP 2021},
  year = {2021},
  url = {https://aclanthology.org/2021.emnlp-main.54/}
}"""

BUILDER = Builder(
    "moral_stories", "morality", LICENSE, (DATA,), read, to_pairs, CARD, CITATION, optional=True
)
