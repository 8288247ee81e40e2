"""The scoring runner with real (tiny) models loaded through `from_pretrained`: every kind, batch invariance,
the cache and resuming, two processes, and bad input."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset

from social_rm.errors import SocialRMError
from social_rm.results.scores import read_scores
from social_rm.scoring.cache import CacheMismatch, ScoreCache
from social_rm.scoring.kinds import get_scorer
from social_rm.scoring.options import ModelSettings
from social_rm.scoring.runner import score_pairs
from social_rm.testing import save_tiny_model
from tests.conftest import REPO, SOCIAL_RM, assert_same_scores


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, texts):
    """Tiny Llama models saved to disk: a reward classifier, a causal LM and a second causal LM (a DPO reference)."""
    root = tmp_path_factory.mktemp("models")
    return {
        "classifier": save_tiny_model(root / "classifier", "classifier", texts),
        "causal": save_tiny_model(root / "causal", "causal", texts),
        "reference": save_tiny_model(root / "reference", "causal", texts, seed=1),
    }


@pytest.fixture(scope="module")
def xstest(real_built):
    """A slice of real social-pairs: the XSTest config (prompts with long completions)."""
    return load_dataset(str(real_built[0]), "xstest", split="test").select(range(120))


def scorer(kind, folder, budget=16_384, **options):
    return get_scorer(kind, ModelSettings(str(folder), max_tokens_per_batch=budget), **options)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, model",
    [("classifier", "classifier"), ("logprob", "causal"), ("judge", "causal"), ("dpo", "causal")],
)
def test_every_kind_scores_real_pairs_and_ignores_the_batch_size(kind, model, tiny, xstest):
    options = {"ref_model": str(tiny["reference"])} if kind == "dpo" else {}
    one = score_pairs(xstest, scorer(kind, tiny[model], budget=1, **options), progress=False)
    many = score_pairs(xstest, scorer(kind, tiny[model], budget=100_000, **options), progress=False)
    assert np.isfinite(one.chosen).all() and np.isfinite(one.rejected).all()
    assert_same_scores(one, many)
    assert len(set(np.round(one.chosen, 6))) > 10  # real, varying scores
    assert one.metadata["model"]["kind"] == kind
    if kind == "judge":
        assert np.allclose(one.chosen + one.rejected, 1.0)


def test_scores_match_a_hand_run_of_the_model(tiny, demo_built):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    ds = load_dataset(str(demo_built[0]), "bbq", split="test").select(range(3))
    scores = score_pairs(ds, scorer("classifier", tiny["classifier"]), progress=False)
    tokenizer = AutoTokenizer.from_pretrained(tiny["classifier"])
    model = AutoModelForSequenceClassification.from_pretrained(tiny["classifier"])
    for row, expected in zip(ds, scores.chosen):
        text = tokenizer.apply_chat_template(row["prompt"] + row["chosen"], tokenize=False)
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        assert text.startswith("<s><|user|>") and text.endswith("<|end|>")
        with torch.inference_mode():
            assert model(input_ids=ids).logits[0, 0].item() == pytest.approx(expected, abs=1e-5)


def test_a_judge_that_always_says_a_scores_half(tiny, demo_built):
    ds = load_dataset(str(demo_built[0]), "xstest", split="test")
    judge = scorer("judge", tiny["causal"])
    a = judge.verdict_ids[0]
    judge.model.lm_head.register_forward_hook(
        lambda module, args, out: out.index_fill(-1, __import__("torch").tensor([a]), 100.0)
    )
    scores = score_pairs(ds, judge, progress=False)
    assert np.allclose(scores.chosen, 0.5) and np.allclose(scores.rejected, 0.5)


def test_truncation_cuts_the_prompt_from_the_left_never_the_response(tiny):
    from social_rm.scoring.encoding import encode_many
    from social_rm.scoring.models import load_tokenizer
    from social_rm.scoring.options import LoadOptions

    tokenizer = load_tokenizer(str(tiny["causal"]), LoadOptions())
    prompt = [{"role": "user", "content": "word " * 300}]
    [full] = encode_many(tokenizer, [prompt], ["The grandson."], None)
    [cut] = encode_many(tokenizer, [prompt], ["The grandson."], 64)
    assert cut.truncated and len(cut.ids) == 64 and not full.truncated
    assert cut.ids[0] == tokenizer.bos_token_id
    assert cut.ids[cut.response_start :] == full.ids[full.response_start :]


def test_a_response_over_max_length_is_cut_at_its_end_keeping_the_end_of_turn(tiny):
    from social_rm.scoring.encoding import encode_many
    from social_rm.scoring.models import load_tokenizer
    from social_rm.scoring.options import LoadOptions

    tokenizer = load_tokenizer(str(tiny["classifier"]), LoadOptions())
    prompt, response = [{"role": "user", "content": "Who was it?"}], "word " * 20_000  # 100k characters
    text = tokenizer.apply_chat_template(
        [*prompt, {"role": "assistant", "content": response}], tokenize=False
    )
    full = tokenizer(text, add_special_tokens=False)["input_ids"]
    end = tokenizer("<|end|>", add_special_tokens=False)["input_ids"]
    assert text.endswith("<|end|>") and full[-len(end) :] == end
    [cut] = encode_many(tokenizer, [prompt], [response], 64)
    assert cut.truncated and len(cut.ids) == 64
    assert cut.ids[-len(end) :] == end  # the classifier reads the end of turn, as on a short response
    assert cut.ids[: 64 - len(end)] == full[: 64 - len(end)]  # the prompt whole, then the response's start
    assert 0 < cut.response_start < 32  # a short prompt is kept whole


def test_max_length_must_be_positive(tiny):
    for bad in (0, -5):
        with pytest.raises(SocialRMError, match=f"--max-length must be a positive integer \\(got {bad}\\)"):
            ModelSettings(str(tiny["classifier"]), max_length=bad)


def test_a_model_without_a_pad_token_scores_the_same(tiny, tmp_path, texts, demo_built):
    bare = save_tiny_model(tmp_path / "no-pad", "classifier", texts, pad=False)
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(bare).pad_token_id is None
    ds = load_dataset(str(demo_built[0]), "bbq", split="test")
    with_pad = score_pairs(ds, scorer("classifier", tiny["classifier"]), progress=False)
    without = score_pairs(ds, scorer("classifier", bare), progress=False)
    assert np.abs(with_pad.chosen - without.chosen).max() < 1e-5  # same weights (same seed), no pad token


def test_a_missing_model_is_a_clear_error(tmp_path):
    from social_rm.scoring.models import ModelError

    with pytest.raises(
        ModelError,
        match=re.escape(f"model {str(tmp_path / 'nope')!r} is neither a local folder nor a Hub id"),
    ):
        scorer("classifier", tmp_path / "nope")


def test_pickle_weights_need_an_explicit_flag(tmp_path, texts, demo_built):
    import torch
    from transformers import AutoModelForSequenceClassification

    from social_rm.scoring.options import LoadOptions

    folder = save_tiny_model(tmp_path / "m", "classifier", texts)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")  # a pickle-only checkpoint
    with pytest.raises(OSError, match="needs --allow-pickle"):
        scorer("classifier", folder)
    loaded = get_scorer("classifier", ModelSettings(str(folder), LoadOptions(allow_pickle=True)))
    assert loaded.model.config.num_labels == 1


def test_a_cache_from_another_model_is_refused(tmp_path, tiny):
    first = scorer("classifier", tiny["classifier"])
    cache = ScoreCache(tmp_path / "c.sqlite", first.fingerprint(), first.identity())
    cache.put([("unit", 1.0)])
    cache.close()
    other = scorer("logprob", tiny["causal"])
    with pytest.raises(
        CacheMismatch,
        match=f"score cache {re.escape(str(tmp_path / 'c.sqlite'))} holds the scores of another model",
    ):
        len(ScoreCache(tmp_path / "c.sqlite", other.fingerprint(), other.identity()))


def test_the_cache_serves_a_second_run(tiny, demo_built, tmp_path):
    ds = load_dataset(str(demo_built[0]), "bbq", split="test")
    first = scorer("classifier", tiny["classifier"])
    cache = ScoreCache(tmp_path / "c.sqlite", first.fingerprint(), first.identity())
    scores = score_pairs(ds, first, cache, progress=False)
    assert len(cache) == 3 * 44

    class Refuses:
        name, unit = "refuses", "completion"

        def identity(self):
            return {}

        def score_stream(self, units):
            raise AssertionError(f"asked to score {len(units)} units")
            yield

    again = score_pairs(ds, Refuses(), cache, progress=False)
    assert np.array_equal(again.chosen, scores.chosen)


@pytest.mark.slow
def test_a_killed_run_resumes_without_rescoring(tiny, real_built, tmp_path):
    cache = tmp_path / "cache.sqlite"
    args = [
        SOCIAL_RM,
        "score",
        "--dataset",
        str(real_built[0]),
        "--config",
        "xstest",
        "--model",
        str(tiny["classifier"]),
        "--max-tokens-per-batch",
        "400",
        "--cache",
        str(cache),
    ]
    process = subprocess.Popen(
        [*args, "--out", str(tmp_path / "first.parquet")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and process.poll() is None:
        time.sleep(0.5)
        if cache.exists():
            try:
                done = sqlite3.connect(cache).execute("SELECT COUNT(*) FROM scores").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if done >= 300:
                break
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "first.parquet").exists()  # nothing half-written
    resumed = subprocess.run(
        [*args, "--out", str(tmp_path / "resumed.parquet")], cwd=REPO, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    already = int(
        re.search(r"([\d,]+) of ([\d,]+) completions already scored", resumed.stdout + resumed.stderr)
        .group(1)
        .replace(",", "")
    )
    assert already >= done
    clean = subprocess.run(
        [*args[:-2], "--no-cache", "--out", str(tmp_path / "clean.parquet")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert clean.returncode == 0, clean.stderr
    assert_same_scores(read_scores(tmp_path / "resumed.parquet"), read_scores(tmp_path / "clean.parquet"))


@pytest.mark.slow
def test_two_accelerate_processes_give_the_single_process_scores(tiny, real_built, tmp_path):
    common = [
        "score",
        "--dataset",
        str(real_built[0]),
        "--config",
        "winogender",
        "--model",
        str(tiny["classifier"]),
    ]
    single = subprocess.run(
        [SOCIAL_RM, *common, "--cache", str(tmp_path / "one.sqlite"), "--out", str(tmp_path / "one.parquet")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert single.returncode == 0, single.stderr
    accelerate = str(Path(sys.executable).parent / "accelerate")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launched = subprocess.run(
        # --multi_gpu is accelerate's torchrun launcher (--cpu starts one process); without a GPU it joins by gloo
        [
            accelerate,
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "-m",
            "social_rm",
            *common,
            "--cache",
            str(tmp_path / "two.sqlite"),
            "--out",
            str(tmp_path / "two.parquet"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert_same_scores(read_scores(tmp_path / "one.parquet"), read_scores(tmp_path / "two.parquet"))
    # the work was split, not done twice: Winogender's 480 completions share one prompt, so they make items of 64
    # completions (the last of 32) dealt in turn: 4 x 64 to process 0, 3 x 64 + 32 to process 1
    said = re.findall(r"process (\d) of 2: scoring (\d+) of the 480 completions left", launched.stderr)
    assert sorted((int(rank), int(n)) for rank, n in said) == [(0, 256), (1, 224)]
    shared = ScoreCache(tmp_path / "two.sqlite", scorer("classifier", tiny["classifier"]).fingerprint(), {})
    assert len(shared) == 480 and not list(tmp_path.glob("two.rank*.sqlite"))  # the shards, merged


def test_file_kind_takes_precomputed_scores(demo_built, tmp_path):
    from social_rm.results.scores import write_scores

    ds = load_dataset(str(demo_built[0]), "default", split="test")
    scores = score_pairs(ds, get_scorer("length"), progress=False)
    write_scores(scores, tmp_path / "mine.parquet")
    done = subprocess.run(
        [
            SOCIAL_RM,
            "score",
            "--dataset",
            str(demo_built[0]),
            "--kind",
            "file",
            "--model",
            str(tmp_path / "mine.parquet"),
            "--out",
            str(tmp_path / "out.parquet"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    again = read_scores(tmp_path / "out.parquet")
    assert again.ids == scores.ids and np.array_equal(again.chosen, scores.chosen)
    assert again.metadata["dataset"]["config"] == "default"


def test_the_judge_cuts_the_conversation_never_its_instruction_or_the_responses(tiny):
    from social_rm.scoring.units import PairUnit

    history = tuple(("user" if i % 2 == 0 else "assistant", f"turn {i} " + "words " * 12) for i in range(9))
    pair = PairUnit(history, "The first answer.", "The second answer.")
    whole = (
        get_scorer("judge", ModelSettings(str(tiny["causal"]), max_length=None))
        .encode_pair(pair, pair.chosen, pair.rejected)
        .ids
    )
    limit = len(whole) - 40  # a few turns too long
    judge = get_scorer("judge", ModelSettings(str(tiny["causal"]), max_length=limit))
    encoded = judge.encode_pair(pair, pair.chosen, pair.rejected)
    ids = encoded.ids
    text = judge.tokenizer.decode(ids)
    assert len(ids) <= limit and encoded.truncated
    judge.prepare([pair])
    assert judge.truncated == 2  # both orders were cut, and counted
    assert "Which response to the conversation below is better" in text
    assert "[Response A]\nThe first answer." in text and "[Response B]\nThe second answer." in text
    assert "turn 0 " not in text and "turn 8 " in text and "[Conversation]\n..." in text
    with pytest.raises(SocialRMError, match="the instruction and the two responses alone take"):
        get_scorer("judge", ModelSettings(str(tiny["causal"]), max_length=20)).encode_pair(
            pair, pair.chosen, pair.rejected
        )


def test_the_auto_token_budget_by_hand():
    from types import SimpleNamespace

    from social_rm.cli import parser
    from social_rm.scoring.models import token_budget_for

    llama3_8b = SimpleNamespace(hidden_size=4096, intermediate_size=14336, vocab_size=128256)
    # bf16: 2 * (4 * 4096 + 3 * 14336 + 128256) + 2048 = 377,344 bytes a token; 0.8 * 62e9 / 377,344 = 131,445.15
    assert token_budget_for(llama3_8b, 2, 62_000_000_000, 2048) == 131_445
    assert token_budget_for(llama3_8b, 2, 1_000_000, 2048) == 2048  # at least one row
    args = ["score", "--dataset", "d", "--out", "o.parquet", "--max-tokens-per-batch"]
    assert parser().parse_args([*args, "auto"]).max_tokens_per_batch is None
    assert parser().parse_args([*args, "4096"]).max_tokens_per_batch == 4096
    with pytest.raises(SystemExit):
        parser().parse_args([*args, "0"])


def test_scoring_never_rewrites_the_models_config(tmp_path, texts, demo_built):
    """A model read through its own forward pass (an encoder, no pad token) keeps its config while the next chunk is
    encoded in the background, and each reward is its own one-sequence pass."""
    import torch

    from social_rm.testing import save_tiny_encoder

    save_tiny_encoder(tmp_path / "bert", texts, pad_token_id=None)
    judged = get_scorer("classifier", ModelSettings(str(tmp_path / "bert"), max_tokens_per_batch=512))
    seen = []
    judged.model.register_forward_pre_hook(lambda module, args: seen.append(module.config.pad_token_id))
    ds = load_dataset(str(demo_built[0]), "bbq", split="test").select(range(12))
    scores = score_pairs(ds, judged, progress=False)
    assert seen and set(seen) == {None}

    model, tokenizer = judged.model, judged.tokenizer
    expected = []
    for row in ds:
        text = tokenizer.apply_chat_template(row["prompt"] + row["chosen"], tokenize=False)
        with torch.no_grad():
            ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
            expected.append(model(input_ids=ids).logits[0, 0].item())
    assert np.abs(scores.chosen - np.array(expected)).max() < 1e-5


def test_score_says_how_it_runs_and_what_it_computed(tiny, demo_built, tmp_path):
    args = ["score", "--dataset", demo_built[0], "--config", "bbq", "--model", tiny["classifier"]]
    args += ["--max-tokens-per-batch", "4096", "--no-cache", "--out", tmp_path / "s.parquet"]
    done = subprocess.run([SOCIAL_RM, *map(str, args)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert (
        f"{tiny['classifier']}: classifier on cpu, torch.float32, packed rows (each shared start once), "
        "4,096 tokens a batch, --max-length 4096"
    ) in done.stderr
    counted = re.search(
        r"scored (\d+) completions in [\d.]+ s: ([\d,]+) tokens through the model", done.stderr
    )
    ds = load_dataset(str(demo_built[0]), "bbq", split="test")
    unique = {
        (tuple(map(str, r["prompt"])), r[side][0]["content"]) for r in ds for side in ("chosen", "rejected")
    }
    assert counted and int(counted.group(1)) == len(unique) and int(counted.group(2).replace(",", "")) > 0


def test_completions_of_a_sampled_dataset_are_its_rows_in_order():
    """The runner reads prompts and responses a column at a time from Arrow; datasets' own row formatting of a
    shuffled, filtered dataset (an indices mapping, a chunk per row) gives the same prompts, responses and ids."""
    from datasets import Dataset

    from social_rm.scoring.runner import completions

    rows = [
        {
            "id": f"p{i}",
            "prompt": [
                {"role": "system", "content": f"Be brief {i % 2}."},
                {"role": "user", "content": f"Q{i % 3}?"},
            ][: 1 + i % 2],
            "chosen": [{"role": "assistant", "content": f"yes {i % 4}"}],
            "rejected": [{"role": "assistant", "content": f"no {i % 5}"}],
        }
        for i in range(40)
    ]
    ds = Dataset.from_list(rows).shuffle(seed=1).filter(lambda pair_id: pair_id != "p7", input_columns="id")
    units, chosen_at, rejected_at, ids = completions(ds)
    expected = [
        (
            tuple((m["role"], m["content"]) for m in row["prompt"]),
            row["chosen"][0]["content"],
            row["rejected"][0]["content"],
        )
        for row in ds
    ]
    assert ids == [row["id"] for row in ds] and len(ids) == 39
    assert [
        (units[c].prompt, units[c].response, units[r].response) for c, r in zip(chosen_at, rejected_at)
    ] == expected
    assert len(units) == len({(p, side) for p, c, r in expected for side in (c, r)})


def test_a_pair_whose_response_is_not_one_message_is_named():
    from datasets import Dataset

    from social_rm.scoring.runner import completions

    message = [{"role": "assistant", "content": "ok"}]
    rows = [
        {"id": f"p{i}", "prompt": [{"role": "user", "content": "q"}], "chosen": message, "rejected": message}
        for i in range(3)
    ]
    rows[2]["rejected"] = []
    with pytest.raises(
        SocialRMError,
        match=r"row 2 \(id 'p2'\): 'rejected' must be a list of one assistant message, got \[\]",
    ):
        completions(Dataset.from_list(rows))
