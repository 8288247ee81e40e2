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

SOURCES_ENV = "SOCIAL_RM_SOURCES"


class SourceError(FileNotFoundError):
    """A raw file that is missing, unreadable or not the pinned bytes."""


@dataclass(frozen=True)
class RawFile:
    path: str  # relative to the source folder, e.g. "bbq/data/Age.jsonl"
    url: str  # canonical location at a pinned commit
    sha256: str


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


def _verify(raw: RawFile, path: Path) -> Path:
    actual = sha256_of(path)
    if actual != raw.sha256:
        raise SourceError(
            f"{path}: sha256 mismatch for {raw.path} (expected {raw.sha256}, got {actual}); "
            f"the file is not the pinned upstream version. Fetch it again from {raw.url}"
        )
    return path


def download(raw: RawFile) -> Path:
    """Download `raw` into the cache (atomically) unless a verified copy is there already."""
    target = cache_dir() / raw.sha256 / Path(raw.path).name
    if target.exists():
        return _verify(raw, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        try:
            with urllib.request.urlopen(raw.url, timeout=60) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as error:
            os.unlink(tmp.name)
            raise SourceError(f"could not download {raw.path} from {raw.url}: {error}") from error
    try:
        _verify(raw, Path(tmp.name))
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
        raise SourceError(
            f"missing raw file {raw.path}: looked for {path}. Download it from {raw.url} into {sources_dir}, "
            f"or leave out --sources (and {SOURCES_ENV}) to download it into the cache"
        )
    return _verify(raw, path) if verify else path
