"""The window's running side: Run (F5), the parameter dialog, Stop (Esc), live node states.

Mixed into MainWindow. A run starts on the `RunController`; its batched
signals come back here and update the canvas, the logs dock and the status
bar. The canvas stays editable during a run: an edited node's state (and its
downstream cone's) is marked stale.
"""

from __future__ import annotations

import json
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QProgressBar, QToolButton

from plait.app.run_controller import LiveRun, RunController
from plait.app.trust_control import RESTRICTED_TIP
from plait.runtime.engine import events as ev
from plait.runtime.engine.plan import RunRefused
from plait.runtime.engine.scheduler import RunOptions
from plait.runtime.flow import graph
from plait.runtime.flow.model import EdgeAdded, EdgeRemoved, NodeChanged
from plait.widgets.canvas.status import format_duration
from plait.widgets.elided import ElidedLabel
from plait.widgets.parameter_dialog import EXECUTORS, ParameterDialog, RunChoices
from plait.widgets.words import plural

PROBLEMS_SHOWN = 12


def run_summary(run) -> str:
    """One line for a finished run, live or from the records: its mark, flow, state and time."""
    states = [status.state for status in run.statuses.values()]
    cached = states.count(ev.CACHED)
    mark = {"completed": "✓", "failed": "✗", "cancelled": "■"}.get(run.state, "")
    took = f" in {format_duration((run.ended or time.time()) - run.started)}" if run.started else ""
    return (
        f"{mark} '{run.flow_name}' {run.state}: {plural(len(states), 'node')}"
        + (f" ({cached} cached)" if cached else "")
        + took
    )


class RunOps:
    """Mixed into MainWindow: starting, following and stopping runs."""

    def init_run_ops(self) -> None:
        self.runs = RunController(self)
        self.runs.run_started.connect(self._run_started)
        self.runs.nodes_changed.connect(self._nodes_changed)
        self.runs.lines_added.connect(self._lines_added)
        self.runs.run_finished.connect(self._run_finished)
        self.shown_run = None  # the LiveRun or PastRun the canvas and docks show
        self.parameter_dialog: ParameterDialog | None = None
        self.node_menu: QMenu | None = None
        self.shut_down = False
        bar = self.statusBar()
        self.run_label = ElidedLabel(self, grow=True)  # a long flow name or error is cut, not clipped
        self.run_label.setObjectName("RunLabel")
        self.run_progress = QProgressBar(self)
        self.run_progress.setObjectName("RunProgress")
        self.run_progress.setFixedWidth(160)
        self.run_progress.setTextVisible(True)
        self.run_progress.hide()
        self.stop_button = QToolButton(self)
        self.stop_button.setDefaultAction(self.actions_by_name["stop"])
        self.stop_button.hide()
        bar.insertPermanentWidget(0, self.stop_button)
        bar.insertPermanentWidget(0, self.run_progress)
        bar.insertPermanentWidget(0, self.run_label)
        self._tick = QTimer(self, interval=500)
        self._tick.timeout.connect(self._tick_running)

    # -- settings ----------------------------------------------------------

    def run_choices(self) -> RunChoices:
        s = self.settings
        executor = s.value("run/executor", "local")
        return RunChoices(
            executor if executor in dict(EXECUTORS) else "local",
            s.value("run/address", "") or "",
            int(s.value("run/max_workers", 0) or 0) or None,
            s.value("run/ignore_cache", False, type=bool),
        )

    def remember_choices(self, choices: RunChoices) -> None:
        s = self.settings
        s.setValue("run/executor", choices.executor)
        s.setValue("run/address", choices.address)
        s.setValue("run/max_workers", choices.max_workers or 0)
        s.setValue("run/ignore_cache", choices.ignore_cache)

    def last_parameters(self, flow) -> dict[str, Any]:
        if self.workspace is None:
            return {}
        saved = self.workspace.get_setting(f"last_parameters/{flow.id}", {}) or {}
        names = {p.name for p in flow.parameters()}
        return {k: v for k, v in saved.items() if k in names}

    # -- questions (tests replace these) ----------------------------------

    def tell(self, title: str, text: str) -> None:
        """Show a message the person must read (a run refused, an export failed)."""
        QMessageBox.warning(self, title, text)

    def ask_cancel_runs(self, count: int) -> bool:
        return (
            QMessageBox.question(
                self,
                "A run is going",
                f"{count} run{'s are' if count > 1 else ' is'} still going. Cancel "
                f"{'them' if count > 1 else 'it'} and quit? (The records stay complete.)",
            )
            == QMessageBox.Yes
        )

    # -- starting ----------------------------------------------------------

    def run_flow(self, only: str | None = None, force: tuple[str, ...] = ()) -> None:
        """Run the open flow (F5): check it, ask for parameters when it has any, start it."""
        doc = self.document
        if doc is None or self.workspace is None or self.trust_control.refuse():
            return
        problems = doc.flow.validate()
        if problems:
            self._refuse(doc.flow.name, [p.message for p in problems])
            return
        if doc.modified and not doc.read_only and not self.save():
            return
        flow = doc.flow
        params = flow.parameters()
        if not params:
            self.start_run(flow, {}, self.run_choices(), only, force)
            return
        values = {p.name: p.default for p in params if not p.required}
        values.update(self.last_parameters(flow))
        dialog = ParameterDialog(flow.name, params, values, self.run_choices(), self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.start_run(flow, dialog.values(), dialog.choices(), only, force))
        self.parameter_dialog = dialog
        dialog.open()

    def start_run(
        self,
        flow,
        values: dict[str, Any],
        choices: RunChoices,
        only: str | None = None,
        force: tuple[str, ...] = (),
    ) -> LiveRun | None:
        """Start a run of `flow` with these values; a refusal is told, not raised."""
        if self.trust_control.refuse():
            return None
        self.remember_choices(choices)
        options = RunOptions(
            executor=choices.executor,
            max_workers=choices.max_workers,
            address=choices.address or None,
            use_cache=not choices.ignore_cache,
            only=only,
            force=tuple(force),
        )
        try:
            live = self.runs.start(flow.copy(), values, options)
        except RunRefused as exc:
            self._refuse(flow.name, exc.problems)
            return None
        if values and self.workspace is not None:
            saved = self.workspace.get_setting(f"last_parameters/{flow.id}", {}) or {}
            self.workspace.set_setting(f"last_parameters/{flow.id}", {**saved, **values})
        return live

    def run_with_file(self, path: str | None = None) -> LiveRun | None:
        """Run the open flow with the values in a JSON parameters file (no dialog)."""
        doc = self.document
        if doc is None:
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Run with parameters file", "", "JSON (*.json)")
            if not path:
                return None
        try:
            with open(path, encoding="utf-8") as fh:
                values = json.load(fh)
        except (OSError, ValueError) as exc:
            self.tell("Cannot read the parameters file", f"{path}: {exc}")
            return None
        if not isinstance(values, dict):
            self.tell(
                "Cannot use the parameters file", f'{path} must hold a JSON object: {{"name": value, …}}'
            )
            return None
        if doc.modified and not doc.read_only and not self.save():
            return None
        return self.start_run(doc.flow, values, self.run_choices())

    def _refuse(self, flow_name: str, problems: list[str]) -> None:
        shown = "\n".join(f"• {p}" for p in problems[:PROBLEMS_SHOWN])
        more = f"\n… and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        self.show_message(f"'{flow_name}' cannot run: {problems[0]}")
        self.tell("Cannot run", f"'{flow_name}' cannot run yet:\n\n{shown}{more}")

    def stop_run(self) -> None:
        live = self._status_run()
        if live is not None and not live.finished:
            self.runs.cancel(live.id)
            self.show_message(f"Stopping the run of '{live.flow_name}'…")

    # -- following ---------------------------------------------------------

    def _status_run(self) -> LiveRun | None:
        """The run the status bar follows: the open flow's, the shown one first."""
        if (
            isinstance(self.shown_run, LiveRun)
            and not self.shown_run.finished
            and self._shows_flow(self.shown_run.flow_id)
        ):
            return self.shown_run
        running = [live for live in self.runs.running if self._shows_flow(live.flow_id)]
        return running[-1] if running else None

    def _shows_flow(self, flow_id: str) -> bool:
        return self.document is not None and self.document.flow.id == flow_id

    def _run_started(self, live: LiveRun) -> None:
        if live.origin == "window" or (self._shows_flow(live.flow_id) and not self.runs.running[:-1]):
            self.show_live_run(live)
        self._tick.start()
        self._update_run_status()
        self.refresh_runs()

    def show_live_run(self, live: LiveRun) -> None:
        self.shown_run = live
        if self.scene is not None and self._shows_flow(live.flow_id):
            self.scene.set_statuses(live.statuses)
        self.logs_dock.set_lines(live.lines, live.titles)
        self._selection_changed()
        self.update_timeline()

    def _nodes_changed(self, live: LiveRun, nodes: set[str]) -> None:
        if live is self.shown_run and self.scene is not None and self._shows_flow(live.flow_id):
            for node_id in nodes:
                self.scene.set_status(node_id, live.statuses.get(node_id))
            shown = self.outputs_dock.node_id
            if shown in nodes and live.statuses[shown].state in ev.FINAL_STATES:
                self.show_outputs(shown)
        self._update_run_status()

    def _lines_added(self, live: LiveRun, lines: list) -> None:
        if live is self.shown_run:
            self.logs_dock.append(lines, live.titles)

    def _run_finished(self, live: LiveRun) -> None:
        self._update_run_status()
        if not self.runs.running:
            self._tick.stop()
        self.refresh_runs()
        self.explainer.schedule()
        if live is self.shown_run:
            self.update_timeline()
            if self.outputs_dock.node_id:
                self.show_outputs(self.outputs_dock.node_id)
        verb = {ev.RUN_COMPLETED: "finished", ev.RUN_FAILED: "failed", ev.RUN_CANCELLED: "was cancelled"}.get(
            live.state, live.state
        )
        self.show_message(f"The run of '{live.flow_name}' {verb}" + (f": {live.error}" if live.error else ""))

    def _tick_running(self) -> None:
        self._update_run_status()
        live = self.shown_run
        if isinstance(live, LiveRun) and self.scene is not None and self._shows_flow(live.flow_id):
            for node_id, status in live.statuses.items():
                if status.state == ev.RUNNING:
                    self.scene.set_status(node_id, status)  # the elapsed time moves on
            self.update_timeline()

    def _update_run_status(self) -> None:
        live = self._status_run()
        stop = self.actions_by_name["stop"]
        if live is None:
            stop.setEnabled(bool(self.runs.running))  # runs of other flows can still be stopped
            self.stop_button.hide()
            self.run_progress.hide()
            shown = self.shown_run
            self.run_label.set_full_text(
                run_summary(shown)
                if shown is not None and shown.finished and self._shows_flow(shown.flow_id)
                else ""
            )
            return
        stop.setEnabled(True)
        self.stop_button.show()
        self.run_progress.show()
        self.run_progress.setRange(0, max(1, live.total))
        self.run_progress.setValue(live.done)
        self.run_progress.setFormat(f"{live.done}/{plural(live.total, 'node')}")
        self.run_label.set_full_text(f"▶ '{live.flow_name}' · {format_duration(time.time() - live.started)}")

    # -- editing during or after a run -------------------------------------

    def mark_stale(self, event: object) -> None:
        """An edit makes the shown states of the node and its downstream cone stale."""
        if self.scene is None or not self.scene.statuses():
            return
        if isinstance(event, NodeChanged):
            if event.what == "position":
                return
            start = event.node_id
        elif isinstance(event, (EdgeAdded, EdgeRemoved)):
            start = event.edge.target
        else:
            return
        flow = self.document.flow
        cone = graph.downstream_of(flow.wiring, start) if start in flow.wiring else set()
        for node_id in {start} | cone:
            item = self.scene.nodes.get(node_id)
            if item is not None and item.status is not None and not item.status.stale:
                item.status.stale = True
                item.set_status(item.status)

    # -- the node menu -----------------------------------------------------

    def open_node_menu(self, node_id: str, pos) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName("NodeMenu")
        menu.setAttribute(Qt.WA_DeleteOnClose)
        title = self.document.flow.nodes[node_id].title
        entries = (
            ("run_up_to", f"Run up to '{title}'", lambda: self.run_flow(only=node_id)),
            ("rerun_from", "Re-run from here", lambda: self.run_flow(force=(node_id,))),
            None,
            ("show_output", "Show output", lambda: self.reveal_output(node_id)),
            ("show_logs", "Show logs", lambda: self.reveal_logs(node_id)),
            None,
            ("clear_cache", "Clear this node's cache", lambda: self.clear_node_cache(node_id)),
        )
        for entry in entries:
            if entry is None:
                menu.addSeparator()
                continue
            name, text, slot = entry
            action = menu.addAction(text, slot)
            action.setObjectName(name)
            if name in ("run_up_to", "rerun_from") and self.trust_control.restricted:
                action.setEnabled(False)
                action.setToolTip(RESTRICTED_TIP)
        menu.setToolTipsVisible(True)
        self.node_menu = menu
        menu.popup(pos)
        return menu

    def reveal_output(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        self.outputs_dock_widget.show()
        self.outputs_dock_widget.raise_()

    def reveal_logs(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        self.logs_dock_widget.show()
        self.logs_dock_widget.raise_()
