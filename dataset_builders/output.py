"""Where a build writes, and how: `--out` is checked before anything is built, and the new dataset replaces the
old one in one atomic step, so a build never destroys what it did not write and a killed build leaves the old or
the new dataset at `--out`, never neither.

A build writes into a folder that does not exist, an empty one, or one that holds a previous build (recognised by
the `MARKER` file every build writes last, or, for builds made before it, by holding only `README.md` and `data/`
with known sources). Anything else is refused with the path and the reason: a file, a folder of other files, a
git clone of the dataset repo (its `.git` would go), the raw corpora.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import shutil
from pathlib import Path

from social_rm.errors import SocialRMError

logger = logging.getLogger(__name__)

MARKER = ".social-pairs-build"  # written last into every build: a complete build that a later one may replace
BUILD_ENTRIES = {"README.md", "data", MARKER}


class OutputError(SocialRMError, OSError):
    """An `--out` a build refuses to write."""


def check_out_dir(out_dir: Path, sources_dir: Path | None, sources: set[str]) -> Path:
    """`out_dir` resolved, once it is known that a build may replace it (`sources`: the known source names)."""
    out = Path(out_dir).resolve()
    if sources_dir is not None:
        raw = Path(sources_dir).resolve()
        if out == raw or raw in out.parents or out in raw.parents:
            raise OutputError(
                f"--out {out_dir} would overwrite the raw corpora in {sources_dir}: write elsewhere"
            )
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise OutputError(f"--out {out_dir} is a file, not a dataset folder: name a new or empty folder")
        entries = set(os.listdir(out))
        if entries and not _is_build(out, entries, sources):
            shown = ", ".join(sorted(entries)[:5]) + (", ..." if len(entries) > 5 else "")
            raise OutputError(
                f"--out {out_dir} holds files that are not a social-pairs build ({shown}); a build replaces the "
                "whole folder, so name a new or empty folder"
            )
    parent = out.parent
    if not os.access(parent if parent.exists() else _existing(parent), os.W_OK):
        raise OutputError(f"cannot write the dataset into {parent}: permission denied")
    return out


def _is_build(folder: Path, entries: set[str], sources: set[str]) -> bool:
    if not entries <= BUILD_ENTRIES or "data" not in entries:
        return False
    if MARKER in entries:
        return True
    data = folder / "data"
    return data.is_dir() and set(os.listdir(data)) <= sources  # a build made before the marker


def _existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def leftovers(out: Path) -> list[Path]:
    """The folders that builds into `out` leave beside it: `.NAME.build-PID-*` (a build's new dataset) and
    `.NAME.old-PID-*` (the dataset it replaced)."""
    return sorted(out.parent.glob(f".{out.name}.build-*-*")) + sorted(out.parent.glob(f".{out.name}.old-*-*"))


def recover(out: Path) -> None:
    """Put right what a killed build left: with no dataset at `out`, the newest complete one of its leftovers
    (a new build, else the old dataset) goes back there; the leftovers of builds that are gone are removed."""
    gone = [p for p in leftovers(out) if not _alive(_pid(p, out))]
    if not out.exists():
        complete = [p for p in gone if ".build-" in p.name and (p / MARKER).is_file()]
        replaced = [p for p in gone if ".old-" in p.name and (p / "data").is_dir()]
        if complete or replaced:
            found = (complete or replaced)[-1]
            logger.info(f"restoring {out} from {found}, left by a build that was killed")
            os.replace(found, out)
            gone.remove(found)
    for folder in gone:
        logger.info(f"removing {folder}, left by a build that was killed")
        shutil.rmtree(folder, ignore_errors=True)


def _pid(folder: Path, out: Path) -> int:
    rest = folder.name[len(f".{out.name}.") :].split("-")
    return int(rest[1]) if len(rest) > 2 and rest[1].isdigit() else -1


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def replace(new: Path, out: Path) -> None:
    """Put the complete build `new` at `out` in one atomic step: a rename where `out` is absent or empty, else an
    exchange of the two folders (Linux `renameat2(RENAME_EXCHANGE)`), after which the old dataset is removed. Where
    the file system cannot exchange, the old dataset is first moved aside: a build killed between the two renames
    is put right by the next (`recover`)."""
    if not out.exists() or not any(out.iterdir()):
        if out.exists():
            out.rmdir()
        os.replace(new, out)
        return
    if _exchange(new, out):
        old = new
    else:
        old = new.with_name(new.name.replace(".build-", ".old-", 1))
        os.replace(out, old)
        os.replace(new, out)
    try:
        shutil.rmtree(old)
    except OSError as error:  # the new dataset is in place: the next build removes what is left
        logger.warning(f"wrote {out}, but could not remove the dataset it replaced, {old}: {error}")


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system or the file system cannot."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    if done == 0:
        return True
    error = ctypes.get_errno()
    if error in (38, 22, 95):  # ENOSYS, EINVAL, EOPNOTSUPP: not supported here
        return False
    raise OSError(error, os.strerror(error), str(b))
