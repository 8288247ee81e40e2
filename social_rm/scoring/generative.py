"""Generative judges: the judge writes (an evaluation, a rubric, a critique), then its verdict is parsed from what
it wrote (`judge_formats`). A pairwise format judges each pair in both orders and averages, so a preference for a
position cancels: its score is the probability that the chosen response is better. A pointwise format scores each
response on its own, and its scores go into the metric as rewards. An answer that cannot be parsed counts as a tie
(the middle of a pointwise scale) and is counted, never dropped.

The judge runs locally (`generation.LocalGenerator`) or behind an OpenAI-compatible endpoint (`--api-base`,
`api.Endpoint`). Every reply is stored as it arrives, keyed by the hash of its prompt (in the score cache, so a
killed run resumes and a rerun makes no request) and written beside the scores as JSON Lines (`generations`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from social_rm.scoring import models
from social_rm.scoring.generation import GenerationSettings, LocalGenerator
from social_rm.scoring.judge_formats import DEFAULT_FORMAT, FORMATS, JudgeFormat, get_format, score_of
from social_rm.scoring.options import ModelSettings, option, positive_int
from social_rm.scoring.units import PairUnit, question, stable_hash

logger = logging.getLogger(__name__)

CHUNK = 256  # units whose replies are gathered before their scores are handed to the cache


def _temperature(value: str) -> float:
    import argparse

    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 2:
        raise argparse.ArgumentTypeError(f"expected a temperature from 0 to 2 (got {value!r})")
    return number


@dataclass(frozen=True)
class EndpointOptions:
    """Where a judge runs when it is not loaded here: an OpenAI-compatible endpoint."""

    api_base: str | None = option(
        None,
        "an OpenAI-compatible endpoint (http://HOST:PORT/v1) that serves the judge, instead of loading it",
    )
    api_model: str | None = option(
        None, "with --api-base: the model name the endpoint serves (default: --model)"
    )
    api_key_env: str | None = option(
        None,
        "with --api-base: the environment variable that holds the API key (default OPENAI_API_KEY); "
        "the key is never printed or written",
    )
    api_concurrency: int | None = option(8, "with --api-base: requests in flight at once", type=positive_int)
    api_timeout: float | None = option(
        600.0, "with --api-base: seconds a request may take before it is retried", type=float
    )

    def endpoint(self, model: str):
        from social_rm.scoring.api import Endpoint

        return Endpoint(
            self.api_base,
            self.api_model or model,
            self.api_key_env,
            self.api_concurrency or 8,
            self.api_timeout or 600.0,
        )

    def endpoint_identity(self, model: str) -> dict:
        """What the scores record of the endpoint: its URL and model name (never the key, its variable, or
        concurrency and timeouts, which do not change a reply)."""
        return {"api_base": self.api_base, "api_model": self.api_model or model} if self.api_base else {}


@dataclass(frozen=True)
class GenerativeOptions(EndpointOptions):
    judge_format: str | None = option(
        None,
        f"the judge's prompt and verdict parser (default: a known model's own, else {DEFAULT_FORMAT})",
        choices=lambda: list(FORMATS),
    )
    max_new_tokens: int | None = option(2048, "tokens the judge may write", type=positive_int)
    temperature: float | None = option(0.0, "the judge's sampling temperature (0: greedy)", type=_temperature)
    seed: int | None = option(0, "seed of the random baseline, and of a generative judge's sampling")


@dataclass(frozen=True)
class Request:
    """One prompt a unit needs: which order (or response) it shows, the chat, and its hash (the reply's key)."""

    order: str
    chat: list[dict]
    key: str

    @classmethod
    def of(cls, order: str, chat: list[dict]) -> Request:
        return cls(order, chat, stable_hash(chat))


class MemoryReplies(dict):
    """Replies kept in memory, where there is no score cache (--no-cache); as `ScoreCache` keeps them."""

    def replies(self, prompts: list[str]) -> dict[str, dict]:
        return {p: self[p] for p in prompts if p in self}

    def put_reply(self, prompt: str, reply: dict) -> None:
        self[prompt] = reply


class GenerativeScorer:
    kind = "generative"
    bradley_terry = False

    def __init__(
        self,
        settings: ModelSettings,
        options: GenerativeOptions,
        loaded: tuple | None = None,
        judge: JudgeFormat | None = None,
    ):
        """`judge`: a format of its own (the endpoint judge's), else `--judge-format`'s."""
        self.settings, self.options = settings, options
        self.name = settings.model
        self.format_name = "own" if judge else options.judge_format or DEFAULT_FORMAT
        self.judge = judge or get_format(self.format_name)
        self.unit = "pair" if self.judge.mode == "pairwise" else "completion"
        self.generation = GenerationSettings(
            options.max_new_tokens or 2048, options.temperature or 0.0, options.seed or 0
        )
        self.store = MemoryReplies()  # the score cache once `use_cache` is called
        self.usage = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self.model = self.tokenizer = None
        if options.api_base:
            self.backend = options.endpoint(self.name)
            return
        self.tokenizer, self.model = loaded or models.load(
            self.name, settings.options, settings.chat_template
        )
        self.backend = LocalGenerator(self.tokenizer, self.model, settings.max_tokens_per_batch)

    def identity(self) -> dict:
        local = self.model is not None
        load = self.settings.options
        return {
            "name": self.settings.name or self.name,
            **({"local_path": self.name} if self.settings.name else {}),
            "kind": self.kind,
            "parameters": self.model.num_parameters() if local else None,
            "commit": getattr(self.model.config, "_commit_hash", None) if local else None,
            "dtype": load.dtype if local else None,
            "judge_format": self.format_name,
            "judge_mode": self.judge.mode,
            **asdict(self.generation),
            **self.options.endpoint_identity(self.name),
            "bradley_terry": False,
        }

    def fingerprint(self) -> str:
        settings = {**self.identity(), "prompt": [self.judge.system, self.judge.user]}
        if self.model is None:
            return stable_hash(settings)
        settings["chat_template"] = self.tokenizer.chat_template
        return models.model_fingerprint(self.name, self.settings.options, settings, settings["commit"])

    def use_cache(self, cache) -> None:
        """Keep replies in `cache` (a `ScoreCache`) as they arrive, and read those it has."""
        self.store = cache

    def describe(self) -> str:
        where = (
            f"{self.backend.base_url} ({self.backend.model})" if self.options.api_base else self.model.device
        )
        return (
            f"{self.name}: generative judge, format {self.format_name} ({self.judge.mode}), on {where}, "
            f"up to {self.generation.max_new_tokens} new tokens, temperature {self.generation.temperature}"
        )

    def requests(self, unit) -> list[Request]:
        """The prompts a unit needs: a pair's two orders, or a completion's one prompt."""
        asked = question(unit.prompt)
        if isinstance(unit, PairUnit):
            return [
                Request.of("chosen first", self.judge.messages(asked, unit.chosen, unit.rejected)),
                Request.of("rejected first", self.judge.messages(asked, unit.rejected, unit.chosen)),
            ]
        return [Request.of("response", self.judge.messages(asked, unit.response))]

    def score_stream(self, units):
        for start in range(0, len(units), CHUNK):
            indices = list(range(start, min(start + CHUNK, len(units))))
            asked = [self.requests(units[i]) for i in indices]
            replies = self._replies([request for requests in asked for request in requests])
            yield indices, np.array([self._score(requests, replies) for requests in asked], dtype=np.float64)

    def _replies(self, requests: list[Request]) -> dict[str, dict]:
        """The reply to each request's chat, by prompt hash: those stored, and the rest generated (each stored
        as it arrives)."""
        keys = {r.key: r.chat for r in requests}
        found = self.store.replies(list(keys))
        missing = [key for key in keys if key not in found]
        for index, record in self._ask([keys[k] for k in missing]):
            self.store.put_reply(missing[index], record)
            found[missing[index]] = record
            self.usage["requests"] += 1
            self.usage["prompt_tokens"] += record["prompt_tokens"]
            self.usage["completion_tokens"] += record["completion_tokens"]
        return found

    def _ask(self, chats: list[list[dict]]):
        """Yield (index into `chats`, the reply's record: text, parsed verdict, token counts) as replies arrive."""
        for index, reply in self.backend.generate(chats, self.generation):
            yield index, reply.record(self.judge.parse(reply.text))

    def _score(self, requests: list[Request], replies: dict[str, dict]) -> float:
        """A completion's score, or a pair's P(chosen better) averaged over its two orders."""
        values = [self.value(replies[r.key]["verdict"]) for r in requests]
        return values[0] if len(values) == 1 else (values[0] + 1 - values[1]) / 2

    def value(self, verdict) -> float:
        return score_of(self.judge, verdict)

    def generations(self, units: list) -> list[list[dict]]:
        """Per unit, its replies as the generations file records them: order, prompt hash, text, parsed verdict
        (None: unparsed)."""
        asked = [self.requests(u) for u in units]
        found = self.store.replies(list({r.key for requests in asked for r in requests}))
        return [
            [
                {
                    "order": r.order,
                    "prompt_hash": r.key,
                    "text": found.get(r.key, {}).get("text"),
                    "verdict": found.get(r.key, {}).get("verdict"),
                }
                for r in requests
            ]
            for requests in asked
        ]

    def summary(self) -> str | None:
        if not self.usage["requests"]:
            return None
        return (
            f"{self.usage['requests']:,} judge replies generated: {self.usage['prompt_tokens']:,} prompt tokens, "
            f"{self.usage['completion_tokens']:,} completion tokens"
        )
