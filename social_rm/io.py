"""Atomic file writes: nothing is half-written, whatever interrupts the writer."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; once the block succeeds it is renamed to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as a plainly created file, not mkstemp's 0600
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output(out: Path, suffixes: tuple[str, ...], inputs=(), what: str = "the output") -> None:
    """Refuse an `--out` whose extension names another format than the one written, that is a folder, or that is
    one of the command's `inputs` (it would be overwritten)."""
    from social_rm.errors import SocialRMError

    out = Path(out)
    if out.suffix.lower() not in suffixes:
        raise SocialRMError(
            f"--out {out}: {what} must be a {' or '.join(suffixes)} file (got {out.suffix or 'no extension'!r})"
        )
    if out.is_dir():
        raise SocialRMError(f"--out {out} is a folder: name a file")
    for path in inputs:
        if path is not None and Path(path).resolve() == out.resolve():
            raise SocialRMError(
                f"--out {out} is also an input of this command ({path}): it would be overwritten"
            )
