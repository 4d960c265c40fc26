"""The result cache index: which cache keys have stored outputs, and eviction.

How a key is computed lives in `plan.py`; this module only keeps what is
stored under a key, finds hits, and evicts the least recently used entries
past a size limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from plait.runtime.results.blobs import OutputRef, ResultStore
from plait.runtime.workspace.history import DatabaseError, RunHistory
from plait.runtime.workspace.store import Workspace

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 5 * 1024**3


@dataclass(frozen=True)
class CacheEntry:
    key: str
    spec_key: str
    created: float
    last_used: float
    size: int
    expires: float | None
    outputs: dict[str, OutputRef]


class ResultCache:
    """The cache index of one workspace, over its result store."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.history = workspace.history
        self.store = ResultStore(workspace.data_dir / "cache")

    def lookup(self, keys: Iterable[str], now: float | None = None) -> dict[str, CacheEntry]:
        """The live entries among `keys` whose stored outputs are all still there."""
        now = now or time.time()
        wanted = sorted(set(keys))
        rows = self.history.cache_entries(wanted)
        inline = self.history.inline_values(wanted)
        found = {}
        for row in rows:
            key, expires = row["key"], row["expires"]
            if expires is not None and expires <= now:
                continue
            refs = {
                port: OutputRef.from_meta(meta, inline.get((key, port)))
                for port, meta in row["outputs"].items()
            }
            if any(ref.file is None and ref.data is None for ref in refs.values()):
                continue
            if all(self.store.exists(ref) for ref in refs.values()):
                found[key] = CacheEntry(
                    key, row["spec_key"], row["created"], row["last_used"], row["size"], expires, refs
                )
        return found

    def stored_types(self, spec_keys: Iterable[str]) -> set[str]:
        """Those of these node types with results in the cache (live or not)."""
        return self.history.cached_spec_keys(spec_keys)

    def expiry(self, key: str) -> tuple[float | None] | None:
        """(expires,) of an entry, live or not; None when no entry has this key."""
        return self.history.cache_expiry(key)

    def entry(self, key: str) -> CacheEntry | None:
        return self.lookup([key]).get(key)

    def put(
        self, rows: list[tuple[str, str, dict[str, OutputRef], float | None]], now: float | None = None
    ) -> None:
        """Index new entries: (key, spec key, outputs, expires); call inside a transaction."""
        now = now or time.time()
        self.history.put_cache_entries(
            [
                {
                    "key": key,
                    "spec_key": spec_key,
                    "created": now,
                    "last_used": now,
                    "size": sum(r.size for r in outputs.values()),
                    "expires": expires,
                    "outputs": {port: ref.meta() for port, ref in outputs.items()},
                }
                for key, spec_key, outputs, expires in rows
            ],
            [
                (key, port, ref.data)
                for key, _, outputs, _ in rows
                for port, ref in outputs.items()
                if ref.data is not None
            ],
        )

    def touch(self, keys: list[str], now: float | None = None) -> None:
        """Mark entries as just used (inside a transaction)."""
        self.history.touch_cache_entries(keys, now or time.time())

    def delete(self, keys: Iterable[str]) -> int:
        """Forget entries and delete their files."""
        keys = list(keys)
        entries = self.history.cache_entries(keys)
        with self.workspace.transaction():
            self.history.delete_cache_entries(keys)
        for entry in entries:
            for meta in entry["outputs"].values():
                self.store.delete(OutputRef.from_meta(meta))
        return len(entries)

    def total_size(self) -> int:
        return self.history.cache_size()

    def evict(self, limit: int | None = None) -> int:
        """Remove least recently used entries until the cache fits `limit` bytes."""
        if limit is None:
            limit = int(self.workspace.get_setting("cache_limit_bytes", DEFAULT_LIMIT))
        total = self.total_size()
        if total <= limit:
            return 0
        doomed = []
        for key, size in self.history.cache_by_age():
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
    try:
        with RunHistory.opened(db_path, writable=True, timeout=30) as history:
            damaged: list[tuple[str, list[OutputRef]]] = []
            for key, outputs in history.cache_written_since(since):
                refs = [OutputRef.from_meta(meta) for meta in outputs.values()]
                if not all(store.verify(ref) for ref in refs if ref.file is not None):
                    damaged.append((key, refs))
            if damaged:
                with history.transaction():
                    history.delete_cache_entries([key for key, _ in damaged])
        for _, refs in damaged:
            for ref in refs:
                store.delete(ref)
        log.info(
            "checked the results written since the crashed run in %s: %d damaged and forgotten",
            db_path.parent,
            len(damaged),
        )
    except (DatabaseError, OSError) as exc:
        log.warning("could not check the results in %s after a crash: %s", db_path.parent, exc)
