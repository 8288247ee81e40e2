"""`social-rm models NAME`: a model's registry entry and one social-pairs pair rendered exactly as the scorer will
give it to the model (its text, token count and the position read), to check against the model's card. Only the
tokenizer and the config are read; no weights are loaded.
"""

from __future__ import annotations

from types import SimpleNamespace

from social_rm.scoring import known_models
from social_rm.scoring.options import LoadOptions, ModelSettings
from social_rm.scoring.readouts import get_readout
from social_rm.scoring.rewards import RewardOptions
from social_rm.scoring.units import Completion, PairUnit

WHERE = {
    "token-logit": "the logit of token {token_index} as the next token after token {last}",
    "pairwise": "the model's own pooling of the whole pair",
    "score": "the model's own forward pass (its `score`)",
    "first-output": "the model's own forward pass (its first output)",
}


def show(name: str, row: dict, max_length: int | None, load: LoadOptions | None = None) -> str:
    """The entry of `name` (or that it has none) and `row`'s chosen completion (a pairwise model: its pair, chosen
    first) as the model will read it."""
    from transformers import PretrainedConfig

    from social_rm.scoring.models import load_tokenizer, raw_config

    load = load or LoadOptions()
    entry = known_models.find(name)
    lines = [
        f"known reward model {entry.describe()}" + (f"\n  {entry.note}" if entry.note else "")
        if entry
        else f"{name} is not in the registry: read with the defaults (the read-out chosen from the model)"
    ]
    options = RewardOptions(
        reward_from=entry.reward_from if entry else "logits",
        label_index=entry.label_index if entry else None,
        token_index=entry.token_index if entry else None,
        tokenize=entry.tokenize if entry else None,
    )
    tokenizer = load_tokenizer(name, load, entry.chat_template if entry else None)
    config = SimpleNamespace(config=PretrainedConfig.from_dict(raw_config(name, load)))
    readout = get_readout(options.reward_from)(
        config, tokenizer, ModelSettings(name, load, max_length), options
    )
    prompt = tuple((m["role"], m["content"]) for m in row["prompt"])
    chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
    unit = PairUnit(prompt, chosen, rejected) if readout.unit == "pair" else Completion(prompt, chosen)
    encoded = readout.sequences([unit])[1][0]
    last = len(encoded.ids) - 1
    where = WHERE.get(options.reward_from, "the head at token {last}").format(
        token_index=options.token_index, last=last
    )
    shown = "chosen response first" if readout.unit == "pair" else "its chosen response"
    tokens = tokenizer.convert_ids_to_tokens(encoded.ids[-3:])
    return "\n".join(
        [
            *lines,
            f"pair {row['id']} ({shown}), as {name} reads it:",
            "-" * 80,
            tokenizer.decode(encoded.ids),
            "-" * 80,
            f"{len(encoded.ids):,} tokens (response from token {encoded.response_start})"
            + (", cut at --max-length" if encoded.truncated else ""),
            f"reward read from {where}; the last tokens: {tokens}",
        ]
    )
