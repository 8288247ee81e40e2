import functools
import json
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest

from social_rm.data import folder_fingerprint, load_pairs
from social_rm.results.scores import read_scores, write_scores
from social_rm.scoring.kinds import get_scorer
from social_rm.scoring.runner import score_pairs
from social_rm.scoring.units import Completion
from tests import conftest
from tests.conftest import REPO

DEMO_PAIRS = 187  # test pairs of the demo corpora, every source (see social_rm/demo_corpora)


social_rm = functools.partial(conftest.social_rm, check=True)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`make demo`, as a user runs it, into a temporary folder."""
    out = tmp_path_factory.mktemp("demo-run")
    done = subprocess.run(["make", "-s", "demo", f"OUT={out}"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def test_make_demo_prints_a_table_per_baseline_and_writes_results(demo_run):
    out, stdout = demo_run
    for model in ("random", "length", "shortest"):
        assert f"social_rm: {model} ({DEMO_PAIRS} pairs)" in stdout
        document = json.loads((out / "results" / f"{model}.json").read_text())
        assert document["model"]["name"] == model
        assert document["results"]["n_pairs"] == DEMO_PAIRS
        assert document["dataset"]["fingerprint"] == folder_fingerprint(out / "social-pairs")
        assert document["command"].startswith("social-rm run")
        assert {"datasets", "evaluate", "numpy", "python", "social-rm"} <= set(document["versions"])
        assert set(document["results"]["by_domain"]) == {"bias", "safety", "morality", "ethical_reasoning"}
        low, high = document["results"]["ci"]["accuracy"]
        assert low <= document["results"]["accuracy"] <= high
    header = next(line for line in stdout.splitlines() if "undesirable pref." in line)
    assert header.split() == [
        "accuracy",
        "undesirable",
        "pref.",
        "over-caution",
        "bias",
        "skew",
        "ties",
        "pairs",
    ]
    assert any(line.startswith("bias ") for line in stdout.splitlines())
    assert "BBQ bias (ambig)" in stdout and "social_score:" in stdout


def test_the_length_baseline_result_matches_a_hand_count(demo_run):
    out, _ = demo_run
    ds = load_pairs(out / "social-pairs")
    wins = []
    for row in ds:
        if row["label_type"] == 0:  # gold
            chosen, rejected = len(row["chosen"][0]["content"]), len(row["rejected"][0]["content"])
            wins.append(1.0 if chosen > rejected else 0.5 if chosen == rejected else 0.0)
    document = json.loads((out / "results" / "length.json").read_text())
    assert document["results"]["accuracy"] == pytest.approx(np.mean(wins))
    assert json.loads((out / "results" / "shortest.json").read_text())["results"][
        "accuracy"
    ] == pytest.approx(1 - np.mean(wins))


def test_score_then_evaluate_gives_the_run_result(demo_run, tmp_path):
    out, _ = demo_run
    dataset = out / "social-pairs"
    social_rm("score", "--dataset", dataset, "--model", "length", "--out", tmp_path / "s.parquet")
    scores = read_scores(tmp_path / "s.parquet")
    assert scores.metadata["model"] == {"kind": "baseline", "name": "length", "parameters": 0}
    assert scores.metadata["dataset"]["fingerprint"] == folder_fingerprint(dataset)
    done = social_rm(
        "evaluate", "--dataset", dataset, "--scores", tmp_path / "s.parquet", "--out", tmp_path / "r.json"
    )
    assert "social_rm: length" in done.stdout
    ours = json.loads((tmp_path / "r.json").read_text())["results"]
    assert ours == json.loads((out / "results" / "length.json").read_text())["results"]


def test_evaluate_refuses_a_scores_file_with_missing_and_extra_ids(demo_run, tmp_path):
    out, _ = demo_run
    table = pq.read_table(out / "scores" / "random.parquet").to_pydict()
    table["id"][0] = "bbq/Age/ambig/99:unknown>stereotyped"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(dict(zip(table, row))) + "\n" for row in zip(*table.values())))
    done = social_rm(
        "evaluate",
        "--dataset",
        out / "social-pairs",
        "--scores",
        bad,
        "--out",
        tmp_path / "r.json",
        check=False,
    )
    assert done.returncode == 1
    assert (
        f"the dataset has {DEMO_PAIRS} pairs, the scores {DEMO_PAIRS}; 1 dataset ids have no score (e.g. 'bbq/Age/ambig/0:unknown>stereotyped')"
        in done.stderr
    )
    assert "1 scored ids are not in the dataset (e.g. 'bbq/Age/ambig/99:unknown>stereotyped')" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_an_unknown_scorer_suggests_the_nearest_name(demo_run, tmp_path):
    done = social_rm(
        "score",
        "--dataset",
        demo_run[0] / "social-pairs",
        "--model",
        "lenght",
        "--out",
        tmp_path / "s.parquet",
        check=False,
    )
    assert (
        done.returncode == 1
        and "unknown baseline, model folder, scores file or Hub id 'lenght'" in done.stderr
        and "did you mean 'length'?" in done.stderr
    )


def test_a_config_of_a_whole_dataset_scores_file_is_evaluated_as_that_config(demo_run, tmp_path):
    out, _ = demo_run
    dataset, scores = out / "social-pairs", out / "scores" / "length.parquet"
    social_rm(
        "score",
        "--dataset",
        dataset,
        "--config",
        "xstest",
        "--model",
        "length",
        "--out",
        tmp_path / "x.parquet",
    )
    for name, scored in (("whole", scores), ("own", tmp_path / "x.parquet")):
        social_rm(
            "evaluate",
            "--dataset",
            dataset,
            "--config",
            "xstest",
            "--scores",
            scored,
            "--out",
            tmp_path / f"{name}.json",
        )
    whole, own = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("whole", "own"))
    assert whole["results"] == own["results"] and whole["results"]["n_pairs"] == 22
    assert whole["dataset"]["subset_of_scores"] == {"config": "default", "n_scored": DEMO_PAIRS}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--dataset", "/no/such/social-pairs", "--model", "length"],
            "dataset folder /no/such/social-pairs does not exist",
        ),
        # the model is checked first: the dataset never loads
        (
            ["--dataset", "/no/such/social-pairs", "--model", "./ckpt/final"],
            "model folder ./ckpt/final does not exist",
        ),
        (
            ["--dataset", "/no/such/social-pairs", "--model", "old/scores.parquet"],
            "scores file old/scores.parquet does not exist",
        ),
    ],
)
def test_a_path_that_is_not_there_is_one_line_saying_so(tmp_path, args, message):
    done = social_rm("score", *args, "--out", tmp_path / "s.parquet", check=False)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr, done.stderr


def test_each_unique_completion_is_scored_once(demo_built):
    class Counting:
        name, unit = "counting", "completion"
        calls: list = []

        def identity(self):
            return {"name": self.name}

        def score_stream(self, completions):
            for start in range(0, len(completions), 7):
                batch = completions[start : start + 7]
                self.calls.extend(batch)
                yield (
                    list(range(start, start + len(batch))),
                    np.array([len(c.response) for c in batch], dtype=np.float64),
                )

    ds = load_pairs(demo_built[0], "bbq")
    scorer = Counting()
    scores = score_pairs(ds, scorer, progress=False)
    assert len(scorer.calls) == len(set(scorer.calls)) == 3 * 44  # three answers per BBQ item
    first = ds[0]
    assert (scores.chosen[0], scores.rejected[0]) == (
        len(first["chosen"][0]["content"]),
        len(first["rejected"][0]["content"]),
    )


def test_the_random_baseline_is_seeded_and_order_independent():
    completions = [Completion((("user", "q"),), f"answer {i}") for i in range(50)]
    scorer = get_scorer("random", seed=3)
    forward = scorer.score_all(completions)
    assert np.array_equal(scorer.score_all(completions[::-1])[::-1], forward)
    assert not np.array_equal(get_scorer("random", seed=4).score_all(completions), forward)
    assert ((forward >= 0) & (forward < 1)).all() and len(set(forward)) == 50


def test_scores_files_are_written_atomically(tmp_path, demo_built):
    ds = load_pairs(demo_built[0], "bbq")
    scores = score_pairs(ds, get_scorer("length"), progress=False)
    write_scores(scores, tmp_path / "s.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]
    again = read_scores(tmp_path / "s.parquet")
    assert again.ids == scores.ids and np.array_equal(again.chosen, scores.chosen)


def test_the_readme_python_recipe_runs_as_written(demo_built):
    readme = (REPO / "README.md").read_text()
    code = readme.split("In Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace('"out/social-pairs"', repr(str(demo_built[0]))).replace(
        '"metric/social_rm"', repr(str(REPO / "metric" / "social_rm"))
    )
    code = code.replace(
        "chosen_scores=..., rejected_scores=...",
        "chosen_scores=[1.0] * len(pairs), rejected_scores=[0.0] * len(pairs)",
    )
    scope = {}
    exec(code, scope)
    assert scope["result"]["accuracy"] == 1.0 and scope["result"]["n_pairs"] == len(scope["pairs"])


def test_every_command_has_a_description_an_example_and_shown_defaults(capsys):
    from importlib import metadata

    from social_rm import cli

    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"social-rm {metadata.version('social-rm')}"
    commands = cli.parser()._subparsers._group_actions[0].choices
    assert set(commands) == set(cli.COMMANDS)
    for name, command in commands.items():
        page = command.format_help()
        assert command.description, name
        assert f"example:\n  social-rm {name}" in page, name
    evaluate = commands["evaluate"].format_help()
    assert "dataset split (default: test)" in evaluate and "(0: no intervals; default: 1000)" in evaluate
