"""The scorer kinds, each registered once: how to build its scorer, its options class, what `--model` names for it
and a line of help. The command line's `--kind` choices and help and its per-kind flags are drawn from here.

    scorer = get_scorer("logprob", ModelSettings("Qwen/Qwen2.5-0.5B-Instruct"), reduction="sum")
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

from social_rm.errors import SocialRMError, lookup
from social_rm.scoring.baselines import FileScorer, LengthScorer, NoOptions, RandomOptions, RandomScorer
from social_rm.scoring.generative import GenerativeOptions, GenerativeScorer
from social_rm.scoring.judges import JudgeOptions, build_judge
from social_rm.scoring.models import looks_like_hub_id, pick_device
from social_rm.scoring.options import ModelSettings, cli_fields, flag
from social_rm.scoring.policies import DPOOptions, DPOScorer, LogprobOptions, LogprobScorer
from social_rm.scoring.rewards import RewardModelScorer, RewardOptions
from social_rm.scoring.units import Scorer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    build: Callable[..., Scorer]  # (settings, options, loaded) -> Scorer
    options: type  # its options dataclass
    takes: str  # what --model is: "" (nothing), "model" (a folder or Hub id) or "file" (a scores file)
    help: str

    @property
    def loads_weights(self) -> bool:
        """Whether it loads a model (and so needs the `models` extra: torch and transformers)."""
        return self.takes == "model"


KINDS: dict[str, Kind] = {
    "random": Kind(
        lambda _, options, __: RandomScorer(seed=options.seed),
        RandomOptions,
        "",
        "uniform random scores, seeded",
    ),
    "length": Kind(lambda *_: LengthScorer(), NoOptions, "", "the longer response wins"),
    "shortest": Kind(
        lambda *_: LengthScorer(name="shortest", sign=-1), NoOptions, "", "the shorter response wins"
    ),
    "classifier": Kind(RewardModelScorer, RewardOptions, "model", "a reward model, read by --reward-from"),
    "logprob": Kind(LogprobScorer, LogprobOptions, "model", "causal LM log-probability of the response"),
    "judge": Kind(
        build_judge,
        JudgeOptions,
        "model",
        "causal LM pairwise judge: P(A) from the verdict's logits, both orders",
    ),
    "generative": Kind(
        GenerativeScorer,
        GenerativeOptions,
        "model",
        "a judge that writes, then its verdict is parsed (--judge-format), locally or behind --api-base",
    ),
    "dpo": Kind(DPOScorer, DPOOptions, "model", "DPO implicit reward against --ref-model"),
    "file": Kind(
        lambda settings, *_: FileScorer(path=settings.model),
        NoOptions,
        "file",
        "precomputed scores from a file",
    ),
}
BASELINES = tuple(name for name, kind in KINDS.items() if not kind.takes)
SCORES_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv")


def option_classes() -> list[type]:
    """Every kind's options class, once each (the command line has a flag for each of their options)."""
    return list(dict.fromkeys(kind.options for kind in KINDS.values()))


def kind_options(kind: str, options: dict):
    """The options object of `kind` from keyword options (None: not given). An option the kind does not take is
    refused, naming the option and the kind."""
    cls = lookup(KINDS, kind, "scorer kind").options
    known = {f.name for f in fields(cls)}
    given = {name: value for name, value in options.items() if value is not None}
    wrong = sorted(set(given) - known)
    if wrong:
        takes = ", ".join(flag(f.name) for f in cli_fields(cls)) or "none"
        raise SocialRMError(f"the {kind} kind does not take {flag(wrong[0])} (its options: {takes})")
    return cls(**given)


def get_scorer(
    kind: str, settings: ModelSettings | None = None, loaded: tuple | None = None, **options
) -> Scorer:
    """The scorer of registry entry `kind` with its keyword `options`; model and file kinds need `settings`
    (`settings.model` is the model, or the scores file). `loaded`: (tokenizer, model) already in memory."""
    entry = lookup(KINDS, kind, "scorer kind")
    built = kind_options(kind, options)
    if not entry.takes:
        return entry.build(None, built, None)
    endpoint = getattr(built, "api_base", None)
    if endpoint and settings is not None and not settings.model and built.api_model:
        settings = replace(settings, model=built.api_model)
    if settings is None or not settings.model:
        raise SocialRMError(f"the {kind} kind needs --model" + (" or --api-model" if endpoint else ""))
    if entry.loads_weights:
        if not endpoint:  # an endpoint needs neither torch nor transformers here
            require_models_extra(kind)
        settings, built = apply_known_model(kind, settings, built)
    return entry.build(settings, built, loaded)


def resolve_kind(model: str | None, kind: str | None = None) -> str:
    """The registry kind for `--model`/`--kind`: `--kind` if given; else a baseline name is its own kind, a
    scores file is `file`, and a model folder or Hub id is its registry entry's kind, else a `classifier`."""
    if kind:
        lookup(KINDS, kind, "scorer kind")
        return kind
    if not model:
        raise SocialRMError("name a --model (a model folder, a Hub id or a baseline) or a --kind")
    if model in BASELINES:
        return model
    path = Path(model)
    try:
        if path.is_file() and path.suffix in SCORES_SUFFIXES:
            return "file"
        if path.is_dir():
            return _known_kind(model)
    except OSError as error:  # a name over the file system's limit
        raise SocialRMError(f"--model {model[:80]}...: {error.strerror}") from None
    if path.suffix in SCORES_SUFFIXES:
        raise SocialRMError(f"--model: scores file {model} does not exist")
    if looks_like_hub_id(model):
        return _known_kind(model)
    if "/" in model or model.startswith((".", "~")):
        raise SocialRMError(f"--model: model folder {model} does not exist")
    lookup({k: KINDS[k] for k in BASELINES}, model, "baseline, model folder, scores file or Hub id")


def _known_kind(model: str) -> str:
    """A model's kind from its registry entry (a generative judge's is `generative`), else `classifier`."""
    from social_rm.scoring import known_models

    known = known_models.find(model)
    return known.kind if known else "classifier"


def require_models_extra(kind: str) -> None:
    """Refuse a model kind where torch or transformers is missing, naming the extra that installs them."""
    import importlib.util

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        raise SocialRMError(
            f"the {kind} kind loads a model with {' and '.join(missing)}, which is not installed: "
            "pip install 'social-rm[models]'"
        )


def apply_known_model(kind: str, settings: ModelSettings, options):
    """Fill what the user left unset from the registry entry of `settings.model` (`known_models`), and say which
    entry is used, or that a reward model is unknown and takes the defaults."""
    from social_rm.scoring import known_models

    known = known_models.find(settings.name or settings.model)
    if known is None or known.kind != kind:
        if kind == "classifier":
            logger.info(
                f"{settings.name or settings.model} is not in the registry of known reward models (social-rm models): the defaults "
                "apply, the read-out chosen from the model unless --reward-from names one"
            )
        return settings, options
    logger.info(f"known reward model {known.describe()}" + (f" ({known.note})" if known.note else ""))
    unset = {
        f.name: getattr(known, f.name)
        for f in fields(options)
        if getattr(options, f.name) is None and hasattr(known, f.name)
    }
    options = replace(options, **unset)
    load = settings.options
    if load.dtype == "auto" and not getattr(options, "api_base", None) and pick_device(load.device) != "cpu":
        load = replace(load, dtype=known.dtype)
    return replace(
        settings, options=load, chat_template=settings.chat_template or known.chat_template
    ), options
