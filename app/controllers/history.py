"""The history side of the window: the runs dock, the shown run's states, logs, timeline and outputs.

The shown run is a live one (its batched events arrive from `LiveRuns`) or
a past one (read from the records). Records and values are read off the GUI thread
(`asyncio.to_thread`); the docks only show what comes back. Runs started
elsewhere (`plait run` in a terminal, `plait serve`) are picked up by a poll
of the runs table.
"""

from __future__ import annotations

import asyncio
import html
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from plait.app.controllers.session import SessionController
from plait.app.controllers.trust import RESTRICTED_TIP
from plait.app.live_runs import LiveRun, mark_parameter_values
from plait.app.past_runs import PastRun, SaveError, latest_outputs, load_past_run, maker_of, save_value
from plait.app.value_process import ValueProcessError, preview_pickled, save_pickled
from plait.runtime.engine import events as ev
from plait.runtime.engine.plan import RunRefused, make_plan
from plait.runtime.engine.worker import user_traceback
from plait.runtime.results.blobs import CorruptResult
from plait.widgets.gantt import Bar
from plait.widgets.outputs_dock import PortInfo
from plait.widgets.previews import prepare
from plait.widgets.words import plural

POLL_MS = 2000
HISTORY_ROWS = 200

# Stands for a pickled value in `_values`: it lives in a child process only.
PICKLED = object()


@dataclass
class RunDocks:
    """The docks that show runs, and the dock widgets holding the logs and outputs."""

    runs: Any
    outputs: Any
    logs: Any
    outputs_widget: Any
    logs_widget: Any


class HistoryController(SessionController):
    """Run history, the shown run on the canvas and in the docks, outputs, clearing caches."""

    shown_run_changed = Signal()

    def __init__(
        self,
        session,
        questions,
        run_settings,
        runs,
        trust,
        explainer,
        docks: RunDocks,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(session, parent)
        self.questions = questions
        self.run_settings = run_settings
        self.runs = runs
        self.trust = trust
        self.explainer = explainer
        self.runs_dock, self.outputs_dock, self.logs_dock = docks.runs, docks.outputs, docks.logs
        self.docks = docks
        self.shown_run = None  # the LiveRun or PastRun the canvas and docks show
        runs.nodes_changed.connect(self._nodes_changed)
        runs.lines_added.connect(self._lines_added)
        runs.run_finished.connect(self._run_finished)
        # Once its large results are in the cache, the next run reuses them: say so.
        runs.results_written.connect(lambda _: self.explainer.schedule())
        self._runs_signature = None
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self.poll_runs)
        self._poll.start()
        self._values: dict[tuple[str, str], object] = {}  # (node, port) -> loaded value
        self._output_refs: dict[str, object] = {}
        self.runs_dock.run_selected.connect(self.show_run)
        self.runs_dock.node_clicked.connect(lambda n: self.scene and self.scene.select_nodes([n]))
        self.runs_dock.scope_changed.connect(lambda _: self.refresh_runs())
        self.outputs_dock.load_requested.connect(self._load_port)
        self.outputs_dock.save_requested.connect(self._save_port)
        self.logs_dock.node_filter_cleared.connect(lambda: self.scene and self.scene.clearSelection())

    def _shows_flow(self, flow_id: str) -> bool:
        return self.session.shows_flow(flow_id)

    def _set_shown(self, run) -> None:
        self.shown_run = run
        self.shown_run_changed.emit()

    def forget_shown(self) -> None:
        self._set_shown(None)

    def stop(self) -> None:
        """The window closes: no more polls of the runs table."""
        self._poll.stop()

    def _spawn(self, coro) -> None:
        self.runs.background(coro)

    # -- the history -------------------------------------------------------

    def refresh_runs(self) -> None:
        if self.workspace is None:
            self.runs_dock.set_runs([])
            return
        only = self.runs_dock.only_flow.isChecked() and self.document is not None
        try:
            rows = self.workspace.history.runs(
                self.workspace.flow_info(self.document.flow.id).id if only else None, limit=HISTORY_ROWS
            )
        except Exception:  # noqa: BLE001 - a flow never saved has no runs to filter by
            rows = []
        self.runs_dock.set_runs(rows)
        self._runs_signature = self._signature()

    def _signature(self):
        return self.workspace.history.signature()

    def poll_runs(self) -> None:
        """Refresh the history when runs changed (a terminal's `plait run`, a schedule)."""
        if self.workspace is None or not self.runs_dock.window().isVisible():
            return
        if self._signature() != self._runs_signature or self.runs.running:
            self.refresh_runs()

    def show_run(self, run_id: str) -> None:
        """Show a run: its node states on the canvas, its logs, its timeline."""
        live = self.runs.live.get(run_id)
        if live is not None:
            self.show_live_run(live)
            return
        self._spawn(self._show_past(run_id))

    def show_flow_last_run(self) -> None:
        """The logs dock and the status bar follow the open flow: its newest run, live or past."""
        flow_id = self.document.flow.id
        lives = [live for live in self.runs.live.values() if live.flow_id == flow_id]
        if lives:
            self.show_live_run(lives[-1])
            return
        last = self.workspace.history.latest_run_id(flow_id) if self.workspace is not None else None
        self.logs_dock.set_lines([], {})
        self._set_shown(None)
        self.update_timeline()
        if last is not None:
            self._spawn(self._show_past(last, chosen=False))

    async def _show_past(self, run_id: str, chosen: bool = True) -> None:
        past = await asyncio.to_thread(load_past_run, self.workspace.db_path, run_id)
        if past is None or (
            self.runs_dock.selected_run() != run_id
            if chosen
            else self.shown_run is not None or not self._shows_flow(past.flow_id)
        ):
            return
        self.shown_run = past
        if self._shows_flow(past.flow_id):
            mark_parameter_values(past.statuses, self.document.flow, past.parameters)
        if self.scene is not None:
            self.scene.set_statuses(past.statuses if self._shows_flow(past.flow_id) else {})
            self.explainer.schedule()
        self.logs_dock.set_lines(past.lines, past.titles, past.earlier_lines)
        self.follow_selection()
        self.update_timeline()
        self.shown_run_changed.emit()

    # -- a live run --------------------------------------------------------

    def show_live_run(self, live: LiveRun) -> None:
        self.shown_run = live
        if self.scene is not None and self._shows_flow(live.flow_id):
            self.scene.set_statuses(live.statuses)
        self.logs_dock.set_lines(live.lines, live.titles, live.earlier_lines)
        self.follow_selection()
        self.update_timeline()
        self.shown_run_changed.emit()

    def _nodes_changed(self, live: LiveRun, nodes: set[str]) -> None:
        if live is self.shown_run and self.scene is not None and self._shows_flow(live.flow_id):
            for node_id in nodes:
                self.scene.set_status(node_id, live.statuses.get(node_id))
            shown = self.outputs_dock.node_id
            if shown in nodes and live.statuses[shown].state in ev.FINAL_STATES:
                self.show_outputs(shown)

    def _lines_added(self, live: LiveRun, lines: list) -> None:
        if live is self.shown_run:
            self.logs_dock.append(lines, live.titles)

    def _run_finished(self, live: LiveRun) -> None:
        self.refresh_runs()
        self.explainer.schedule()
        if live is self.shown_run:
            self.update_timeline()
            if self.outputs_dock.node_id:
                self.show_outputs(self.outputs_dock.node_id)

    def tick(self) -> None:
        """Every half second of a run: running nodes' elapsed times and the timeline move on."""
        live = self.shown_run
        if isinstance(live, LiveRun) and self.scene is not None and self._shows_flow(live.flow_id):
            for node_id, status in live.statuses.items():
                if status.state == ev.RUNNING:
                    self.scene.set_status(node_id, status)
            self.update_timeline()

    # -- following the selection ---------------------------------------------

    def follow_selection(self) -> None:
        """Selecting nodes filters the logs to them and shows the outputs of one."""
        if self.document is None:
            return
        ids = self.scene.selected_node_ids() if self.scene else []
        titles = [self.document.flow.nodes[n].title for n in ids]
        self.logs_dock.set_node_filter(ids, ", ".join(titles[:3]) + ("…" if len(ids) > 3 else ""))
        one = self.session.selected_one()
        if one != self.outputs_dock.node_id or one is None:
            self.show_outputs(one)

    def reveal_output(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        self.docks.outputs_widget.show()
        self.docks.outputs_widget.raise_()

    def reveal_logs(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        self.docks.logs_widget.show()
        self.docks.logs_widget.raise_()

    def update_timeline(self) -> None:
        run = self.shown_run
        if run is None:
            self.runs_dock.set_timeline([])
            return
        if isinstance(run, PastRun):
            bars = run.bars
            detail = f"{run.flow_name} v{run.version}: {run.state}" + (f" — {run.error}" if run.error else "")
        else:
            bars = [
                Bar(
                    n,
                    run.titles.get(n, n),
                    s.state,
                    s.started,
                    (s.started + s.duration) if s.started and s.duration else None,
                )
                for n, s in run.statuses.items()
            ]
            detail = f"{run.flow_name}: {run.state}" + (f" — {run.error}" if run.error else "")
        self.runs_dock.set_timeline(bars, detail)

    # -- outputs -----------------------------------------------------------

    def _run_for_outputs(self, node_id: str):
        run = self.shown_run
        if run is not None and self._shows_flow(run.flow_id) and node_id in run.statuses:
            return run
        return None

    def show_outputs(self, node_id: str | None) -> None:
        """Show a node's outputs: from the shown run, else the node's newest stored result."""
        self._values = {k: v for k, v in self._values.items() if k[0] == node_id}
        if node_id is None or self.document is None or node_id not in self.document.flow.nodes:
            self.outputs_dock.clear()
            return
        run = self._run_for_outputs(node_id)
        title = self.document.flow.nodes[node_id].title
        if run is not None:
            status = run.statuses[node_id]
            if status.state not in ev.SUCCESS_STATES:
                why = html.escape(status.error or status.state.replace("_", " "))
                heading = f"<b>{html.escape(title)}</b>: {why} — no output in this run."
                if status.traceback and status.state in (ev.FAILED, ev.TIMED_OUT):
                    shown = user_traceback(status.traceback).strip()[-3000:]
                    heading += f"<pre>{html.escape(shown)}</pre>"
                self.outputs_dock.clear(heading)
                return
            refs = run.outputs.get(node_id, {})
            self._present(node_id, title, refs, run.id, status.state, run.cache_keys.get(node_id))
            return
        self._spawn(self._show_latest(node_id, title))

    async def _show_latest(self, node_id: str, title: str) -> None:
        run_id, state, refs = await asyncio.to_thread(
            latest_outputs, self.workspace.db_path, self.document.flow.id, node_id
        )
        if self.outputs_dock.node_id not in (None, node_id) or self.session.selected_one() != node_id:
            return
        if not refs:
            self.outputs_dock.clear(f"<b>{title}</b> has no stored output yet: run the flow.")
            return
        self._present(node_id, title, refs, run_id, state, None)

    def _present(self, node_id, title, refs, run_id, state, cache_key) -> None:
        self._output_refs = dict(refs)
        if state == ev.CACHED:
            origin = "from the cache"
        elif state == ev.CHECKPOINT:
            origin = f"read from its checkpoint file in run {run_id[:8]}"
        else:
            origin = f"computed by run {run_id[:8]}"
        ports = [
            PortInfo(port, ref.summary.get("preview", ref.summary.get("type", "")), origin)
            for port, ref in refs.items()
        ]
        heading = f"<b>{title}</b> — {plural(len(ports), 'output')}"
        self.outputs_dock.show_node(node_id, heading, ports, title)
        if state == ev.CACHED and cache_key:
            self._spawn(self._say_maker(node_id, cache_key))

    async def _say_maker(self, node_id: str, cache_key: str) -> None:
        made = await asyncio.to_thread(maker_of, self.workspace.db_path, cache_key)
        if made is None or self.outputs_dock.node_id != node_id:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(made[1]))
        for tab in self.outputs_dock.tab_by_port.values():
            tab.origin.setText(f"from the cache — made by run {made[0][:8]} at {stamp}")

    def _load_port(self, port: str) -> None:
        node_id = self.outputs_dock.node_id
        ref = self._output_refs.get(port)
        if node_id is not None and ref is not None:
            self._spawn(self._load_value(node_id, port, ref))

    async def _load_value(self, node_id: str, port: str, ref) -> None:
        if self.trust.restricted:
            self.outputs_dock.show_error(
                node_id, port, f"No preview: {RESTRICTED_TIP[0].lower()}{RESTRICTED_TIP[1:]}."
            )
            return
        engine = self.runs.engine_for_workspace()
        try:
            if ref.serializer == "dask":
                key = self.shown_run.cache_keys.get(node_id, "") if self.shown_run else ""
                executor = self.shown_run.run.executor if isinstance(self.shown_run, LiveRun) else None
                if executor is None:
                    raise RuntimeError("the value stayed in the Dask cluster; run again")
                ref = await executor.materialize(ref, engine.cache.store, key, port)
            live = self.shown_run.run.executor if isinstance(self.shown_run, LiveRun) else None
            stored = getattr(live, "stored", None)
            writing = stored({port: ref}) if stored is not None else None
            if writing is not None:
                await writing  # a worker is still writing its file, in the background
            if ref.serializer == "pickle":
                # Unpickling may import the workspace's code: done in a child process.
                store = engine.cache.store
                preview = await asyncio.to_thread(preview_pickled, self.workspace.folder, store.folder, ref)
                value = PICKLED
            else:
                value = await asyncio.to_thread(engine.cache.store.read, ref)
                preview = await asyncio.to_thread(prepare, value)
        except CorruptResult:
            self.outputs_dock.show_damaged(
                node_id,
                port,
                f"The stored value of '{port}' is damaged: its bytes do not "
                "match their checksum. Recompute runs the node again.",
            )
            return
        except Exception as exc:  # noqa: BLE001 - anything a stored value may throw
            self.outputs_dock.show_error(
                node_id, port, f"The value cannot be loaded: {exc}. Run the node again to recompute it."
            )
            return
        self._values[(node_id, port)] = value
        self.outputs_dock.show_preview(node_id, port, preview)

    def _save_port(self, port: str, path: str) -> None:
        value = self._values.get((self.outputs_dock.node_id, port))
        if value is None and (self.outputs_dock.node_id, port) not in self._values:
            self.show_message("The value is still loading; try again in a moment")
            return
        self._saving_port = port
        self._spawn(self._save(value, path))

    async def _save(self, value, path: str) -> None:
        try:
            if value is PICKLED:
                ref = self._output_refs[self._saving_port]
                folder, cache = self.workspace.folder, self.runs.engine_for_workspace().cache.store.folder
                written = await asyncio.to_thread(save_pickled, folder, cache, ref, path)
            else:
                written = await asyncio.to_thread(save_value, value, path)
        except (SaveError, OSError, ValueProcessError) as exc:
            self.questions.tell("Cannot save the value", str(exc))
            return
        self.show_message(f"Saved {written}")

    # -- the cache ---------------------------------------------------------

    def clear_node_cache(self, node_id: str) -> int:
        """Forget a node's cached result (its current key and its last run's)."""
        flow = self.document.flow
        keys = set()
        try:
            values = self.run_settings.defaults(flow)
            plan = make_plan(flow, values, folder=str(self.workspace.folder))
            plan.predict(self.runs.engine_for_workspace().cache)
            keys.add(plan.predicted_keys[node_id])  # known when its inputs are cached
        except (RunRefused, KeyError):
            pass
        last = self.workspace.history.last_cache_key(flow.id, node_id)
        if last:
            keys.add(last)
        removed = self.runs.engine_for_workspace().cache.delete(keys)
        title = flow.nodes[node_id].title
        self.show_message(
            f"Cleared the cached result of '{title}'" if removed else f"'{title}' had no cached result"
        )
        return removed
