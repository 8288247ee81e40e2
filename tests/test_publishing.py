"""push_to_hub.py dry runs, submissions and the static report."""

import json
import os
import re
import subprocess
import sys

import pytest
from datasets import load_dataset

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
        "results": demo_results / "results" / "length.json",
        "scores": demo_results / "scores" / "length.parquet",
        "card": card,
        "dataset": demo_results / "social-pairs",
    }


def submit(submission, tmp_path, **changes):
    s = {**submission, **changes}
    return run(
        SOCIAL_RM,
        "submit",
        "--results",
        s["results"],
        "--scores",
        s["scores"],
        "--model-card",
        s["card"],
        "--dataset",
        s["dataset"],
        "--dry-run",
        tmp_path / "pr",
    )


def test_a_valid_submission_is_staged_for_the_results_repo(submission, tmp_path):
    done = submit(submission, tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "pr" / "submissions" / "length"
    assert sorted(p.name for p in folder.iterdir()) == ["model_card.md", "results.json", "scores.parquet"]
    assert "valid submission: length (baseline, 0 parameters, apache-2.0)" in done.stdout


def test_a_tampered_figure_is_refused_by_name(submission, tmp_path):
    document = json.loads(submission["results"].read_text())
    document["results"]["by_domain"]["safety"]["over_caution_rate"] = 0.01
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    done = submit(submission, tmp_path, results=tampered)
    assert done.returncode == 1
    assert re.search(
        r"figure 'by_domain\.safety\.over_caution_rate' is 0\.01 but the scores give 0\.\d+", done.stderr
    )


def test_missing_model_metadata_is_refused(submission, tmp_path):
    card = tmp_path / "bare.md"
    card.write_text(
        CARD.replace("license: apache-2.0\n", "").replace("link: https://example.org/length\n", "")
    )
    done = submit(submission, tmp_path, card=card)
    assert done.returncode == 1 and "the model card's front matter lacks ['license', 'link']" in done.stderr


def test_results_from_another_dataset_revision_are_refused(submission, tmp_path):
    document = json.loads(submission["results"].read_text())
    document["dataset"]["fingerprint"] = "0" * 64
    other = tmp_path / "other.json"
    other.write_text(json.dumps(document))
    done = submit(submission, tmp_path, results=other)
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
    assert (
        page.count("data:image/png;base64,") == 2 + 3 * 4
    )  # two trade-offs; per model accuracy, BBQ selection, length bias and calibration
