"""Offline by construction: the Hugging Face libraries read these once, on import, so they are set here first."""

import os
import tempfile
from pathlib import Path

_HF_HOME = tempfile.mkdtemp(prefix="social-rm-test-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SOURCES = Path(os.environ.get("SOCIAL_RM_SOURCES", REPO.parent / "shared" / "corpora"))
DEMO_SOURCES = REPO / "social_rm" / "demo_corpora"


@pytest.fixture(scope="session")
def sources() -> Path:
    """The real corpora (read-only). Missing corpora fail the tests that need them, loudly."""
    if not (SOURCES / "manifest.json").is_file():
        pytest.fail(
            f"real corpora not found at {SOURCES}: set SOCIAL_RM_SOURCES to the shared corpora folder"
        )
    return SOURCES


@pytest.fixture(scope="session")
def bbq_built(sources, tmp_path_factory):
    """social-pairs built from the real BBQ files once per session: (folder, BuiltSource)."""
    from dataset_builders.build import build

    out = tmp_path_factory.mktemp("real") / "social-pairs"
    (built,) = build(out, sources, only=["bbq"], log=lambda *_: None)
    return out, built


@pytest.fixture(scope="session")
def demo_built(tmp_path_factory):
    """social-pairs built from the bundled demo corpora: (folder, [BuiltSource])."""
    from dataset_builders.build import build

    out = tmp_path_factory.mktemp("demo") / "social-pairs"
    return out, build(out, DEMO_SOURCES, verify=False, log=lambda *_: None)


@pytest.fixture(scope="session")
def metric():
    import evaluate

    return evaluate.load(str(REPO / "metric" / "social_rm"))


@pytest.fixture(scope="session")
def metric_module():
    """metric/social_rm/social_rm.py imported as a plain module, for its pure functions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "social_rm_metric", REPO / "metric" / "social_rm" / "social_rm.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def real_built(sources, tmp_path_factory):
    """Every source except BBQ (which has `bbq_built`) and Moral Stories (not to be had here) built from the
    real corpora into one folder: (folder, {source name: BuiltSource})."""
    from dataset_builders.build import BUILDERS, build

    out = tmp_path_factory.mktemp("real-others") / "social-pairs"
    names = [name for name in BUILDERS if name not in ("bbq", "moral_stories")]
    return out, {b.builder.name: b for b in build(out, sources, only=names, log=lambda *_: None)}


def read_csv_rows(path, header: bool = True) -> list:
    """A corpus CSV read independently of the builders (dicts with a header, lists without)."""
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f) if header else csv.reader(f))


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory):
    """`social-rm run` on the demo corpora (the three baselines): its output folder, with the results laid out
    as the results repo holds submissions (submissions/<model>/results.json)."""
    import shutil
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("demo-results")
    script = Path(sys.executable).parent / "social-rm"
    done = subprocess.run(
        [str(script), "run", "--out", str(out), "--n-bootstrap", "200"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    for model in ("random", "length", "shortest"):
        (out / "repo" / "submissions" / model).mkdir(parents=True)
        shutil.copyfile(
            out / "results" / f"{model}.json", out / "repo" / "submissions" / model / "results.json"
        )
    return out
