"""Every read-out of a reward model (`--reward-from`), the registry of known models, models with their own code,
models spread over devices and offloaded, quantisation, and cache shards of several processes: tiny models written
here with `save_pretrained` (custom code with its `modeling_*.py` and `auto_map`), loaded back through
`from_pretrained`, against the model called by hand."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import load_dataset

from social_rm.errors import SocialRMError
from social_rm.results.scores import read_scores
from social_rm.scoring import known_models
from social_rm.scoring.kinds import get_scorer
from social_rm.scoring.options import LoadOptions, ModelSettings
from social_rm.scoring.runner import score_pairs
from social_rm.testing import save_tiny_model, tiny_config, train_tokenizer
from tests.conftest import REPO, SOCIAL_RM, assert_same_scores, social_rm
from tests.custom_models import modeling_tiny_rewards as custom


@pytest.fixture(scope="module")
def pairs(demo_built):
    """Real demo pairs: four BBQ items' pairs and two XSTest pairs (different prompts and lengths)."""
    from datasets import concatenate_datasets

    bbq = load_dataset(str(demo_built[0]), "bbq", split="test").select(range(12))
    xstest = load_dataset(str(demo_built[0]), "xstest", split="test").select(range(2))
    return concatenate_datasets([bbq, xstest])


def save_custom(folder: Path, cls, auto_class: str, texts, **config) -> Path:
    """A tiny model of a class with its own code, saved with that code and an `auto_map` entry."""
    tokenizer = train_tokenizer(texts)
    cls.register_for_auto_class(auto_class)
    torch.manual_seed(0)
    model = cls(tiny_config(tokenizer, **config))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def custom_models(tmp_path_factory, texts):
    root = tmp_path_factory.mktemp("custom")
    eos = train_tokenizer(texts).eos_token_id
    return {
        "score": save_custom(root / "armo", custom.TinyScoreRM, "AutoModelForSequenceClassification", texts),
        "tuple": save_custom(root / "tuple", custom.TinyTupleRM, "AutoModel", texts),
        "get_score": save_custom(
            root / "intern", custom.TinyGetScoreRM, "AutoModel", texts, reward_token_id=eos
        ),
        "value-head": save_custom(root / "starling", custom.TinyValueHeadRM, "AutoModel", texts),
    }


def conversation(row, side: str) -> list[dict]:
    return [*row["prompt"], {"role": "assistant", "content": row[side][0]["content"]}]


def by_hand(folder: Path, pairs, read, generation_prompt: bool = False, auto_class: str = "AutoModel"):
    """(chosen, rejected) rewards: each conversation templated by the tokenizer and run alone through the model
    loaded with transformers, read by `read(model, ids)`."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = getattr(transformers, auto_class).from_pretrained(folder, trust_remote_code=True).eval()
    out = []
    for side in ("chosen", "rejected"):
        values = []
        for row in pairs:
            text = tokenizer.apply_chat_template(
                conversation(row, side), tokenize=False, add_generation_prompt=generation_prompt
            )
            ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
            with torch.no_grad():
                values.append(float(read(model, ids)))
        out.append(np.array(values))
    return out


def score(folder, pairs, trust=True, **options):
    settings = ModelSettings(str(folder), LoadOptions(trust_remote_code=trust), max_tokens_per_batch=200)
    return score_pairs(pairs, get_scorer("classifier", settings, **options), progress=False)


def assert_same(scores, expected):
    assert (
        np.abs(scores.chosen - expected[0]).max() < 1e-5
        and np.abs(scores.rejected - expected[1]).max() < 1e-5
    )
    assert len(set(np.round(scores.chosen, 6))) > 3  # real, varying rewards


# transformers 4 opens a checkpoint on the device map's device, and a tiny model mapped whole to "disk" fails there
# (safetensors: "device disk is invalid"); transformers 5 loads it.
WHOLE_MODEL_ON_DISK = pytest.mark.skipif(
    int(__import__("transformers").__version__.split(".")[0]) < 5,
    reason="transformers 4 cannot load a model whose whole device map is disk",
)


@pytest.mark.parametrize(
    "model, reward_from, label_index, read",
    [
        ("score", "score", None, lambda m, ids: m(input_ids=ids).score[0, 0]),
        ("score", "score", 1, lambda m, ids: m(input_ids=ids).rewards[0, 1]),
        ("tuple", "first-output", None, lambda m, ids: m(input_ids=ids)[0][0, 0]),
        (
            "value-head",
            "value-head",
            None,
            lambda m, ids: m.v_head(m.model(input_ids=ids).last_hidden_state)[0, -1, 0],
        ),
    ],
)
def test_each_read_out_gives_the_models_own_rewards(
    model, reward_from, label_index, read, custom_models, pairs
):
    folder = custom_models[model]
    auto = "AutoModelForSequenceClassification" if model == "score" else "AutoModel"
    expected = by_hand(folder, pairs, read, auto_class=auto)
    assert_same(score(folder, pairs, reward_from=reward_from, label_index=label_index), expected)
    if label_index is None:  # chosen from the model when not named
        detected = get_scorer("classifier", ModelSettings(str(folder), LoadOptions(trust_remote_code=True)))
        assert detected.reward_from == reward_from


def test_get_score_is_the_models_own_method(custom_models, pairs):
    import transformers

    folder = custom_models["get_score"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    with torch.no_grad():
        expected = [
            np.array([model.get_score(tokenizer, conversation(row, side)) for row in pairs])
            for side in ("chosen", "rejected")
        ]
    scores = score(folder, pairs)  # first-output, chosen from the model: it has get_score
    assert scores.metadata["model"]["reward_from"] == "first-output"
    assert_same(scores, expected)
    tuple_reading = score(custom_models["tuple"], pairs)  # the same weights without the reward token
    assert np.abs(tuple_reading.chosen - scores.chosen).max() > 1e-3


def test_token_logit_and_a_registry_entry_found_by_folder_name(tmp_path, texts, pairs, caplog):
    folder = save_tiny_model(tmp_path / "Llama-3.1-Nemotron-70B-Reward-HF", "causal", texts)
    expected = by_hand(
        folder,
        pairs,
        lambda m, ids: m(input_ids=ids).logits[0, -1, 0],
        auto_class="AutoModelForCausalLM",
    )
    with caplog.at_level("INFO", logger="social_rm"):
        scores = score(folder, pairs, trust=False)  # the registry says: token-logit, token 0
    assert (
        "known reward model nvidia/Llama-3.1-Nemotron-70B-Reward-HF: reward_from token-logit" in caplog.text
    )
    assert "token_index 0" in caplog.text
    assert (
        scores.metadata["model"]["reward_from"] == "token-logit"
        and scores.metadata["model"]["token_index"] == 0
    )
    assert_same(scores, expected)
    other = score(folder, pairs, trust=False, token_index=5)  # a flag overrides the entry
    assert np.abs(other.chosen - scores.chosen).max() > 1e-3


def test_a_checkpoint_without_the_weights_of_its_class_is_refused(custom_models, tmp_path, pairs):
    """A value-head checkpoint in a folder named UltraRM-13b: the registry loads it with UltraRM's class, whose
    `regression_head` it lacks; transformers would initialise that head at random and every reward be noise."""
    import shutil

    from social_rm.scoring.models import ModelError

    folder = shutil.copytree(custom_models["value-head"], tmp_path / "UltraRM-13b")
    with pytest.raises(
        ModelError,
        match=r"1 weights of LlamaRegressionHeadModel are not in the checkpoint "
        r"\(regression_head.weight\); transformers would initialise them at random",
    ):
        get_scorer("classifier", ModelSettings(str(folder), LoadOptions(trust_remote_code=True)))


def tokenize_pair(
    tokenizer, source, candidate1, candidate2, source_max_length=1224, candidate_max_length=412
):
    """llm-blender's `tokenize_pair` as PairRM-hf's card gives it, for one pair."""
    max_length = source_max_length + 2 * candidate_max_length
    source_ids = tokenizer.encode("<|source|>" + source, max_length=source_max_length, truncation=True)
    candidate_max_length = (max_length - len(source_ids)) // 2
    candidate1_ids = tokenizer.encode(
        "<|candidate1|>" + candidate1, max_length=candidate_max_length, truncation=True
    )
    candidate2_ids = tokenizer.encode(
        "<|candidate2|>" + candidate2, max_length=candidate_max_length, truncation=True
    )
    return tokenizer.pad(
        {"input_ids": [source_ids + candidate1_ids + candidate2_ids]},
        return_tensors="pt",
        padding="max_length",
        max_length=max_length,
    )


def test_pairwise_reads_a_pair_as_the_pairrm_card_encodes_it(tmp_path, texts, pairs):
    from transformers import AutoTokenizer, BertForSequenceClassification

    from social_rm.testing import save_tiny_encoder

    folder = save_tiny_encoder(
        tmp_path / "pair-model", texts, initializer_range=1.0, max_position_embeddings=2048
    )
    tokenizer, model = (
        AutoTokenizer.from_pretrained(folder),
        BertForSequenceClassification.from_pretrained(folder),
    )
    model.eval()
    long = pairs[0]["chosen"][0]["content"] * 200  # over the card's 412-token candidate limit

    def first_better(row, a, b):
        with torch.no_grad():
            logits = model(**tokenize_pair(tokenizer, row["prompt"][0]["content"], a, b)).logits
        return torch.sigmoid(logits[0, 0]).item()

    expected = []
    for r, c in zip(pairs, [long] + [r["chosen"][0]["content"] for r in pairs][1:]):
        rejected = r["rejected"][0]["content"]
        expected.append((first_better(r, c, rejected) + 1 - first_better(r, rejected, c)) / 2)
    rows = pairs.to_list()
    rows[0]["chosen"] = [{"role": "assistant", "content": long}]
    from datasets import Dataset

    scores = score(
        tmp_path / "pair-model",
        Dataset.from_list(rows, features=pairs.features),
        trust=False,
        reward_from="pairwise",
    )
    assert np.abs(scores.chosen - np.array(expected)).max() < 1e-5 and np.allclose(
        scores.chosen + scores.rejected, 1
    )
    assert len(set(np.round(scores.chosen, 6))) > 3


def test_custom_code_needs_trust_remote_code(custom_models, pairs, demo_built, tmp_path):
    with pytest.raises(
        SocialRMError, match="defines its own model code .*TinyValueHeadRM.*pass --trust-remote-code"
    ):
        score(custom_models["value-head"], pairs, trust=False)
    out = tmp_path / "s.parquet"
    run = social_rm(
        "score",
        "--dataset",
        demo_built[0],
        "--config",
        "bbq",
        "--model",
        custom_models["score"],
        "--out",
        out,
    )
    assert run.returncode == 1 and "pass --trust-remote-code" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()


@WHOLE_MODEL_ON_DISK
def test_the_command_line_reads_a_custom_model_spread_over_devices(custom_models, demo_built, tmp_path):
    bbq = load_dataset(str(demo_built[0]), "bbq", split="test")
    out = tmp_path / "armo.parquet"
    run = social_rm(
        "score",
        "--dataset",
        demo_built[0],
        "--config",
        "bbq",
        "--model",
        custom_models["score"],
        "--trust-remote-code",
        "--label-index",
        "1",
        "--device-map",
        "auto",
        "--max-memory",
        "cpu=60KB",
        "--offload-folder",
        tmp_path / "offload",
        "--no-cache",
        "--out",
        out,
    )
    assert run.returncode == 0, run.stderr
    assert (
        "reading the reward from score" in run.stderr
        and "not in the registry of known reward models" in run.stderr
    )
    scores, expected = (
        read_scores(out),
        score(custom_models["score"], bbq, reward_from="score", label_index=1),
    )
    assert scores.metadata["model"]["reward_from"] == "score" and scores.metadata["model"]["label_index"] == 1
    assert_same_scores(scores, expected)


def test_a_causal_lm_is_not_read_as_a_classifier(tmp_path, texts, pairs):
    folder = save_tiny_model(tmp_path / "policy", "causal", texts)
    with pytest.raises(
        SocialRMError,
        match="is a causal LM .* --reward-from token-logit --token-index N, or .* --kind logprob",
    ):
        score(folder, pairs, trust=False)


@WHOLE_MODEL_ON_DISK
def test_an_offloaded_model_gives_the_unsharded_scores(custom_models, tmp_path, texts, pairs):
    classifier = save_tiny_model(tmp_path / "rm", "classifier", texts, hidden=64, layers=4)
    for folder, trust in ((classifier, False), (custom_models["value-head"], True)):
        whole = score(folder, pairs, trust=trust)
        options = LoadOptions(
            trust_remote_code=trust,
            device_map="auto",
            max_memory={"cpu": "60KB"},
            offload_folder=str(tmp_path / "offload"),
        )
        scorer = get_scorer("classifier", ModelSettings(str(folder), options, max_tokens_per_batch=200))
        assert "disk" in scorer.model.hf_device_map.values()  # some weights really are offloaded
        spread = score_pairs(pairs, scorer, progress=False)
        assert_same_scores(spread, whole)


def test_quantisation_needs_bitsandbytes_and_is_part_of_the_identity(
    custom_models, tmp_path, texts, monkeypatch
):
    import importlib.util

    folder = save_tiny_model(tmp_path / "rm", "classifier", texts)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a)
    )
    with pytest.raises(
        SocialRMError, match="--load-in-4bit loads the weights with bitsandbytes, .*pip install bitsandbytes"
    ):
        get_scorer("classifier", ModelSettings(str(folder), LoadOptions(quantization="4bit")))
    plain = get_scorer("classifier", ModelSettings(str(folder)))
    loaded = (plain.tokenizer, plain.model)
    quantised = get_scorer(
        "classifier", ModelSettings(str(folder), LoadOptions(quantization="8bit")), loaded=loaded
    )
    assert quantised.identity()["quantization"] == "8bit" and plain.identity()["quantization"] is None
    assert quantised.fingerprint() != plain.fingerprint()


def test_the_registry_covers_every_read_out(tmp_path, texts, caplog):
    assert len(known_models.KNOWN_MODELS) >= 12
    assert {m.reward_from for m in known_models.KNOWN_MODELS if m.kind == "classifier"} == {
        "logits",
        "score",
        "first-output",
        "value-head",
        "token-logit",
        "pairwise",
    }
    assert known_models.find("RLHFlow/ArmoRM-Llama3-8B-v0.1").reward_from == "score"
    assert (
        known_models.find("skywork/skywork-reward-gemma-2-27b-v0.2").pattern
        == "Skywork/Skywork-Reward-Gemma-2-27B*"
    )
    assert known_models.find("internlm/internlm2-1_8b-reward").reward_from == "first-output"
    assert known_models.find("Skywork/Skywork-Reward-V2-Llama-3.1-8B").license == "llama3.1"
    assert known_models.find("someone/my-rm") is None
    listed = subprocess.run([SOCIAL_RM, "models"], capture_output=True, text=True, check=True).stdout
    assert len(listed.strip().splitlines()) == len(known_models.KNOWN_MODELS) + 2  # header, rows, legend
    assert re.search(
        r"nvidia/Llama-3.1-Nemotron-70B-Reward-HF\s+token-logit\[0\]\s+bfloat16\s+llama3.1\s+https://", listed
    )
    assert re.search(r"openbmb/UltraRM-13b\s+value-head\s+bfloat16\s+fixed\s+mit\s+https://", listed)
    assert re.search(r"RLHFlow/ArmoRM-Llama3-8B-v0.1\s+score\s+bfloat16\s+yes\s+llama3\s+https://", listed)
    folder = save_tiny_model(tmp_path / "my-rm", "classifier", texts)
    with caplog.at_level("INFO", logger="social_rm"):
        get_scorer("classifier", ModelSettings(str(folder)))
    assert (
        "my-rm is not in the registry of known reward models (social-rm models): the defaults apply"
        in caplog.text
    )


def test_the_leaderboard_shows_a_licence_from_the_card_else_the_registry(demo_results):
    import json

    from social_rm.results.report import leaderboard_rows

    document = json.loads((demo_results / "results" / "length.json").read_text(encoding="utf-8"))
    armo = {**document, "model": {"name": "RLHFlow/ArmoRM-Llama3-8B-v0.1", "kind": "classifier"}}
    carded = {
        **document,
        "model": {"name": "Qwen/Qwen2.5-Math-RM-72B", "kind": "classifier", "license": "own"},
    }
    unknown = {**document, "model": {"name": "someone/rm", "kind": "classifier"}}
    licences = {row["model"]: row["license"] for row in leaderboard_rows([armo, carded, unknown])}
    assert licences == {
        "RLHFlow/ArmoRM-Llama3-8B-v0.1": "llama3",
        "Qwen/Qwen2.5-Math-RM-72B": "own",
        "someone/rm": "",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(args: list[str], world: int = 2) -> list[subprocess.Popen]:
    """`world` processes of one distributed run, with the variables `accelerate launch` / torchrun set."""
    port = str(_free_port())
    return [
        subprocess.Popen(
            args,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={
                **os.environ,
                "WORLD_SIZE": str(world),
                "RANK": str(r),
                "LOCAL_RANK": str(r),
                "LOCAL_WORLD_SIZE": str(world),
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
                "OMP_NUM_THREADS": "1",
            },
        )
        for r in range(world)
    ]


def _rows(path: Path) -> int:
    try:
        return sqlite3.connect(path).execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_cache_shards_of_a_killed_process_resume(tmp_path, texts, real_built):
    folder = save_tiny_model(tmp_path / "rm", "classifier", texts)
    cache = tmp_path / "cache.sqlite"
    args = [
        SOCIAL_RM,
        "score",
        "--dataset",
        str(real_built[0]),
        "--config",
        "xstest",
        "--model",
        str(folder),
        "--max-tokens-per-batch",
        "400",
        "--cache",
        str(cache),
    ]
    first = _launch([*args, "--out", str(tmp_path / "first.parquet")])
    shard = tmp_path / "cache.rank1.sqlite"
    deadline = time.time() + 180
    while time.time() < deadline and first[1].poll() is None and _rows(shard) < 100:
        time.sleep(0.3)
    assert first[1].poll() is None, "process 1 ended before it could be killed"
    first[1].send_signal(signal.SIGKILL)  # as a machine lost mid-run; its launcher then ends the others
    first[1].wait()
    first[0].kill()
    first[0].wait()
    killed = _rows(shard)
    assert killed >= 100 and not (tmp_path / "first.parquet").exists()

    second = _launch([*args, "--out", str(tmp_path / "resumed.parquet")])
    outputs = [p.communicate(timeout=600)[0] for p in second]
    assert all(p.returncode == 0 for p in second), outputs[0][-3000:] + outputs[1][-3000:]
    already = int(
        re.search(r"([\d,]+) of [\d,]+ completions already scored", outputs[0]).group(1).replace(",", "")
    )
    assert already >= killed  # the killed process's shard was merged, not scored again
    assert re.search(r"process 0 of 2: scoring (\d+)", outputs[0]) and re.search(
        r"process 1 of 2: scoring (\d+)", outputs[1]
    )
    assert not list(tmp_path.glob("cache.rank*.sqlite"))  # merged into the cache
    clean = subprocess.run(
        [*args[:-2], "--no-cache", "--out", str(tmp_path / "clean.parquet")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert clean.returncode == 0, clean.stderr
    a, b = read_scores(tmp_path / "resumed.parquet"), read_scores(tmp_path / "clean.parquet")
    assert_same_scores(a, b)
