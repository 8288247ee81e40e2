import re
from dataclasses import replace

import pytest

from social_rm.dataset_builders import bbq
from social_rm.dataset_builders import sources as src

AGE = next(raw for raw in bbq.FILES if raw.path == "bbq/data/Age.jsonl")


def test_a_verified_file_is_found_in_the_sources_folder(sources):
    assert src.locate(AGE, sources) == sources / AGE.path


def test_a_file_with_other_bytes_is_refused_with_both_digests(tmp_path):
    (tmp_path / "bbq/data").mkdir(parents=True)
    (tmp_path / AGE.path).write_text('{"example_id": 0}\n')
    with pytest.raises(
        src.SourceError,
        match=f"sha256 mismatch for bbq/data/Age.jsonl \\(expected {AGE.sha256}, got [0-9a-f]{{64}}\\)",
    ):
        src.locate(AGE, tmp_path)


def test_a_missing_file_says_which_where_and_how_to_get_it(tmp_path):
    with pytest.raises(src.SourceError) as error:
        src.locate(AGE, tmp_path)
    message = str(error.value)
    path = tmp_path / AGE.path
    assert message.startswith(f"missing raw file {path}: download it from {AGE.url} and save it as {path}, ")
    assert "--sources" in message


def test_download_verifies_and_caches_the_file(sources, monkeypatch, tmp_path):
    """The download path, fed from a file:// URL of the real corpus file (the network is closed here)."""
    monkeypatch.setattr(src, "cache_dir", lambda: tmp_path / "cache")
    raw = replace(AGE, url=(sources / AGE.path).as_uri())
    path = src.download(raw)
    assert path == tmp_path / "cache" / AGE.sha256 / "Age.jsonl"
    assert src.sha256_of(path) == AGE.sha256
    assert src.locate(raw, None) == path  # no --sources: from the cache


def test_a_download_with_other_bytes_leaves_nothing_in_the_cache(sources, monkeypatch, tmp_path):
    monkeypatch.setattr(src, "cache_dir", lambda: tmp_path / "cache")
    raw = replace(AGE, url=(sources / "bbq/data/SES.jsonl").as_uri())
    with pytest.raises(src.SourceError, match=re.escape("sha256 mismatch for bbq/data/Age.jsonl")):
        src.download(raw)
    assert list((tmp_path / "cache").rglob("*.jsonl")) == []
    assert list((tmp_path / "cache").rglob("*")) == [tmp_path / "cache" / AGE.sha256]


@pytest.fixture
def local_pins(sources, monkeypatch):
    """Every pinned raw file, its URL pointing at the real corpus file (file://; the network is closed here)."""
    from social_rm.dataset_builders import fetch

    files = [replace(raw, url=(sources / raw.path).as_uri(), url_sha256=None) for raw in fetch.pinned_files()]
    monkeypatch.setattr(fetch, "pinned_files", lambda with_train=False: files)
    return files


def test_fetch_corpora_fills_a_sources_folder_that_builds_and_resumes(local_pins, tmp_path):
    from social_rm.dataset_builders.build import build
    from social_rm.dataset_builders.fetch import fetch_corpora

    folder = tmp_path / "corpora"
    assert fetch_corpora(folder, progress=False) == (0, len(local_pins)) and len(local_pins) > 30
    for raw in local_pins:
        assert src.sha256_of(folder / raw.path) == raw.sha256
    (folder / AGE.path).write_text("truncated")  # a file cut short by a killed fetch
    assert fetch_corpora(folder, progress=False) == (len(local_pins) - 1, 1)
    built = build(tmp_path / "out", folder, only=["bbq", "stereoset"])
    assert {b.builder.name for b in built} == {"bbq", "stereoset"}


def test_fetch_corpora_without_a_network_stops_at_once_naming_the_hosts(local_pins, monkeypatch, tmp_path):
    import time

    from social_rm.dataset_builders import fetch

    closed = [replace(raw, url=f"http://127.0.0.1:9/{raw.path}") for raw in local_pins]
    monkeypatch.setattr(fetch, "pinned_files", lambda with_train=False: closed)
    start = time.monotonic()
    with pytest.raises(src.SourceError) as error:
        fetch.fetch_corpora(tmp_path / "corpora", progress=False)
    assert time.monotonic() - start < 20
    assert str(error.value).startswith("cannot reach 127.0.0.1:9 (")
    assert "`social-rm fetch-corpora --list` prints every URL" in str(error.value)
    assert not (tmp_path / "corpora").exists()
