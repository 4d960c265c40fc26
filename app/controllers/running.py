"""Running the open flow: Run (F5), the parameter dialog, Stop (Esc), the status bar, the node menu.

A run starts on `LiveRuns` (the window's side of the engine); its batched
signals come back here for the status bar, and to the history controller
for what the canvas and the docks show of the run. The canvas stays
editable during a run: an edited node's state (and its downstream cone's)
is marked stale.
"""

from __future__ import annotations

import json
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMenu, QProgressBar, QToolButton, QWidget

from plait.app.controllers.session import SessionController
from plait.app.controllers.trust import RESTRICTED_TIP
from plait.app.live_runs import LiveRun
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


class RunSettings:
    """How the person last chose to run (QSettings), and each flow's last parameters (the workspace)."""

    def __init__(self, settings, session) -> None:
        self.settings = settings
        self.session = session

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
        workspace = self.session.workspace
        if workspace is None:
            return {}
        saved = workspace.get_setting(f"last_parameters/{flow.id}", {}) or {}
        names = {p.name for p in flow.parameters()}
        return {k: v for k, v in saved.items() if k in names}

    def remember_parameters(self, flow, values: dict[str, Any]) -> None:
        workspace = self.session.workspace
        if values and workspace is not None:
            saved = workspace.get_setting(f"last_parameters/{flow.id}", {}) or {}
            workspace.set_setting(f"last_parameters/{flow.id}", {**saved, **values})

    def defaults(self, flow) -> dict[str, Any]:
        """The values a run of `flow` starts from: defaults, then the last ones used."""
        values = {p.name: p.default for p in flow.parameters() if not p.required}
        values.update(self.last_parameters(flow))
        return values


class RunningController(SessionController):
    """Starting, following (in the status bar) and stopping runs; the node menu."""

    def __init__(
        self,
        session,
        questions,
        run_settings: RunSettings,
        runs,
        trust,
        workspaces,
        history,
        status_bar,
        stop_action,
        parent: QWidget,
    ) -> None:
        super().__init__(session, parent)
        self.questions = questions
        self.run_settings = run_settings
        self.runs = runs
        self.trust = trust
        self.workspaces = workspaces
        self.history = history
        self.stop_action = stop_action
        self.parameter_dialog: ParameterDialog | None = None
        self.node_menu: QMenu | None = None
        runs.run_started.connect(self._run_started)
        runs.nodes_changed.connect(lambda live, nodes: self._update_run_status())
        runs.run_finished.connect(self._run_finished)
        runs.results_written.connect(self._results_written)
        history.shown_run_changed.connect(self._update_run_status)
        self.run_label = ElidedLabel(parent, grow=True)  # a long flow name or error is cut, not clipped
        self.run_label.setObjectName("RunLabel")
        self.run_progress = QProgressBar(parent)
        self.run_progress.setObjectName("RunProgress")
        self.run_progress.setFixedWidth(160)
        self.run_progress.setTextVisible(True)
        self.run_progress.hide()
        self.stop_button = QToolButton(parent)
        self.stop_button.setDefaultAction(stop_action)
        self.stop_button.hide()
        status_bar.insertPermanentWidget(0, self.stop_button)
        status_bar.insertPermanentWidget(0, self.run_progress)
        status_bar.insertPermanentWidget(0, self.run_label)
        self._tick = QTimer(self, interval=500)
        self._tick.timeout.connect(self._tick_running)

    # -- starting ----------------------------------------------------------

    def run_flow(self, only: str | None = None, force: tuple[str, ...] = ()) -> None:
        """Run the open flow (F5): check it, ask for parameters when it has any, start it."""
        doc = self.session.document
        if doc is None or self.session.workspace is None or self.trust.refuse():
            return
        problems = doc.flow.validate()
        if problems:
            self._refuse(doc.flow.name, [p.message for p in problems])
            return
        if doc.modified and not doc.read_only and not self.workspaces.save():
            return
        flow = doc.flow
        params = flow.parameters()
        choices = self.run_settings.run_choices()
        if not params:
            self.start_run(flow, {}, choices, only, force)
            return
        if choices.executor == "local":
            # The worker processes start, and import the flow's code, while the dialog is filled in.
            self.runs.warm_up(flow, choices.executor, choices.max_workers)
        values = self.run_settings.defaults(flow)
        dialog = ParameterDialog(flow.name, params, values, choices, self.parent())
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
        if self.trust.refuse():
            return None
        self.run_settings.remember_choices(choices)
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
        self.run_settings.remember_parameters(flow, values)
        return live

    def run_with_file(self, path: str | None = None) -> LiveRun | None:
        """Run the open flow with the values in a JSON parameters file (no dialog)."""
        doc = self.session.document
        if doc is None:
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self.parent(), "Run with parameters file", "", "JSON (*.json)"
            )
            if not path:
                return None
        try:
            with open(path, encoding="utf-8") as fh:
                values = json.load(fh)
        except (OSError, ValueError) as exc:
            self.questions.tell("Cannot read the parameters file", f"{path}: {exc}")
            return None
        if not isinstance(values, dict):
            self.questions.tell(
                "Cannot use the parameters file", f'{path} must hold a JSON object: {{"name": value, …}}'
            )
            return None
        if doc.modified and not doc.read_only and not self.workspaces.save():
            return None
        return self.start_run(doc.flow, values, self.run_settings.run_choices())

    def rerun(self, run_id: str) -> None:
        """Run a past run's flow (its latest version) again with the same parameters."""
        if self.trust.refuse():
            return
        row = self.session.workspace.history.run(run_id)
        if row is None:
            return
        flow_id, parameters = row["flow_id"], row["parameters"]
        doc = self.session.document
        if not self.session.shows_flow(flow_id):
            if not self.workspaces.open_flow(flow_id):
                return
        elif doc.modified and not doc.read_only and not self.workspaces.save():
            return
        self.start_run(self.session.document.flow, parameters, self.run_settings.run_choices())

    def _refuse(self, flow_name: str, problems: list[str]) -> None:
        shown = "\n".join(f"• {p}" for p in problems[:PROBLEMS_SHOWN])
        more = f"\n… and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        self.show_message(f"'{flow_name}' cannot run: {problems[0]}")
        self.questions.tell("Cannot run", f"'{flow_name}' cannot run yet:\n\n{shown}{more}")

    def stop_run(self) -> None:
        live = self._status_run()
        if live is not None and not live.finished:
            self.runs.cancel(live.id)
            self.show_message(f"Stopping the run of '{live.flow_name}'…")

    # -- following ---------------------------------------------------------

    def _status_run(self) -> LiveRun | None:
        """The run the status bar follows: the open flow's, the shown one first."""
        shown = self.history.shown_run
        if isinstance(shown, LiveRun) and not shown.finished and self.session.shows_flow(shown.flow_id):
            return shown
        running = [live for live in self.runs.running if self.session.shows_flow(live.flow_id)]
        return running[-1] if running else None

    def _run_started(self, live: LiveRun) -> None:
        if live.origin == "window" or (self.session.shows_flow(live.flow_id) and not self.runs.running[:-1]):
            self.history.show_live_run(live)
        self._tick.start()
        self._update_run_status()
        self.history.refresh_runs()

    def _run_finished(self, live: LiveRun) -> None:
        self._update_run_status()
        if not self.runs.running:
            self._tick.stop()
        verb = {ev.RUN_COMPLETED: "finished", ev.RUN_FAILED: "failed", ev.RUN_CANCELLED: "was cancelled"}.get(
            live.state, live.state
        )
        message = f"The run of '{live.flow_name}' {verb}" + (f": {live.error}" if live.error else "")
        if live.writing:  # its large results join the cache once their files are complete
            message += f"; writing {plural(live.writing, 'large result')} to the cache…"
        self.show_message(message)

    def _results_written(self, live: LiveRun) -> None:
        if self.runs.running:
            return
        failed = [live.titles.get(n, n) for n in live.run.unwritten]
        if failed:
            self.show_message(
                f"The result of {', '.join(repr(t) for t in failed)} could not be written to the cache "
                "(its log says why): the next run computes it again"
            )
        else:
            self.show_message(f"The results of '{live.flow_name}' are in the cache")

    def _tick_running(self) -> None:
        self._update_run_status()
        self.history.tick()

    def _update_run_status(self) -> None:
        live = self._status_run()
        if live is None:
            self.stop_action.setEnabled(bool(self.runs.running))  # runs of other flows can still be stopped
            self.stop_button.hide()
            self.run_progress.hide()
            shown = self.history.shown_run
            self.run_label.set_full_text(
                run_summary(shown)
                if shown is not None and shown.finished and self.session.shows_flow(shown.flow_id)
                else ""
            )
            return
        self.stop_action.setEnabled(True)
        self.stop_button.show()
        self.run_progress.show()
        self.run_progress.setRange(0, max(1, live.total))
        self.run_progress.setValue(live.done)
        self.run_progress.setFormat(f"{live.done}/{plural(live.total, 'node')}")
        self.run_label.set_full_text(f"▶ '{live.flow_name}' · {format_duration(time.time() - live.started)}")

    # -- editing during or after a run -------------------------------------

    def mark_stale(self, event: object) -> None:
        """An edit makes the shown states of the node and its downstream cone stale."""
        scene = self.session.scene
        if scene is None or not scene.statuses():
            return
        if isinstance(event, NodeChanged):
            if event.what == "position":
                return
            start = event.node_id
        elif isinstance(event, (EdgeAdded, EdgeRemoved)):
            start = event.edge.target
        else:
            return
        flow = self.session.document.flow
        cone = graph.downstream_of(flow.wiring, start) if start in flow.wiring else set()
        for node_id in {start} | cone:
            item = scene.nodes.get(node_id)
            if item is not None and item.status is not None and not item.status.stale:
                item.status.stale = True
                item.set_status(item.status)

    # -- the node menu -----------------------------------------------------

    def open_node_menu(self, node_id: str, pos) -> QMenu:
        menu = QMenu(self.parent())
        menu.setObjectName("NodeMenu")
        menu.setAttribute(Qt.WA_DeleteOnClose)
        title = self.session.document.flow.nodes[node_id].title
        history = self.history
        entries = (
            ("run_up_to", f"Run up to '{title}'", lambda: self.run_flow(only=node_id)),
            ("rerun_from", "Re-run from here", lambda: self.run_flow(force=(node_id,))),
            None,
            ("show_output", "Show output", lambda: history.reveal_output(node_id)),
            ("show_logs", "Show logs", lambda: history.reveal_logs(node_id)),
            None,
            ("clear_cache", "Clear this node's cache", lambda: history.clear_node_cache(node_id)),
        )
        for entry in entries:
            if entry is None:
                menu.addSeparator()
                continue
            name, text, slot = entry
            action = menu.addAction(text, slot)
            action.setObjectName(name)
            if name in ("run_up_to", "rerun_from") and self.trust.restricted:
                action.setEnabled(False)
                action.setToolTip(RESTRICTED_TIP)
        menu.setToolTipsVisible(True)
        self.node_menu = menu
        menu.popup(pos)
        return menu
