"""Other tools read social-pairs right: TRL's RewardTrainer trains on its configs as they are, and RewardBench's
loader keeps the prompt of the converted file (where it loses it on social-pairs as it is)."""

import json
import math

import pytest
from datasets import load_dataset

from social_rm.formats import to_rewardbench, write_rewardbench
from social_rm.testing import save_tiny_model


def rewardbench_loader(rows: list[dict], prompt_feature_is_list: bool) -> list[list[dict]]:
    """RewardBench's `load_preference_dataset` and `prepare_dialogue_from_tokenizer` (rewardbench/utils.py at
    045c7f8), restated: without a `prompt` column, or with one whose feature is not a Python list (a `datasets`
    `List` feature, as social-pairs has), it takes `prompt = chosen[:-1]` and `chosen = chosen[-1]["content"]`;
    then it templates the prompt's turns as user, assistant, user, ... by position. Returns the chosen
    conversation each row is scored as."""
    out = []
    for row in rows:
        row = dict(row)
        if "prompt" not in row or not prompt_feature_is_list:
            row["prompt"], row["chosen"] = row["chosen"][:-1], row["chosen"][-1]["content"]
        roles = ["user" if i % 2 == 0 else "assistant" for i in range(len(row["prompt"]))]
        messages = [{"role": r, "content": m["content"]} for r, m in zip(roles, row["prompt"])]
        out.append([*messages, {"role": "assistant", "content": row["chosen"]}])
    return out


def test_rewardbench_keeps_the_prompt_of_the_converted_file_only(demo_built, tmp_path):
    ds = load_dataset(str(demo_built[0]), "default", split="test")
    assert not isinstance(ds.features["prompt"], list)  # why RewardBench drops it: a `List` feature
    expected = [row["prompt"] + row["chosen"] for row in ds]
    raw = [{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in ds]
    assert all(
        len(conversation) == 1 for conversation in rewardbench_loader(raw, prompt_feature_is_list=False)
    )
    write_rewardbench(ds, tmp_path / "rb.jsonl")
    converted = [json.loads(line) for line in (tmp_path / "rb.jsonl").read_text().splitlines()]
    assert [r["id"] for r in converted] == ds["id"] and "prompt" not in converted[0]
    assert rewardbench_loader(converted, prompt_feature_is_list=False) == expected
    multi_turn = [c for c in rewardbench_loader(converted, False) if len(c) > 2]
    assert multi_turn  # hh-rlhf's histories keep their turns


def test_rewardbench_conversion_refuses_a_prompt_its_loader_would_misread(demo_built):
    ds = load_dataset(str(demo_built[0]), "xstest", split="test").select(range(1))
    system = ds.map(lambda row: {"prompt": [{"role": "system", "content": "Be brief."}, *row["prompt"]]})
    from social_rm.errors import SocialRMError

    with pytest.raises(SocialRMError, match=r"this prompt's roles are \['system', 'user'\]"):
        to_rewardbench(system)


@pytest.mark.parametrize("config", ["bbq", "xstest", "hh_rlhf_harmless", "default"])
def test_trl_reward_trainer_trains_on_a_config_as_it_is(demo_built, tmp_path, config):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    train = load_dataset(str(demo_built[0]), config, split="test")
    texts = [m["content"] for row in train for m in row["prompt"] + row["chosen"] + row["rejected"]]
    folder = save_tiny_model(tmp_path / "rm", "classifier", texts)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    before = model.score.weight.detach().clone()
    args = RewardConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        per_device_train_batch_size=4,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        learning_rate=1e-2,
    )
    trainer = RewardTrainer(
        model=model, args=args, train_dataset=train, processing_class=AutoTokenizer.from_pretrained(folder)
    )
    output = trainer.train()
    assert output.global_step == 2 and math.isfinite(output.training_loss)
    assert not torch.equal(before, model.score.weight.detach())


EOS_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}{{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def test_a_trl_reward_model_with_pad_equal_to_eos_is_read_where_transformers_reads_it(demo_built, tmp_path):
    """TRL sets pad = eos for a tokenizer without a pad token; this chat template ends every turn with eos. The
    runner's scores must be the model's own one-sequence outputs (pooled at the token before that eos)."""
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    from social_rm.scoring.kinds import get_scorer
    from social_rm.scoring.options import ModelSettings
    from social_rm.scoring.runner import completions, score_pairs
    from social_rm.scoring.units import messages

    train = load_dataset(str(demo_built[0]), "bbq", split="test")
    texts = [m["content"] for row in train for m in row["prompt"] + row["chosen"] + row["rejected"]]
    base = save_tiny_model(tmp_path / "base", "classifier", texts, pad=False)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.chat_template = EOS_TEMPLATE
    assert tokenizer.pad_token is None
    model = AutoModelForSequenceClassification.from_pretrained(base)
    args = RewardConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        per_device_train_batch_size=4,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
    )
    trainer = RewardTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    trainer.train()
    trainer.save_model(str(tmp_path / "rm"))
    tokenizer.save_pretrained(tmp_path / "rm")
    trained = AutoModelForSequenceClassification.from_pretrained(tmp_path / "rm").eval()
    assert trained.config.pad_token_id == tokenizer.eos_token_id  # what TRL did

    scores = score_pairs(train, get_scorer("classifier", ModelSettings(str(tmp_path / "rm"))), progress=False)
    units, chosen_at, rejected_at, _ = completions(train)
    by_hand = []
    for unit in units:
        conversation = [*messages(unit.prompt), {"role": "assistant", "content": unit.response}]
        ids = tokenizer(
            tokenizer.apply_chat_template(conversation, tokenize=False), add_special_tokens=False
        )["input_ids"]
        assert ids[-1] == tokenizer.eos_token_id
        with torch.no_grad():
            by_hand.append(float(trained(input_ids=torch.tensor([ids])).logits[0, 0]))
    by_hand = np.array(by_hand)
    assert np.abs(scores.chosen - by_hand[chosen_at]).max() < 1e-5
    assert np.abs(scores.rejected - by_hand[rejected_at]).max() < 1e-5
