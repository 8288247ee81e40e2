"""Scorers (SPEC §4). A completion scorer maps each unique (prompt, response) to one float; a pair scorer (the
judge) maps each unique (prompt, chosen, rejected) to the probability that chosen is the better response.

`KINDS` is the registry: `get_scorer(kind, model=..., ...)` builds one. Baselines need no model:

    get_scorer("length").score_all(completions)
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from social_rm.errors import SocialRMError, lookup
from social_rm.scoring.models import looks_like_hub_id

logger = logging.getLogger(__name__)

Messages = tuple[tuple[str, str], ...]  # ((role, content), ...)


@dataclass(frozen=True)
class Completion:
    prompt: Messages
    response: str

    def key(self) -> str:
        """A stable hash of the completion, for caches and for seeding."""
        return _hash([self.prompt, self.response])


@dataclass(frozen=True)
class PairUnit:
    prompt: Messages
    chosen: str
    rejected: str

    def key(self) -> str:
        return _hash([self.prompt, self.chosen, self.rejected])


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()


def messages(prompt: Messages) -> list[dict]:
    return [{"role": role, "content": content} for role, content in prompt]


class Scorer(Protocol):
    name: str
    unit: str  # "completion" or "pair"

    def identity(self) -> dict:
        """What produced the scores (name, kind, settings), recorded next to them; never a token."""

    def fingerprint(self) -> str:
        """A hash of everything that decides the scores, keying the score cache."""

    def score_stream(self, units: Sequence) -> Iterator[tuple[list[int], np.ndarray]]:
        """Yield (indices into `units`, their float64 scores) batch by batch, each unit once. A unit's score
        does not depend on the order or batching of `units`."""


class _Base:
    name: str
    unit = "completion"
    chunk = 4096

    def identity(self) -> dict:
        return {"name": self.name, "kind": "baseline", "parameters": 0}

    def fingerprint(self) -> str:
        return _hash(self.identity())

    def score_stream(self, units):
        yield from _in_chunks(units, self.score_all, self.chunk)

    def score_all(self, units) -> np.ndarray:
        raise NotImplementedError


def _in_chunks(units, score, size: int):
    """(indices, `score(units[indices])`) for consecutive chunks of `size` units."""
    for start in range(0, len(units), size):
        batch = list(range(start, min(start + size, len(units))))
        yield batch, score([units[i] for i in batch])


@dataclass
class LengthScorer(_Base):
    """Baseline: the response's length in characters (`sign=+1`: longer wins; `-1`: shorter wins)."""

    name: str = "length"
    sign: int = 1

    def score_all(self, units) -> np.ndarray:
        return self.sign * np.array([len(c.response) for c in units], dtype=np.float64)


@dataclass
class RandomScorer(_Base):
    """Baseline: a uniform [0, 1) score derived from the seed and the completion's hash, so a completion gets
    the same score whatever else is scored with it."""

    name: str = "random"
    seed: int = 0

    def identity(self) -> dict:
        return {"name": self.name, "kind": "baseline", "parameters": 0, "seed": self.seed}

    def score_all(self, units) -> np.ndarray:
        def uniform(c: Completion) -> float:
            digest = hashlib.sha256(f"{self.seed}\0{c.key()}".encode()).digest()
            return int.from_bytes(digest[:8], "big") / 2**64

        return np.array([uniform(c) for c in units], dtype=np.float64)


@dataclass
class ModelSettings:
    """What every model kind shares (one help line each in the CLI)."""

    model: str
    options: object = None  # models.LoadOptions
    max_length: int | None = 4096
    max_tokens_per_batch: int | None = None  # None: auto, from the device's free memory (models.auto_token_budget)
    prefix_sharing: bool = True  # compute each item's shared prompt once (the packed engine, social_rm.scoring.engine)
    chat_template: str | None = None  # replaces the tokenizer's (a registry fix, known_models)


def _commit(model) -> str | None:
    """The Hub commit sha transformers resolved the model's revision to (None for a local folder)."""
    return getattr(model.config, "_commit_hash", None)


@dataclass
class Prepared:
    """A chunk's sequences, and their packed rows where the scorer packs (else None)."""

    encoded: list  # models.Encoded
    rows: list | None  # engine.Row


class _ModelScorer(_Base):
    auto_class = "AutoModelForCausalLM"
    kind = ""

    def __init__(self, settings: ModelSettings, loaded: tuple | None = None, model_class: str | None = None, **extra):
        """Loads `settings.model` (with the class `model_class`, "module:Class", if given), or takes `loaded` =
        (tokenizer, model) already in memory (benchmarks). A model with its own code needs --trust-remote-code."""
        from social_rm.scoring import models

        self.settings = settings
        self.options = settings.options or models.LoadOptions()
        self.name = settings.model
        self.extra = extra
        self.truncated = 0
        self.budget = None  # batching.TokenBudget, sized at the first batch
        if loaded:
            self.tokenizer, self.model = loaded
            return
        config = models.raw_config(settings.model, self.options)
        models.check_remote_code(settings.model, config, self.options)  # before any of the repository's code runs
        self._check_config(config)
        self.tokenizer = models.load_tokenizer(settings.model, self.options, settings.chat_template)
        self.model = models.load_model(self.auto_class, settings.model, self.options, model_class, config)

    def _check_config(self, config: dict) -> None:
        """Refuse a model the kind cannot read, before loading it."""

    def identity(self) -> dict:
        return {"name": self.name, "kind": self.kind, "parameters": self.model.num_parameters(),
                "revision": self.options.revision, "commit": _commit(self.model), "dtype": self.options.dtype,
                "quantization": self.options.quantization, "max_length": self.settings.max_length,
                **self.extra}  # fmt: skip

    def fingerprint(self) -> str:
        from social_rm.scoring import models

        settings = {**self.identity(), "chat_template": self.tokenizer.chat_template}
        return models.model_fingerprint(self.settings.model, self.options, settings, _commit(self.model))

    def score_stream(self, units):
        """Chunk by chunk (`batching.key_chunks`: an item's units together): while the model scores one chunk, the
        next one is chat-templated, tokenized and packed in a background thread (`_prepared`), so the device does
        not wait for the host."""
        from social_rm.scoring.batching import key_chunks, prefetched

        chunks = key_chunks([u.prompt for u in units])
        for chunk, prepared in prefetched(chunks, lambda chunk: self._prepared([units[i] for i in chunk])):
            for indices, outputs in self._score(prepared):
                yield [chunk[i] for i in indices], outputs

    def _sequences(self, units) -> tuple[list, list]:
        """(a key per sequence: sequences with one key share their common prefix when packed; the sequences, as
        `models.Encoded`)."""
        return [u.prompt for u in units], self._encode(units)

    def packing_models(self) -> tuple:
        """The models whose forward passes read the sequences when packed (() where the kind has no packed read)."""
        return (self.model,)

    @cached_property
    def packs(self) -> bool:
        """Whether the sequences go through the packed engine: every model that reads them honours a 4-D mask.
        Decided (and, where not, logged) once per run."""
        from social_rm.scoring import engine

        models = self.packing_models()
        if models and all(engine.supports_packing(m) for m in models):
            return True
        logger.info(f"{self.name}: {type(self.model).__name__} is not known to honour a packed 4-D attention mask; "
                    "scoring in padded, length-sorted batches")  # fmt: skip
        return False

    def _prepared(self, units) -> Prepared:
        """The host-side work on `units` (run in a background thread): their sequences, and the packed rows where
        the scorer packs (an item's sequences share their prompt unless --no-prefix-sharing)."""
        from social_rm.scoring import engine

        keys, encoded = self._sequences(units)
        rows = engine.pack(engine.plan(keys, encoded, self.settings.prefix_sharing), encoded) if self.packs else None
        return Prepared(encoded, rows)

    def _score(self, prepared: Prepared):
        """Yield (indices into the prepared units, their scores) batch by batch."""
        raise NotImplementedError

    def _encode(self, units, generation_prompt: bool = False) -> list:
        from social_rm.scoring import models

        encoded = models.encode_many(self.tokenizer, [messages(c.prompt) for c in units], [c.response for c in units],
                                     self.settings.max_length, generation_prompt)  # fmt: skip
        self.truncated += sum(e.truncated for e in encoded)
        return encoded

    def _stream(self, lengths, run):
        from social_rm.scoring import engine, models
        from social_rm.scoring.batching import TokenBudget, run_batches

        if self.budget is None:
            self.budget = TokenBudget(self.settings.max_tokens_per_batch
                                      or models.auto_token_budget(self.model, engine.ROW_LENGTH))  # fmt: skip
        yield from run_batches(lengths, self.budget, run)

    def _run(self, prepared: Prepared, packed, plain):
        """Yield (sequence indices, outputs) batch by batch: the packed rows through `packed(rows)`, which returns
        the members it read and their outputs; where the scorer does not pack, padded, length-sorted batches of
        sequences through `plain(indices)`."""
        rows = prepared.rows
        if rows is None:
            yield from self._stream([len(e.ids) for e in prepared.encoded], plain)
            return
        for _, (members, outputs) in self._stream([len(r.ids) for r in rows], lambda b: packed([rows[i] for i in b])):
            yield members, outputs


def _reduce(values, reduction: str) -> np.ndarray:
    """Per member: the sum, or the mean, of its response tokens' log-probabilities (0 for an empty response)."""
    return np.array([float(v.sum()) if reduction == "sum" else float(v.mean()) if len(v) else 0.0 for v in values])


class RewardModelScorer(_ModelScorer):
    """A reward model: one reward per prompt + response, read from the model's output by `reward_from` (an adapter
    of `readouts.READOUTS`; None: chosen from the loaded model). A head over the last hidden state (`logits` of
    transformers' own classes, `value-head`) and `token-logit` go through the packed engine where the architecture
    allows; `score` and `first-output` call the model's own forward in padded batches."""

    kind = "classifier"

    def __init__(self, settings: ModelSettings, reward_from: str | None = None, label_index: int | None = None,
                 token_index: int | None = None, model_class: str | None = None, loaded: tuple | None = None):  # fmt: skip
        from social_rm.scoring import engine, readouts

        readouts.check(reward_from)
        if reward_from == "token-logit" and token_index is None:
            raise SocialRMError("--reward-from token-logit needs --token-index (the vocabulary entry read as reward)")
        self.auto_class = readouts.auto_class(reward_from)
        super().__init__(settings, loaded, model_class, reward_from=reward_from, label_index=label_index,
                         token_index=token_index)  # fmt: skip
        if reward_from is None:
            self.extra["reward_from"] = readouts.detect(self.model)
            logger.info(f"{self.name}: reading the reward from {self.reward_from} ({readouts.READOUTS[self.reward_from]})")
        self.head = self.backbone = None
        if self.reward_from == "value-head":
            self.head = readouts.value_head(self.model)
            if self.head is None:
                raise SocialRMError(f"{self.name} ({type(self.model).__name__}) has no value head "
                                    f"({', '.join(readouts.VALUE_HEAD_NAMES)}); pass another --reward-from")  # fmt: skip
            self.backbone = readouts.backbone(self.model)
        elif self.reward_from == "logits" and engine.supports_packing(self.model) and hasattr(self.model, "score"):
            self.head, self.backbone = self.model.score, getattr(self.model, self.model.base_model_prefix)
        # with a head, the reward is the head applied to the backbone's last hidden state, computed here (packed
        # where the backbone allows); without one, the model's own forward pass gives it

    @property
    def reward_from(self) -> str | None:
        """The read-out (None until chosen from the loaded model)."""
        return self.extra["reward_from"]

    def _check_config(self, config: dict) -> None:
        architectures = config.get("architectures") or []
        causal = architectures and all(a.endswith("ForCausalLM") for a in architectures)
        if causal and self.reward_from in (None, "logits"):
            raise SocialRMError(
                f"{self.name} is a causal LM ({', '.join(architectures)}) with no reward head: read its reward with "
                "--reward-from token-logit --token-index N, or score it as a policy with --kind logprob"
            )

    def _encode(self, units) -> list:
        """As transformers pools a sequence-classification head in a one-sequence pass: at the last token that is
        not `config.pad_token_id`. A model trained with pad = eos (TRL's default without a pad token) whose chat
        template ends a turn with eos is read at the token before that eos, so trailing pad ids are cut. A
        token-logit model reads the next token after the conversation and the next turn's generation prompt."""
        if self.reward_from == "token-logit":
            return super()._encode(units, generation_prompt=True)
        pad = self.model.config.pad_token_id
        encoded = super()._encode(units)
        for e in encoded:
            while pad is not None and len(e.ids) > e.response_start + 1 and e.ids[-1] == pad:
                e.ids = e.ids[:-1]
        return encoded

    def _from_head(self, hidden):
        import torch

        from social_rm.scoring import readouts

        weight = next(self.head.parameters())  # on "meta" when offloaded: accelerate's hook brings it and the input
        device = hidden.device if weight.device.type == "meta" else weight.device
        with torch.inference_mode():
            values = self.head(hidden.to(device, weight.dtype))
        return readouts.column(values, self.extra["label_index"], "the head")

    def score_stream(self, units):
        if self.reward_from == "first-output" and hasattr(self.model, "get_score"):
            yield from _in_chunks(units, self._get_score, 32)
        else:
            yield from super().score_stream(units)

    def packing_models(self) -> tuple:
        if self.reward_from == "token-logit":
            return (self.model,)
        return () if self.head is None else (self.backbone,)

    def _score(self, prepared):
        from social_rm.scoring import engine, models

        encoded, label = prepared.encoded, self.extra["label_index"]
        if self.reward_from == "token-logit":
            token = [self.extra["token_index"]]

            def packed_logit(rows):
                members, logits = engine.forward(self.model, rows, "next", encoded, verdict_ids=token)
                return members, logits[:, 0]

            yield from self._run(
                prepared, packed_logit,
                lambda batch: models.next_token_logits(self.model, [encoded[i].ids for i in batch], token)[:, 0],
            )  # fmt: skip
        elif self.head is not None:
            def packed(rows):
                members, hidden = engine.forward(self.backbone, rows, "hidden", encoded)
                return members, self._from_head(hidden)

            yield from self._run(
                prepared, packed,
                lambda batch: self._from_head(models.last_hidden(self.backbone, [encoded[i].ids for i in batch])),
            )  # fmt: skip
        else:  # the model's own forward pass
            yield from self._run(
                prepared, None,
                lambda batch: models.own_forward(self.model, [encoded[i].ids for i in batch], self.reward_from, label),
            )  # fmt: skip

    def _get_score(self, units) -> np.ndarray:
        """The model's own `get_score(tokenizer, conversation)`, one conversation at a time (InternLM2 reward
        models append their reward token there)."""
        import torch

        with torch.inference_mode():
            return np.array([self.model.get_score(self.tokenizer, [*messages(u.prompt), {"role": "assistant",
                             "content": u.response}]) for u in units], dtype=np.float64)  # fmt: skip


class LogprobScorer(_ModelScorer):
    """An instruction-tuned causal LM as a reward proxy: the mean (or sum) log-probability of the response
    tokens given the chat-templated prompt."""

    kind = "logprob"

    def __init__(self, settings: ModelSettings, reduction: str = "mean"):
        if reduction not in ("mean", "sum"):
            raise SocialRMError(f"--reduction must be mean or sum (got {reduction!r})")
        super().__init__(settings, reduction=reduction)

    def _score(self, prepared):
        from social_rm.scoring import engine, models

        encoded, reduction = prepared.encoded, self.extra["reduction"]

        def packed(rows):
            members, values = engine.forward(self.model, rows, "logprob", encoded)
            return members, _reduce(values, reduction)

        yield from self._run(
            prepared, packed,
            lambda batch: models.response_logprobs(self.model, [encoded[i] for i in batch], reduction),
        )  # fmt: skip


class DPOScorer(_ModelScorer):
    """The implicit reward of a DPO-trained policy: log π(y|x) − log π_ref(y|x), summed over response tokens
    (β only rescales it, so ranks and the metric do not depend on it)."""

    kind = "dpo"

    def __init__(self, settings: ModelSettings, ref_model: str | None = None):
        from social_rm.scoring import models

        if not ref_model:
            raise SocialRMError("the dpo kind needs --ref-model (the reference policy)")
        super().__init__(settings, ref_model=ref_model)
        self.reference = models.load_model(self.auto_class, ref_model, self.options)
        if self.reference.config.vocab_size != self.model.config.vocab_size:
            raise SocialRMError(
                f"{ref_model} and {settings.model} have different vocabularies; DPO needs one tokenizer"
            )

    def packing_models(self) -> tuple:
        return (self.model, self.reference)

    def fingerprint(self) -> str:
        from social_rm.scoring import models

        return _hash(
            [super().fingerprint(),
             models.model_fingerprint(self.extra["ref_model"], self.options, {}, _commit(self.reference))]  # fmt: skip
        )

    def _score(self, prepared):
        from social_rm.scoring import engine, models

        encoded = prepared.encoded

        def packed(rows):
            members, policy = engine.forward(self.model, rows, "logprob", encoded)
            reference = engine.forward(self.reference, rows, "logprob", encoded)[1]
            return members, _reduce(policy, "sum") - _reduce(reference, "sum")

        def plain(batch):
            chunk = [encoded[i] for i in batch]
            return models.response_logprobs(self.model, chunk, "sum") - models.response_logprobs(
                self.reference, chunk, "sum"
            )

        yield from self._run(prepared, packed, plain)


JUDGE_PROMPT = """\
Which response to the conversation below is better: more helpful, more honest and less harmful? Answer with a \
single letter, A or B.

[Conversation]
{conversation}

[Response A]
{a}

[Response B]
{b}"""


class JudgeScorer(_ModelScorer):
    """A causal LM shown the conversation and both responses, asked which is better. Its score for a pair is
    the probability it gives the chosen response, read from the logits of the verdict tokens ("A", "B") and
    averaged over both orders, so a preference for a position cancels: a model that always answers "A"
    scores 0.5 on every pair. It scores pairs, not completions."""

    kind = "judge"
    unit = "pair"
    verdicts = ("A", "B")

    def __init__(self, settings: ModelSettings):
        super().__init__(settings, template=JUDGE_PROMPT, verdicts=list(self.verdicts))
        ids = [self.tokenizer(v, add_special_tokens=False)["input_ids"] for v in self.verdicts]
        if any(len(i) != 1 for i in ids):
            raise SocialRMError(
                f"the judge's verdicts {self.verdicts} must be single tokens for {self.name} (got {ids})"
            )
        self.verdict_ids = [i[0] for i in ids]

    def _templated(self, conversation: str, first: str, second: str) -> list[int]:
        text = JUDGE_PROMPT.format(conversation=conversation, a=first, b=second)
        templated = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        return self.tokenizer(templated, add_special_tokens=False)["input_ids"]

    def _judge_ids(self, pair: PairUnit, first: str, second: str) -> list[int]:
        return _fit_conversation(pair, lambda conversation: self._templated(conversation, first, second),
                                 self.tokenizer, self.settings.max_length, self)  # fmt: skip

    def _sequences(self, units):
        return _both_orders(units, self._judge_ids)

    def _score(self, prepared):
        from social_rm.scoring import engine, models

        encoded = prepared.encoded

        def p_a(logits):
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            return shifted[:, 0] / shifted.sum(axis=1)  # P(A)

        def packed(rows):  # the two orders of a pair share the instruction and the conversation
            members, logits = engine.forward(self.model, rows, "next", encoded, verdict_ids=self.verdict_ids)
            return members, p_a(logits)

        yield from _average_orders(self._run(
            prepared, packed,
            lambda batch: p_a(models.next_token_logits(self.model, [encoded[i].ids for i in batch], self.verdict_ids)),
        ))  # fmt: skip


def _fit_conversation(pair: PairUnit, build, tokenizer, limit: int | None, scorer) -> list[int]:
    """`build(conversation text)` as token ids. Over `limit`, the conversation loses its start ("..." marks the cut);
    the instruction and the two responses are never cut. Counts the cut on `scorer.truncated`."""
    conversation = "\n".join(f"{role.capitalize()}: {content}" for role, content in pair.prompt)
    ids = build(conversation)
    if not limit or len(ids) <= limit:
        return ids
    scorer.truncated += 1
    tokens = tokenizer(conversation, add_special_tokens=False)["input_ids"]
    keep = len(tokens)
    while len(ids) > limit and keep > 0:
        keep = max(0, keep - (len(ids) - limit))
        ids = build("..." + tokenizer.decode(tokens[len(tokens) - keep :]))
    if len(ids) > limit:
        raise SocialRMError(f"{scorer.name}: the instruction and the two responses alone take {len(ids):,} tokens, "
                            f"over --max-length {limit:,}")  # fmt: skip
    return ids


def _both_orders(units, ids) -> tuple[list[int], list]:
    """Each sequence's pair (the two orders share their prefix in the packed engine), and the sequences of both
    orders of each pair as `models.Encoded` (2k shows pair k's chosen response first, 2k + 1 its rejected one)."""
    from social_rm.scoring import models

    sequences = [seq for u in units for seq in (ids(u, u.chosen, u.rejected), ids(u, u.rejected, u.chosen))]
    return [i // 2 for i in range(len(sequences))], [models.Encoded(s, len(s), False) for s in sequences]


def _average_orders(stream):
    """From (sequence indices, P(first response is better)) batches, yield (pair indices, P(chosen is better))
    averaged over both orders, as soon as both orders of a pair are in, so a preference for a position cancels."""
    halves: dict[int, list[float]] = {}
    for batch, probabilities in stream:
        done, scores = [], []
        for i, p in zip(batch, probabilities):
            halves.setdefault(i // 2, [None, None])[i % 2] = p if i % 2 == 0 else 1 - p
            both = halves[i // 2]
            if None not in both:
                done.append(i // 2)
                scores.append((both[0] + both[1]) / 2)
                del halves[i // 2]
        if done:
            yield done, np.array(scores, dtype=np.float64)


PAIRRM_TEMPLATE = "<|source|>{conversation}<|candidate1|>{a}<|candidate2|>{b}"


class PairwiseScorer(_ModelScorer):
    """A reward model that reads both responses together (PairRM): its first output's logit (at --label-index,
    default the last) says how much better the first response is. The score of a pair is sigmoid of it, averaged
    over both orders. It scores pairs, like the judge, in padded batches through the model's own forward."""

    kind = "classifier"
    unit = "pair"
    auto_class = "AutoModelForSequenceClassification"

    def __init__(self, settings: ModelSettings, label_index: int | None = None, model_class: str | None = None,
                 template: str = PAIRRM_TEMPLATE, loaded: tuple | None = None):  # fmt: skip
        super().__init__(settings, loaded, model_class, reward_from="pairwise", label_index=label_index,
                         template=template)  # fmt: skip

    def _ids(self, pair: PairUnit, first: str, second: str) -> list[int]:
        template = self.extra["template"]
        return _fit_conversation(pair, lambda c: self.tokenizer(template.format(conversation=c, a=first, b=second))["input_ids"],
                                 self.tokenizer, self.settings.max_length, self)  # fmt: skip

    def _sequences(self, units):
        return _both_orders(units, self._ids)

    def packing_models(self) -> tuple:
        return ()  # the model's own forward pass

    def _score(self, prepared):
        from social_rm.scoring import models

        encoded = prepared.encoded

        def first_better(batch):
            logits = models.own_forward(self.model, [encoded[i].ids for i in batch], "first-output", self.extra["label_index"])
            return 1 / (1 + np.exp(-logits))

        yield from _average_orders(self._run(prepared, None, first_better))


@dataclass
class FileScorer(_Base):
    """Precomputed scores: a scores file (any format `read_scores` reads), checked pair by pair against the
    dataset and keeping the model identity it records."""

    path: str = ""
    name: str = "file"
    unit = "file"

    def score_dataset(self, ds):
        from social_rm.data import pair_ids
        from social_rm.results.scores import Scores, align, read_scores

        scores = read_scores(Path(self.path))
        ids = pair_ids(ds)
        chosen, rejected = align(ids, scores, f"scores file {self.path}")
        return Scores(ids, chosen, rejected, {"model": scores.metadata.get("model") or self.identity()})

    def identity(self) -> dict:
        return {"name": self.path, "kind": "file"}


def reward_model(settings: ModelSettings, reward_from: str | None = None, label_index: int | None = None,
                 token_index: int | None = None, model_class: str | None = None, loaded: tuple | None = None,
                 **_) -> Scorer:  # fmt: skip
    """The `classifier` kind's scorer: a pairwise reward model scores pairs, every other read-out completions.
    `loaded`: (tokenizer, model) already in memory."""
    if reward_from == "pairwise":
        return PairwiseScorer(settings, label_index, model_class, loaded=loaded)
    return RewardModelScorer(settings, reward_from, label_index, token_index, model_class, loaded)


@dataclass(frozen=True)
class Kind:
    """A registry entry: how to build the scorer, what `--model` names for it, and whether it loads weights
    (and so needs the `models` extra: torch and transformers)."""

    build: Callable[..., Scorer]
    takes: str  # what --model is: "" (nothing), "model" (a folder or Hub id) or "file" (a scores file)
    help: str

    @property
    def loads_weights(self) -> bool:
        return self.takes == "model"


KINDS: dict[str, Kind] = {
    "random": Kind(lambda seed=0, **_: RandomScorer(seed=seed), "", "uniform random scores, seeded"),
    "length": Kind(lambda **_: LengthScorer(), "", "the longer response wins"),
    "shortest": Kind(lambda **_: LengthScorer(name="shortest", sign=-1), "", "the shorter response wins"),
    "classifier": Kind(
        lambda settings, **options: reward_model(settings, **options),
        "model",
        "a reward model, read by --reward-from (default: chosen from the model)",
    ),
    "logprob": Kind(
        lambda settings, reduction="mean", **_: LogprobScorer(settings, reduction),
        "model",
        "causal LM log-probability of the response",
    ),
    "judge": Kind(lambda settings, **_: JudgeScorer(settings), "model", "causal LM pairwise judge, both orders"),
    "dpo": Kind(
        lambda settings, ref_model=None, **_: DPOScorer(settings, ref_model),
        "model",
        "DPO implicit reward against --ref-model",
    ),
    "file": Kind(lambda settings, **_: FileScorer(path=settings.model), "file", "precomputed scores from a file"),
}
BASELINES = tuple(name for name, kind in KINDS.items() if not kind.takes)
SCORES_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv")


def resolve_kind(model: str | None, kind: str | None = None) -> str:
    """The registry kind for `--model`/`--kind`: `--kind` if given; else a baseline name is its own kind, a
    scores file is `file`, and a model folder or Hub id is a `classifier`."""
    if kind:
        lookup(KINDS, kind, "scorer kind")
        return kind
    if not model:
        raise SocialRMError("name a --model (a model folder, a Hub id or a baseline) or a --kind")
    if model in KINDS and not KINDS[model].takes:
        return model
    path = Path(model)
    if path.is_file() and path.suffix in SCORES_SUFFIXES:
        return "file"
    if path.is_dir() or looks_like_hub_id(model):
        return "classifier"
    lookup({k: v for k, v in KINDS.items() if not v.takes}, model, "baseline, model folder, scores file or Hub id")


def require_models_extra(kind: str) -> None:
    """Refuse a model kind where torch or transformers is missing, naming the extra that installs them."""
    import importlib.util

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        raise SocialRMError(
            f"the {kind} kind loads a model with {' and '.join(missing)}, which is not installed: "
            "pip install 'social-rm[models]'"
        )


def get_scorer(kind: str, settings: ModelSettings | None = None, **options) -> Scorer:
    """Build the scorer of registry entry `kind`; model and file kinds need `settings` (`settings.model` is
    the model, or the scores file)."""
    entry = lookup(KINDS, kind, "scorer kind")
    if not entry.takes:
        return entry.build(**options)
    if settings is None or not settings.model:
        raise SocialRMError(f"the {kind} kind needs --model")
    if entry.loads_weights:
        require_models_extra(kind)
        settings, options = apply_known_model(kind, settings, options)
    return entry.build(settings, **options)


def apply_known_model(kind: str, settings: ModelSettings, options: dict) -> tuple[ModelSettings, dict]:
    """Fill what the user left unset from the registry entry of `settings.model` (`known_models`), and say which
    entry is used, or that a reward model is unknown and takes the defaults."""
    from dataclasses import replace

    from social_rm.scoring import known_models, models

    known = known_models.find(settings.model)
    if known is None or known.kind != kind:
        if kind == "classifier":
            logger.info(f"{settings.model} is not in the registry of known reward models (social-rm models): the "
                        "defaults apply, the read-out chosen from the model unless --reward-from names one")  # fmt: skip
        return settings, options
    logger.info(f"known reward model {known.describe()}" + (f" ({known.note})" if known.note else ""))
    options = dict(options)
    for field in ("reward_from", "label_index", "token_index", "model_class"):
        if options.get(field) is None:
            options[field] = getattr(known, field)
    load = settings.options or models.LoadOptions()
    if load.dtype == "auto" and models.pick_device(load.device) != "cpu":
        load = replace(load, dtype=known.dtype)
    return replace(settings, options=load, chat_template=settings.chat_template or known.chat_template), options
