"""Nothing wrong gets through: leaderboard submissions cover all of social-pairs and say what their model card
says, the score cache knows a changed model, evaluate knows another dataset, builds keep what they did not
rebuild, and reports never mix datasets."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from social_rm.dataset_builders.build import build, existing_sources
from social_rm.dataset_builders.registry import BUILDERS
from social_rm.errors import SocialRMError
from social_rm.results.report import format_table, load_documents, sort_rows
from social_rm.results.scores import read_scores
from social_rm.testing import save_tiny_model
from tests.conftest import DEMO_SOURCES, social_rm
from tests.test_publishing import CARD


@pytest.fixture(scope="module")
def published(demo_results):
    return demo_results / "social-pairs"


def submit(scores, card_text, dataset, tmp_path):
    card = tmp_path / "card.md"
    card.write_text(card_text)
    return social_rm(
        "submit",
        "--scores",
        scores,
        "--model-card",
        card,
        "--dataset",
        dataset,
        "--dry-run",
        tmp_path / "pr",
    )


def test_a_submission_on_one_config_is_refused_with_both_counts(published, tmp_path):
    scores = tmp_path / "x.parquet"
    assert (
        social_rm(
            "score", "--dataset", published, "--config", "xstest", "--model", "length", "--out", scores
        ).returncode
        == 0
    )
    n_xstest = len(read_scores(scores).ids)
    done = submit(scores, CARD, published, tmp_path)
    assert done.returncode == 1
    assert (
        f"covers config 'xstest', split 'test' ({n_xstest:,} pairs); the leaderboard needs all 187 pairs of "
        "config 'default', split 'test'"
    ) in done.stderr


def test_a_sampled_submission_is_refused(published, tmp_path):
    from social_rm.data import load_pairs

    scores = tmp_path / "sampled.parquet"
    social_rm(
        "score", "--dataset", published, "--model", "length", "--sample", "5", "--out", scores, check=True
    )
    sample = read_scores(scores).metadata["sample"]
    assert sample["n_pairs"] == len(read_scores(scores).ids) < len(load_pairs(published))
    done = submit(scores, CARD, published, tmp_path)
    assert done.returncode == 1
    assert f"scores a sample of {sample['n_items']} items (score --sample): an estimate" in done.stderr


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "Best-RM", "the model card's name 'Best-RM' is not the scored model's ('length')"),
        ("kind", "classifier", "the model card's kind 'classifier' is not the scored model's ('baseline')"),
        ("parameters", "8B", "the model card's parameters '8B' are not the scored model's (0)"),
    ],
)
def test_a_model_card_that_differs_from_the_scored_model_is_refused(
    demo_results, published, tmp_path, field, value, message
):
    card = re.sub(rf"^{field}: .*$", f"{field}: {value}", CARD, flags=re.M)
    done = submit(demo_results / "scores" / "length.parquet", card, published, tmp_path)
    assert done.returncode == 1 and message in done.stderr, done.stderr


def test_the_leaderboard_shows_what_the_model_card_says(demo_results, tmp_path):
    folder = tmp_path / "submissions" / "length"
    folder.mkdir(parents=True)
    shutil.copyfile(demo_results / "results" / "length.json", folder / "results.json")
    (folder / "model_card.md").write_text(CARD.replace("name: length", "name: Length baseline (chars)"))
    (document,) = load_documents([folder / "results.json"])
    assert document["model"] == {
        "name": "Length baseline (chars)",
        "kind": "baseline",
        "parameters": 0,
        "license": "apache-2.0",
        "link": "https://example.org/length",
    }


def test_sort_orders_are_best_first_by_hand():
    rows = [
        {"model": m, "social_score": s, "over_caution_rate": o, "bias_skew": b}
        for m, s, o, b in [
            ("a", 0.6, 0.3, -0.4),
            ("b", None, 0.1, 0.05),
            ("c", 0.7, None, 0.2),
            ("d", 0.5, 0.2, -0.1),
        ]
    ]
    order = {
        key: [r["model"] for r in sort_rows(rows, key)]
        for key in ("social_score", "over_caution_rate", "bias_skew")
    }
    assert order == {
        "social_score": ["c", "a", "d", "b"],
        "over_caution_rate": ["b", "d", "a", "c"],
        "bias_skew": ["b", "d", "c", "a"],
    }


def test_the_report_refuses_results_of_different_datasets(demo_results, tmp_path):
    document = json.loads((demo_results / "results" / "length.json").read_text())
    document["dataset"]["fingerprint"] = "f" * 64
    other = tmp_path / "other.json"
    other.write_text(json.dumps(document))
    with pytest.raises(
        SocialRMError, match=r"results of different datasets cannot share a table: .* on f{64} \(187 pairs\)"
    ):
        load_documents([demo_results / "results" / "random.json", other])


def test_the_terminal_table_gives_counts_and_marks_small_ones(demo_results):
    result = json.loads((demo_results / "results" / "length.json").read_text())["results"]
    table = format_table(result, "t")
    n_safety = result["by_domain"]["safety"]["n"]["accuracy"]
    assert f"n={n_safety:,}" in table
    assert ("*" in table) == any(
        n < 30
        for entry in [result, *result["by_domain"].values()]
        for n in entry["n"].values()
        if n is not None
    )
    assert "* fewer than 30 pairs" in table


def test_evaluate_refuses_scores_of_another_build_unless_allowed(demo_results, tmp_path):
    other = tmp_path / "social-pairs"
    build(other, DEMO_SOURCES, only=list(BUILDERS), verify=False)
    (other / "README.md").write_text((other / "README.md").read_text() + "\nAnother build.\n")
    scores = demo_results / "scores" / "length.parquet"
    done = social_rm("evaluate", "--dataset", other, "--scores", scores, "--out", tmp_path / "r.json")
    assert done.returncode == 1 and "was computed on another build of the dataset" in done.stderr
    assert "--allow-other-dataset" in done.stderr
    allowed = social_rm(
        "evaluate",
        "--dataset",
        other,
        "--scores",
        scores,
        "--out",
        tmp_path / "r.json",
        "--allow-other-dataset",
        "--n-bootstrap",
        "0",
    )
    assert allowed.returncode == 0, allowed.stderr
    dataset = json.loads((tmp_path / "r.json").read_text())["dataset"]
    assert dataset["scores_dataset"]["fingerprint"] != dataset["fingerprint"]


def test_build_only_keeps_the_sources_it_did_not_name(tmp_path):
    out = tmp_path / "social-pairs"
    build(out, DEMO_SOURCES, only=["bbq", "xstest"], verify=False)
    before = (out / "data" / "bbq" / "test-00000-of-00001.parquet").read_bytes()
    build(out, DEMO_SOURCES, only=["crows_pairs", "xstest"], verify=False)
    assert existing_sources(out) == ["bbq", "crows_pairs", "xstest"]
    assert (out / "data" / "bbq" / "test-00000-of-00001.parquet").read_bytes() == before
    from datasets import load_dataset

    assert load_dataset(str(out), "bbq", split="test").num_rows > 0
    assert {"bbq", "crows_pairs", "xstest"} == set(load_dataset(str(out), "default", split="test")["source"])


def test_a_killed_builds_temporary_folder_is_removed_by_the_next(tmp_path):
    out = tmp_path / "social-pairs"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".social-pairs.build-{dead.stdout.strip()}-abc123"
    (stale / "data").mkdir(parents=True)
    alive = tmp_path / f".social-pairs.build-{os.getpid()}-def456"  # a build still running: left alone
    alive.mkdir()
    build(out, DEMO_SOURCES, only=["xstest"], verify=False)
    assert not stale.exists() and alive.exists()


def test_the_demo_writes_under_its_own_folder(tmp_path):
    done = social_rm("run", "--n-bootstrap", "0", "--model", "length", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "demo" / "results" / "length.json").is_file()
    assert not (tmp_path / "out" / "social-pairs").exists()


@pytest.mark.slow
def test_changing_weights_in_the_middle_of_the_file_changes_the_scores(demo_built, tmp_path):
    from datasets import load_dataset

    ds = load_dataset(str(demo_built[0]), "default", split="test")
    texts = [m["content"] for row in ds for m in row["prompt"] + row["chosen"] + row["rejected"]]
    model = save_tiny_model(tmp_path / "rm", "classifier", texts, hidden=256, layers=2)
    weights = model / "model.safetensors"
    assert weights.stat().st_size > 2 * 2**20
    args = [
        "score",
        "--dataset",
        demo_built[0],
        "--config",
        "bbq",
        "--model",
        model,
        "--cache",
        tmp_path / "c.sqlite",
    ]
    first = social_rm(*args, "--out", tmp_path / "a.parquet")
    assert first.returncode == 0, first.stderr
    again = social_rm(*args, "--out", tmp_path / "b.parquet")
    assert "already scored" in again.stderr
    with open(weights, "r+b") as f:  # in place: same size, same first and last MiB
        f.seek((weights.stat().st_size // 2) & ~7)
        f.write(b"\x00\x00\x00\x3f" * 4096)  # float32 0.5
    changed = social_rm(*args[:-2], "--out", tmp_path / "c.parquet")
    assert changed.returncode == 0, changed.stderr
    assert "already scored" not in changed.stderr
    before, after = read_scores(tmp_path / "a.parquet"), read_scores(tmp_path / "c.parquet")
    assert before.ids == after.ids and abs(before.chosen - after.chosen).max() > 1e-4


def _sha256(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_hash_memo_knows_a_byte_changed_with_its_time_restored(tmp_path):
    from social_rm.scoring.models import file_sha256

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\0" * 4096)
    before = os.stat(weights)
    assert file_sha256(weights) == _sha256(weights)
    time.sleep(0.05)
    with open(weights, "r+b") as f:  # one byte in place, then `touch -r` puts the times back
        f.seek(2048)
        f.write(b"\1")
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(weights)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    assert file_sha256(weights) == _sha256(weights)


@pytest.mark.skipif(not shutil.which("tar"), reason="needs tar")
def test_the_hash_memo_knows_a_model_unpacked_with_a_fixed_time_over_another(tmp_path):
    from social_rm.scoring.models import file_sha256

    for name, byte in (("a", b"\1"), ("b", b"\2")):  # two fine-tunes of equal size
        (tmp_path / name / "rm").mkdir(parents=True)
        (tmp_path / name / "rm" / "model.safetensors").write_bytes(byte * 4096)
        subprocess.run(
            [
                "tar",
                "--mtime=2024-01-01 00:00:00",
                "-cf",
                tmp_path / f"{name}.tar",
                "-C",
                tmp_path / name,
                "rm",
            ],
            check=True,
        )
    weights = tmp_path / "out" / "rm" / "model.safetensors"
    (tmp_path / "out").mkdir()
    for name in ("a", "b"):
        time.sleep(0.05)
        subprocess.run(["tar", "-xf", tmp_path / f"{name}.tar", "-C", tmp_path / "out"], check=True)
        assert (
            file_sha256(weights) == _sha256(weights) == _sha256(tmp_path / name / "rm" / "model.safetensors")
        )


def test_an_unreadable_hash_memo_or_score_cache_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    from social_rm.scoring.cache import CacheUnreadable
    from social_rm.scoring.models import file_sha256

    monkeypatch.setattr(constants, "HF_HOME", str(tmp_path / "home"))
    memo = tmp_path / "home" / "social-rm" / "file-hashes.sqlite"
    memo.parent.mkdir(parents=True)
    memo.write_bytes(b"not a database" * 100)
    (tmp_path / "w").write_bytes(b"x")
    with pytest.raises(
        CacheUnreadable, match=re.escape(f"the file-hash memo {memo} is not a readable SQLite")
    ):
        file_sha256(tmp_path / "w")
    from social_rm.scoring.cache import ScoreCache

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(CacheUnreadable, match=re.escape(f"score cache {garbage} is not a readable SQLite")):
        ScoreCache(garbage, "f" * 64, {}).get(["a"])
    truncated = ScoreCache(tmp_path / "truncated.sqlite", "f" * 64, {})
    truncated.put((f"unit {i}", float(i)) for i in range(20_000))
    truncated.close()
    with open(truncated.path, "r+b") as f:
        f.truncate(truncated.path.stat().st_size // 2)
    with pytest.raises(CacheUnreadable, match="truncated.sqlite is not a readable SQLite database"):
        ScoreCache(truncated.path, "f" * 64, {}).get([f"unit {i}" for i in range(20_000)])


def test_submission_folders_cannot_escape_or_collide():
    from social_rm.publish.submission import slug

    names = ["..", ".", "org/model", "org model", "org--model", "../../etc", "a" * 300, "Org/Model"]
    folders = [slug(name) for name in names]
    assert len(set(folders)) == len(names)
    for folder in folders:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,90}", folder)


def test_the_report_escapes_what_a_comparison_file_holds(demo_results, tmp_path):
    comparison = json.loads((demo_results / "repo" / "comparison.json").read_text())
    comparison["n_bootstrap"] = "<script>alert(1)</script>"
    figure = next(iter(comparison["ranks"]))
    model = next(iter(comparison["ranks"][figure]))
    comparison["ranks"][figure][model] = {"rank": "<img src=x onerror=alert(2)>", "ci": ["<b>1</b>", 3]}
    (tmp_path / "c.json").write_text(json.dumps(comparison))
    results = [demo_results / "results" / f"{m}.json" for m in ("random", "length", "shortest")]
    done = social_rm("report", *results, "--comparison", tmp_path / "c.json", "--out", tmp_path / "r.html")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r.html").read_text()
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>1</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(2)&gt;" in page


def test_a_figure_that_is_not_a_number_is_one_line_naming_it(demo_results, tmp_path):
    document = json.loads((demo_results / "results" / "length.json").read_text())
    document["results"]["social_score"] = "0.99"
    (tmp_path / "x.json").write_text(json.dumps(document))
    done = social_rm("report", tmp_path / "x.json", "--out", tmp_path / "r.html")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"social-rm report: error: {tmp_path / 'x.json'}: figure 'results.social_score' is '0.99', not a number"
    )


def test_a_model_name_over_the_file_systems_limit_is_one_line(published, tmp_path):
    done = social_rm("score", "--dataset", published, "--model", "a" * 300, "--out", tmp_path / "s.parquet")
    assert done.returncode == 1
    assert done.stderr.strip() == f"social-rm score: error: --model {'a' * 80}...: File name too long"
