"""Executors: where node tasks run.

An executor has a number of slots and one coroutine, `run(task, report)`,
that finishes with the task's `Outcome`. Cancelling that coroutine stops the
task (the local executor kills the worker process that runs it and starts
another). The scheduler knows nothing more, so a Dask executor fits the same
interface.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import multiprocessing
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any, Protocol

from plait.runtime.engine.placement import Placement, input_refs
from plait.runtime.engine.worker import Message, Outcome, Task, forget_functions, run_task
from plait.runtime.nodes.processes import describe_exit, plain_main
from plait.runtime.results.blobs import OutputRef


class Executor(Protocol):
    name: str
    slots: int

    async def start(self) -> None: ...

    async def run(self, task: Task, report: Callable[[Message], None]) -> Outcome: ...

    async def close(self) -> None: ...

    def forget_functions(self) -> None: ...


def default_slots() -> int:
    return max(1, os.cpu_count() or 1)


# Messages (each a batch of up to a few hundred log lines) handed to the event loop and not
# yet handled. A node that prints faster than the loop records waits for the loop instead
# of piling its lines up in this process: the worker's pipe fills and its print blocks.
IN_FLIGHT = 16


class _Handoff:
    """Hands messages from a thread to the event loop, never more than IN_FLIGHT at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[..., None]) -> None:
        self.loop = loop
        self._deliver = deliver
        self._room = threading.Semaphore(IN_FLIGHT)
        self.closed = False  # nothing more is delivered

    def put(self, *args: Any) -> bool:
        """Wait for room, then deliver on the loop; False once the loop or the handoff is closed."""
        while not self._room.acquire(timeout=0.5):
            if self.closed or self.loop.is_closed():
                return False
        if self.closed:
            self._room.release()
            return False
        try:
            self.loop.call_soon_threadsafe(self._handle, args)
        except RuntimeError:  # the loop is closed
            self._room.release()
            return False
        return True

    def _handle(self, args: tuple[Any, ...]) -> None:
        try:
            if not self.closed:
                self._deliver(*args)
        finally:
            self._room.release()

    def close(self) -> None:
        self.closed = True


class InlineExecutor:
    """Runs nodes one at a time in this process (for tests and debugging).

    The node runs on a helper thread so the event loop stays responsive. A
    thread cannot be killed, so a timeout or cancel abandons the node instead:
    its run is recorded and goes on, and the node's thread runs on, unheard,
    until the process exits (`stuck` names such nodes).
    """

    name = "inline"
    kills = False  # a node past its timeout is abandoned, not stopped

    def __init__(self, slots: int = 1) -> None:
        self.slots = 1
        self._lock = asyncio.Lock()
        self._abandoned: list[tuple[str, threading.Thread]] = []

    async def start(self) -> None:
        pass

    async def run(self, task: Task, report: Callable[[Message], None]) -> Outcome:
        loop = asyncio.get_running_loop()
        handoff = _Handoff(loop, report)
        thread: threading.Thread | None = None
        try:
            async with self._lock:
                future: asyncio.Future[Outcome] = loop.create_future()
                thread = _start_thread(loop, future, run_task, task, handoff.put)
                return await future
        except asyncio.CancelledError:
            if thread is not None and thread.is_alive():
                self._abandoned.append((task.title, thread))
            raise
        finally:
            # An abandoned node goes on printing on its thread: those lines are not the
            # finished node's any more.
            handoff.close()

    def stuck(self) -> list[str]:
        """Titles of the nodes abandoned on a timeout or cancel whose threads still run."""
        self._abandoned = [(title, thread) for title, thread in self._abandoned if thread.is_alive()]
        return [title for title, _ in self._abandoned]

    async def close(self) -> None:
        pass

    def forget_functions(self) -> None:
        forget_functions()


def _start_thread(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Outcome], fn: Callable[..., Outcome], *args: Any
) -> threading.Thread:
    """Run `fn` on a daemon thread of its own, settling `future` with what it returns.

    A node that hangs past its timeout is abandoned, never joined: `plait run
    --executor inline` still records the run and exits.
    """

    def settle(outcome: Any, error: BaseException | None) -> None:
        if future.done():
            return  # abandoned (timed out or cancelled)
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcome)

    def target() -> None:
        try:
            outcome = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
            _call_soon(loop, settle, None, exc)
        else:
            _call_soon(loop, settle, outcome, None)

    context = contextvars.copy_context()  # the run's workspace goes along, as to_thread does
    thread = threading.Thread(target=context.run, args=(target,), daemon=True, name="plait-inline-node")
    thread.start()
    return thread


def _call_soon(loop: asyncio.AbstractEventLoop, *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(*args)
    except RuntimeError:
        pass  # the loop is closed: the run is over


class _Worker:
    """One worker process and the thread that reads its messages."""

    def __init__(
        self,
        context: Any,
        settings: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[_Worker, Message], None],
        on_exit: Callable[[_Worker], None],
    ) -> None:
        from plait.runtime.engine.worker import worker_main

        self.conn, child = context.Pipe()
        # Asks a task waiting in the pipe back, heard while the worker runs the one ahead.
        child_control, self.control = context.Pipe(duplex=False)
        self.process = context.Process(
            target=worker_main, args=(child, settings, child_control), daemon=True, name="plait-worker"
        )
        with plain_main():
            self.process.start()
        child.close()
        child_control.close()
        self.loop = loop
        self.task: Task | None = None
        self.future: asyncio.Future[Outcome] | None = None
        self.report: Callable[[Message], None] | None = None
        # The task waiting in its pipe behind the one it runs: it begins as soon as that one
        # is done, without a round trip through the scheduling process.
        self.next: _Waiting | None = None
        # The waiting task moved up to `task` when the one ahead ended, until it says it began.
        self.moved_up: _Waiting | None = None
        # A waiting task asked back with ("drop", its number): the worker answers
        # ("dropped", number), or ("began", number) when it had gone on to it already.
        self.asked: _Waiting | None = None
        self.reserved = False  # idle, kept for a task being asked back from another worker
        self.stopping = False  # it runs a task no longer wanted: killed once its writes end
        self.dead = False
        self.held: set[str] = set()  # files whose values it keeps in memory for their consumers
        self._on_message = on_message
        self._on_exit = on_exit
        self._handoff = _Handoff(loop, lambda message: on_message(self, message))
        self._reader = threading.Thread(target=self._read, daemon=True, name="plait-reader")
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # noqa: BLE001 - an unpicklable message
                message = ("error", None, f"a message from the worker could not be read: {exc}")
            if not self._handoff.put(message):  # the loop is closed
                return
        self.process.join(timeout=5)
        try:
            self.loop.call_soon_threadsafe(self._on_exit, self)
        except RuntimeError:
            pass

    def send(self, message: Any) -> None:
        self.conn.send(message)

    def take(self, waiting: _Waiting) -> None:
        """Make `waiting` the task it runs (or is about to)."""
        self.task, self.report, self.future = waiting.task, waiting.report, waiting.future

    @property
    def settled(self) -> bool:
        """Neither running a task, nor waiting to hear whether it went on to one."""
        return self.task is None and self.asked is None and not (self.reserved or self.stopping or self.dead)

    def kill(self) -> None:
        self.dead = True
        if self.process.is_alive():
            self.process.kill()

    def stop(self) -> None:
        self.dead = True
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass


@dataclass(eq=False)
class _Waiting:
    """A task sent to a busy worker, to begin when the one ahead of it is done."""

    task: Task
    report: Callable[[Message], None]
    future: asyncio.Future[Outcome | None]  # None: it did not begin there, another worker takes it
    data: bytes  # the task, pickled
    number: int  # names it in the messages about it: unique in this process
    cancelled: bool = False
    to: _Worker | None = None  # the idle worker kept for it while it is asked back


# A task waits behind a busy worker only when it is this small: a bigger one would fill the
# pipe and block the loop until that worker reads it.
BEHIND_BYTES = 64 * 1024
SEND_TRIES = 5


class _Closed(Exception):
    """The executor was closed while a task waited for a worker."""


def default_held_bytes(slots: int) -> int:
    """Each worker's budget for large outputs held for their consumers: a quarter of memory, shared."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows)
        memory = 8 * 1024**3
    return max(0, memory // 4 // max(1, slots))


class LocalExecutor:
    """A pool of long-lived worker processes, started with `spawn`.

    Spawn, not fork: the scheduling process may own Qt, which must never be
    forked. Workers are reused across nodes and runs; one that dies or is
    killed (timeout, cancel) is replaced. A task goes to the worker that holds
    its large inputs in memory when it is free (see `placement`).

    When every worker is busy, a task without large inputs waits in the pipe of
    one of them (`waits` a worker), so that worker goes on to it the moment its
    current task is done. Its start is reported when the worker says it began,
    with ("started", task id), and its timeout counts from there. A waiting task
    is asked back when it is cancelled, or when another worker falls idle
    first: it runs there instead, unless its worker had gone on to it already.
    """

    name = "local"
    waits = 1  # tasks each worker may have waiting behind the one it runs

    def __init__(
        self, slots: int | None = None, workspace: str | None = None, held_bytes: int | None = None
    ) -> None:
        """`held_bytes`: what each worker may keep of large outputs for their consumers."""
        self.slots = max(1, slots or default_slots())
        held = default_held_bytes(self.slots) if held_bytes is None else held_bytes
        self.settings = {"workspace": workspace, "held_bytes": held}
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] | None = None
        self._waiting: list[asyncio.Future[None]] = []  # tasks waiting for a worker
        self._workers: set[_Worker] = set()
        self._placement = Placement()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._stops: set[asyncio.Future[None]] = set()
        self._numbers = itertools.count()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            # Started on another (finished) loop: its reader threads are gone with it.
            await self._discard()
        if self._idle is None:
            self._loop = loop
            self._idle = []
            self._placement = Placement()
            for _ in range(self.slots):
                self._spawn()

    def _spawn(self) -> None:
        assert self._loop is not None and self._idle is not None
        worker = _Worker(self._context, self.settings, self._loop, self._message, self._exited)
        self._workers.add(worker)
        self._free(worker, first=True)  # first in line, last chosen: a worker freed since is warm

    def _free(self, worker: _Worker, first: bool = False) -> None:
        """A worker with nothing to do: it takes a task waiting behind a busy one, or goes idle."""
        if self._idle is None or worker.dead:
            return
        behind = next((w for w in self._workers if w.next is not None and not w.dead), None)
        if behind is not None:
            worker.reserved = True
            self._ask_back(behind, to=worker)
            return
        if first:
            self._idle.insert(0, worker)
        else:
            self._idle.append(worker)
        self._wake()

    def _ask_back(self, worker: _Worker, to: _Worker | None = None, cancelled: bool = False) -> None:
        """Ask a worker for the task waiting in its pipe, for `to` (or because it was cancelled)."""
        waiting, worker.next = worker.next, None
        assert waiting is not None
        waiting.to, waiting.cancelled = to, cancelled
        worker.asked = waiting
        try:
            worker.control.send(("drop", waiting.number))
        except (OSError, ValueError):
            pass  # the worker is gone: its end sends the task elsewhere

    def _unreserve(self, worker: _Worker | None) -> None:
        if worker is not None and worker.reserved:
            worker.reserved = False
            self._go_on(worker)

    def _begin(self, worker: _Worker, waiting: _Waiting) -> bool:
        """Send a task to a worker with nothing to do; False when its pipe is closed."""
        worker.take(waiting)
        try:
            worker.conn.send_bytes(waiting.data)
        except (OSError, ValueError):
            worker.task = worker.report = worker.future = None
            worker.kill()  # its end is handled when the reader sees it
            return False
        waiting.report(("started", waiting.task.id))
        return True

    def _send_behind(self, worker: _Worker, waiting: _Waiting) -> bool:
        """Send a task to wait behind a busy worker's; False when its pipe is closed."""
        worker.next = waiting
        try:
            worker.send(("behind", waiting.number, waiting.data))
        except (OSError, ValueError):
            worker.next = None
            worker.kill()  # its end is handled when the reader sees it
            return False
        return True

    def _go_on(self, worker: _Worker) -> None:
        """A worker's task ended (or it did not begin the one asked back): on to the next, or free."""
        if not worker.settled:
            return
        if worker.next is not None:
            waiting, worker.next = worker.next, None
            worker.take(waiting)
            worker.moved_up = waiting
            self._wake()  # its place behind is free
        else:
            self._free(worker)

    def _stop_when_written(self, worker: _Worker) -> None:
        """Kill a worker running a task no longer wanted, once the files it writes are complete."""
        worker.stopping = True
        writing = self._placement.writing(worker)
        if not writing:
            worker.kill()
            return

        async def stop() -> None:
            await asyncio.gather(*writing)
            if worker.stopping:  # else the task ended meanwhile, and the worker went on
                worker.kill()

        task = asyncio.ensure_future(stop())
        self._stops.add(task)
        task.add_done_callback(self._stops.discard)

    def _wake(self) -> None:
        """Something changed (a worker free, a file written): waiting tasks look again."""
        waiting, self._waiting = self._waiting, []
        for future in waiting:
            if not future.done():
                future.set_result(None)

    def _message(self, worker: _Worker, message: Message) -> None:
        kind = message[0]
        if kind == "done":
            if worker.task is None or message[1] != worker.task.id:
                return  # not the task it runs here (never so: the outcome goes to no other)
            if len(message) > 3:
                self._done_writing(worker, message[3], message[4])
            worker.stopping = False  # a task no longer wanted ended before it was stopped
            future, worker.future, worker.task, worker.moved_up = worker.future, None, None, None
            if future is not None and not future.done():
                future.set_result(message[2])
            self._go_on(worker)  # a killed one does not: what waits behind it goes elsewhere
        elif kind == "began" and worker.moved_up is not None and worker.moved_up.number == message[1]:
            began, worker.moved_up = worker.moved_up, None
            began.report(("started", began.task.id))
        elif kind == "began" and worker.next is not None and worker.next.number == message[1]:
            if worker.task is None and not worker.dead:  # not moved up yet: it is now
                began, worker.next = worker.next, None
                worker.take(began)
                began.report(("started", began.task.id))
        elif kind in ("began", "dropped") and worker.asked is not None and worker.asked.number == message[1]:
            self._answered(worker, kind == "dropped")
        elif kind == "written":
            self._placement.written(message[1], message[2])
            self._wake()
        elif worker.report is not None and worker.task is not None and message[1] == worker.task.id:
            worker.report(message)

    def _answered(self, worker: _Worker, dropped: bool) -> None:
        """A worker said whether it skipped the task asked back, or had begun it."""
        asked, worker.asked = worker.asked, None
        assert asked is not None
        if not dropped:
            self._unreserve(asked.to)
            if worker.dead:  # killed meanwhile: it goes to another worker
                if not asked.cancelled and not asked.future.done():
                    asked.future.set_result(None)
                return
            worker.take(asked)
            if asked.cancelled:
                self._stop_when_written(worker)
            else:  # it runs here after all
                asked.report(("started", asked.task.id))
            return
        to = asked.to
        if to is not None:
            to.reserved = False
        if not asked.cancelled and not asked.future.done():
            if to is None or to.dead or not self._begin(to, asked):
                asked.future.set_result(None)  # it goes to whichever worker is free
                self._unreserve(to)
        elif to is not None:
            self._go_on(to)
        self._go_on(worker)
        self._wake()  # a place behind it is free

    def _done_writing(self, worker: _Worker, writing: list[tuple[str, str]], held: list[str]) -> None:
        worker.held = set(held)
        if worker.task is not None:
            self._placement.begun(worker, writing, worker.task.cache_folder)

    def _exited(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        if self._idle is not None and worker in self._idle:
            self._idle.remove(worker)
        future, worker.future = worker.future, None
        # Tasks that had not begun there go to other workers.
        unbegun = [w for w in (worker.next, worker.asked, worker.moved_up) if w is not None]
        worker.next = worker.asked = worker.moved_up = None
        worker.dead = True
        worker.held = set()
        self._placement.worker_gone(worker, worker.process.pid)
        for waiting in unbegun:
            self._unreserve(waiting.to)
            if not waiting.cancelled and not waiting.future.done():
                waiting.future.set_result(None)
        if future is not None and not future.done():
            future.set_result(
                Outcome(False, error_type="WorkerDied", error_message=describe_exit(worker.process.exitcode))
            )
        if not self._closed and self._loop is not None:
            self._spawn()
        self._wake()

    async def _worker_for(self, task: Task, small: bool) -> tuple[_Worker, bool]:
        """A worker for `task`, and whether the task waits behind the one it runs."""
        loop = asyncio.get_running_loop()
        while True:
            if self._idle is None:
                raise _Closed
            self._idle = [w for w in self._idle if not w.dead]
            worker = self._placement.choose(task, self._idle)
            if worker is not None:
                self._idle.remove(worker)
                return worker, False
            if not self._idle and small and next(iter(input_refs(task)), None) is None:
                # Large inputs wait for their holder or their file, as placement says.
                busy = [w for w in self._workers if w.task is not None and w.next is None]
                busy = [w for w in busy if w.asked is None and not (w.dead or w.stopping)]
                if busy:
                    # Best behind a task whose outputs nothing reads: a worker holding values
                    # for their consumers is free for them when its task is done.
                    return min(busy, key=lambda w: w.task is not None and w.task.hold), True
            waiting = loop.create_future()
            self._waiting.append(waiting)
            await waiting

    async def run(self, task: Task, report: Callable[[Message], None]) -> Outcome:
        """Run `task` on a worker; `report` gets its messages, first ("started", task id)."""
        await self.start()
        try:
            data = bytes(ForkingPickler.dumps(task))
        except Exception as exc:  # noqa: BLE001 - a value that cannot be pickled
            return Outcome(
                False,
                error_type=type(exc).__name__,
                error_message=f"the task of node '{task.title}' could not be sent to a worker: {exc}",
            )
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            try:
                worker, behind = await self._worker_for(task, small=len(data) <= BEHIND_BYTES)
            except _Closed:
                return Outcome(
                    False, error_type="WorkerDied", error_message="the executor was closed before it ran"
                )
            waiting = _Waiting(task, report, loop.create_future(), data, next(self._numbers))
            if not (self._send_behind if behind else self._begin)(worker, waiting):
                failures += 1
                if failures < SEND_TRIES:
                    continue
                return Outcome(
                    False,
                    error_type="WorkerDied",
                    error_message=f"the task could not be sent to a worker ({failures} tried)",
                )
            try:
                outcome = await waiting.future
            except asyncio.CancelledError:
                self._cancel(waiting)
                raise
            if outcome is not None:
                return outcome
            # None: it did not begin where it waited (that worker died); another takes it.

    def _cancel(self, waiting: _Waiting) -> None:
        """Its node no longer wants a task: ask it back, or stop the worker running it."""
        for worker in list(self._workers):
            if worker.next is waiting:
                self._ask_back(worker, cancelled=True)  # the worker skips it if it has not begun
            elif worker.asked is waiting:
                waiting.cancelled = True
                self._unreserve(waiting.to)
                waiting.to = None
            elif worker.future is waiting.future:
                if worker.moved_up is waiting:
                    worker.moved_up = None
                # Killed once the files of the task before it are written; the reader sees
                # the pipe close and a new worker replaces it.
                self._stop_when_written(worker)
            else:
                continue
            return

    def stored(self, outputs: dict[str, OutputRef]) -> Awaitable[str | None] | None:
        """None when the outputs' files are complete; else what waits for their background writes.

        What it awaits gives the error when a file could not be written (the
        value must not be indexed then), or None.
        """
        return self._placement.stored(outputs)

    def release(self, ref: OutputRef) -> None:
        """The consumers of a value have run: the worker holding it drops it."""
        if ref.file is None:
            return
        suffix = os.sep + ref.file
        for worker in list(self._workers):
            held = {path for path in worker.held if path.endswith(suffix)}
            if held:
                worker.held -= held
                for path in held:
                    self._placement.released(path)
                try:
                    worker.send(("release", [ref.file]))
                except (OSError, ValueError):
                    pass

    def held(self) -> dict[int, set[str]]:
        """Worker process id -> the paths of the values it holds in memory."""
        return {w.process.pid: set(w.held) for w in self._workers if w.held and w.process.pid}

    def preload(self, workspace: str, spec_keys: list[str]) -> None:
        """Have each worker import these node functions now, ahead of their tasks."""
        for worker in list(self._workers):
            if not worker.dead:
                try:
                    worker.send(("preload", workspace, spec_keys))
                except (OSError, ValueError):
                    pass  # gone: its end is handled when the reader sees it

    def forget_functions(self) -> None:
        for worker in list(self._workers):
            if worker.task is None and not worker.dead:
                try:
                    worker.send("forget")
                except (OSError, ValueError):
                    pass

    async def _discard(self) -> None:
        for worker in list(self._workers):
            worker.kill()
        self._workers.clear()
        self._idle = None
        self._loop = None

    async def close(self) -> None:
        self._closed = True
        for worker in list(self._workers):
            if worker.next is not None:
                self._ask_back(worker)  # a task waiting in its pipe is not begun now
            worker.stop()
        for worker in list(self._workers):
            await asyncio.to_thread(worker.process.join, 2)
            if worker.process.is_alive():
                worker.process.kill()
        self._workers.clear()
        self._idle = None
        self._wake()  # tasks waiting for a worker are told there is none


def make_executor(name: str, slots: int | None = None, workspace: str | None = None, **options: Any) -> Any:
    """An executor by name: `local` (default), `inline`, or `dask`."""
    if name == "local":
        return LocalExecutor(slots, workspace, options.get("held_bytes"))
    if name == "inline":
        return InlineExecutor()
    if name == "dask":
        from plait.runtime.engine.dask_executor import DaskExecutor

        return DaskExecutor(
            options.get("address"),
            slots,
            workspace,
            options.get("shared_store"),
            bool(options.get("dashboard")),
        )
    raise ValueError(f"unknown executor '{name}': choose local, inline or dask")
