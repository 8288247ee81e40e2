"""The corpora, each registered once. A corpus is a module of this package whose `BUILDER` (or `BUILDERS`, for a
corpus of several sources such as ETHICS) is a `base.Builder`; a new corpus is its module, one line in `CORPORA`
and its demo data in `social_rm/demo_corpora` (or `register(builder)` from outside the package). Everything else
(the build, the card, the CLI's --only, the tests) reads `BUILDERS`.
"""

from __future__ import annotations

import importlib

from social_rm.dataset_builders.base import Builder
from social_rm.dataset_builders.schema import DOMAINS
from social_rm.errors import SocialRMError, lookup

CORPORA = (
    "bbq",
    "crows_pairs",
    "stereoset",
    "winobias",
    "winogender",
    "xstest",
    "hh_rlhf",
    "ethics",
    "moralchoice",
    "moral_stories",
)

BUILDERS: dict[str, Builder] = {}


def register(builder: Builder) -> Builder:
    """Add a source to the registry (its name must be new, its domain one of the schema's)."""
    if builder.name in BUILDERS:
        raise SocialRMError(f"a source named {builder.name!r} is already registered")
    if builder.domain not in DOMAINS:
        raise SocialRMError(
            f"source {builder.name!r}: domain must be one of {DOMAINS} (got {builder.domain!r})"
        )
    BUILDERS[builder.name] = builder
    return builder


for _corpus in CORPORA:
    _module = importlib.import_module(f"social_rm.dataset_builders.{_corpus}")
    for _builder in getattr(_module, "BUILDERS", None) or (_module.BUILDER,):
        register(_builder)


def get_builder(name: str) -> Builder:
    return lookup(BUILDERS, name, "source")
