"""Raw corpus files: where each one lives upstream (a URL at a pinned commit), its sha256, and how to get it.

A source folder mirrors the upstream layouts under one directory per corpus (``bbq/data/Age.jsonl``, ...).
`locate` finds a file there, or downloads it into the Hugging Face cache, and checks its sha256 either way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from social_rm.errors import SocialRMError

SOURCES_ENV = "SOCIAL_RM_SOURCES"


class SourceError(SocialRMError, FileNotFoundError):
    """A raw file that is missing, unreadable or not the pinned bytes."""


@dataclass(frozen=True)
class RawFile:
    path: str  # relative to the source folder, e.g. "bbq/data/Age.jsonl"
    url: str  # canonical location at a pinned commit
    sha256: str  # empty for a file that could not be pinned (it is read unverified)
    # sha256 of the bytes at `url` where they differ from the staged file (StereoSet's test.json is staged
    # gzipped as test.json.gz); readers open either form
    url_sha256: str | None = None
    how: str = ""  # how the file at `url` becomes the one at `path`, where it is not a plain download


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_sources_dir() -> Path | None:
    value = os.environ.get(SOURCES_ENV)
    return Path(value) if value else None


def cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "social-rm" / "raw"


def _verify(raw: RawFile, path: Path, expected: str | None = None) -> Path:
    """`path`, if its sha256 is `expected` (default: the staged form's, or the bytes at the URL where they differ,
    as `fetch-corpora` saves them)."""
    accepted = (expected,) if expected else (raw.sha256, raw.url_sha256)
    actual = sha256_of(path)
    if actual not in accepted:
        raise SourceError(
            f"{path}: sha256 mismatch for {raw.path} (expected {accepted[0]}, got {actual}); "
            f"the file is not the pinned upstream version. Fetch it again from {raw.url}"
        )
    return path


def download(raw: RawFile) -> Path:
    """Download `raw` into the cache (atomically) unless a verified copy is there already."""
    if not raw.sha256:
        raise SourceError(
            f"{raw.path} has no pinned download: fetch it from {raw.url} and pass the folder that holds it with --sources"
        )
    return fetch_to(raw, cached(raw))


def cached(raw: RawFile) -> Path:
    """Where `download` keeps `raw` in the cache."""
    return cache_dir() / (raw.url_sha256 or raw.sha256) / Path(raw.path).name


def fetched(raw: RawFile, target: Path) -> bool:
    """Whether `target` holds the bytes at `raw.url`."""
    return target.is_file() and sha256_of(target) == (raw.url_sha256 or raw.sha256)


def fetch_to(raw: RawFile, target: Path, timeout: float = 60) -> Path:
    """The bytes at `raw.url` at `target`, sha256-checked, written atomically; a verified copy already there is
    kept, any other is replaced."""
    expected = raw.url_sha256 or raw.sha256
    if fetched(raw, target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as tmp:
        try:
            with urllib.request.urlopen(raw.url, timeout=timeout) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as error:
            os.unlink(tmp.name)
            raise SourceError(f"could not download {raw.path} from {raw.url}: {error}") from error
    try:
        _verify(raw, Path(tmp.name), expected)
    except SourceError:
        os.unlink(tmp.name)
        raise
    os.replace(tmp.name, target)
    return target


def locate(raw: RawFile, sources_dir: Path | None, verify: bool = True) -> Path:
    """The local path of `raw`: in `sources_dir` if given, else downloaded. `verify=False` skips the sha256
    check, for a locally edited corpus (the demo corpora, a fixture)."""
    if sources_dir is None:
        return download(raw)
    path = Path(sources_dir) / raw.path
    if not path.is_file():
        fetch = raw.how or f"download it from {raw.url}"
        instead = (
            f", or leave out --sources (and {SOURCES_ENV}) to download it into the cache"
            if raw.sha256
            else " (it has no pinned download to fetch automatically)"
        )
        raise SourceError(f"missing raw file {path}: {fetch} and save it as {path}{instead}")
    return _verify(raw, path) if verify and raw.sha256 else path
