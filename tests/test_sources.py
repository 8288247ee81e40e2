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
