"""Where the local executor runs a task: beside its large inputs, or where their files can be read.

Like Dask's data locality. A worker keeps its latest large outputs in memory
while their files are written in the background (`plait.runtime.results.held`).
A task whose input a free worker holds goes to that worker and gets the value
from memory. Any other free worker takes it only once every such input's file
is written; until then the task waits for whichever comes first, the holder
becoming free or the write ending. The index entry of a value is written only
when its file is (`stored`), so nothing reads a file that is not complete.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.runtime.engine.worker import Task
from plait.runtime.results.blobs import OutputRef, temporaries


@dataclass(eq=False)
class _Write:
    """A file a worker is writing in the background."""

    worker: Any
    path: str
    file: str  # its name in its cache folder, as references give it
    done: asyncio.Future[str | None]  # the error, or None once the file is complete


def where(task: Task, ref: OutputRef) -> str:
    """The path of a task's input file (a worker may serve several workspaces)."""
    assert ref.file is not None
    return os.path.join(task.cache_folder, ref.file)


def input_refs(task: Task) -> Iterable[OutputRef]:
    for kind, payload in task.inputs.values():
        refs = [payload] if kind == "ref" else payload if kind == "refs" else []
        for ref in refs:
            if isinstance(ref, OutputRef) and ref.file is not None:
                yield ref


class Placement:
    """What the workers hold and write, and the choice of a worker for each task.

    A worker object has `held`, the set of paths whose values it keeps in memory.
    """

    def __init__(self) -> None:
        self._writes: dict[str, _Write] = {}  # write id -> write under way
        self._early: dict[str, str | None] = {}  # writes that ended before their task's outcome came
        self._ended: dict[str, _Write] = {}  # path -> a write that ended, until `stored` is asked
        # path whose write failed -> the worker that still holds its value
        self._only_held: dict[str, Any] = {}

    def begun(self, worker: Any, writing: list[tuple[str, str]], folder: str) -> None:
        """A task's outcome named the writes (id, path in `folder`) its outputs began."""
        loop = asyncio.get_running_loop()
        for write_id, path in writing:
            file = Path(os.path.relpath(path, folder)).as_posix()
            write = _Write(worker, path, file, loop.create_future())
            self._ended.pop(path, None)
            if write_id in self._early:
                self._end(write, self._early.pop(write_id))
            else:
                self._writes[write_id] = write

    def written(self, write_id: str, error: str | None) -> None:
        write = self._writes.pop(write_id, None)
        if write is None:
            self._early[write_id] = error
        else:
            self._end(write, error)

    def _end(self, write: _Write, error: str | None) -> None:
        if error is not None:
            self._only_held[write.path] = write.worker
        else:
            self._only_held.pop(write.path, None)
        if not write.done.done():
            write.done.set_result(error)
        self._ended[write.path] = write

    def released(self, path: str) -> None:
        """The value at `path` is no longer held: its consumers may read the file, or find it missing."""
        self._only_held.pop(path, None)

    def worker_gone(self, worker: Any, pid: int | None) -> None:
        """A worker died or was stopped: its writes under way failed, its temporary files go."""
        for write_id, write in list(self._writes.items()):
            if write.worker is worker:
                del self._writes[write_id]
                if pid is not None:
                    for path in temporaries(Path(write.path), pid):
                        path.unlink(missing_ok=True)
                self._end(write, "the worker writing it stopped before the file was complete")
        for path, holder in list(self._only_held.items()):
            if holder is worker:
                del self._only_held[path]

    def writing(self, worker: Any) -> list[asyncio.Future[str | None]]:
        """What waits for the files a worker is writing in the background."""
        return [w.done for w in self._writes.values() if w.worker is worker]

    def stored(self, outputs: dict[str, OutputRef]) -> Awaitable[str | None] | None:
        """None when these outputs' files are complete; else what waits for them (and says why not).

        It answers for the writes the outputs' task began, under way or ended since.
        """
        files = {ref.file for ref in outputs.values() if ref.file is not None}
        waiting = [w.done for w in self._writes.values() if w.file in files]
        for path, write in list(self._ended.items()):
            if write.file in files:
                del self._ended[path]
                if write.done.result() is not None:
                    waiting.append(write.done)
        if not waiting:
            return None

        async def wait() -> str | None:
            errors = [e for e in await asyncio.gather(*waiting) if e is not None]
            return errors[0] if errors else None

        return wait()

    def choose(self, task: Task, idle: list[Any]) -> Any:
        """The idle worker to run `task` on now, or None when it must wait."""
        if not idle:
            return None
        # Among equals the worker freed last (at the end of `idle`): in a chain it ran the
        # node before, so its memory caches still hold the code and data of the next.
        latest_first = idle[::-1]
        paths = {where(task, ref): ref.size for ref in input_refs(task)}
        if not paths:
            return min(latest_first, key=lambda w: len(w.held))  # holders stay free for their consumers

        def held_bytes(worker: Any) -> int:
            return sum(size for path, size in paths.items() if path in worker.held)

        best = max(idle, key=held_bytes)
        if held_bytes(best) > 0:
            return best
        pending = {w.path for w in self._writes.values()}
        for path in paths:
            if path in pending:
                return None  # its holder is busy and its file not yet written
            holder = self._only_held.get(path)
            if holder is not None and path in holder.held:
                return None  # only its holder has the value: the file could not be written
        # Nobody holds them: a worker holding nothing keeps the others' values at hand.
        return min(latest_first, key=lambda w: len(w.held))
