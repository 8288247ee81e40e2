"""Judges behind an OpenAI-compatible chat-completions endpoint (vLLM, SGLang, TGI, `transformers serve`, hosted
APIs), through the `openai` client: at most `--api-concurrency` requests in flight, each with a timeout, retried
with exponential backoff on 408/409/429/5xx and connection errors (the client's own retry policy). Replies are
handed back as they arrive, so the caller stores each at once and a killed run loses none. The key is read from an
environment variable and never printed or written.

    endpoint = Endpoint("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-7B-Instruct")
    for index, reply in endpoint.generate(chats, GenerationSettings(max_new_tokens=512)): ...
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from social_rm.errors import SocialRMError
from social_rm.scoring.generation import GenerationSettings, Reply

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
TOP_LOGPROBS = 20


class EndpointError(SocialRMError, RuntimeError):
    """A request the endpoint refused, or a reply without what the scorer needs."""


@dataclass
class Endpoint:
    base_url: str
    model: str
    key_env: str | None = None
    concurrency: int = 8
    timeout: float = 600.0
    max_retries: int = 6

    def __post_init__(self):
        try:
            import openai
        except ImportError:
            raise SocialRMError("--api-base needs the openai client: pip install 'social-rm[api]'") from None
        name = self.key_env or DEFAULT_KEY_ENV
        key = os.environ.get(name)
        if self.key_env and not key:
            raise SocialRMError(f"--api-key-env {name}: that environment variable is not set")
        # a local server takes any key; the client refuses to start without one
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=key or "none",
            timeout=self.timeout,
            max_retries=self.max_retries,
        )
        self.openai = openai

    def _create(self, chat: list[dict], **params):
        try:
            return self.client.chat.completions.create(model=self.model, messages=chat, **params)
        except self.openai.APIStatusError as error:
            raise EndpointError(
                f"{self.base_url}: the server refused a request for model {self.model!r} "
                f"(HTTP {error.status_code}: {_message(error)})"
            ) from None
        except self.openai.APIConnectionError as error:
            raise EndpointError(
                f"{self.base_url}: no connection after {self.max_retries} retries ({error})"
            ) from None

    def complete(self, chat: list[dict], settings: GenerationSettings) -> Reply:
        params = {"max_tokens": settings.max_new_tokens, "temperature": settings.temperature}
        if settings.temperature > 0:
            params["seed"] = settings.seed
        return _reply(self._create(chat, **params))

    def generate(self, chats: list[list[dict]], settings: GenerationSettings):
        """Yield (index into `chats`, Reply) as replies arrive, `concurrency` requests in flight."""
        yield from self._parallel(chats, lambda chat: self.complete(chat, settings))

    def first_token_logprobs(self, chat: list[dict]) -> tuple[dict[str, float], Reply]:
        """The log-probabilities of the most likely first tokens of the reply (`top_logprobs`), greedy, one token."""
        response = self._create(chat, max_tokens=1, temperature=0, logprobs=True, top_logprobs=TOP_LOGPROBS)
        choice = response.choices[0]
        content = getattr(choice.logprobs, "content", None) if choice.logprobs is not None else None
        if not content:
            raise EndpointError(
                f"{self.base_url} gave no logprobs for model {self.model!r}: the judge kind reads the verdict's "
                "probability from them. Use a server that returns logprobs and top_logprobs (vLLM, SGLang, "
                "OpenAI), or --kind generative, which reads a written verdict"
            )
        top = {entry.token: entry.logprob for entry in content[0].top_logprobs or []}
        top.setdefault(content[0].token, content[0].logprob)
        return top, _reply(response)

    def verdict_probabilities(self, chats: list[list[dict]], verdicts: tuple[str, str]):
        """Yield (index, P(first verdict), Reply) from each chat's first-token logprobs: the two verdict tokens'
        probabilities renormalised (the tokens exactly, as the local judge reads their ids); a verdict outside the top
        logprobs counts as 0, and where neither is there P is None."""

        def one(chat):
            top, reply = self.first_token_logprobs(chat)
            p = [math.exp(top[v]) if v in top else 0.0 for v in verdicts]
            return (p[0] / (p[0] + p[1]) if p[0] + p[1] > 0 else None), reply

        for index, (p, reply) in self._parallel(chats, one):
            yield index, p, reply

    def _parallel(self, items: list, call):
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="social-rm-api") as pool:
            futures = {pool.submit(call, item): i for i, item in enumerate(items)}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:
                for future in futures:
                    future.cancel()


def _reply(response) -> Reply:
    """A chat completion's text and token counts (a server may leave the counts out)."""
    usage = response.usage
    return Reply(
        response.choices[0].message.content or "",
        getattr(usage, "prompt_tokens", 0) or 0,
        getattr(usage, "completion_tokens", 0) or 0,
    )


def _message(error) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        body = body.get("error", body)
        if isinstance(body, dict):
            body = body.get("message", body)
    return " ".join(str(body or error).split())[:300]
