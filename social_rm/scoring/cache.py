"""A crash-safe score cache: one SQLite file per model fingerprint, one row per scored unit (completion or pair)
keyed by its hash, and a generative judge's replies keyed by the hash of their prompt. Scores are committed batch by
batch as they are computed and replies one by one as they arrive, so a run killed half-way resumes without
re-scoring, or asking again, what was done.

Each file has one writer at a time and a rollback journal (not WAL, whose shared memory does not work across the
machines of a network file system). Several processes (`accelerate launch`, one machine or several) each write
their own shard, `<cache>.rank<N>.sqlite`; the main process merges the shards into the cache, at the end of a run
and at the start of the next, so a killed process's shard is never lost.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from social_rm.errors import SocialRMError


class CacheMismatch(SocialRMError, ValueError):
    """A cache file that holds another model's scores."""


class CacheUnreadable(SocialRMError, OSError):
    """A cache file that is not a readable SQLite database (garbage, truncated)."""


@contextmanager
def readable(path: Path, what: str):
    """Turn SQLite's "file is not a database" / "malformed" into one line naming the file."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        raise CacheUnreadable(
            f"{what} {path} is not a readable SQLite database ({error}); delete it"
        ) from None


class ScoreCache:
    """The file is opened on first use, so a process that only writes a shard never opens the cache itself."""

    def __init__(self, path: str | Path, fingerprint: str, identity: dict):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.identity = identity

    @cached_property
    def db(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        with readable(self.path, "score cache"):
            return self._check(db)

    def _check(self, db: sqlite3.Connection) -> sqlite3.Connection:
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("CREATE TABLE IF NOT EXISTS scores (unit TEXT PRIMARY KEY, score REAL NOT NULL)")
        # a generative judge's replies, one per prompt (JSON), stored as each arrives
        db.execute("CREATE TABLE IF NOT EXISTS generations (prompt TEXT PRIMARY KEY, reply TEXT NOT NULL)")
        db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('fingerprint', ?), ('model', ?)",
            (self.fingerprint, json.dumps(self.identity, sort_keys=True)),
        )
        stored = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()[0]
        if stored != self.fingerprint:
            model = db.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()[0]
            db.close()
            raise CacheMismatch(
                f"score cache {self.path} holds the scores of another model ({model}, fingerprint {stored[:12]}); "
                f"this run's fingerprint is {self.fingerprint[:12]}. Pass another --cache path, or delete that file"
            )
        return db

    def get(self, units: list[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        with readable(self.path, "score cache"):
            for start in range(0, len(units), 900):  # SQLite's limit on bound parameters
                chunk = units[start : start + 900]
                marks = ",".join("?" * len(chunk))
                found.update(
                    self.db.execute(
                        f"SELECT unit, score FROM scores WHERE unit IN ({marks})", chunk
                    ).fetchall()
                )
        return found

    def put(self, items: Iterable[tuple[str, float]]) -> None:
        """Store scores in one transaction (all or nothing)."""
        self._insert("scores", items)

    def replies(self, prompts: list[str]) -> dict[str, dict]:
        """The stored replies of a generative judge to these prompt hashes."""
        found: dict[str, dict] = {}
        with readable(self.path, "score cache"):
            for start in range(0, len(prompts), 900):
                chunk = prompts[start : start + 900]
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(
                    f"SELECT prompt, reply FROM generations WHERE prompt IN ({marks})", chunk
                )
                found.update((prompt, json.loads(reply)) for prompt, reply in rows)
        return found

    def put_reply(self, prompt: str, reply: dict) -> None:
        self._insert("generations", [(prompt, json.dumps(reply, ensure_ascii=False))])

    def _insert(self, table: str, items) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", items)

    def shard(self, rank: int) -> ScoreCache:
        """Process `rank`'s own shard of this cache."""
        return ScoreCache(
            self.path.with_name(f"{self.path.stem}.rank{rank}.sqlite"), self.fingerprint, self.identity
        )

    def merge_shards(self) -> int:
        """Move every shard's scores into this cache (each shard in one transaction, then deleted); the number of
        scores moved."""
        moved = 0
        for path in sorted(self.path.parent.glob(f"{self.path.stem}.rank*.sqlite")):
            shard = ScoreCache(path, self.fingerprint, self.identity)
            rows = shard.db.execute("SELECT unit, score FROM scores").fetchall()
            replies = shard.db.execute("SELECT prompt, reply FROM generations").fetchall()
            shard.close()
            self.put(rows)
            self._insert("generations", replies)
            path.unlink()
            moved += len(rows)
        return moved

    def __len__(self) -> int:
        with readable(self.path, "score cache"):
            return self.db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
            del self.__dict__["db"]
