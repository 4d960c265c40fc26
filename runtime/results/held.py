"""A worker's latest large outputs: written in the background, kept in memory for their consumers.

The local executor's workers store results through `HeldResults`. A large array
or table is hashed where it lies and its reference goes back at once, so the
next node starts; a writer thread writes the file meanwhile. While consumers
of the value are still to run, the worker keeps it in memory, within a budget:
a consumer that runs on this worker gets it from there, never reading the
file (an array read-only, a table copy-on-write, as a mapped file gives them).

The worker tells its executor which files it is writing and which values it
holds; each write's end is a ("written", id, error) message. The executor sends
a consumer to another worker only once the file is written, and the cache
index names a value only after its file is complete: a worker that dies
mid-write leaves a temporary file, never an entry that looks valid.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from plait.runtime.results.blobs import MAP_LIMIT, Blob, OutputRef, ResultStore
from plait.runtime.results.serializers import _BY_NAME


@dataclass(eq=False)
class _Entry:
    id: str
    blob: Blob
    keep: bool  # consumers may still come for it: it stays once written
    ref: OutputRef | None = None  # once its bytes are hashed
    written: bool = False
    error: str | None = None

    @property
    def file(self) -> str:
        return self.blob.file

    @property
    def size(self) -> int:
        return self.blob.size


class HeldResults(ResultStore):
    """A worker's result store: large values written by a thread of their own, and held for consumers."""

    def __init__(self, folder: str | os.PathLike[str], budget: int, send: Callable[[Any], None]) -> None:
        super().__init__(folder)
        self.budget = budget
        self._send = send
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # file -> entry, oldest first
        self._used = 0  # bytes of the entries
        self._changed = threading.Condition()
        self._queue: queue.Queue[_Entry | None] = queue.Queue()
        self._ids = itertools.count(1)
        # Set for each task: whether its outputs have consumers still to run.
        self.hold = False
        self._writing: list[tuple[str, str]] = []  # (write id, file) begun by the current task
        self._writer = threading.Thread(target=self._write_all, daemon=True, name="plait-writer")
        self._writer.start()

    # -- writing ------------------------------------------------------------

    def write(self, key: str, port: str, value: Any, folder: str | None = None) -> OutputRef:
        found = self.prepare(key, port, value, folder)
        if isinstance(found, OutputRef):
            return found
        if found.size < MAP_LIMIT:  # written in a moment, and read as fast from the file
            return self.write_blob(found)
        blob, ref = found, None
        keep = self.hold and _BY_NAME[blob.serializer].share is not None
        with self._changed:
            same = self._entries.get(blob.file)
        if same is not None:
            ref = blob.seal()
            with self._changed:
                if same.ref is not None and same.ref.digest == ref.digest and same.error is None:
                    same.keep = same.keep or keep  # the same bytes, written or on their way
                    self._entries.move_to_end(same.file)
                    return ref
        if not self._make_room(blob.size):
            # More than the budget on its own: written now, before the node ends, and not held.
            return self.write_blob(blob) if ref is None else self._finished(blob, ref)
        entry = _Entry(f"{os.getpid()}:{next(self._ids)}", blob, keep)
        with self._changed:
            self._drop(entry.file)  # the same file with other bytes (a node that varies) replaces it
            self._entries[entry.file] = entry
            self._used += entry.size
        self._writing.append((entry.id, entry.file))
        self._queue.put(entry)  # the writer starts on the file while the bytes are hashed here
        ref = ref or blob.seal()
        with self._changed:
            entry.ref = ref
        return ref

    def _finished(self, blob: Blob, ref: OutputRef) -> OutputRef:
        self.finish(blob)
        return ref

    def _make_room(self, size: int) -> bool:
        """Drop held values, oldest first, or wait for writes to end, until `size` more fits."""
        with self._changed:
            while True:
                if self._used + size <= self.budget:
                    return True
                done = next((e for e in self._entries.values() if e.written), None)
                if done is not None:
                    self._drop(done.file)  # its consumers read the file instead
                elif self._entries and self._writer.is_alive():
                    self._changed.wait(1.0)  # every entry left is being written: one will end
                else:
                    return False

    def _drop(self, file: str) -> None:
        entry = self._entries.pop(file, None)
        if entry is not None:
            self._used -= entry.size

    def _write_all(self) -> None:
        while True:
            entry = self._queue.get()
            if entry is None:
                return
            if not self._write(entry):
                return
            del entry  # a value dropped meanwhile must not live on here until the next write

    def _write(self, entry: _Entry) -> bool:
        """Write one entry's file and say how it went; False once the executor is gone."""
        error = None
        try:
            self.finish(entry.blob)
        except Exception as exc:  # noqa: BLE001 - a full disk, a folder gone: told to the executor
            error = f"{type(exc).__name__}: {exc}"
        with self._changed:
            entry.written, entry.error = True, error
            # The buffers were for the file; the value itself is what consumers share.
            entry.blob = dataclasses.replace(entry.blob, parts=[])
            if not entry.keep and self._entries.get(entry.file) is entry:
                self._drop(entry.file)
            self._changed.notify_all()
        try:
            self._send(("written", entry.id, error))
        except (OSError, ValueError):
            return False
        return True

    def take_writing(self) -> list[tuple[str, str]]:
        """The (write id, file) pairs the current task began, and a fresh list for the next."""
        writing, self._writing = self._writing, []
        return writing

    # -- holding ------------------------------------------------------------

    def held(self) -> list[str]:
        """Files whose values this worker holds for consumers (written or not yet)."""
        with self._changed:
            return [f for f, e in self._entries.items() if e.keep]

    def release(self, files: list[str]) -> None:
        """Consumers of these values have run: drop them (once written)."""
        with self._changed:
            for file in files:
                entry = self._entries.get(file)
                if entry is None:
                    continue
                entry.keep = False
                if entry.written:
                    self._drop(file)

    def read(self, ref: OutputRef) -> Any:
        with self._changed:
            entry = self._entries.get(ref.file or "")
            shared = entry is not None and entry.keep and entry.ref is not None
            shared = shared and entry.ref.digest == ref.digest  # type: ignore[union-attr]
            value = entry.blob.value if shared else None  # type: ignore[union-attr]
        if shared:
            share = _BY_NAME[ref.serializer].share
            assert share is not None
            return share(value)
        return super().read(ref)

    def close(self) -> None:
        """Finish the writes under way, then stop the writer."""
        self._queue.put(None)
        self._writer.join()
