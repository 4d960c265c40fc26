"""The run recorder: one subscriber of a run's events, writing them to the run history.

Rows are buffered and written in batches (a transaction every 100 ms or a few
hundred rows), so a run of thousands of nodes and a flood of log lines cost
little, and at most the last fraction of a second is lost if the process is
killed outright. The SQL lives in the history (`plait.runtime.workspace.history`).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from typing import Any

from plait.runtime.engine import events as ev
from plait.runtime.results.cache import ResultCache
from plait.runtime.workspace.store import Workspace

FLUSH_SECONDS = 0.1
FLUSH_ROWS = 2000


class RunRecorder:
    """Writes runs, node_runs, logs and cache entries for the runs it is given."""

    def __init__(self, workspace: Workspace, cache: ResultCache) -> None:
        self.workspace = workspace
        self.cache = cache
        self._runs: list[tuple] = []
        self._run_updates: list[tuple] = []
        self._node_runs: dict[tuple[str, str], tuple] = {}
        self._logs: list[tuple] = []
        self._cache_rows: list[tuple[str, str, dict, float | None]] = []
        self._touched: list[str] = []
        self._pending = 0
        self._timer: asyncio.TimerHandle | None = None
        self._titles: dict[str, dict[str, str]] = {}

    def add_cache_entry(self, key: str, spec_key: str, outputs: dict, expires: float | None) -> None:
        # A value held only in a cluster's memory is indexed once someone fetches it.
        if any(ref.serializer == "dask" for ref in outputs.values()):
            return
        self._cache_rows.append((key, spec_key, outputs, expires))
        self._bump()

    def touch(self, key: str) -> None:
        self._touched.append(key)

    def handle(self, event: object) -> None:
        if isinstance(event, ev.RunStarted):
            self._titles[event.run_id] = event.nodes
            self._runs.append(
                (
                    event.run_id,
                    event.flow_id,
                    event.flow_name,
                    event.flow_version,
                    ev.RUN_RUNNING,
                    json.dumps(event.parameters, default=str),
                    event.time,
                    event.executor,
                    event.parent_run,
                    event.parent_node,
                    os.getpid(),
                    socket.gethostname(),
                )
            )
            # The run row goes in at once: a crash from here on is detectable.
            self.flush()
            return
        if isinstance(event, ev.NodeStarted):
            self._node_row(
                event.run_id,
                event.node_id,
                state=ev.RUNNING,
                attempts=event.attempt,
                started=event.time,
                cache_key=event.cache_key,
            )
        elif isinstance(event, ev.NodeRetrying):
            self._node_row(
                event.run_id,
                event.node_id,
                state=ev.RETRYING,
                attempts=event.attempt,
                error_message=event.error,
            )
        elif isinstance(event, ev.NodeFinished):
            self._node_row(
                event.run_id,
                event.node_id,
                state=event.state,
                attempts=event.attempts,
                started=event.started,
                ended=event.time,
                cache_key=event.cache_key,
                cached=int(event.state == ev.CACHED),
                result_ref=json.dumps({p: r.meta() for p, r in event.outputs.items()})
                if event.outputs
                else None,
                summary=json.dumps(event.summaries) if event.outputs else None,
                error_type=event.error_type,
                error_message=event.error_message,
                traceback=event.traceback,
                key_parts=json.dumps(event.key_parts, default=str)
                if event.key_parts and event.state != ev.CACHED
                else None,
            )
        elif isinstance(event, ev.NodeLog):
            self._logs.extend(
                (event.run_id, event.node_id, line.time, line.level, line.stream, line.message)
                for line in event.lines
            )
            self._pending += len(event.lines)
        elif isinstance(event, ev.RunFinished):
            self._run_updates.append((event.state, event.time, event.error, event.run_id))
            self.flush()
            return
        else:
            return
        self._bump()

    def _node_row(self, run_id: str, node_id: str, **fields: Any) -> None:
        key = (run_id, node_id)
        row = dict(self._node_runs.get(key) or {})
        if not row:
            row = {
                "run_id": run_id,
                "node_id": node_id,
                "title": self._titles.get(run_id, {}).get(node_id, node_id),
            }
        row.update({k: v for k, v in fields.items() if v is not None or k not in row})
        self._node_runs[key] = row  # type: ignore[assignment]

    def _bump(self) -> None:
        self._pending += 1
        if self._pending >= FLUSH_ROWS:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._timer = loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not (
            self._runs
            or self._run_updates
            or self._node_runs
            or self._logs
            or self._cache_rows
            or self._touched
        ):
            return
        runs, self._runs = self._runs, []
        updates, self._run_updates = self._run_updates, []
        node_rows, self._node_runs = list(self._node_runs.values()), {}
        logs, self._logs = self._logs, []
        cache_rows, self._cache_rows = self._cache_rows, []
        touched, self._touched = self._touched, []
        self._pending = 0
        history = self.workspace.history
        with self.workspace.transaction():
            history.record(runs, node_rows, logs)
            if cache_rows:
                self.cache.put(cache_rows)
            if touched:
                self.cache.touch(touched)
            history.finish(updates)
