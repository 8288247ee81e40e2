"""Offline by construction: the Hugging Face libraries read these once, on import, so they are set here first.

Tests that read the real corpora (`../shared/corpora`, or $SOCIAL_RM_SOURCES) use the `sources` fixture, or one
built on it, and are marked `corpora` from that: without the corpora they are skipped and counted, unless
$SOCIAL_RM_REQUIRE_CORPORA is set (`make test`, CI), where a missing folder fails them loudly.
"""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

_HF_HOME = tempfile.mkdtemp(prefix="social-rm-test-hf-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SOCIAL_RM = str(Path(sys.executable).parent / "social-rm")  # the installed command


def social_rm(*args, cwd=REPO, check: bool = False):
    """`social-rm ARGS` run as a user runs it (the installed command), its output captured; `check`: it must
    succeed."""
    import subprocess

    done = subprocess.run([SOCIAL_RM, *map(str, args)], capture_output=True, text=True, cwd=cwd)
    if check:
        assert done.returncode == 0, done.stderr
    return done


SOURCES = Path(os.environ.get("SOCIAL_RM_SOURCES", REPO.parent / "shared" / "corpora"))
DEMO_SOURCES = REPO / "social_rm" / "demo_corpora"


CORPORA_FIXTURES = {"sources", "bbq_built", "real_built"}
HAVE_CORPORA = (SOURCES / "manifest.json").is_file()


def pytest_collection_modifyitems(config, items):
    """Mark every test that needs the real corpora `corpora`; skip them where there are none."""
    required = bool(os.environ.get("SOCIAL_RM_REQUIRE_CORPORA"))
    for item in items:
        if CORPORA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.corpora)
            if not HAVE_CORPORA and not required:
                item.add_marker(
                    pytest.mark.skip(reason=f"needs the real corpora at {SOURCES} (SOCIAL_RM_SOURCES)")
                )


def pytest_terminal_summary(terminalreporter):
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if "needs the real corpora" in str(r.longrepr)
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests that need the real corpora were skipped: none at {SOURCES} (set SOCIAL_RM_SOURCES)"
        )


@pytest.fixture(scope="session")
def sources() -> Path:
    """The real corpora (read-only)."""
    if not HAVE_CORPORA:
        pytest.fail(
            f"real corpora not found at {SOURCES}: set SOCIAL_RM_SOURCES to the shared corpora folder"
        )
    return SOURCES


@pytest.fixture(scope="session")
def bbq_built(sources, tmp_path_factory):
    """social-pairs built from the real BBQ files once per session: (folder, BuiltSource)."""
    from social_rm.dataset_builders.build import build

    out = tmp_path_factory.mktemp("real") / "social-pairs"
    (built,) = build(out, sources, only=["bbq"])
    return out, built


@pytest.fixture(scope="session")
def texts(demo_built) -> list[str]:
    """Every message of the demo social-pairs: what the tiny test tokenizers are trained on."""
    from datasets import load_dataset

    ds = load_dataset(str(demo_built[0]), "default", split="test")
    return [m["content"] for row in ds for m in row["prompt"] + row["chosen"] + row["rejected"]]


@pytest.fixture(scope="session")
def demo_built(tmp_path_factory):
    """social-pairs built from the bundled demo corpora: (folder, [BuiltSource])."""
    from social_rm.dataset_builders.build import build

    out = tmp_path_factory.mktemp("demo") / "social-pairs"
    return out, build(out, DEMO_SOURCES, verify=False)


@pytest.fixture(scope="session")
def metric():
    from social_rm.results.evaluation import load_metric

    return load_metric()


@pytest.fixture(scope="session")
def metric_module():
    """The metric's statistics and comparison modules (metric/social_rm/), for their pure functions."""
    from types import SimpleNamespace

    from social_rm.metric import comparison, statistics

    return SimpleNamespace(**{**vars(statistics), **vars(comparison)})


@pytest.fixture(scope="session")
def real_built(sources, tmp_path_factory):
    """Every source except BBQ (which has `bbq_built`) and Moral Stories (not to be had here) built from the
    real corpora into one folder: (folder, {source name: BuiltSource})."""
    from social_rm.dataset_builders.build import BUILDERS, build

    out = tmp_path_factory.mktemp("real-others") / "social-pairs"
    names = [name for name in BUILDERS if name not in ("bbq", "moral_stories")]
    return out, {b.builder.name: b for b in build(out, sources, only=names)}


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
    compared = subprocess.run(
        [
            str(script),
            "compare",
            "--dataset",
            str(out / "social-pairs"),
            "--n-bootstrap",
            "200",
            "--out",
            str(out / "repo" / "comparison.json"),
            "--scores",
            *(str(out / "scores" / f"{m}.parquet") for m in ("random", "length", "shortest")),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert compared.returncode == 0, compared.stderr
    return out


def assert_same_scores(a, b, tolerance: float = 1e-5) -> None:
    """Two `Scores` of the same pairs, equal within `tolerance` on both sides."""
    import numpy as np

    assert a.ids == b.ids, "different pairs"
    worst = max(np.abs(a.chosen - b.chosen).max(), np.abs(a.rejected - b.rejected).max())
    assert worst < tolerance, f"scores differ by up to {worst:.3g}"
