"""Outputs never destroy what they did not write: `build --out` takes only a new or empty folder or an earlier
build, swaps the new dataset in atomically and puts right what a killed build left; every command refuses an
`--out` that is one of its inputs or names another format."""

import os
import shutil

import pytest

from social_rm import cli
from social_rm.dataset_builders.build import build, existing_sources
from social_rm.dataset_builders.output import MARKER, _exchange
from social_rm.dataset_builders.registry import BUILDERS
from tests.conftest import DEMO_SOURCES

ALL_DEMO = sorted(name for name in BUILDERS)


def run_build(out, *extra):
    return cli.main(["build", "--sources", str(DEMO_SOURCES), "--out", str(out), "--no-verify", *extra])


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_text("my notes"), "is a file, not a dataset folder"),
        (
            lambda p: (p.mkdir(), (p / "thesis.tex").write_text("chapter 1")),
            "holds files that are not a social-pairs build",
        ),
        (
            lambda p: (p.mkdir(), (p / "data").mkdir(), (p / "data" / "mine").mkdir()),
            "holds files that are not",
        ),
    ],
)
def test_build_refuses_an_out_that_is_not_a_build_and_leaves_it_as_it_was(tmp_path, capsys, make, reason):
    out = tmp_path / "target"
    make(out)
    before = out.read_bytes() if out.is_file() else snapshot(out)
    assert run_build(out, "--only", "xstest") == 1
    assert reason in capsys.readouterr().err
    assert (out.read_bytes() if out.is_file() else snapshot(out)) == before


def test_build_refuses_a_git_clone_of_the_dataset_repo(tmp_path, capsys):
    clone = tmp_path / "social-pairs"
    build(clone, DEMO_SOURCES, only=["xstest"], verify=False)
    (clone / ".git").mkdir()
    (clone / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert run_build(clone, "--only", "xstest") == 1
    assert ".git" in capsys.readouterr().err and (clone / ".git" / "HEAD").is_file()


def test_build_refuses_to_write_over_or_into_the_raw_corpora(tmp_path, capsys):
    sources = tmp_path / "corpora"
    shutil.copytree(DEMO_SOURCES, sources)
    before = snapshot(sources)
    for out in (sources, sources / "out", tmp_path):
        assert cli.main(["build", "--sources", str(sources), "--out", str(out), "--no-verify"]) == 1
        assert "would overwrite the raw corpora" in capsys.readouterr().err
    assert snapshot(sources) == before


def test_build_replaces_an_earlier_build_new_or_made_before_the_marker(tmp_path):
    out = tmp_path / "social-pairs"
    out.mkdir()  # empty: fine
    assert run_build(out, "--only", "xstest") == 0 and (out / MARKER).is_file()
    assert run_build(out, "--only", "bbq") == 0
    assert existing_sources(out) == ["bbq", "xstest"]
    (out / MARKER).unlink()  # a build made before the marker: README.md and data/ of known sources
    assert run_build(out, "--only", "crows_pairs") == 0
    assert existing_sources(out) == ["bbq", "crows_pairs", "xstest"]
    assert sorted(os.listdir(tmp_path)) == ["social-pairs"]  # nothing left beside it


def test_only_with_no_source_is_refused(tmp_path, capsys):
    for only in ("", ","):
        assert run_build(tmp_path / "x", "--only", only) == 1
        assert "--only names no source" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_next_build_puts_right_what_a_build_killed_mid_swap_left(tmp_path):
    """A build killed between moving the old dataset aside and moving the new one in (where the file system cannot
    exchange folders) leaves no dataset at --out: the next build puts the complete new one back, keeps its
    sources, and removes the leftovers. (Before, it deleted the new build as stale and lost those sources.)"""
    out = tmp_path / "social-pairs"
    build(out, DEMO_SOURCES, verify=False)
    dead = 2**22 + 12345  # no such process
    os.replace(out, tmp_path / f".social-pairs.old-{dead}-a1")
    shutil.copytree(tmp_path / f".social-pairs.old-{dead}-a1", tmp_path / f".social-pairs.build-{dead}-b2")
    build(out, DEMO_SOURCES, only=["xstest"], verify=False)
    assert existing_sources(out) == ALL_DEMO
    assert sorted(os.listdir(tmp_path)) == ["social-pairs"]


def test_folders_are_exchanged_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "new").write_text("new"), (b / "old").write_text("old")
    if not _exchange(a, b):
        pytest.skip("this file system cannot exchange folders (renameat2)")
    assert os.listdir(b) == ["new"] and os.listdir(a) == ["old"]


def test_commands_refuse_an_out_that_is_an_input_or_another_format(demo_results, tmp_path, capsys):
    dataset, scores = demo_results / "social-pairs", demo_results / "scores" / "length.parquet"
    results = demo_results / "results" / "length.json"
    before = scores.read_bytes(), results.read_bytes()
    cases = [
        (
            ["evaluate", "--dataset", dataset, "--scores", scores, "--out", scores],
            "the results must be a .json file",
        ),
        (
            [
                "evaluate",
                "--dataset",
                dataset,
                "--scores",
                scores,
                "--out",
                tmp_path / "r.json",
                "--n-bootstrap",
                "0",
            ],
            None,
        ),
        (["report", results, "--out", results], "the report must be a .html or .htm file"),
        (["report", results, "--out", tmp_path / "r.json"], "the report must be a .html or .htm file"),
        (
            ["score", "--dataset", dataset, "--model", "length", "--out", tmp_path / "s.csv"],
            "a scores file must be a .parquet file",
        ),
        (
            ["score", "--dataset", dataset, "--model", scores, "--out", scores],
            "also an input of this command",
        ),
        (
            ["compare", "--dataset", dataset, "--scores", scores, scores, "--out", tmp_path / "c.parquet"],
            "the comparison must be a .json file",
        ),
        (
            ["convert", "--dataset", dataset, "--to", "rewardbench", "--out", tmp_path / "rb.parquet"],
            "must be a .jsonl file",
        ),
    ]
    for args, message in cases:
        code = cli.main([str(a) for a in args])
        err = capsys.readouterr().err
        if message is None:
            assert code == 0, err
        else:
            assert code == 1 and message in err, err
    assert (scores.read_bytes(), results.read_bytes()) == before
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "rb.parquet").exists()
