"""push_to_hub.py dry runs, submissions and the static report."""

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
from datasets import load_dataset

from social_rm.results.scores import read_scores, write_scores
from tests.conftest import REPO, SOCIAL_RM

PYTHON = sys.executable
CARD = """---
name: length
kind: baseline
parameters: 0
license: apache-2.0
link: https://example.org/length
---
The length baseline.
"""


def run(*args, env=None):
    return subprocess.run(
        [*map(str, args)], capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})}
    )


def test_the_dry_run_writes_what_loads_from_the_hub(demo_results, tmp_path):
    done = run(
        PYTHON,
        "push_to_hub.py",
        "--org",
        "acme",
        "--dataset-dir",
        demo_results / "social-pairs",
        "--dry-run",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    card = (tmp_path / "social-pairs" / "README.md").read_text()
    configs = re.findall(r"^- config_name: (\S+)", card, re.M)
    assert {"default", "bbq", "bias", "safety", "morality", "ethical_reasoning", "moral_stories"} <= set(
        configs
    )
    for config in configs:
        assert load_dataset(str(tmp_path / "social-pairs"), config, split="test").num_rows > 0
    import evaluate

    metric = evaluate.load(str(tmp_path / "social_rm"))
    result = metric.compute(
        chosen_scores=[1.0],
        rejected_scores=[0.0],
        domain=["safety"],
        source=["xstest"],
        category=["x"],
        subset=["safe"],
        group_id=["g"],
        chosen_role=["compliance"],
        rejected_role=["refusal"],
        label_type=["gold"],
        error_type=["over_cautious"],
        bias_direction=["none"],
        n_bootstrap=0,
    )
    assert result["accuracy"] == 1.0
    assert "sdk: gradio" in (tmp_path / "social_rm" / "README.md").read_text()
    assert '"acme/social-rm-results"' in (tmp_path / "social-rm-leaderboard" / "app.py").read_text()
    # the leaderboard Space installs the wheel of this revision, uploaded with it; the metric Space needs none
    (wheel,) = (tmp_path / "social-rm-leaderboard").glob("social_rm-*.whl")
    assert (
        f"./{wheel.name}"
        in (tmp_path / "social-rm-leaderboard" / "requirements.txt").read_text().splitlines()
    )
    import zipfile

    assert "social_rm/metric/social_rm.py" in zipfile.ZipFile(wheel).namelist()
    assert "social-rm" not in (tmp_path / "social_rm" / "requirements.txt").read_text()
    assert not (tmp_path / "social_rm" / "__init__.py").exists()


def test_a_push_without_a_token_says_so(demo_results, tmp_path):
    done = run(
        PYTHON,
        "push_to_hub.py",
        "--org",
        "acme",
        "--dataset-dir",
        demo_results / "social-pairs",
        env={"HF_TOKEN": "", "HF_HOME": str(tmp_path)},
    )
    assert done.returncode == 1 and "no Hugging Face token" in done.stderr


def test_a_network_failure_is_one_message_and_never_shows_the_token(demo_results, tmp_path):
    secret = "hf_thisIsNotARealToken123"
    done = run(
        PYTHON,
        "push_to_hub.py",
        "--org",
        "acme",
        "--dataset-dir",
        demo_results / "social-pairs",
        env={
            "HF_TOKEN": secret,
            "HF_HOME": str(tmp_path),
            "HF_HUB_OFFLINE": "0",
            "HF_ENDPOINT": "http://127.0.0.1:9",
        },
    )
    assert done.returncode == 1
    assert (
        done.stderr.startswith("push_to_hub: could not publish dataset acme/social-pairs:")
        and len(done.stderr.splitlines()) == 1
    )
    assert secret not in done.stdout + done.stderr


@pytest.fixture
def submission(demo_results, tmp_path):
    card = tmp_path / "card.md"
    card.write_text(CARD)
    return {
        "scores": demo_results / "scores" / "length.parquet",
        "card": card,
        "dataset": demo_results / "social-pairs",
    }


def submit(submission, tmp_path, **changes):
    s = {**submission, **changes}
    return run(
        SOCIAL_RM,
        "submit",
        "--scores",
        s["scores"],
        "--model-card",
        s["card"],
        "--dataset",
        s["dataset"],
        "--dry-run",
        tmp_path / "pr",
    )


def test_a_valid_submission_is_staged_with_the_leaderboards_figures(submission, demo_results, tmp_path):
    done = submit(submission, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "valid submission: length (baseline, 0 parameters, apache-2.0)" in done.stdout
    assert "self-reported until verified" in done.stdout
    (folder,) = (tmp_path / "pr" / "submissions").iterdir()
    assert folder.name == "length-" + hashlib.sha256(b"length").hexdigest()[:10]
    assert sorted(p.name for p in folder.iterdir()) == ["model_card.md", "results.json", "scores.parquet"]
    # the submitter evaluated with 200 resamples; the leaderboard's figures are `evaluate`'s with 1,000, seed 0
    assert json.loads((demo_results / "results" / "length.json").read_text())["metric"]["n_bootstrap"] == 200
    own = tmp_path / "own.json"
    assert (
        run(
            SOCIAL_RM,
            "evaluate",
            "--dataset",
            submission["dataset"],
            "--scores",
            submission["scores"],
            "--out",
            own,
        ).returncode
        == 0
    )
    staged, expected = json.loads((folder / "results.json").read_text()), json.loads(own.read_text())
    assert staged["metric"] == {"name": "social_rm", "n_bootstrap": 1000, "seed": 0}
    assert staged["results"] == expected["results"] and staged["diagnostics"] == expected["diagnostics"]


def test_missing_model_metadata_is_refused(submission, tmp_path):
    card = tmp_path / "bare.md"
    card.write_text(
        CARD.replace("license: apache-2.0\n", "").replace("link: https://example.org/length\n", "")
    )
    done = submit(submission, tmp_path, card=card)
    assert done.returncode == 1 and "the model card's front matter lacks ['license', 'link']" in done.stderr


@pytest.mark.parametrize(
    "front, message",
    [
        ("name: [unclosed\n", "the model card's front matter is not valid YAML"),
        ("parameters: .inf\n", "the model card's parameters inf are not the scored model's (0)"),
        ("parameters: .nan\n", "the model card's parameters nan are not the scored model's (0)"),
    ],
)
def test_a_malformed_model_card_is_one_line(submission, tmp_path, front, message):
    card = tmp_path / "bad.md"
    key = front.split(":")[0]
    card.write_text(re.sub(rf"^{key}: .*\n", front, CARD, flags=re.M))
    done = submit(submission, tmp_path, card=card)
    assert done.returncode == 1 and message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


def test_scores_of_another_dataset_revision_are_refused(submission, tmp_path):
    scores = read_scores(submission["scores"])
    scores.metadata["dataset"]["fingerprint"] = "0" * 64
    write_scores(scores, tmp_path / "other.parquet")
    done = submit(submission, tmp_path, scores=tmp_path / "other.parquet")
    assert (
        done.returncode == 1
        and "computed on dataset 000000000000000000000000, not the published social-pairs" in done.stderr
    )


def test_the_report_has_a_row_and_plots_per_model(demo_results, tmp_path):
    results = [demo_results / "results" / f"{m}.json" for m in ("random", "length", "shortest")]
    done = run(SOCIAL_RM, "report", *results, "--out", tmp_path / "report.html")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text()
    assert page.count("<tr>") == 1 + 3 and page.count('<section class="model">') == 3
    # two trade-offs; per model accuracy, BBQ selection and length bias; no calibration panel for a baseline
    assert page.count("data:image/png;base64,") == 2 + 3 * 3
    assert "<title>social-rm report: 3 models</title>" in page and "leaderboard</h1>" not in page
    assert "<th>social score ↑</th>" in page and "<th>over-caution ↓</th>" in page
    for term in ("social score ↑", "undesirable preference ↓", "over-caution ↓", "bias skew (best 0)"):
        assert f"<dt>{term}</dt>" in page


def test_the_leaderboard_reads_a_plain_folder_of_results_or_says_what_it_expected(
    demo_results, tmp_path, monkeypatch
):
    pytest.importorskip("gradio")
    monkeypatch.syspath_prepend(str(REPO / "leaderboard"))
    import app

    monkeypatch.setenv("SOCIAL_RM_RESULTS", str(demo_results / "results"))  # what `social-rm run` wrote
    board = app.table(app.load(), "social score")
    assert sorted(board["model"]) == ["length", "random", "shortest"]
    assert list(board.columns) == app.SHOWN and set(board["verification"]) == {"self-reported"}
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("SOCIAL_RM_RESULTS", str(tmp_path / "empty"))
    assert app.load() == [] and list(app.table([], "social score").columns) == app.SHOWN
    assert "submissions/<model>/results.json" in app.EXPECTED and "plain folder" in app.EXPECTED
