"""Reward models: one reward per prompt + response (or, for a pairwise read-out, one probability per pair), read
from the model's output by a read-out (`readouts`): `--reward-from` names it, else the registry of known reward
models, else it is chosen from the loaded model.

    scorer = get_scorer("classifier", ModelSettings("Skywork/Skywork-Reward-V2-Qwen3-0.6B"))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from social_rm.scoring import readouts
from social_rm.scoring.encoding import TOKENIZE
from social_rm.scoring.model_scorer import ModelScorer
from social_rm.scoring.options import ModelSettings, option

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RewardOptions:
    reward_from: str | None = option(
        None,
        "where the reward is read (default: the registry entry, else chosen from the model): "
        "`social-rm models --read-outs` lists them",
        choices=lambda: list(readouts.READOUTS),
    )
    label_index: int | None = option(
        None, "the logit to read on a multi-logit head (default: the last)", type=int
    )
    token_index: int | None = option(
        None, "--reward-from token-logit: the vocabulary entry whose logit is the reward", type=int
    )
    token_against: int | None = option(
        None,
        "--reward-from token-logit: a vocabulary entry whose logit is subtracted (Nemotron-Reward-Principle's "
        "No against the Yes of --token-index)",
        type=int,
    )
    follow_up: str | None = option(
        None,
        "--reward-from token-logit: a user turn after the response, followed by the generation prompt, where "
        "the logits are read (Nemotron-Reward-Principle's principle question)",
    )
    tokenize: str | None = option(
        None,
        "how the conversation becomes tokens, as the model's card does it (default: the registry entry, else "
        "template): " + "; ".join(f"{k}: {v}" for k, v in TOKENIZE.items()),
        choices=list(TOKENIZE),
    )
    # "module:Class" where an installed package defines the class (the registry's); not a command-line option
    model_class: str | None = None


class RewardModelScorer(ModelScorer):
    """A reward model read by its read-out: the read-out encodes the units and reads each batch, packed where it
    computes the reward from a backbone the engine serves, padded otherwise."""

    kind = "classifier"

    def __init__(
        self, settings: ModelSettings, options: RewardOptions | None = None, loaded: tuple | None = None
    ):
        options = options or RewardOptions()
        readout = readouts.get_readout(options.reward_from)
        self.auto_class, self.model_class = readout.auto_class, options.model_class
        super().__init__(settings, options, loaded)
        if options.reward_from is None:
            self.options = replace(
                options, reward_from=readouts.detect(self.model, self.tokenizer, self.name)
            )
            readout = readouts.get_readout(self.reward_from)
            logger.info(f"{self.name}: reading the reward from {self.reward_from} ({readout.help})")
        self.readout = readout(self.model, self.tokenizer, settings, self.options)
        self.unit, self.bradley_terry = self.readout.unit, self.readout.bradley_terry

    @property
    def reward_from(self) -> str:
        return self.options.reward_from

    def check_config(self, config: dict) -> None:
        readouts.get_readout(self.options.reward_from).check(self.name, config, self.options)

    def identity(self) -> dict:
        return {**super().identity(), **self.readout.identity()}

    def sequences(self, units):
        return self.readout.sequences(units)

    def packing_models(self) -> tuple:
        return self.readout.packing_models()

    def score(self, prepared):
        readout = self.readout
        packed = lambda rows: readout.read_packed(rows, prepared.encoded)  # noqa: E731
        yield from readout.combine(self.run(prepared, packed, readout.read_padded))
