"""The schedules side of the window: the schedules dock, and running due slots while open.

While the window is open it ticks the workspace's
`Scheduler` like `plait serve` does: every slot is claimed in SQLite before
it starts, so the window and a `plait serve` on the same workspace never
start one slot twice. Scheduled runs land in the runs dock like any other.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer

from plait.app.controllers.session import SessionController
from plait.runtime.engine.plan import RunRefused
from plait.runtime.engine.scheduler import RunOptions
from plait.runtime.schedules.schedule import (
    ScheduleError,
    Scheduler,
    add_schedule,
    remove_schedule,
    schedules,
    set_enabled,
)
from plait.runtime.workspace.store import WorkspaceError
from plait.widgets.schedules_dock import ScheduleDialog

MAX_WAIT_MS = 30_000


class ScheduleController(SessionController):
    """The schedules dock and the scheduler tick, for the session's workspace."""

    def __init__(self, session, questions, settings, run_settings, runs, trust, dock, parent) -> None:
        super().__init__(session, parent)
        self.questions = questions
        self.settings = settings
        self.run_settings = run_settings
        self.runs = runs
        self.trust = trust
        self.schedules_dock = dock
        self.scheduler: Scheduler | None = None
        self.schedule_dialog: ScheduleDialog | None = None
        self._schedule_timer = QTimer(self, singleShot=True)
        self._schedule_timer.timeout.connect(self.tick_schedules)
        self.schedules_dock.add_requested.connect(self.add_schedule_dialog)
        self.schedules_dock.remove_requested.connect(self.remove_schedule)
        self.schedules_dock.enabled_changed.connect(self.enable_schedule)

    def stop(self) -> None:
        self._schedule_timer.stop()

    def start_scheduler(self) -> None:
        """Begin (or after a workspace change, restart) running the workspace's schedules."""
        self._schedule_timer.stop()
        restricted = self.trust.restricted  # a scheduled run would run the folder's code
        self.scheduler = Scheduler(self.workspace) if self.workspace is not None and not restricted else None
        if self.scheduler is not None and self.settings.value("run_schedules", True, type=bool):
            self._schedule_timer.start(1000)

    def tick_schedules(self) -> list[str]:
        """Start every due slot; returns the ids of the runs started."""
        if self.scheduler is None or self.workspace is None:
            return []
        started = []
        try:
            due_slots = self.scheduler.tick()
        except Exception as exc:  # noqa: BLE001 - a bad schedule must not stop the others
            self.show_message(f"Schedules could not be checked: {exc}")
            due_slots = []
        for due in due_slots:
            run_id = self._start_due(due)
            if run_id:
                started.append(run_id)
        wait = self.scheduler.next_wake() * 1000 if self.scheduler else MAX_WAIT_MS
        self._schedule_timer.start(int(max(1000, min(MAX_WAIT_MS, wait))))
        if due_slots:
            self.refresh_schedules()
        return started

    def _start_due(self, due) -> str | None:
        schedule = due.schedule
        try:
            flow = self.workspace.load_flow(schedule.flow_id, catalog=self.session.catalog)
            choices = self.run_settings.run_choices()
            options = RunOptions(
                executor=choices.executor, max_workers=choices.max_workers, address=choices.address or None
            )
            live = self.runs.start(flow, schedule.parameters, options, origin="schedule")
        except (RunRefused, WorkspaceError) as exc:
            self.scheduler.started(due, None, str(exc))
            self.show_message(
                f"A scheduled run ({schedule.describe()}) could not start: {str(exc).splitlines()[0]}"
            )
            return None
        self.scheduler.started(due, live.id)
        self.show_message(f"Started a scheduled run of '{flow.name}' ({schedule.describe()})")
        return live.id

    # -- the dock ----------------------------------------------------------

    def _saved_flow_id(self) -> str | None:
        doc = self.session.document
        if doc is None or self.workspace is None:
            return None
        try:
            return self.workspace.flow_info(doc.flow.id).id
        except WorkspaceError:
            return None

    def refresh_schedules(self) -> None:
        if self.workspace is None:
            return
        names = {f.id: f.name for f in self.workspace.flows()}
        flow_id = self._saved_flow_id()
        mine = schedules(self.workspace, flow_id) if flow_id else []
        self.schedules_dock.set_schedules(mine, names)
        self.schedules_dock.add_button.setEnabled(flow_id is not None)
        now = time.time()
        upcoming = []
        for schedule in schedules(self.workspace):
            if schedule.enabled:
                how = schedule.describe()
                upcoming += [(t, names.get(schedule.flow_id, "?"), how) for t in schedule.upcoming(now, 5)]
        self.schedules_dock.set_upcoming(sorted(upcoming)[:10])

    def add_schedule_dialog(self) -> ScheduleDialog | None:
        flow_id = self._saved_flow_id()
        if flow_id is None:
            self.show_message("Save the flow before scheduling it")
            return None
        flow = self.session.document.flow
        others = [(f.id, f.name) for f in self.workspace.flows() if f.id != flow_id]
        values = self.run_settings.defaults(flow)
        dialog = ScheduleDialog(flow.name, others, values, self.parent())
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.add_schedule(flow_id, **dialog.chosen()))
        self.schedule_dialog = dialog
        dialog.open()
        return dialog

    def add_schedule(self, flow_id: str, **chosen) -> bool:
        try:
            schedule = add_schedule(
                self.workspace, flow_id, chosen.pop("kind"), chosen.pop("expression"), **chosen
            )
        except (ScheduleError, WorkspaceError) as exc:
            self.questions.tell("Cannot add the schedule", str(exc))
            return False
        self.refresh_schedules()
        self.show_message(f"Scheduled: {schedule.describe()}")
        self.start_scheduler()
        return True

    def remove_schedule(self, schedule_id: str) -> None:
        if not self.questions.confirm("Remove schedule", "Remove this schedule? Its past runs stay."):
            return
        remove_schedule(self.workspace, schedule_id)
        self.refresh_schedules()

    def enable_schedule(self, schedule_id: str, on: bool) -> None:
        set_enabled(self.workspace, schedule_id, on)
        self.refresh_schedules()
