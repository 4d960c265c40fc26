"""Runs seen from the window: start them on the engine, follow their events, tell the widgets.

The engine's coroutines run on the qasync loop (the GUI thread), where they
only wait; the work happens in worker processes. Events are folded into a
`LiveRun` as they come and the widgets are told in batches, at most every
`FLUSH_MS`, so a flood of log lines or progress reports costs one repaint
per batch, not one per event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from plait.runtime.engine import events as ev
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.results.cache import verify_after_crash
from plait.widgets.canvas.status import NodeStatus
from plait.widgets.logs_dock import let_go, traceback_lines

FLUSH_MS = 50
log = logging.getLogger(__name__)


def first_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else None


def mark_parameter_values(statuses: dict[str, NodeStatus], flow, values: dict[str, Any]) -> None:
    """Tell each parameter node's status the value the run used, so the node can show it."""
    for parameter in flow.parameters():
        status = statuses.get(parameter.node_id)
        if status is not None and parameter.name in values:
            status.used = (values[parameter.name],)


@dataclass
class LiveRun:
    """One run the window started (or a schedule did), as far as its events have told."""

    run: Any  # the engine's Run
    flow_id: str
    flow_name: str
    origin: str = "window"  # or "schedule"
    statuses: dict[str, NodeStatus] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> port -> OutputRef
    cache_keys: dict[str, str] = field(default_factory=dict)
    lines: list[tuple] = field(default_factory=list)  # the latest (`KEPT_LINES`)
    earlier_lines: int = 0  # lines before those, let go: the run history has them
    writing: int = 0  # its large results still being written to the cache when it ended
    started: float = field(default_factory=time.time)
    state: str = ev.RUN_RUNNING
    error: str | None = None
    ended: float | None = None
    last_node_finished: float | None = None  # monotonic, for the responsiveness benchmark
    finished_shown: float | None = None

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def finished(self) -> bool:
        return self.state != ev.RUN_RUNNING

    @property
    def total(self) -> int:
        return len(self.statuses)

    @property
    def done(self) -> int:
        return sum(1 for s in self.statuses.values() if s.state in ev.FINAL_STATES)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for status in self.statuses.values():
            out[status.state] = out.get(status.state, 0) + 1
        return out


class LiveRuns(QObject):
    """Starts runs on one workspace's engine and turns their events into batched signals."""

    run_started = Signal(object)  # LiveRun
    nodes_changed = Signal(object, object)  # LiveRun, set of node ids
    lines_added = Signal(object, object)  # LiveRun, list of lines
    run_finished = Signal(object)  # LiveRun
    # A finished run's large results, still being written when it ended, are in the cache.
    results_written = Signal(object)  # LiveRun

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.workspace = None
        self.catalog = None
        self.engine: Engine | None = None
        self.allow_pickle = True
        self.live: dict[str, LiveRun] = {}
        self._dirty: dict[str, set[str]] = {}
        self._new_lines: dict[str, list[tuple]] = {}
        self._flush_timer = QTimer(self, singleShot=True, interval=FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush)
        self._tasks: set[asyncio.Task] = set()
        self.closing: asyncio.Task | None = None

    # -- the engine --------------------------------------------------------

    def set_workspace(self, workspace, catalog) -> None:
        """Follow another workspace; the old engine's workers are shut down in the background."""
        if self.engine is not None and self.engine.workspace is not workspace:
            self.background(self._close_engine(self.engine))
            self.engine = None
        self.workspace, self.catalog = workspace, catalog
        if self.engine is not None:
            self.engine.catalog = catalog
        # Opened after a crash: its newest results are checked now, not at the first run.
        if workspace is not None:
            verify_after_crash(workspace)

    def engine_for_workspace(self) -> Engine:
        if self.engine is None:
            self.engine = Engine(self.workspace, self.catalog)
            self.engine.cache.store.allow_pickle = self.allow_pickle
        return self.engine

    def warm_up(self, flow, executor: str, max_workers: int | None = None) -> None:
        """Start the workers of a run about to be asked for, importing the flow's functions."""
        keys = sorted({node.spec_key for node in flow.nodes.values()})
        self.background(self.engine_for_workspace().warm_up(executor, max_workers, None, keys))

    def set_allow_pickle(self, allowed: bool) -> None:
        """Whether pickled results may be read (not for a workspace that is not trusted)."""
        self.allow_pickle = allowed
        if self.engine is not None:
            self.engine.cache.store.allow_pickle = allowed

    def libraries_changed(self) -> None:
        if self.engine is not None:
            self.engine.forget_functions()

    @property
    def running(self) -> list[LiveRun]:
        return [r for r in self.live.values() if not r.finished]

    # -- runs --------------------------------------------------------------

    def start(self, flow, parameters: dict[str, Any], options: RunOptions, origin: str = "window") -> LiveRun:
        """Start a run now; raises RunRefused (or ParameterError) with the problems."""
        engine = self.engine_for_workspace()
        run = engine.start(flow, parameters, options)
        live = LiveRun(run, flow.id, flow.name, origin)
        live.titles = {n: r.title for n, r in run.nodes.items()}
        live.statuses = {n: NodeStatus() for n in run.nodes}
        mark_parameter_values(live.statuses, flow, run.plan.plain)
        self.live[run.id] = live
        self.run_started.emit(live)
        self.background(self._follow(live))
        return live

    def cancel(self, run_id: str | None = None) -> None:
        """Stop one run, or every running one."""
        for live in [self.live[run_id]] if run_id in self.live else self.running:
            if not live.finished:
                live.run.cancel()

    def background(self, coro) -> asyncio.Task:
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        # Retrieve the exception now: one left to the garbage collector is reported
        # from a finalizer, at a random moment, with a traceback formatted there.
        if not task.cancelled() and task.exception() is not None:
            log.error("a background task of the window failed", exc_info=task.exception())

    async def _follow(self, live: LiveRun) -> None:
        try:
            async for event in live.run.events():
                self._apply(live, event)
        except Exception:  # noqa: BLE001 - a bug here must not leave the window waiting
            log.exception("following run %s failed", live.id)
            live.state = ev.RUN_FAILED
        self.flush()
        live.finished_shown = time.perf_counter()
        engine = self.engine
        writing = engine.writing if engine is not None else 0
        live.writing = writing
        self.run_finished.emit(live)
        if writing:
            self.background(self._written(engine, live))

    async def _written(self, engine: Engine, live: LiveRun) -> None:
        await engine.written()
        live.writing = 0
        if self.engine is engine:
            self.results_written.emit(live)

    def _apply(self, live: LiveRun, event: object) -> None:
        node_id = getattr(event, "node_id", None)
        status = live.statuses.get(node_id) if node_id else None
        if isinstance(event, ev.NodeLog):
            lines = [(line.time, node_id, line.level, line.stream, line.message) for line in event.lines]
            live.lines.extend(lines)
            self._new_lines.setdefault(live.id, []).extend(lines)
        elif isinstance(event, ev.NodeProgress) and status is not None:
            status.done, status.total, status.message = event.done, event.total, event.message
        elif isinstance(event, ev.NodeStarted) and status is not None:
            status.state, status.attempt, status.started = ev.RUNNING, event.attempt, event.time
            status.done = status.total = status.message = None
            live.cache_keys[node_id] = event.cache_key
        elif isinstance(event, ev.NodeRetrying) and status is not None:
            status.state, status.attempt = ev.RETRYING, event.attempt
            status.error = first_line(event.error)
        elif isinstance(event, ev.NodeFinished) and status is not None:
            self._finished_node(live, status, event)
        elif isinstance(event, ev.RunFinished):
            live.state, live.error, live.ended = event.state, event.error, event.time
        else:
            return
        if node_id:
            self._dirty.setdefault(live.id, set()).add(node_id)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _finished_node(self, live: LiveRun, status: NodeStatus, event: ev.NodeFinished) -> None:
        status.state = event.state
        status.duration = event.duration or None
        status.attempt = event.attempts or status.attempt
        status.started = event.started
        status.error = first_line(event.error_message)
        if (
            event.error_type
            and status.error
            and event.state != ev.SKIPPED
            and not status.error.startswith(event.error_type)
        ):
            status.error = f"{event.error_type}: {status.error}"
        status.traceback = event.traceback
        if event.outputs:
            live.outputs[event.node_id] = dict(event.outputs)
        if event.cache_key:
            live.cache_keys[event.node_id] = event.cache_key
        live.last_node_finished = time.perf_counter()
        if (
            event.traceback
            and event.state in (ev.FAILED, ev.TIMED_OUT, ev.CANCELLED)
            and event.error_type != "CancelledError"
        ):
            lines = traceback_lines(event.time, event.node_id, event.traceback)
            live.lines.extend(lines)
            self._new_lines.setdefault(live.id, []).extend(lines)
        elif event.state in (ev.FAILED, ev.TIMED_OUT) and event.error_message:
            line = (event.time, event.node_id, "ERROR", "plait", event.error_message)
            live.lines.append(line)
            self._new_lines.setdefault(live.id, []).append(line)

    def flush(self) -> None:
        """Tell the widgets what changed since the last batch."""
        self._flush_timer.stop()
        dirty, self._dirty = self._dirty, {}
        new_lines, self._new_lines = self._new_lines, {}
        for run_id, lines in new_lines.items():
            live = self.live.get(run_id)
            if live is not None:
                live.earlier_lines += let_go(live.lines)
                self.lines_added.emit(live, lines)
        for run_id, nodes in dirty.items():
            live = self.live.get(run_id)
            if live is not None:
                self.nodes_changed.emit(live, nodes)

    # -- closing -----------------------------------------------------------

    async def _close_engine(self, engine: Engine) -> None:
        try:
            await engine.close()
        except Exception:  # noqa: BLE001 - closing must finish whatever went wrong
            log.exception("closing the engine failed")

    async def _close(self) -> None:
        for live in self.running:
            live.run.cancel()
        for live in list(self.live.values()):
            try:
                await live.run.wait()
            except Exception:  # noqa: BLE001
                pass
        if self.engine is not None:
            await self._close_engine(self.engine)
            self.engine = None
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                await asyncio.gather(task, return_exceptions=True)
        if shiboken6.isValid(self):
            self.flush()

    def close(self) -> asyncio.Task:
        """Cancel what runs and stop the workers; the task ends when all records are written."""
        if self.closing is None:
            self.closing = asyncio.get_event_loop().create_task(self._close())
            self.closing.add_done_callback(self._done)
        return self.closing
