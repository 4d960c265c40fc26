"""Capturing what a node says: prints, stderr and logging records, as batched log lines.

In a worker process everything printed belongs to its one node; in the
inline executor (and a Dask worker's threads) only what the node's own
thread prints does, so other output is never mistaken for the node's.

Nothing changes when this module is imported. sys.stdout, sys.stderr and tqdm
are taken over while a `Capture` is active, and given back when the last one
in the process ends; a worker process takes them over for its whole life
(`capture_whole_process`).
"""

from __future__ import annotations

import io
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from plait.runtime.engine import progress as reporting

LOG_FLUSH_LINES = 200
LOG_FLUSH_SECONDS = 0.1

Message = tuple  # (kind, task id, ...) sent from a worker to the scheduler


class _Lines(io.TextIOBase):
    """A text stream that turns writes into log lines sent in batches."""

    def __init__(self, sink: _LogSink, stream: str) -> None:
        self._sink = sink
        self._stream = stream
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            text = str(text)
        data = self._partial + text
        *lines, self._partial = data.split("\n")
        for line in lines:
            self._sink.add(self._stream, "INFO" if self._stream == "stdout" else "ERROR", line)
        if len(self._partial) > 10_000:  # a huge line without a newline
            self._sink.add(self._stream, "INFO", self._partial)
            self._partial = ""
        return len(text)

    def flush(self) -> None:
        self._sink.flush()

    def close_partial(self) -> None:
        if self._partial:
            self._sink.add(self._stream, "INFO" if self._stream == "stdout" else "ERROR", self._partial)
            self._partial = ""


class _LogSink:
    """Collects a node's log lines, sends them in batches, drops past the limit."""

    def __init__(self, send: Callable[[Message], None], task_id: str, limit: int) -> None:
        self._send = send
        self._task_id = task_id
        self._limit = limit
        self._batch: list[tuple[float, str, str, str]] = []
        self._last = time.monotonic()
        self.count = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def add(self, stream: str, level: str, line: str) -> None:
        with self._lock:
            self.count += 1
            if self.count > self._limit:
                self.dropped += 1
                return
            self._batch.append((time.time(), stream, level, line.rstrip("\r")))
            now = time.monotonic()
            if len(self._batch) >= LOG_FLUSH_LINES or now - self._last >= LOG_FLUSH_SECONDS:
                self._flush_locked(now)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked(time.monotonic())

    def _flush_locked(self, now: float) -> None:
        if self._batch:
            self._send(("log", self._task_id, self._batch))
            self._batch = []
        self._last = now

    def finish(self) -> None:
        with self._lock:
            if self.dropped:
                self._batch.append(
                    (
                        time.time(),
                        "plait",
                        "WARNING",
                        f"[plait] {self.dropped:,} more lines were dropped "
                        f"(the limit is {self._limit:,} lines per node)",
                    )
                )
        self.flush()


class _LogHandler(logging.Handler):
    def __init__(self, sink: _LogSink) -> None:
        super().__init__(logging.DEBUG)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001 - a bad record must not fail the node
            message = str(record.msg)
        for line in message.splitlines() or [""]:
            self._sink.add("logging", record.levelname, line)


class _Router(io.TextIOBase):
    """Stands in for sys.stdout/stderr and sends each write to the node that made it.

    In a worker process everything printed belongs to its one node; in the
    inline executor only what the node's own thread prints does, so the
    caller's output is never mistaken for the node's.
    """

    def __init__(self, original: Any, name: str) -> None:
        self.original = original
        self.name = name

    def _target(self) -> Any:
        target = getattr(_capture, self.name, None)
        if target is None:
            target = _process_capture.get(self.name)
        return target if target is not None else self.original

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")


_capture = threading.local()
_process_capture: dict[str, Any] = {}
_whole_process = False
_users = 0  # active captures, plus one for a worker process's whole life
_users_lock = threading.Lock()


def _take_over() -> None:
    """Route stdout, stderr and tqdm to the running nodes (the first capture in does it)."""
    global _users
    with _users_lock:
        _users += 1
        if _users > 1:
            return
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr, "stderr")
        reporting.install_tqdm_hook()


def _give_back() -> None:
    """Put stdout, stderr and tqdm back as they were (the last capture out does it)."""
    global _users
    with _users_lock:
        _users -= 1
        if _users > 0:
            return
        # Left in place when something wrapped it since: its writes still reach the original.
        if isinstance(sys.stdout, _Router):
            sys.stdout = sys.stdout.original
        if isinstance(sys.stderr, _Router):
            sys.stderr = sys.stderr.original
        reporting.remove_tqdm_hook()


# One for every task: a Formatter checks its format when made, which was a sixth of what
# a worker adds around a node's call.
_FORMAT = logging.Formatter("%(name)s: %(message)s")


class Capture:
    """While active, routes one task's output, logging and progress to `send`."""

    def __init__(self, send: Callable[[Message], None], task_id: str, limit: int) -> None:
        self.sink = _LogSink(send, task_id, limit)
        self._send = send
        self._task_id = task_id
        self._out = _Lines(self.sink, "stdout")
        self._err = _Lines(self.sink, "stderr")
        self._handler = _LogHandler(self.sink)
        self._handler.setFormatter(_FORMAT)
        if not _whole_process:
            thread = threading.get_ident()
            self._handler.addFilter(lambda record: record.thread == thread)

    def _progress(self, done: float, total: float | None, message: str | None) -> None:
        self._send(("progress", self._task_id, done, total, message))

    def __enter__(self) -> Capture:
        _take_over()
        if _whole_process:
            _process_capture.update(stdout=self._out, stderr=self._err)
        else:
            _capture.stdout, _capture.stderr = self._out, self._err
        logging.getLogger().addHandler(self._handler)
        reporting.set_reporter(self._progress)
        return self

    def __exit__(self, *exc: object) -> None:
        reporting.set_reporter(None)
        logging.getLogger().removeHandler(self._handler)
        _process_capture.clear()
        _capture.stdout = _capture.stderr = None
        self._out.close_partial()
        self._err.close_partial()
        _give_back()

    def finish(self) -> None:
        """Send what is left, with a note of any lines dropped past the limit."""
        self.sink.finish()


def capture_whole_process() -> None:
    """In a worker process: everything printed, from any thread, is the task's, and tqdm reports.

    Called by the worker at its start; stdout, stderr and tqdm stay taken over until it ends.
    """
    global _whole_process
    _whole_process = True
    _take_over()
