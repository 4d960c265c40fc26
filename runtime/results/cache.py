"""The result cache index: which cache keys have stored outputs, and eviction.

How a key is computed lives in `plan.py`; this module only keeps what is
stored under a key, finds hits, and evicts the least recently used entries
past a size limit.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from plait.runtime.results.blobs import OutputRef, ResultStore
from plait.runtime.workspace.store import Workspace

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 5 * 1024**3
_CHUNK = 500  # keys per query, well under SQLite's parameter limit


@dataclass(frozen=True)
class CacheEntry:
    key: str
    spec_key: str
    created: float
    last_used: float
    size: int
    expires: float | None
    outputs: dict[str, OutputRef]


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class ResultCache:
    """The cache index of one workspace, over its result store."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.conn = workspace.conn
        self.store = ResultStore(workspace.data_dir / "cache")

    def lookup(self, keys: Iterable[str], now: float | None = None) -> dict[str, CacheEntry]:
        """The live entries among `keys` whose stored outputs are all still there."""
        now = now or time.time()
        wanted = sorted(set(keys))
        rows: list[tuple] = []
        inline: dict[tuple[str, str], bytes] = {}
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            rows += self.conn.execute(
                f"select key, spec_key, created, last_used, size, expires, outputs "
                f"from cache_entries where key in ({marks})",
                chunk,
            ).fetchall()
            for key, port, data in self.conn.execute(
                f"select key, port, data from cache_values where key in ({marks})", chunk
            ):
                inline[(key, port)] = data
        found = {}
        for key, spec_key, created, last_used, size, expires, outputs in rows:
            if expires is not None and expires <= now:
                continue
            refs = {
                port: OutputRef.from_meta(meta, inline.get((key, port)))
                for port, meta in json.loads(outputs).items()
            }
            if any(ref.file is None and ref.data is None for ref in refs.values()):
                continue
            if all(self.store.exists(ref) for ref in refs.values()):
                found[key] = CacheEntry(key, spec_key, created, last_used, size, expires, refs)
        return found

    def expiry(self, key: str) -> tuple[float | None] | None:
        """(expires,) of an entry, live or not; None when no entry has this key."""
        row = self.conn.execute("select expires from cache_entries where key=?", (key,)).fetchone()
        return (row[0],) if row else None

    def entry(self, key: str) -> CacheEntry | None:
        return self.lookup([key]).get(key)

    def put(
        self, rows: list[tuple[str, str, dict[str, OutputRef], float | None]], now: float | None = None
    ) -> None:
        """Index new entries: (key, spec key, outputs, expires); call inside a transaction."""
        now = now or time.time()
        self.conn.executemany(
            "insert or replace into cache_entries(key, spec_key, created, last_used, size,"
            " expires, outputs) values (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    key,
                    spec_key,
                    now,
                    now,
                    sum(r.size for r in outputs.values()),
                    expires,
                    json.dumps({port: ref.meta() for port, ref in outputs.items()}),
                )
                for key, spec_key, outputs, expires in rows
            ],
        )
        self.conn.executemany(
            "insert or replace into cache_values(key, port, data) values (?, ?, ?)",
            [
                (key, port, ref.data)
                for key, _, outputs, _ in rows
                for port, ref in outputs.items()
                if ref.data is not None
            ],
        )

    def touch(self, keys: list[str], now: float | None = None) -> None:
        """Mark entries as just used (inside a transaction)."""
        now = now or time.time()
        self.conn.executemany(
            "update cache_entries set last_used=? where key=?", [(now, key) for key in keys]
        )

    def delete(self, keys: Iterable[str]) -> int:
        """Forget entries and delete their files."""
        keys = list(keys)
        entries: list[tuple[str, str]] = []
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            entries += self.conn.execute(
                f"select key, outputs from cache_entries where key in ({marks})", chunk
            ).fetchall()
        with self.workspace.transaction() as conn:
            for chunk in _chunks(keys):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"delete from cache_values where key in ({marks})", chunk)
                conn.execute(f"delete from cache_entries where key in ({marks})", chunk)
        for _, outputs in entries:
            for meta in json.loads(outputs).values():
                self.store.delete(OutputRef.from_meta(meta))
        return len(entries)

    def total_size(self) -> int:
        return self.conn.execute("select coalesce(sum(size), 0) from cache_entries").fetchone()[0]

    def evict(self, limit: int | None = None) -> int:
        """Remove least recently used entries until the cache fits `limit` bytes."""
        if limit is None:
            limit = int(self.workspace.get_setting("cache_limit_bytes", DEFAULT_LIMIT))
        total = self.total_size()
        if total <= limit:
            return 0
        doomed = []
        for key, size in self.conn.execute("select key, size from cache_entries order by last_used, created"):
            if total <= limit:
                break
            doomed.append(key)
            total -= size
        return self.delete(doomed)


def verify_after_crash(workspace: Workspace) -> threading.Thread | None:
    """After a crash, check in the background the result files written since it began.

    A machine that stops mid-write can leave a blob of the right size with the wrong
    bytes; an entry that fails its checksum is forgotten, so the next run computes it
    again instead of finding it damaged on the way. Runs once per opening of a workspace.
    """
    since = workspace.crashed_since
    if since is None:
        return None
    workspace.crashed_since = None
    thread = threading.Thread(
        target=_forget_damaged,
        args=(workspace.db_path, workspace.data_dir, since),
        daemon=True,
        name="plait-verify-cache",
    )
    thread.start()
    return thread


def _forget_damaged(db_path: Path, data_dir: Path, since: float) -> None:
    store = ResultStore(data_dir / "cache")
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        damaged: list[tuple[str, list[OutputRef]]] = []
        for key, outputs in conn.execute(
            "select key, outputs from cache_entries where created >= ?", (since,)
        ).fetchall():
            refs = [OutputRef.from_meta(meta) for meta in json.loads(outputs).values()]
            if not all(store.verify(ref) for ref in refs if ref.file is not None):
                damaged.append((key, refs))
        if damaged:
            conn.execute("begin immediate")
            for key, _ in damaged:
                conn.execute("delete from cache_values where key=?", (key,))
                conn.execute("delete from cache_entries where key=?", (key,))
            conn.execute("commit")
            for _, refs in damaged:
                for ref in refs:
                    store.delete(ref)
        log.info(
            "checked the results written since the crashed run in %s: %d damaged and forgotten",
            db_path.parent,
            len(damaged),
        )
    except (sqlite3.Error, OSError) as exc:
        log.warning("could not check the results in %s after a crash: %s", db_path.parent, exc)
    finally:
        conn.close()
