"""Every registry entry against its model card's own usage code (reward-bench's loader where the card has none):
a tiny random instance of the model's architecture and class, with its family's special tokens, chat template
and BOS behaviour, saved to a folder named as the entry, scored by `social-rm score` and by the card's code
restated here, on real social-pairs rows of three sources. They agree within 1e-5 in float32.

The cards were written for transformers 4; the calls below are their transformers 5 spellings
(`apply_chat_template(..., tokenize=True)` returns a dict, and `encode_plus(text)` is `tokenizer(text)`).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from social_rm.results.scores import read_scores
from social_rm.scoring import known_models
from social_rm.testing import tiny_config, train_tokenizer
from tests.conftest import social_rm
from tests.custom_models import modeling_cards as cards

# The families' chat templates, restated from their tokenizer_config.json (tool use left out).
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
LLAMA31 = (
    "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}"
    "{%- set messages = messages[1:] %}{%- else %}{%- set system_message = '' %}{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\n\n' }}{{- 'Cutting Knowledge Date: December 2023\n' }}"
    "{{- 'Today Date: 26 Jul 2024\n\n' }}{{- system_message }}{{- '<|eot_id|>' }}{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}"
)
GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)
QWEN3 = (
    "{% for message in messages %}{% if message['role'] == 'assistant' and loop.last %}"
    "{{ '<|im_start|>assistant\n<think>\n\n</think>\n\n' + message['content'] + '<|im_end|>\n' }}{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
QWEN25_MATH = (
    "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nPlease reason step by step, and put your final "
    "answer within \\\\boxed{}.<|im_end|>\n' }}{% endif %}{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA3_TOKENS = dict(
    special=["<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_1|>"],
    bos="<|begin_of_text|>",
    eos="<|eot_id|>",
    pad="<|finetune_right_pad_id|>",
    add_bos=True,
)
FAMILIES = {
    "llama3": dict(LLAMA3_TOKENS, chat_template=LLAMA3),
    "llama31": dict(LLAMA3_TOKENS, chat_template=LLAMA31),
    "athene": dict(LLAMA3_TOKENS, chat_template=LLAMA3, cls_token="<|reserved_special_token_1|>"),
    "gemma": dict(
        special=["<start_of_turn>", "<end_of_turn>"],
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        add_bos=True,
        chat_template=GEMMA,
    ),
    "qwen3": dict(
        special=["<|im_start|>", "<think>", "</think>"],
        bos=None,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        chat_template=QWEN3,
    ),
    "qwen25-math": dict(
        special=["<|im_start|>"], bos=None, eos="<|im_end|>", pad=False, chat_template=QWEN25_MATH
    ),
    "internlm2": dict(
        special=["<|im_start|>", "[UNUSED_TOKEN_130]"], bos="<s>", eos="</s>", chat_template=CHATML
    ),
    "llama2": dict(
        special=[], bos="<s>", eos="</s>", pad=False, unk_token="<unk>", add_bos=True, chat_template=False
    ),
}


def conversation(row, side: str) -> list[dict]:
    return [*row["prompt"], {"role": "assistant", "content": row[side][0]["content"]}]


def template_ids(tokenizer, conv):
    """The card's `apply_chat_template(conv, tokenize=True, return_tensors="pt")`: a tensor in transformers 4, a
    dict holding it in 5."""
    out = tokenizer.apply_chat_template(conv, tokenize=True, return_tensors="pt")
    return out["input_ids"] if hasattr(out, "keys") else out


# The cards' reading of one conversation, restated.
def skywork_v2(tokenizer, model, conv):
    formatted = tokenizer.apply_chat_template(conv, tokenize=False)
    if tokenizer.bos_token is not None and formatted.startswith(tokenizer.bos_token):
        formatted = formatted[len(tokenizer.bos_token) :]
    return model(**tokenizer(formatted, return_tensors="pt")).logits[0][0].item()


def template_logits(tokenizer, model, conv):  # Skywork-Reward v0.2, INF-ORM
    return model(template_ids(tokenizer, conv)).logits[0][0].item()


def armorm(tokenizer, model, conv):  # ArmoRM, QRM
    return model(template_ids(tokenizer, conv)).score.float().item()


def grm(tokenizer, model, conv):  # GRM: encode_plus of the templated text, the first output
    text = tokenizer.apply_chat_template(conv, tokenize=False)
    tokens = tokenizer(text, padding="longest", truncation=True, return_tensors="pt")
    output = model(tokens["input_ids"][0].view(1, -1), attention_mask=tokens["attention_mask"][0].view(1, -1))
    return output[0].item() if isinstance(output, torch.Tensor) else output[0].squeeze().item()


def urm(tokenizer, model, conv):
    inputs = tokenizer(tokenizer.apply_chat_template(conv, tokenize=False), return_tensors="pt")
    return model(inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits[0][0].item()


def first_token_scores(tokenizer, model, messages, add_generation_prompt: bool):
    """The Nemotron cards' call: the templated messages, `generate(max_new_tokens=1, output_scores=True)`, and
    the scores of the one generated token."""
    tokenized = tokenizer.apply_chat_template(
        messages,
        tokenize=True,
        add_generation_prompt=add_generation_prompt,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(
        tokenized["input_ids"],
        attention_mask=tokenized["attention_mask"],
        max_new_tokens=1,
        return_dict_in_generate=True,
        output_scores=True,
    )
    return out["scores"][0][0]


def nemotron(tokenizer, model, conv):
    return first_token_scores(tokenizer, model, conv, add_generation_prompt=False)[0].item()


def nemotron_principle(tokenizer, model, conv):  # the card's code, with the registry's principle
    principle = known_models.PRINCIPLE
    principle_question = (
        f"Evaluate the response to the previous prompt in terms of whether it satisfies this principle: "
        f"{principle}. Only answer Yes or No."
    )
    messages = [*conv, {"role": "user", "content": principle_question}]
    scores = first_token_scores(tokenizer, model, messages, add_generation_prompt=True)
    return scores[9642].item() - scores[2822].item()


def open_assistant(tokenizer, model, conv):
    return model(**tokenizer(conv[0]["content"], conv[-1]["content"], return_tensors="pt")).logits[0].item()


def qwen_math(tokenizer, model, conv):
    text = tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=False)
    return model(input_ids=tokenizer.encode(text, return_tensors="pt", add_special_tokens=False))[0].item()


def internlm2(tokenizer, model, conv):
    return model.get_score(tokenizer, conv)


def eurus(tokenizer, model, conv):
    inputs = tokenizer(f"[INST] {conv[0]['content']} [/INST] {conv[-1]['content']}", return_tensors="pt")
    return model(**inputs).item()


def ultrarm(tokenizer, model, conv):
    inputs = tokenizer(f"Human: {conv[0]['content']}\nAssistant: {conv[-1]['content']}", return_tensors="pt")
    return model(**inputs).item()


def starling_7b(tokenizer, model, conv):
    tokenizer.pad_token = tokenizer.unk_token
    sample = f"<s>[INST] {conv[0]['content']} </s> [/INST] {conv[-1]['content']}</s>"
    enc = tokenizer([sample], truncation=True, max_length=2048, padding="max_length", return_tensors="pt")
    return model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])[0].item()


def athene(tokenizer, model, conv):  # the card's pipeline and its class's forward
    formatted = tokenizer.apply_chat_template(conv, tokenize=False) + tokenizer.cls_token
    inputs = tokenizer(formatted, return_tensors="pt", max_length=4096, padding="longest", truncation=True)
    outputs = model.model(
        inputs["input_ids"], attention_mask=inputs["attention_mask"], output_hidden_states=True
    )
    rewards = model.v_head(outputs.hidden_states[-1]).squeeze(-1)
    cls_id = tokenizer.cls_token_id  # the card's CLS_ID = 128003: this token in Llama-3's vocabulary
    return rewards[0, (inputs["input_ids"][0] == cls_id).nonzero()[-1].item()].item()


def ldl(tokenizer, model, conv):  # reward-bench's LDLPipeline, one sample: a doubled BOS dropped
    text = tokenizer.apply_chat_template(conv, tokenize=False)
    inputs = tokenizer([text], truncation=True, max_length=2048, padding=True, return_tensors="pt")
    ids = inputs["input_ids"]
    if ids[0, 0] == tokenizer.bos_token_id and ids[0, 1] == tokenizer.bos_token_id:
        inputs = {key: value[:, 1:] for key, value in inputs.items()}
    return model(**inputs).logits.item()


def reward_bench(tokenizer, model, conv):  # reward-bench's pipeline, one sample: tokenizer(templated text)
    text = tokenizer.apply_chat_template(conv, tokenize=False)
    inputs = tokenizer([text], truncation=True, max_length=2048, padding=True, return_tensors="pt")
    return model(**inputs).reshape(-1)[0].item()


# entry folder name: (family, how the tiny model is built, the card's reading)
ENTRIES = {
    "Skywork-Reward-V2-Llama-3.1-8B": ("llama31", "Llama", skywork_v2),
    "Skywork-Reward-V2-Llama-3.2-1B": ("llama31", "Llama", skywork_v2),
    "Skywork-Reward-V2-Qwen3-0.6B": ("qwen3", "Qwen3", skywork_v2),
    "Skywork-Reward-Gemma-2-27B-v0.2": ("gemma", "Gemma2", template_logits),
    "Skywork-Reward-Llama-3.1-8B-v0.2": ("llama31", "Llama", template_logits),
    "Llama-3.1-Tulu-3-8B-RM": ("llama31", "Llama", template_logits),
    "INF-ORM-Llama3.1-70B": (
        "llama31",
        "social_rm.scoring.architectures:INFORMForSequenceClassification",
        template_logits,
    ),
    "reward-model-deberta-v3-large-v2": ("deberta", "DebertaV2", open_assistant),
    "ArmoRM-Llama3-8B-v0.1": ("llama3", cards.GatingRM, armorm),
    "QRM-Llama3.1-8B": ("llama31", cards.GatingRM, armorm),
    "QRM-Llama3-8B": ("llama3", cards.GatingRM, armorm),
    "QRM-Gemma-2-27B": ("gemma", cards.GemmaGatingRM, armorm),
    "URM-LLaMa-3.1-8B": ("llama31", cards.URMLike, urm),
    "GRM-Llama3.2-3B-rewardmodel-ft": ("llama31", "Llama", grm),
    "GRM-Llama3-8B-rewardmodel-ft": ("llama3", "Llama", grm),
    "GRM-gemma2-2B-rewardmodel-ft": ("gemma", "Gemma2", grm),
    "GRM-llama3-8B-sftreg": ("llama3", cards.GRewardModel, grm),
    "internlm2-7b-reward": ("internlm2", "internlm2", internlm2),
    "Qwen2.5-Math-RM-72B": ("qwen25-math", "tuple", qwen_math),
    "Eurus-RM-7b": ("llama2", cards.RegressionRM, eurus),
    "Starling-RM-7B-alpha": ("llama2", cards.StarlingGPTRewardModel, starling_7b),
    "Starling-RM-34B": ("llama3", "social_rm.scoring.architectures:LlamaValueHeadModel", reward_bench),
    "Athene-RM-8B": ("athene", "social_rm.scoring.architectures:AtheneForSequenceClassification", athene),
    "Athene-RM-70B": ("athene", "social_rm.scoring.architectures:AtheneForSequenceClassification", athene),
    "LDL-Reward-Gemma-2-27B-v0.1": ("gemma", cards.LDLRewardModel27B, ldl),
    "UltraRM-13b": ("llama2", "social_rm.scoring.architectures:LlamaRegressionHeadModel", ultrarm),
    "Llama-3.1-Nemotron-70B-Reward-HF": ("llama31", "causal", nemotron),
    "Llama-3.3-Nemotron-70B-Reward": ("llama31", "causal", nemotron),
    "Llama-3.3-Nemotron-70B-Reward-Multilingual": ("llama31", "causal", nemotron),
    # Llama-3's vocabulary size, so that the card's "Yes" (9642) and "No" (2822) are logits of the tiny model
    "Llama-3.3-Nemotron-70B-Reward-Principle": ("llama31", "causal-llama3-vocab", nemotron_principle),
}


def deberta_tokenizer(texts):
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    fast = train_tokenizer(
        texts, special=["[CLS]", "[SEP]"], bos=None, eos="[SEP]", pad="[PAD]", chat_template=False
    )
    backend = fast.backend_tokenizer
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", eos_token="[SEP]"
    )


def build(folder, family: str, how, texts):
    """The entry's tiny model and its family's tokenizer, saved to `folder`."""
    import importlib

    import transformers

    from tests.custom_models import modeling_tiny_rewards as tiny

    tokenizer = (
        deberta_tokenizer(texts) if family == "deberta" else train_tokenizer(texts, **FAMILIES[family])
    )
    torch.manual_seed(0)
    extra = {}
    if family == "gemma":
        extra = dict(head_dim=8, attn_logit_softcapping=50.0, final_logit_softcapping=30.0)
    if how == "DebertaV2":
        config = transformers.DebertaV2Config(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            num_labels=1,
            type_vocab_size=0,
            relative_attention=True,  # deberta-v3-large's own settings
            position_biased_input=False,
            pos_att_type=["p2c", "c2p"],
            position_buckets=256,
            max_relative_positions=-1,
            norm_rel_ebd="layer_norm",
            share_att_key=True,
            pad_token_id=tokenizer.pad_token_id,
        )
        model = transformers.DebertaV2ForSequenceClassification(config)
    elif how in ("Llama", "Qwen3", "Gemma2"):
        config = tiny_config(tokenizer, architecture=how, num_labels=1, **extra)
        model = getattr(transformers, f"{how}ForSequenceClassification")(config)
    elif how == "causal":
        model = transformers.LlamaForCausalLM(tiny_config(tokenizer))
    elif how == "causal-llama3-vocab":
        config = tiny_config(tokenizer)
        config.vocab_size = 128_256
        model = transformers.LlamaForCausalLM(config)
    elif isinstance(how, str) and ":" in how:
        module, _, name = how.partition(":")
        model = getattr(importlib.import_module(module), name)(tiny_config(tokenizer, num_labels=1))
    else:
        cls = {"internlm2": tiny.TinyGetScoreRM, "tuple": tiny.TinyTupleRM}.get(how, how)
        config = tiny_config(tokenizer, architecture="Gemma2" if family == "gemma" else "Llama", **extra)
        if family == "internlm2":
            config.reward_token_id = tokenizer.convert_tokens_to_ids("[UNUSED_TOKEN_130]")
        if cls in (cards.GatingRM, cards.GemmaGatingRM):
            # the end of the user's turn and the assistant's header, where the gating reads the prompt
            header = {"gemma": "<end_of_turn>\n<start_of_turn>model\n"}.get(
                family, "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            )
            config.gating_pattern = tokenizer(header, add_special_tokens=False)["input_ids"]
        if cls is cards.StarlingGPTRewardModel:
            config.pad_token_id = tokenizer.unk_token_id
        if not needs_code(cls):  # saved as its code saves it, loaded by the entry's class
            cls(config).save_pretrained(folder)
            tokenizer.save_pretrained(folder)
            return folder
        cls.register_for_auto_class("AutoModel")
        model = cls(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def rows(real_built):
    """Two pairs of each of three real sources (each prompt one user message, as the cards' examples)."""
    from datasets import concatenate_datasets, load_dataset

    folder = str(real_built[0])
    return concatenate_datasets(
        [
            load_dataset(folder, c, split="test").select(range(2))
            for c in ("xstest", "crows_pairs", "ethics_commonsense")
        ]
    )


def load_as_the_card(folder, how):
    """The model as its card loads it: transformers' class, the card's own class, or the repository's code."""
    import importlib

    import transformers

    if how in ("Llama", "Qwen3", "Gemma2", "DebertaV2"):
        return transformers.AutoModelForSequenceClassification.from_pretrained(folder)
    if how in ("causal", "causal-llama3-vocab"):
        return transformers.AutoModelForCausalLM.from_pretrained(folder)
    if isinstance(how, str) and ":" in how:
        module, _, name = how.partition(":")
        return getattr(importlib.import_module(module), name).from_pretrained(folder)
    if not needs_code(how):
        return how.from_pretrained(folder)
    return transformers.AutoModel.from_pretrained(folder, trust_remote_code=True)


def by_the_card(folder, how, read, rows):
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = load_as_the_card(folder, how).eval()
    with torch.no_grad():
        return [
            np.array([read(tokenizer, model, conversation(r, s)) for r in rows])
            for s in ("chosen", "rejected")
        ]


def ours(folder, rows, trust: bool):
    from social_rm.scoring.kinds import get_scorer
    from social_rm.scoring.options import LoadOptions, ModelSettings
    from social_rm.scoring.runner import score_pairs

    load = LoadOptions(trust_remote_code=trust, allow_pickle=True)
    settings = ModelSettings(str(folder), load, max_tokens_per_batch=2048)
    return score_pairs(rows, get_scorer("classifier", settings), progress=False)


def needs_code(how) -> bool:
    """Whether the entry's model loads through its repository's code; a card class marked `package_class` is a
    package's (reward-bench's LDL class), which the registry restates (`model_class`)."""
    if getattr(how, "package_class", False):
        return False
    return not (
        isinstance(how, str)
        and (how in ("Llama", "Qwen3", "Gemma2", "DebertaV2", "causal", "causal-llama3-vocab") or ":" in how)
    )


@pytest.mark.parametrize("name", list(ENTRIES))
def test_each_registry_entry_scores_as_its_card(name, rows, texts, tmp_path):
    family, how, read = ENTRIES[name]
    folder = build(tmp_path / name, family, how, texts)
    entry = known_models.find(str(folder))
    assert entry is not None, f"{name} matches no registry entry"
    assert entry.trust_remote_code == needs_code(how) or name.startswith("Starling-RM-7B")
    expected = by_the_card(folder, how, read, rows)
    scores = ours(folder, rows, needs_code(how))
    assert (
        np.abs(scores.chosen - expected[0]).max() < 1e-5
        and np.abs(scores.rejected - expected[1]).max() < 1e-5
    )
    assert len(set(np.round(np.concatenate(expected), 6))) > 6  # real, varying rewards


def test_the_command_line_scores_a_registry_entry_as_its_card(rows, real_built, texts, tmp_path):
    """`social-rm score --model <folder named as the entry>` on a real source, against the card's reading."""
    from datasets import load_dataset

    name = "Llama-3.1-Nemotron-70B-Reward-HF"
    family, how, read = ENTRIES[name]
    folder = build(tmp_path / name, family, how, texts)
    xstest = load_dataset(str(real_built[0]), "xstest", split="test").select(range(6))
    out = tmp_path / "scores.parquet"
    run = social_rm(
        "score",
        "--dataset",
        real_built[0],
        "--config",
        "xstest",
        "--model",
        folder,
        "--no-cache",
        "--out",
        out,
    )
    assert run.returncode == 0, run.stderr
    assert "known reward model nvidia/Llama-3.1-Nemotron-70B-Reward-HF: reward_from token-logit" in run.stderr
    scores = read_scores(out)
    assert scores.metadata["model"]["token_index"] == 0 and scores.metadata["model"]["tokenize"] == "template"
    expected = by_the_card(folder, how, read, xstest)
    by_id = dict(zip(scores.ids, scores.chosen))
    assert np.abs(np.array([by_id[i] for i in xstest["id"]]) - expected[0]).max() < 1e-5


def test_a_head_that_pools_before_the_first_pad_is_read_there(rows, texts, tmp_path):
    """INF-ORM's class reads the token before the first pad token: a response holding the pad token is read there
    by the card, and so by the engine, which cuts the sequence before it."""
    from datasets import Dataset

    name = "INF-ORM-Llama3.1-70B"
    family, how, read = ENTRIES[name]
    folder = build(tmp_path / name, family, how, texts)
    table = rows.to_list()
    for row in table[:3]:
        text = row["chosen"][0]["content"]
        row["chosen"] = [
            {"role": "assistant", "content": text[:20] + "<|finetune_right_pad_id|>" + text[20:]}
        ]
    padded = Dataset.from_list(table, features=rows.features)
    expected = by_the_card(folder, how, read, padded)
    scores = ours(folder, padded, False)
    assert np.abs(scores.chosen - expected[0]).max() < 1e-5


def test_read_out_detection_runs_the_models_own_code_on_a_templated_conversation(texts, tmp_path):
    """A gating reward model that is not in the registry (its gating looks for the assistant header) is read
    from its `score`; a model whose forward pass fails says to name the read-out."""
    from social_rm.errors import SocialRMError
    from social_rm.scoring.kinds import get_scorer
    from social_rm.scoring.options import LoadOptions, ModelSettings

    folder = build(tmp_path / "my-gated-rm", "llama3", cards.GatingRM, texts)
    trusted = LoadOptions(trust_remote_code=True)
    assert get_scorer("classifier", ModelSettings(str(folder), trusted)).reward_from == "score"
    import json

    other = build(tmp_path / "my-broken-gated-rm", "llama3", cards.GatingRM, texts)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "gating_pattern": [5, 5, 5, 5, 5, 5]}))
    with pytest.raises(
        SocialRMError,
        match=r"cannot tell where GatingRM puts its reward: .*ValueError: Token pattern not found.* Name the "
        r"read-out with --reward-from",
    ):
        get_scorer("classifier", ModelSettings(str(other), trusted))


def test_internlm2s_reward_token_stays_within_max_length(rows, texts, tmp_path):
    from social_rm.scoring.kinds import get_scorer
    from social_rm.scoring.options import LoadOptions, ModelSettings
    from social_rm.scoring.units import Completion

    folder = build(tmp_path / "internlm2-7b-reward", "internlm2", "internlm2", texts)
    settings = ModelSettings(str(folder), LoadOptions(trust_remote_code=True), max_length=24)
    scorer = get_scorer("classifier", settings)
    prompt = tuple((m["role"], m["content"]) for m in rows[0]["prompt"])
    _, encoded = scorer.sequences([Completion(prompt, rows[0]["chosen"][0]["content"])])
    token = scorer.model.config.reward_token_id
    assert len(encoded[0].ids) == 24 and encoded[0].ids[-1] == token and encoded[0].truncated


def test_gemma2_is_loaded_with_eager_attention(texts, tmp_path):
    from social_rm.scoring.kinds import get_scorer
    from social_rm.scoring.options import ModelSettings

    folder = build(tmp_path / "Skywork-Reward-Gemma-2-27B-v0.2", "gemma", "Gemma2", texts)
    assert get_scorer("classifier", ModelSettings(str(folder))).model.config._attn_implementation == "eager"


def test_models_name_shows_a_pair_as_the_model_reads_it(real_built, texts, tmp_path):
    import transformers

    name = "Llama-3.1-Nemotron-70B-Reward-HF"
    folder = build(tmp_path / name, *ENTRIES[name][:2], texts)
    run = social_rm("models", folder, "--dataset", real_built[0], "--config", "xstest")
    assert run.returncode == 0, run.stderr
    from datasets import load_dataset

    row = load_dataset(str(real_built[0]), "xstest", split="test")[0]
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    ids = template_ids(tokenizer, conversation(row, "chosen"))[0].tolist()
    assert tokenizer.decode(ids) in run.stdout and run.stdout.count("<|begin_of_text|>") == 1
    assert f"{len(ids):,} tokens" in run.stdout
    assert f"reward read from the logit of token 0 as the next token after token {len(ids) - 1}" in run.stdout
    assert "known reward model nvidia/Llama-3.1-Nemotron-70B-Reward-HF: reward_from token-logit" in run.stdout
