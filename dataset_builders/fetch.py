"""`social-rm fetch-corpora`: every raw corpus file that has a pinned download, from its canonical URL into the
download cache that `social-rm build` reads, or with `--to DIR` into a sources folder (the layout `--sources`
reads), each sha256-checked. A rerun keeps the files already
verified, so an interrupted fetch resumes where it stopped. Where the network cannot be reached it stops at once,
with one message naming the hosts and the command that lists every URL.

    social-rm fetch-corpora --to .corpora && social-rm build --sources .corpora --out out/social-pairs
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from tqdm.auto import tqdm

from social_rm.dataset_builders.registry import BUILDERS
from social_rm.dataset_builders.sources import RawFile, SourceError, cached, fetch_to, fetched

logger = logging.getLogger(__name__)
REACH_TIMEOUT = 15  # seconds to decide that a host cannot be reached


def pinned_files(with_train: bool = False) -> list[RawFile]:
    """Every builder's raw files that have a pinned sha256 (Moral Stories has none), each once."""
    files = {}
    for builder in BUILDERS.values():
        for raw in (*builder.files, *(builder.extra_files if with_train else ())):
            if raw.sha256:
                files.setdefault(raw.path, raw)
    return list(files.values())


def check_reachable(files: list[RawFile]) -> None:
    """Ask each host of `files` once (a HEAD request, `REACH_TIMEOUT`), so that a closed network is one error
    within seconds, not a minute's timeout per file."""
    first: dict[str, str] = {}
    for raw in files:
        parts = urlparse(raw.url)
        if parts.scheme in ("http", "https"):
            first.setdefault(parts.netloc, raw.url)
    for host, url in first.items():
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=REACH_TIMEOUT).close()
        except urllib.error.HTTPError:
            continue  # the host answered
        except OSError as error:
            reason = getattr(error, "reason", error)
            raise SourceError(
                f"cannot reach {host} ({reason}): fetching the corpora needs the network, for {len(files)} files "
                f"from {', '.join(first)}; `social-rm fetch-corpora --list` prints every URL and where it goes"
            ) from None


def target(raw: RawFile, to: Path | None) -> Path:
    """Where `raw` goes: its place in the sources folder `to`, else the download cache `build` reads."""
    return Path(to) / raw.path if to else cached(raw)


def fetch_corpora(to: Path | None = None, with_train: bool = False, progress: bool = True) -> tuple[int, int]:
    """Fetch every pinned raw file into the sources folder `to` (None: the download cache); (files already there
    and verified, files fetched)."""
    files = pinned_files(with_train)
    todo = [raw for raw in files if not fetched(raw, target(raw, to))]
    if todo:
        check_reachable(todo)
    for raw in tqdm(todo, desc="fetching corpora", unit="file", disable=not progress):
        fetch_to(raw, target(raw, to))
    where = to or "the download cache"
    logger.info(
        f"{where}: {len(files)} raw files verified ({len(todo)} fetched, {len(files) - len(todo)} already there)"
    )
    return len(files) - len(todo), len(todo)
