"""Policies as reward proxies: an instruction-tuned causal LM's log-probability of the response (`logprob`), and a
DPO-trained policy's implicit reward against its reference model (`dpo`)."""

from __future__ import annotations

from dataclasses import dataclass

from social_rm.errors import SocialRMError
from social_rm.scoring import engine, models
from social_rm.scoring.model_scorer import ModelScorer, commit_of, fingerprint_with
from social_rm.scoring.options import ModelSettings, option
from social_rm.scoring.padded import reduce, response_logprobs


@dataclass(frozen=True)
class LogprobOptions:
    reduction: str = option(
        "mean", "mean or sum of the response tokens' log-probabilities", choices=("mean", "sum")
    )


class LogprobScorer(ModelScorer):
    """The mean (or sum) log-probability of the response tokens given the chat-templated prompt."""

    kind = "logprob"

    def __init__(
        self, settings: ModelSettings, options: LogprobOptions | None = None, loaded: tuple | None = None
    ):
        options = options or LogprobOptions()
        if options.reduction not in ("mean", "sum"):
            raise SocialRMError(f"--reduction must be mean or sum (got {options.reduction!r})")
        super().__init__(settings, options, loaded)

    def score(self, prepared):
        reduction = self.options.reduction

        def packed(rows):
            members, values = engine.forward(self.model, rows, "logprob", prepared.encoded)
            return members, reduce(values, reduction)

        yield from self.run(
            prepared, packed, lambda encoded: response_logprobs(self.model, encoded, reduction)
        )


@dataclass(frozen=True)
class DPOOptions:
    ref_model: str | None = option(None, "the reference policy (a model folder or Hub id)")


class DPOScorer(ModelScorer):
    """The implicit reward of a DPO-trained policy: log π(y|x) − log π_ref(y|x), summed over response tokens
    (β only rescales it, so ranks and the metric do not depend on it)."""

    kind = "dpo"
    bradley_terry = True

    def __init__(
        self, settings: ModelSettings, options: DPOOptions | None = None, loaded: tuple | None = None
    ):
        options = options or DPOOptions()
        if not options.ref_model:
            raise SocialRMError("the dpo kind needs --ref-model (the reference policy)")
        super().__init__(settings, options, loaded)
        self.reference = models.load_model(self.auto_class, options.ref_model, self.load_options)
        if self.reference.config.vocab_size != self.model.config.vocab_size:
            raise SocialRMError(
                f"{options.ref_model} and {settings.model} have different vocabularies; DPO needs one tokenizer"
            )

    def packing_models(self) -> tuple:
        return (self.model, self.reference)

    def fingerprint(self) -> str:
        reference = models.model_fingerprint(
            self.options.ref_model, self.load_options, {}, commit_of(self.reference)
        )
        return fingerprint_with(super().fingerprint(), reference)

    def score(self, prepared):
        encoded = prepared.encoded

        def packed(rows):
            members, policy = engine.forward(self.model, rows, "logprob", encoded)
            reference = engine.forward(self.reference, rows, "logprob", encoded)[1]
            return members, reduce(policy, "sum") - reduce(reference, "sum")

        def plain(batch):
            return response_logprobs(self.model, batch, "sum") - response_logprobs(
                self.reference, batch, "sum"
            )

        yield from self.run(prepared, packed, plain)
