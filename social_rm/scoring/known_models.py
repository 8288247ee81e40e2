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
INST = (
    "{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]"
    "{% elif m['role'] == 'assistant' %} {{ m['content'] }}{% endif %}{% endfor %}"
)
ARCHITECTURES = "social_rm.scoring.architectures"
# Llama-3.3-Nemotron-70B-Reward-Principle's card: the question asked after the response
PRINCIPLE_QUESTION = (
    "Evaluate the response to the previous prompt in terms of whether it satisfies this principle: {principle}. "
    "Only answer Yes or No."
)
PRINCIPLE = "harmlessness, fairness and avoidance of stereotypes"


@dataclass(frozen=True)
class KnownModel:
    # a Hub id, `*` wildcards allowed, matched case-insensitively; a local folder matches by its name
    pattern: str
    reward_from: str  # readouts.READOUTS
    license: str
    link: str
    # where the reading is restated from: the model card, or reward-bench's loader where the card has no code
    source: str = "card"
    kind: str = "classifier"
    label_index: int | None = None
    token_index: int | None = None  # token-logit: the vocabulary entry whose logit is the reward
    token_against: int | None = None  # token-logit: the entry whose logit is subtracted
    follow_up: str | None = None  # token-logit: a user turn after the response (a principle question)
    tokenize: str = "template"  # encoding.TOKENIZE: how the card turns the conversation into tokens
    trust_remote_code: bool = False  # the model needs its repository's code (the user still passes the flag)
    chat_template: str | None = None  # replaces a missing or wrong chat template
    dtype: str = "bfloat16"  # the dtype it was released in, used on an accelerator with --dtype auto
    model_class: str | None = None  # "module:Class" where an installed package defines the model's class
    judge_format: str | None = None  # a generative judge's prompt format (judge_formats.FORMATS)
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
            if k not in ("pattern", "note", "chat_template", "license", "link", "follow_up")
            and v is not None
            and v is not False
            and v != ""
        }
        fixed = ", chat template fixed" if self.chat_template else ""
        fixed += f", then the question {self.follow_up!r}" if self.follow_up else ""
        return f"{self.pattern}: " + ", ".join(f"{k} {v}" for k, v in shown.items()) + fixed


def _hub(name: str) -> str:
    return f"https://huggingface.co/{name.rstrip('*')}"


def _entry(pattern: str, reward_from: str, license: str, **fields) -> KnownModel:
    return KnownModel(pattern, reward_from, license, _hub(fields.pop("link", pattern)), **fields)


def _judge(pattern: str, judge_format: str, license: str, **fields) -> KnownModel:
    """A generative judge: it writes, and its verdict is parsed by `judge_format`."""
    return _entry(pattern, "", license, kind="generative", judge_format=judge_format, **fields)


KNOWN_MODELS: tuple[KnownModel, ...] = (
    # Skywork-Reward-V2's card: the template's text without its BOS, through tokenizer(text): one BOS
    _entry("Skywork/Skywork-Reward-V2-Llama-3.1-8B*", "logits", "llama3.1", tokenize="single-bos"),
    _entry("Skywork/Skywork-Reward-V2-Llama-3.2-*", "logits", "llama3.2", tokenize="single-bos"),
    _entry(
        "Skywork/Skywork-Reward-V2-Qwen3-*",
        "logits",
        "apache-2.0",
        tokenize="single-bos",
        link="Skywork/Skywork-Reward-V2-Qwen3-8B",
        note="Qwen3's tokenizer adds no BOS: the template's tokens as they are",
    ),
    _entry(
        "Skywork/Skywork-Reward-Gemma-2-27B*",
        "logits",
        "Skywork Community License; Gemma terms",
        link="Skywork/Skywork-Reward-Gemma-2-27B-v0.2",
        note="Gemma-2 soft-caps its attention: loaded with eager attention",
    ),
    _entry(
        "Skywork/Skywork-Reward-Llama-3.1-8B*",
        "logits",
        "Skywork Community License; Llama 3.1",
        link="Skywork/Skywork-Reward-Llama-3.1-8B-v0.2",
    ),
    _entry(
        "allenai/Llama-3.1-Tulu-3-8B-RM",
        "logits",
        "llama3.1",
        source="reward-bench",
        note="the card has no code; reward-bench tokenizes the templated text again and masks the first of the "
        "two BOS, which leaves the template's one: read with the template's tokens",
    ),
    _entry(
        "infly/INF-ORM-Llama3.1-70B",
        "logits",
        "llama3.1",
        model_class=f"{ARCHITECTURES}:INFORMForSequenceClassification",
        note="the card's class: a two-layer score head, read before the first pad token",
    ),
    _entry(
        "OpenAssistant/reward-model-deberta-v3-large-v2",
        "logits",
        "mit",
        tokenize="text-pair",
        dtype="float32",
        note="the card reads tokenizer(question, answer); its Hub main holds only pytorch_model.bin (--allow-pickle)",
    ),
    _entry(
        "RLHFlow/ArmoRM-Llama3-8B-v0.1",
        "score",
        "llama3",
        trust_remote_code=True,
        note="--label-index N reads objective N of its 19 `rewards` instead",
    ),
    _entry("nicolinho/QRM-Llama3.1-8B*", "score", "llama3.1", trust_remote_code=True),
    _entry("nicolinho/QRM-Llama3-8B", "score", "llama3", source="reward-bench", trust_remote_code=True),
    _entry(
        "nicolinho/QRM-Gemma-2-27B",
        "score",
        "gemma",
        trust_remote_code=True,
        note="Gemma-2 soft-caps its attention: loaded with eager attention",
    ),
    _entry(
        "LxzGordon/URM-LLaMa-3.1-8B",
        "logits",
        "llama3.1",
        label_index=0,
        tokenize="tokenizer",
        trust_remote_code=True,
        note="the card reads logits[0][0] of tokenizer(templated text): two BOS",
    ),
    _entry(
        "Ray2333/GRM-Llama3.2-3B-rewardmodel-ft",
        "logits",
        "llama3.2",
        tokenize="tokenizer",
        note="the card reads tokenizer.encode_plus(templated text): two BOS",
    ),
    _entry(
        "Ray2333/GRM-Llama3-8B-rewardmodel-ft",
        "logits",
        "apache-2.0",
        tokenize="tokenizer",
        note="the card reads tokenizer.encode_plus(templated text): two BOS",
    ),
    _entry(
        "Ray2333/GRM-gemma2-2B-rewardmodel-ft",
        "logits",
        "gemma",
        tokenize="tokenizer",
        note="the card reads tokenizer.encode_plus(templated text): two BOS; eager attention",
    ),
    _entry(
        "Ray2333/GRM-*sftreg",
        "first-output",
        "apache-2.0",
        tokenize="tokenizer",
        trust_remote_code=True,
        link="Ray2333/GRM-llama3-8B-sftreg",
        note="its own GRewardModel code; the card reads the first output of tokenizer.encode_plus(templated text)",
    ),
    _entry(
        "internlm/internlm2-*reward",
        "first-output",
        "other (InternLM licence: free commercial use on application)",
        trust_remote_code=True,
        dtype="float16",
        link="internlm/internlm2-7b-reward",
        note="its reward token (config reward_token_id) appended, as its own `get_score` does",
    ),
    _entry(
        "Qwen/Qwen2.5-Math-RM-72B",
        "first-output",
        "qwen",
        trust_remote_code=True,
        note="72B: --device-map auto spreads it over the GPUs; no pad token: each sequence runs alone",
    ),
    _entry(
        "openbmb/Eurus-RM-7b",
        "first-output",
        "apache-2.0",
        tokenize="tokenizer",
        trust_remote_code=True,
        chat_template=INST,
        dtype="float16",
        note="the card writes `[INST] prompt [/INST] response` and tokenizer(text) puts BOS in front",
    ),
    _entry(
        "berkeley-nest/Starling-RM-7B-alpha",
        "value-head",
        "see the model card",
        tokenize="tokenizer",
        chat_template=LLAMA2_INST,
        note="a bare checkpoint: needs its card's GPTRewardModel saved with a config (--trust-remote-code); the card "
        "writes `<s>[INST] prompt </s> [/INST] response</s>` and the tokenizer adds a second BOS",
    ),
    _entry(
        "Nexusflow/Starling-RM-34B",
        "value-head",
        "see the model card",
        source="reward-bench",
        tokenize="tokenizer",
        model_class=f"{ARCHITECTURES}:LlamaValueHeadModel",
        note="reward-bench's class: `transformer` and `v_head`",
    ),
    _entry(
        "Nexusflow/Athene-RM-*",
        "value-head",
        "see the model card",
        tokenize="tokenizer",
        model_class=f"{ARCHITECTURES}:AtheneForSequenceClassification",
        link="Nexusflow/Athene-RM-8B",
        note="the card's class: `model` and `v_head`, read at the CLS token it appends to the templated text, "
        "through tokenizer(text)",
    ),
    _entry(
        "ShikaiChen/LDL-Reward-Gemma-2-27B*",
        "logits",
        "gemma",
        source="reward-bench",
        model_class=f"{ARCHITECTURES}:LDLRewardModel27B",
        link="ShikaiChen/LDL-Reward-Gemma-2-27B-v0.1",
        note="reward-bench's class: two heads in regression_layer.pt and gating_layer.pt (read as tensors only), "
        "the expected value of a gated mixture of 10-bin distributions, read before the first pad token; eager "
        "attention",
    ),
    _entry(
        "openbmb/UltraRM-13b",
        "value-head",
        "mit",
        tokenize="tokenizer",
        chat_template=HUMAN_ASSISTANT,
        model_class=f"{ARCHITECTURES}:LlamaRegressionHeadModel",
        note="the card's LlamaRewardModel (`regression_head`); `Human: ...\nAssistant: ...` after the tokenizer's BOS",
    ),
    # The Nemotron reward models' cards: generate(max_new_tokens=1, output_scores=True) on the conversation
    # templated without a generation prompt, and the score of token 0: its logit as the next token.
    _entry("nvidia/Llama-3.1-Nemotron-70B-Reward-HF", "token-logit", "llama3.1", token_index=0),
    _entry(
        "nvidia/Llama-3.3-Nemotron-70B-Reward",
        "token-logit",
        "NVIDIA Open Model License; Llama 3.3",
        token_index=0,
    ),
    # Its card asks whether the response satisfies a principle, then reads the logits of "Yes" (9642) and "No"
    # (2822) in Llama-3's vocabulary; the principle here is what social-pairs asks of a response
    _entry(
        "nvidia/Llama-3.3-Nemotron-70B-Reward-Principle",
        "token-logit",
        "NVIDIA Open Model License; Llama 3.3",
        token_index=9642,
        token_against=2822,
        follow_up=PRINCIPLE_QUESTION.format(principle=PRINCIPLE),
        note=f"the card's question after the response, with the principle {PRINCIPLE!r} (--follow-up asks "
        "another); the reward is logit(Yes) - logit(No)",
    ),
    _entry(
        "nvidia/Llama-3.3-Nemotron-70B-Reward-Multilingual",
        "token-logit",
        "NVIDIA Open Model License; Llama 3.3",
        token_index=0,
    ),
    _entry(
        "llm-blender/PairRM*",
        "pairwise",
        "mit",
        dtype="float32",
        model_class="llm_blender.pair_ranker.pairrm:DebertaV2PairRM",
        link="llm-blender/PairRM-hf",
        note="pip install llm-blender; scores the two responses together, both orders",
    ),
    # generative judges (--kind generative), each prompted as its card or its authors' evaluation code prompts it
    _judge(
        "Skywork/Skywork-Critic-Llama-3.1-*",
        "skywork-critic",
        "other (Skywork Community License)",
        link="Skywork/Skywork-Critic-Llama-3.1-8B",
    ),
    _judge(
        "gaotang/RM-R1-Qwen2.5-Instruct-*",
        "rm-r1",
        "mit",
        link="gaotang/RM-R1-Qwen2.5-Instruct-7B",
        note="writes a rubric or a solution first",
    ),
    _judge(
        "gaotang/RM-R1-DeepSeek-Distilled-Qwen-*",
        "rm-r1-reasoning",
        "mit",
        link="gaotang/RM-R1-DeepSeek-Distilled-Qwen-7B",
        note="reasons at length: give it --max-new-tokens 8192 or more",
    ),
    _judge(
        "prometheus-eval/prometheus-*-v2.0",
        "prometheus-relative",
        "apache-2.0",
        link="prometheus-eval/prometheus-7b-v2.0",
    ),
)


def find(name: str) -> KnownModel | None:
    """The registry entry for a model name or folder, or None. The first match wins (specific patterns first)."""
    return next((entry for entry in KNOWN_MODELS if entry.matches(name)), None)


def table() -> str:
    """The registry as the `social-rm models` table: how each model is read (read-out, label or token index),
    its dtype, whether its chat template is fixed or it needs its own code, its licence and link."""

    def read_out(e: KnownModel) -> str:
        if e.judge_format:
            return f"judge: {e.judge_format}"
        index = e.label_index if e.label_index is not None else e.token_index
        against = f" - [{e.token_against}]" if e.token_against is not None else ""
        return (
            e.reward_from
            + (f"[{index}]" if index is not None else "")
            + against
            + (" after a question" if e.follow_up else "")
        )

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
