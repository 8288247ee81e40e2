"""The packed engine gives the scores of one-sequence-at-a-time passes: on real items of every source, for Llama,
Mistral, Qwen-2 and Gemma-2 shapes (sliding windows, soft-capping), across row boundaries, with items longer than a
row, one-response items and one-token responses, whatever the batch budget or the order of the dataset."""

import numpy as np
import pytest
from datasets import concatenate_datasets, load_dataset

from social_rm.scoring import batching, engine
from social_rm.scoring.batching import key_chunks as KEY_CHUNKS
from social_rm.scoring.encoding import encode_many
from social_rm.scoring.kinds import get_scorer
from social_rm.scoring.models import load_tokenizer
from social_rm.scoring.options import LoadOptions, ModelSettings
from social_rm.scoring.runner import completions, score_pairs
from social_rm.scoring.units import messages
from social_rm.testing import save_tiny_model


@pytest.fixture(scope="module")
def models(tmp_path_factory, demo_built):
    texts = [
        m["content"]
        for row in load_dataset(str(demo_built[0]), "default", split="test")
        for m in row["prompt"] + row["chosen"] + row["rejected"]
    ]
    root = tmp_path_factory.mktemp("prefix-models")
    return {
        "classifier": save_tiny_model(root / "classifier", "classifier", texts),
        "causal": save_tiny_model(root / "causal", "causal", texts),
        "reference": save_tiny_model(root / "reference", "causal", texts, seed=1),
        "texts": texts,
    }


@pytest.fixture(scope="module")
def real_items(bbq_built, real_built):
    """The first 24 pairs of every source's test split (whole items: its pairs come in item order)."""
    parts = [load_dataset(str(bbq_built[0]), "bbq", split="test").select(range(24))]
    for name in real_built[1]:
        ds = load_dataset(str(real_built[0]), name, split="test")
        parts.append(ds.select(range(min(24, ds.num_rows))))
    return concatenate_datasets(parts)


def scores(kind, folder, ds, sharing, **options):
    scorer = get_scorer(kind, ModelSettings(str(folder), prefix_sharing=sharing), **options)
    result = score_pairs(ds, scorer, progress=False)
    return np.concatenate([result.chosen, result.rejected])


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, model",
    [("classifier", "classifier"), ("logprob", "causal"), ("dpo", "causal"), ("judge", "causal")],
)
def test_packed_scores_equal_the_padded_ones_on_every_source(kind, model, models, real_items, monkeypatch):
    options = {"ref_model": str(models["reference"])} if kind == "dpo" else {}
    tokenizer = load_tokenizer(str(models[model]), LoadOptions())
    units, *_ = completions(real_items)
    encoded = encode_many(tokenizer, [messages(u.prompt) for u in units], [u.response for u in units], 4096)
    items = engine.plan([u.prompt for u in units], encoded)
    shared_sources = {units[it.members[0]].prompt for it in items if len(it.members) > 1 and it.prefix > 8}
    sources_with_items = {
        row["source"]
        for row in real_items
        if tuple((m["role"], m["content"]) for m in row["prompt"]) in shared_sources
    }
    assert sources_with_items == set(real_items.unique("source"))  # every source shares prompts
    joined = [
        r
        for r in engine.pack([u.prompt for u in units], encoded)
        if len({units[m].prompt for m, _ in r.spans}) > 1
    ]
    assert len(joined) >= 3  # BBQ's contexts under several questions: rows of prompts that share their start
    packed = scores(kind, models[model], real_items, True, **options)
    monkeypatch.setattr(engine, "PACKED_MODEL_TYPES", ())  # the padded path, as for a model it cannot serve
    padded = scores(kind, models[model], real_items, True, **options)
    assert np.abs(packed - padded).max() < 1e-5


def test_row_boundaries_long_items_and_one_token_responses_are_exact(models, tmp_path):
    """Rows of 64 tokens: items split across rows, an item longer than a row, a member with one token of its own
    and one-response items (--no-prefix-sharing), against one sequence at a time."""
    from datasets import Dataset

    long_prompt = "Tell me about the history of the city and its people. " * 6
    rows = [
        (long_prompt, "Yes", "No"),
        ("Short question?", "A", "B"),
        ("Short question?", "A", "The longer answer here."),
        ("Another prompt entirely.", "Yes", "Yes indeed"),
    ]
    ds = Dataset.from_list(
        [
            {
                "id": f"x{i}",
                "prompt": [{"role": "user", "content": p}],
                "chosen": [{"role": "assistant", "content": c}],
                "rejected": [{"role": "assistant", "content": r}],
            }
            for i, (p, c, r) in enumerate(rows)
        ]
    )
    units, chosen_at, rejected_at, _ = completions(ds)
    tokenizer = load_tokenizer(str(models["causal"]), LoadOptions())
    encoded = encode_many(tokenizer, [messages(u.prompt) for u in units], [u.response for u in units], None)
    items = engine.plan([u.prompt for u in units], encoded)
    packed_rows = engine.pack([u.prompt for u in units], encoded)
    assert (
        max(len(r.ids) for r in packed_rows) > 64 and len(packed_rows) >= 2
    )  # one item is longer than ROW_LENGTH = 64 (a single sequence is never cut)
    assert (
        min(len(encoded[i].ids) - it.prefix for it in items for i in it.members) == 1
    )  # "Yes" + end of turn
    for kind, folder in (("classifier", models["classifier"]), ("logprob", models["causal"])):
        expected = one_at_a_time(kind, folder, units)
        original = engine.ROW_LENGTH
        try:
            engine.ROW_LENGTH = 64
            for sharing in (True, False):  # without sharing every completion is an item with one response
                got = scores(kind, folder, ds, sharing)
                assert np.abs(got - np.concatenate([expected[chosen_at], expected[rejected_at]])).max() < 1e-5
        finally:
            engine.ROW_LENGTH = original


def test_prompts_that_share_their_start_share_a_row_and_give_the_one_sequence_scores(models):
    """A context under two questions and, with a sentence more, under one of them (as BBQ's ambiguous and
    disambiguated contexts): one row computes the context once; a prompt that shares only the chat template's
    start stays in a row of its own."""
    from datasets import Dataset

    context = "Two neighbours, a teacher and a nurse, were waiting at the bus stop on a rainy morning."
    prompts = [
        f"{context}\n\nWho was late?",
        f"{context}\n\nWho was early?",
        f"{context} The nurse had missed the first bus.\n\nWho was late?",
        "Is it raining?",
    ]
    ds = Dataset.from_list(
        [
            {
                "id": f"x{i}",
                "prompt": [{"role": "user", "content": p}],
                "chosen": [{"role": "assistant", "content": "The teacher"}],
                "rejected": [{"role": "assistant", "content": "Cannot be determined"}],
            }
            for i, p in enumerate(prompts)
        ]
    )
    units, chosen_at, rejected_at, _ = completions(ds)
    tokenizer = load_tokenizer(str(models["causal"]), LoadOptions())
    encoded = encode_many(tokenizer, [messages(u.prompt) for u in units], [u.response for u in units], None)
    rows = engine.pack([u.prompt for u in units], encoded)
    # the three with the context in one row, "Is it raining?" alone; the context computed once, not three times
    prompts_of = [{units[m].prompt[0][1] for m, _ in r.spans} for r in rows]
    assert sorted(map(len, prompts_of)) == [1, 3]
    items = engine.plan([u.prompt for u in units], encoded)  # a prompt once for its own completions
    alone = sum(it.prefix + sum(len(encoded[m].ids) - it.prefix for m in it.members) for it in items)
    assert alone - sum(len(r.ids) for r in rows) > 1.5 * len(tokenizer(context).input_ids)
    for kind, folder in (("classifier", models["classifier"]), ("logprob", models["causal"])):
        expected = one_at_a_time(kind, folder, units)
        got = scores(kind, folder, ds, True)
        assert np.abs(got - np.concatenate([expected[chosen_at], expected[rejected_at]])).max() < 1e-5


def test_a_prompt_shared_by_more_completions_than_a_row_holds_makes_items_that_fit():
    from social_rm.scoring.encoding import Encoded

    encoded = [
        Encoded([1, 2, 3, 4] + [10 + i] * 5, 4, False) for i in range(10)
    ]  # 4 shared tokens, 5 own each
    items = engine.plan(["one prompt"] * 10, encoded, row_length=20)
    assert [(it.members, it.prefix) for it in items] == [
        ([0, 1, 2], 4),
        ([3, 4, 5], 4),
        ([6, 7, 8], 4),
        ([9], 4),
    ]
    assert [len(r.ids) for r in engine.pack(["one prompt"] * 10, encoded, row_length=20)] == [19, 19, 19, 9]


@pytest.mark.parametrize("budget", [1, 100, 1_000_000])
def test_scores_depend_neither_on_the_budget_nor_on_the_order(models, demo_built, budget):
    ds = load_dataset(str(demo_built[0]), "default", split="test")
    settings = dict(max_tokens_per_batch=budget)
    base = score_pairs(ds, get_scorer("classifier", ModelSettings(str(models["classifier"]))), progress=False)
    shuffled = ds.shuffle(seed=1)
    other = score_pairs(
        shuffled,
        get_scorer("classifier", ModelSettings(str(models["classifier"]), **settings)),
        progress=False,
    )
    position = {pair_id: i for i, pair_id in enumerate(other.ids)}
    order = [position[i] for i in base.ids]
    assert np.abs(base.chosen - other.chosen[order]).max() < 1e-5
    assert np.abs(base.rejected - other.rejected[order]).max() < 1e-5


@pytest.mark.parametrize(
    "kind, model",
    [("classifier", "classifier"), ("logprob", "causal"), ("dpo", "causal"), ("judge", "causal")],
)
def test_scores_do_not_depend_on_the_chunks(models, demo_built, kind, model, monkeypatch):
    ds = load_dataset(str(demo_built[0]), "default", split="test")
    options = {"ref_model": str(models["reference"])} if kind == "dpo" else {}
    whole = scores(kind, models[model], ds, True, **options)
    chunked = []

    def small_chunks(keys, first):
        chunked.append(KEY_CHUNKS(keys, first=1, largest=16))
        return chunked[-1]

    monkeypatch.setattr(batching, "key_chunks", small_chunks)
    assert np.abs(scores(kind, models[model], ds, True, **options) - whole).max() < 1e-5
    assert len(chunked[0]) > 10  # many chunks, each packed and scored on its own


def test_a_response_that_merges_with_the_template_boundary_is_still_exact(models, tmp_path):
    """Without a chat template the fallback ends the prompt with "Assistant: ", whose space byte-level BPE
    merges into the response's first word: the shared prefix stops before it, and scores stay exact."""
    from datasets import Dataset

    from social_rm.testing import train_tokenizer

    folder = save_tiny_model(tmp_path / "plain", "causal", models["texts"])
    (folder / "chat_template.jinja").unlink()
    train_tokenizer(models["texts"], chat_template=False).save_pretrained(folder)
    tokenizer = load_tokenizer(str(folder), LoadOptions())
    prompt = [
        {
            "role": "user",
            "content": "Who was not comfortable using the phone? Answer in a word or two, please.",
        }
    ]
    head = tokenizer(
        tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True),
        add_special_tokens=False,
    )["input_ids"]
    [full] = encode_many(tokenizer, [prompt], ["The grandfather"], None)
    assert full.response_start < len(head)  # the boundary token merged: a string cut would give other tokens
    rows = [
        {
            "id": f"x:{i}",
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": c}],
            "rejected": [{"role": "assistant", "content": r}],
        }
        for i, (c, r) in enumerate(
            [("The grandfather", "The grandson"), ("Can't be determined", "The grandson")]
        )
    ]
    ds = Dataset.from_list(rows)
    assert np.abs(scores("logprob", folder, ds, True) - scores("logprob", folder, ds, False)).max() < 1e-5


def test_an_encoder_takes_padded_batches_and_says_so(models, demo_built, tmp_path, monkeypatch, caplog):
    from social_rm.testing import save_tiny_encoder

    ds = load_dataset(str(demo_built[0]), "bbq", split="test")
    save_tiny_encoder(tmp_path / "bert", models["texts"])
    called = []
    original = engine.forward
    monkeypatch.setattr(engine, "forward", lambda *a, **k: called.append(1) or original(*a, **k))
    monkeypatch.setattr(batching, "key_chunks", lambda keys, first: KEY_CHUNKS(keys, first=8, largest=8))
    with caplog.at_level("INFO", logger="social_rm"):
        assert np.isfinite(scores("classifier", tmp_path / "bert", ds, True)).all() and not called
    said = "is not known to honour a packed 4-D attention mask; scoring in padded, length-sorted batches"
    assert caplog.text.count(said) == 1  # once, not once a chunk
    scores("classifier", models["classifier"], ds, True)
    assert called  # a decoder is packed


def test_the_no_prefix_sharing_flag_gives_the_same_scores(models, demo_built, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from social_rm.results.scores import read_scores
    from tests.conftest import REPO, assert_same_scores

    command = [
        str(Path(sys.executable).parent / "social-rm"),
        "score",
        "--dataset",
        str(demo_built[0]),
        "--config",
        "xstest",
        "--model",
        str(models["classifier"]),
        "--no-cache",
    ]
    for name, extra in (("shared", []), ("plain", ["--no-prefix-sharing"])):
        done = subprocess.run(
            [*command, *extra, "--out", str(tmp_path / f"{name}.parquet")],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert done.returncode == 0, done.stderr
    assert_same_scores(read_scores(tmp_path / "shared.parquet"), read_scores(tmp_path / "plain.parquet"))


def one_at_a_time(kind, folder, units):
    """Each completion alone through the model's own forward, as transformers scores one sequence."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    tokenizer = load_tokenizer(str(folder), LoadOptions())
    auto = AutoModelForSequenceClassification if kind == "classifier" else AutoModelForCausalLM
    model = auto.from_pretrained(folder).eval()
    out = []
    for e in encode_many(tokenizer, [messages(u.prompt) for u in units], [u.response for u in units], 4096):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([e.ids])).logits[0].double()
        if kind == "classifier":  # transformers pools the head at the sequence's last token that is not pad
            out.append(float(logits[0]))
        else:
            logprobs = torch.log_softmax(logits[:-1], -1).gather(-1, torch.tensor(e.ids[1:])[:, None])[:, 0]
            out.append(float(logprobs[e.response_start - 1 :].mean()))
    return np.array(out)


@pytest.mark.parametrize("architecture", ["Mistral", "Qwen2", "Qwen3", "Gemma2"])
@pytest.mark.parametrize("kind", ["classifier", "logprob"])
def test_sliding_windows_and_soft_capping_give_the_one_sequence_scores(
    models, demo_built, tmp_path, architecture, kind, monkeypatch
):
    """A sliding window of 6 tokens, far shorter than the items; Gemma-2 with its soft-capping (eager attention);
    SDPA in blocks of 4 queries; masks written a row at a time."""
    from social_rm.scoring import attention

    monkeypatch.setattr(attention, "MIN_BLOCK", 4)
    monkeypatch.setattr(engine, "MASK_PIECE", 1)
    ds = load_dataset(str(demo_built[0]), "xstest", split="test")
    extra = (
        {"sliding_window": 6, "use_sliding_window": True}
        if architecture in ("Qwen2", "Qwen3")
        else {"sliding_window": 6}
    )
    if architecture == "Gemma2":
        extra.update(attn_logit_softcapping=50.0, final_logit_softcapping=30.0)
    folder = save_tiny_model(
        tmp_path / architecture,
        "classifier" if kind == "classifier" else "causal",
        models["texts"],
        architecture=architecture,
        **extra,
    )
    units, chosen_at, rejected_at, _ = completions(ds)
    expected = one_at_a_time(kind, folder, units)
    for sharing in (True, False):
        got = scores(kind, folder, ds, sharing)
        assert np.abs(got - np.concatenate([expected[chosen_at], expected[rejected_at]])).max() < 1e-5, (
            sharing
        )


def test_a_prompt_whose_shared_text_does_not_tokenize_on_its_own_is_tokenized_whole():
    """`encode_many` tokenizes a prompt's shared text once where that is exact; a tokenizer that tokenizes the
    pieces differently from the whole (here: a length token at the end of each input) gets every text whole."""
    from types import SimpleNamespace

    from social_rm.scoring.encoding import common_prefix, encode_many

    class Tokenizer:
        bos_token_id = None
        added_tokens_decoder = {1: SimpleNamespace(content="<|a|>", lstrip=False, rstrip=False)}

        def apply_chat_template(self, conversations, tokenize, add_generation_prompt):
            def one(messages):
                text = "".join(f"<|{m['role'][0]}|>{m['content']}" for m in messages)
                return text + ("<|a|>" if add_generation_prompt else "")

            return [one(m) for m in conversations]

        def __call__(self, texts, add_special_tokens):
            return {"input_ids": [[ord(c) for c in text] + [1000 + len(text)] for text in texts]}

    tokenizer = Tokenizer()
    prompt = [{"role": "user", "content": "Who was it?"}]
    responses = ["The grandson.", "The grandfather.", "Unknown."]
    encoded = encode_many(tokenizer, [prompt] * 3, responses, None)
    for e, response in zip(encoded, responses):
        whole = [ord(c) for c in f"<|u|>Who was it?<|a|>{response}"] + [
            1000 + len(f"<|u|>Who was it?<|a|>{response}")
        ]
        head = [ord(c) for c in "<|u|>Who was it?<|a|>"] + [1000 + len("<|u|>Who was it?<|a|>")]
        assert e.ids == whole and e.response_start == common_prefix(whole, head)


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize(
    "kind, model", [("classifier", "classifier"), ("logprob", "causal"), ("judge", "causal")]
)
def test_no_forward_pass_builds_a_key_value_cache(models, demo_built, kind, model, packed):
    """Scoring reads one pass: a decoder's cache of every layer's keys and values would be memory and time for
    nothing (2 GB a 16k-token batch for Llama-3-8B in bf16)."""
    ds = load_dataset(str(demo_built[0]), "xstest", split="test")
    scorer = get_scorer(kind, ModelSettings(str(models[model])))
    scorer.packs = packed
    seen = []
    scorer.model.base_model.register_forward_hook(  # the decoder, which every path runs
        lambda module, args, kwargs, output: seen.append(
            (kwargs.get("use_cache"), output.get("past_key_values"))
        ),
        with_kwargs=True,
    )
    score_pairs(ds, scorer, progress=False)
    assert seen and all(use_cache is False and cache is None for use_cache, cache in seen)


@pytest.mark.parametrize("dtype", ["bool", "float"])
@pytest.mark.parametrize("cached", [0, 7])
def test_attention_in_blocks_of_queries_is_sdpa(dtype, cached, monkeypatch):
    """Blocks of queries against the keys up to each block's end give transformers' SDPA attention of the whole
    row (grouped key/value heads, a mask of branches over a shared prefix, keys of a cache in front), and compute
    only the keys up to each block's end."""
    import torch
    import torch.nn.functional as F
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from social_rm.scoring import attention

    torch.manual_seed(0)
    batch, heads, width = 3, 4, 150
    module = torch.nn.Module()
    module.num_key_value_groups, module.is_causal = 2, True
    query = torch.randn(batch, heads, width, 16)
    key, value = (torch.randn(batch, heads // 2, cached + width, 16) for _ in range(2))
    branch = torch.tensor(  # per token: 0 the shared prefix, k the k-th response, -1 padding
        [
            [0] * 90 + [1] * 20 + [2] * 30 + [-1] * 10,
            [0] * 40 + [1] * 50 + [2] * 60,
            [0] * width,
        ]
    )
    sees = (branch[:, None, :, None] == branch[:, None, None, :]) | (branch[:, None, None, :] == 0)
    sees &= torch.ones(width, width, dtype=torch.bool).tril()
    mask = torch.cat([torch.ones(batch, 1, width, cached, dtype=torch.bool), sees], dim=-1)
    if dtype == "float":
        mask = torch.zeros(mask.shape).masked_fill(~mask, torch.finfo(torch.float32).min)
    expected, _ = sdpa_attention_forward(module, query, key, value, mask)
    keys_seen = []
    sdpa = F.scaled_dot_product_attention
    monkeypatch.setattr(
        F,
        "scaled_dot_product_attention",
        lambda q, k, *a, **kw: keys_seen.append((q.shape[2], k.shape[2])) or sdpa(q, k, *a, **kw),
    )
    got, _ = attention.blocked_sdpa(module, query, key, value, mask)
    # blocks of 32 queries (at least 32, 150 / 8 = 19), each against the keys up to its end
    assert keys_seen == [
        (32, cached + 32),
        (32, cached + 64),
        (32, cached + 96),
        (32, cached + 128),
        (22, cached + 150),
    ]
    assert torch.allclose(got, expected, atol=1e-6)
    assert attention.pairs_computed(width) == 32 * (32 + 64 + 96 + 128) + 22 * 150 < width * width


def test_the_engine_runs_attention_in_blocks_and_leaves_the_model_as_it_was(models, demo_built, monkeypatch):
    from social_rm.scoring import attention

    ds = load_dataset(str(demo_built[0]), "xstest", split="test")
    scorer = get_scorer("classifier", ModelSettings(str(models["classifier"])))
    calls = []
    original = attention.blocked_sdpa
    monkeypatch.setattr(attention, "blocked_sdpa", lambda *a, **kw: calls.append(1) or original(*a, **kw))
    score_pairs(ds, scorer, progress=False)
    assert calls and scorer.model.config._attn_implementation == "sdpa"


def test_on_the_cpu_chunks_are_prepared_in_the_main_thread(models, demo_built, monkeypatch):
    """The background thread overlaps the host's work with a GPU's; on the CPU it would share the cores."""
    import threading

    from social_rm.scoring.rewards import RewardModelScorer

    ds = load_dataset(str(demo_built[0]), "default", split="test")
    threads = []
    original = RewardModelScorer.prepare
    monkeypatch.setattr(
        RewardModelScorer,
        "prepare",
        lambda self, units: threads.append(threading.current_thread().name) or original(self, units),
    )
    monkeypatch.setattr(batching, "key_chunks", lambda keys, first: KEY_CHUNKS(keys, first=8, largest=8))
    score_pairs(ds, get_scorer("classifier", ModelSettings(str(models["classifier"]))), progress=False)
    assert len(threads) > 1 and set(threads) == {threading.main_thread().name}
