"""The registry of known reward models: how each public reward model is read, so that `--model NAME` alone scores
it correctly (`social-rm models` lists them). Explicit flags override an entry; an unknown model takes the defaults
(the read-out chosen from the model) and the run says so.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass
from pathlib import Path

# Chat formats of models released without a chat template, as their model cards write them.
# (newlines as {{ '\n' }}: transformers renders templates with trim_blocks, which drops a newline after a block tag)
HUMAN_ASSISTANT = (
    "{% for m in messages %}{% if not loop.first %}{{ '\\n' }}{% endif %}{% if m['role'] == 'user' %}Human: {{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}Assistant: {{ m['content'] }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '\\nAssistant: ' }}{% endif %}"
)
LLAMA2_INST = (
    "{% for m in messages %}{% if m['role'] == 'user' %}<s>[INST] {{ m['content'] }} </s> [/INST]"
    "{% elif m['role'] == 'assistant' %} {{ m['content'] }}</s>{% endif %}{% endfor %}"
)


@dataclass(frozen=True)
class KnownModel:
    pattern: (
        str  # a Hub id, `*` wildcards allowed, matched case-insensitively; a local folder matches by its name
    )
    reward_from: str  # readouts.READOUTS
    license: str
    link: str
    kind: str = "classifier"
    label_index: int | None = None
    token_index: int | None = None  # token-logit: the vocabulary entry whose logit is the reward
    trust_remote_code: bool = False  # the model needs its repository's code (the user still passes the flag)
    chat_template: str | None = None  # replaces a missing or wrong chat template
    dtype: str = "bfloat16"  # the dtype it was released in, used on an accelerator with --dtype auto
    model_class: str | None = None  # "module:Class" where an installed package defines the model's class
    note: str = ""

    def matches(self, name: str) -> bool:
        pattern = self.pattern.lower()
        if fnmatch.fnmatchcase(name.lower(), pattern):
            return True
        folder = Path(name)
        return folder.is_dir() and fnmatch.fnmatchcase(folder.resolve().name.lower(), pattern.split("/")[-1])

    def describe(self) -> str:
        shown = {
            k: v
            for k, v in asdict(self).items()
            if k not in ("pattern", "note", "chat_template") and v is not None and v is not False and v != ""
        }
        fixed = ", chat template fixed" if self.chat_template else ""
        return f"{self.pattern}: " + ", ".join(f"{k} {v}" for k, v in shown.items()) + fixed


def _hub(name: str) -> str:
    return f"https://huggingface.co/{name.rstrip('*')}"


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel(
        "Skywork/Skywork-Reward-V2-Llama-3.1-8B*",
        "logits",
        "llama3.1",
        _hub("Skywork/Skywork-Reward-V2-Llama-3.1-8B"),
    ),
    KnownModel(
        "Skywork/Skywork-Reward-V2-Qwen3-*",
        "logits",
        "apache-2.0",
        _hub("Skywork/Skywork-Reward-V2-Qwen3-8B"),
    ),
    KnownModel(
        "Skywork/Skywork-Reward-Gemma-2-27B*",
        "logits",
        "Skywork Community License; Gemma terms",
        _hub("Skywork/Skywork-Reward-Gemma-2-27B-v0.2"),
        note="Gemma-2 soft-caps its attention: scored with eager attention, in bfloat16 on a GPU",
    ),
    KnownModel(
        "Skywork/Skywork-Reward-Llama-3.1-8B*",
        "logits",
        "Skywork Community License; Llama 3.1",
        _hub("Skywork/Skywork-Reward-Llama-3.1-8B-v0.2"),
    ),
    KnownModel(
        "allenai/Llama-3.1-Tulu-3-8B-RM", "logits", "llama3.1", _hub("allenai/Llama-3.1-Tulu-3-8B-RM")
    ),
    KnownModel(
        "OpenAssistant/reward-model-deberta-v3-large-v2",
        "logits",
        "mit",
        _hub("OpenAssistant/reward-model-deberta-v3-large-v2"),
        dtype="float32",
        note="an encoder: padded batches; its tokenizer has no chat template, so the plain transcript is used",
    ),
    KnownModel(
        "RLHFlow/ArmoRM-Llama3-8B-v0.1",
        "score",
        "llama3",
        _hub("RLHFlow/ArmoRM-Llama3-8B-v0.1"),
        trust_remote_code=True,
        note="--label-index N reads objective N of its 19 `rewards` instead",
    ),
    KnownModel(
        "internlm/internlm2-*reward",
        "first-output",
        "other (InternLM licence: free commercial use on application)",
        _hub("internlm/internlm2-7b-reward"),
        trust_remote_code=True,
        note="read through its own `get_score`, which appends its reward token",
    ),
    KnownModel(
        "Qwen/Qwen2.5-Math-RM-72B",
        "first-output",
        "qwen",
        _hub("Qwen/Qwen2.5-Math-RM-72B"),
        trust_remote_code=True,
        note="72B: --device-map auto spreads it over the GPUs",
    ),
    KnownModel(
        "openbmb/Eurus-RM-7b",
        "first-output",
        "apache-2.0",
        _hub("openbmb/Eurus-RM-7b"),
        trust_remote_code=True,
    ),
    KnownModel(
        "berkeley-nest/Starling-RM-7B-alpha",
        "value-head",
        "see the model card",
        _hub("berkeley-nest/Starling-RM-7B-alpha"),
        chat_template=LLAMA2_INST,
        note="needs its card's GPTRewardModel class saved with the weights (--trust-remote-code)",
    ),
    KnownModel(
        "Nexusflow/Starling-RM-34B",
        "value-head",
        "see the model card",
        _hub("Nexusflow/Starling-RM-34B"),
        note="needs its card's value-head class saved with the weights (--trust-remote-code)",
    ),
    KnownModel(
        "openbmb/UltraRM-13b",
        "value-head",
        "mit",
        _hub("openbmb/UltraRM-13b"),
        chat_template=HUMAN_ASSISTANT,
        note="needs its card's LlamaRewardModel class saved with the weights (--trust-remote-code)",
    ),
    KnownModel(
        "nvidia/Llama-3.1-Nemotron-70B-Reward-HF",
        "token-logit",
        "llama3.1",
        _hub("nvidia/Llama-3.1-Nemotron-70B-Reward-HF"),
        token_index=0,
        note="a causal LM: the logit of token 0 after the conversation and the next generation prompt",
    ),
    KnownModel(
        "llm-blender/PairRM*",
        "pairwise",
        "mit",
        _hub("llm-blender/PairRM-hf"),
        dtype="float32",
        model_class="llm_blender.pair_ranker.pairrm:DebertaV2PairRM",
        note="pip install llm-blender; scores the two responses together, both orders",
    ),
)


def find(name: str) -> KnownModel | None:
    """The registry entry for a model name or folder, or None. The first match wins (specific patterns first)."""
    return next((entry for entry in KNOWN_MODELS if entry.matches(name)), None)


def table() -> str:
    """The registry as the `social-rm models` table: how each model is read (read-out, label or token index),
    its dtype, whether its chat template is fixed or it needs its own code, its licence and link."""

    def read_out(e: KnownModel) -> str:
        index = e.label_index if e.label_index is not None else e.token_index
        return e.reward_from + (f"[{index}]" if index is not None else "")

    rows = [("model", "read-out", "dtype", "template", "own code", "licence", "link")] + [
        (
            e.pattern,
            read_out(e),
            e.dtype,
            "fixed" if e.chat_template else "",
            "yes" if e.trust_remote_code else "",
            e.license,
            e.link,
        )
        for e in KNOWN_MODELS
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]
    return "\n".join(
        [
            *lines,
            "read-out[i]: the label (or token) index read; template fixed: the registry's chat template is used",
        ]
    )
