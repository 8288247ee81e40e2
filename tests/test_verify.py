"""Verified leaderboard rows end to end: a tiny local model stands in for the Hub model; its honest submission is
verified by re-scoring a sample, a forged scores file (every chosen 1.0, every rejected 0.0) under its name is
refused, a results.json edited after submission is caught, and the leaderboard says which row is which."""

import json

import numpy as np
import pytest

from social_rm.data import stratified_sample
from social_rm.results.report import leaderboard_rows, load_documents
from social_rm.results.scores import read_scores, write_scores
from social_rm.testing import save_tiny_model
from tests.conftest import social_rm


@pytest.fixture(scope="module")
def submitted(demo_results, texts, tmp_path_factory):
    """A tiny reward model's scores of the published demo social-pairs, submitted (dry run) as they are and
    forged; {"honest": folder, "forged": folder, "model": path, "dataset": path}."""
    root = tmp_path_factory.mktemp("verify")
    model = save_tiny_model(root / "rm", "classifier", texts)
    dataset = demo_results / "social-pairs"
    done = social_rm(
        "score",
        "--dataset",
        dataset,
        "--model",
        model,
        "--name",
        "acme/tiny-rm",
        "--out",
        root / "honest.parquet",
    )
    assert done.returncode == 0, done.stderr
    honest = read_scores(root / "honest.parquet")
    forged = read_scores(root / "honest.parquet")
    forged.chosen, forged.rejected = np.ones_like(forged.chosen), np.zeros_like(forged.rejected)
    write_scores(forged, root / "forged.parquet")
    identity = honest.metadata["model"]
    card = root / "card.md"
    card.write_text(
        f"---\nname: {identity['name']}\nkind: classifier\nparameters: {identity['parameters']}\n"
        "license: apache-2.0\nlink: https://example.org/rm\n---\nA tiny reward model.\n"
    )
    folders = {}
    for name in ("honest", "forged"):
        out = root / f"pr-{name}"
        done = social_rm(
            "submit",
            "--scores",
            root / f"{name}.parquet",
            "--model-card",
            card,
            "--dataset",
            dataset,
            "--dry-run",
            out,
        )
        assert done.returncode == 0 and "self-reported until verified" in done.stdout, done.stderr
        (folders[name],) = (out / "submissions").iterdir()
    return {**folders, "model": model, "dataset": dataset}


def board(*folders):
    rows = leaderboard_rows(load_documents([f / "results.json" for f in folders]))
    return [row["verification"] for row in rows]


def test_the_published_name_replaces_the_local_path_in_everything_published(submitted):
    folder = submitted["honest"]
    assert folder.name.startswith("acme-tiny-rm-")
    assert json.loads((folder / "results.json").read_text())["model"]["name"] == "acme/tiny-rm"
    for path in folder.iterdir():
        assert str(submitted["model"]).encode() not in path.read_bytes(), path.name
    local = read_scores(submitted["model"].parent / "honest.parquet").metadata["model"]
    assert local["local_path"] == str(submitted["model"]) and local["name"] == "acme/tiny-rm"


def test_a_submission_is_self_reported_until_verified(submitted):
    assert board(submitted["honest"]) == ["self-reported"]
    done = social_rm(
        "verify",
        submitted["honest"],
        "--dataset",
        submitted["dataset"],
        "--weights",
        submitted["model"],
        "--sample",
        "60",
    )
    assert done.returncode == 0, done.stderr
    record = json.loads((submitted["honest"] / "verification.json").read_text())
    assert record["status"] == "verified" and record["max_difference"] < 1e-4
    assert 60 <= record["sample"] <= 60 + 12  # at least one pair of each of the demo's sources
    assert board(submitted["honest"]) == ["verified"]


def test_a_forged_scores_file_is_refused_and_the_board_says_so(submitted):
    done = social_rm(
        "verify",
        submitted["forged"],
        "--dataset",
        submitted["dataset"],
        "--weights",
        submitted["model"],
        "--sample",
        "20",
    )
    assert done.returncode == 1
    assert "is not verified" in done.stderr
    record = json.loads((submitted["forged"] / "verification.json").read_text())
    assert record["status"] == "failed"
    assert "the submitted chosen score 1.0 is not the model's" in record["reason"]
    assert board(submitted["forged"]) == ["failed"]


def test_a_results_file_edited_after_submission_is_caught(submitted, tmp_path):
    import shutil

    folder = tmp_path / "edited"
    shutil.copytree(submitted["honest"], folder)
    document = json.loads((folder / "results.json").read_text())
    document["diagnostics"]["length_bias"]["correlation"]["overall"]["spearman"] = 0.0
    (folder / "results.json").write_text(json.dumps(document))
    assert board(folder) == ["self-reported"]  # a verification of another results.json counts for nothing
    done = social_rm(
        "verify", folder, "--dataset", submitted["dataset"], "--weights", submitted["model"], "--sample", "10"
    )
    assert done.returncode == 1
    record = json.loads((folder / "verification.json").read_text())
    assert record["status"] == "failed"
    assert (
        "figure 'diagnostics.length_bias.correlation.overall.spearman' is 0.0 but the scores give"
        in record["reason"]
    )


def test_a_model_that_cannot_be_loaded_leaves_the_row_self_reported(submitted, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(submitted["honest"], folder)
    # acme/tiny-rm is not on the Hub (and the Hub is offline here)
    done = social_rm("verify", folder, "--dataset", submitted["dataset"], "--sample", "10")
    assert done.returncode == 1
    record = json.loads((folder / "verification.json").read_text())
    assert record["status"] == "self-reported" and "could not be loaded" in record["reason"]
    assert record["weights"] == "acme/tiny-rm"
    assert board(folder) == ["self-reported"]


def test_the_sample_is_stratified_and_seeded():
    sources = ["a"] * 900 + ["b"] * 90 + ["c"] * 10
    picked = stratified_sample(sources, 100, seed=3)
    counts = {s: sum(sources[i] == s for i in picked) for s in "abc"}
    assert counts == {"a": 90, "b": 9, "c": 1} and len(set(picked)) == len(picked)
    assert picked == stratified_sample(sources, 100, seed=3) != stratified_sample(sources, 100, seed=4)
