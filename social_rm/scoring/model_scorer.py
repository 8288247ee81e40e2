"""The base of every scorer that runs a model: loading it, recording what produced the scores, and streaming
units through it chunk by chunk, the packed engine where every model read honours a 4-D mask, padded,
length-sorted batches elsewhere. A family of scorers (rewards, policies, judges) says how its units become
sequences (`sequences`) and how a batch is read (`score`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import cached_property

from social_rm.scoring import batching, engine, models
from social_rm.scoring.encoding import Encoded, encode_completions
from social_rm.scoring.options import ModelSettings
from social_rm.scoring.units import stable_hash

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A chunk's sequences, and their packed rows where the scorer packs (else None)."""

    encoded: list[Encoded]
    rows: list[engine.Row] | None


class ModelScorer:
    kind = ""
    unit = "completion"
    auto_class = "AutoModelForCausalLM"
    # whether sigmoid(chosen - rejected) is the model's probability that chosen is better
    bradley_terry = False
    model_class: str | None = None  # "module:Class" where an installed package defines the model's class

    def __init__(self, settings: ModelSettings, options=None, loaded: tuple | None = None):
        """Loads `settings.model`, or takes `loaded` = (tokenizer, model) already in memory (benchmarks). `options`
        is the kind's own options object. A model with its own code needs --trust-remote-code."""
        self.settings, self.options = settings, options
        self.load_options = settings.options
        self.name = settings.model
        self.truncated = 0
        self.tokens = (
            0  # tokens through the model (packed rows, or padded batches' sequences without padding)
        )
        self.budget: batching.TokenBudget | None = None  # sized at the first batch
        self.tokenizer, self.model = loaded or models.load(
            self.name,
            self.load_options,
            settings.chat_template,
            self.auto_class,
            self.model_class,
            self.check_config,
        )

    def check_config(self, config: dict) -> None:
        """Refuse a model the kind cannot read, before loading it (`config`: its config.json)."""

    def identity(self) -> dict:
        load = self.load_options
        return {
            "name": self.settings.name or self.name,
            **({"local_path": self.name} if self.settings.name else {}),
            "kind": self.kind,
            "parameters": self.model.num_parameters(),
            "revision": load.revision,
            "commit": commit_of(self.model),
            "dtype": load.dtype,
            "quantization": load.quantization,
            "max_length": self.settings.max_length,
            "bradley_terry": self.bradley_terry,
            **(asdict(self.options) if self.options is not None else {}),
        }

    def fingerprint(self) -> str:
        settings = {**self.identity(), "chat_template": self.tokenizer.chat_template}
        return models.model_fingerprint(self.name, self.load_options, settings, commit_of(self.model))

    def score_stream(self, units):
        """Chunk by chunk (`batching.key_chunks`: an item's units together), each chunk prepared (`prepare`) in the
        `background` or when it is reached."""
        first = batching.FIRST_CHUNK if self.background else batching.LARGEST_CHUNK
        chunks = batching.key_chunks([u.prompt for u in units], first)
        for chunk, prepared in batching.prefetched(
            chunks, lambda chunk: self.prepare([units[i] for i in chunk]), self.background
        ):
            for indices, outputs in self.score(prepared):
                yield [chunk[i] for i in indices], outputs
            del prepared  # freed before the next chunk is prepared and the runner's next collection

    @cached_property
    def background(self) -> bool:
        """Whether the next chunk is chat-templated, tokenized and packed in a background thread while the model
        scores this one: beside an accelerator, so that it does not wait for the host, starting on a small chunk.
        On the CPU the same cores would do both (on 2 cores the thread only contended: 20,000 BBQ pairs with the
        tests' tiny model, fastest of 3 runs, 6.66 s with it and 6.20 s without; the `small` config on 2,000 pairs
        6.20 s and 6.06 s): each chunk is prepared when it is reached, and is as large as a chunk may be, so that
        its rows sort into batches of nearly one width (4,000 BBQ pairs, tests' tiny model: 4% of tokens and 8% of
        attention padding against 20% and 40% in small chunks; the engine's forward passes 0.55 s against 0.68 s)."""
        return models.input_device(self.model).type != "cpu"

    def sequences(self, units) -> tuple[list, list[Encoded]]:
        """(a key per sequence: sequences with one key share their common prefix when packed; the sequences)."""
        return [u.prompt for u in units], self.encode(units)

    def encode(self, units, generation_prompt: bool = False) -> list[Encoded]:
        return encode_completions(self.tokenizer, units, self.settings.max_length, generation_prompt)

    def packing_models(self) -> tuple:
        """The models whose forward passes read the sequences when packed (() where the scorer has no packed read)."""
        return (self.model,)

    @cached_property
    def packs(self) -> bool:
        """Whether the sequences go through the packed engine: every model that reads them honours a 4-D mask.
        Decided (and, where not, logged) once per run."""
        readers = self.packing_models()
        if readers and all(engine.supports_packing(m) for m in readers):
            return True
        logger.info(
            f"{self.name}: {type(self.model).__name__} is not known to honour a packed 4-D attention mask; "
            "scoring in padded, length-sorted batches"
        )
        return False

    def prepare(self, units) -> Prepared:
        """The host-side work on `units` (run in a background thread): their sequences, and the packed rows where
        the scorer packs (an item's sequences share their prompt unless --no-prefix-sharing)."""
        keys, encoded = self.sequences(units)
        self.truncated += sum(e.truncated for e in encoded)
        rows = None
        if self.packs:
            rows = engine.pack(keys, encoded, self.settings.prefix_sharing)
        self.tokens += sum(len(r.ids) for r in rows) if rows is not None else sum(len(e.ids) for e in encoded)
        return Prepared(encoded, rows)

    def token_budget(self) -> batching.TokenBudget:
        """Tokens per batch, padding included: --max-tokens-per-batch, else sized from the device's free memory
        once, at the first call (it halves on out-of-memory for the rest of the run)."""
        if self.budget is None:
            tokens = self.settings.max_tokens_per_batch
            self.budget = batching.TokenBudget(
                tokens or models.auto_token_budget(self.model, engine.ROW_LENGTH)
            )
        return self.budget

    def describe(self) -> str:
        """The start-up line of a run: the device, dtype, how sequences go through the model and the budget."""
        path = "packed rows (each shared start once)" if self.packs else "padded, length-sorted batches"
        if self.packs and not self.settings.prefix_sharing:
            path = "packed rows (no prefix sharing)"
        budget = self.token_budget().tokens
        auto = "" if self.settings.max_tokens_per_batch else " (auto, from free memory)"
        return (
            f"{self.name}: {self.kind} on {self.model.device}, {self.model.dtype}, {path}, "
            f"{budget:,} tokens a batch{auto}, --max-length {self.settings.max_length}"
        )

    def score(self, prepared: Prepared):
        """Yield (indices into the prepared sequences' units, their scores) batch by batch."""
        raise NotImplementedError

    def run(self, prepared: Prepared, packed, plain):
        """Yield (sequence indices, outputs) batch by batch: the packed rows through `packed(rows)`, which returns
        the members it read and their outputs; where the scorer does not pack, padded, length-sorted batches of
        sequences through `plain(encoded sequences)`."""
        rows, encoded = prepared.rows, prepared.encoded
        if rows is None:
            run = lambda batch: plain([encoded[i] for i in batch])  # noqa: E731
            yield from batching.run_batches([len(e.ids) for e in encoded], self.token_budget(), run)
            return
        run = lambda batch: packed([rows[i] for i in batch])  # noqa: E731
        for _, (members, outputs) in batching.run_batches(
            [len(r.ids) for r in rows], self.token_budget(), run
        ):
            yield members, outputs


def commit_of(model) -> str | None:
    """The Hub commit sha transformers resolved the model's revision to (None for a local folder)."""
    return getattr(model.config, "_commit_hash", None)


def fingerprint_with(*fingerprints: str) -> str:
    """One fingerprint of several (a policy and its reference model)."""
    return stable_hash(list(fingerprints))
