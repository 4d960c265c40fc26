"""Schedules: the open flow's schedules, an editor with a preview, and upcoming runs.

The dock lists what it is given and asks through signals; the window reads
and writes the workspace's `schedules` table.
"""

from __future__ import annotations

import json
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from plait.runtime.schedules.schedule import (
    AFTER,
    CRON,
    INTERVAL,
    MISSED_RUN_ONCE,
    MISSED_SKIP,
    Schedule,
    ScheduleError,
    parse_interval,
)

KIND_TEXT = {INTERVAL: "Every interval", CRON: "Cron expression", AFTER: "After another flow"}
ID_ROLE = Qt.UserRole


def when(ts: float) -> str:
    return time.strftime("%a %Y-%m-%d %H:%M:%S", time.localtime(ts))


def draft_schedule(kind: str, expression: str, timezone: str) -> Schedule:
    """A schedule as typed, checked; raises ScheduleError saying what is wrong."""
    if kind == INTERVAL:
        expression = str(parse_interval(expression))
    elif kind == CRON:
        from croniter import croniter

        if not croniter.is_valid(expression.strip()):
            raise ScheduleError(
                f"'{expression}' is not a cron expression (five fields: minute "
                "hour day-of-month month day-of-week, e.g. '0 3 * * *')"
            )
        from plait.runtime.schedules.schedule import time_zone

        time_zone(timezone)
    return Schedule("draft", "", kind, expression.strip(), timezone or "UTC", created=time.time())


class ScheduleDialog(QDialog):
    """Make a schedule: kind, expression, time zone, parameters; previews the next five runs."""

    def __init__(
        self, flow_name: str, flows: list[tuple[str, str]], parameters: dict[str, Any], parent=None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ScheduleDialog")
        self.setWindowTitle(f"Schedule {flow_name}")
        self.kind = QComboBox(self)
        for kind, text in KIND_TEXT.items():
            self.kind.addItem(text, kind)
        self.expression = QLineEdit("1h", self)
        self.after = QComboBox(self)
        for flow_id, name in flows:
            self.after.addItem(name, flow_id)
        self.timezone = QLineEdit("UTC", self)
        self.missed = QComboBox(self)
        self.missed.addItem("Run once when Plait is back", MISSED_RUN_ONCE)
        self.missed.addItem("Skip it", MISSED_SKIP)
        self.parameters = QPlainTextEdit(json.dumps(parameters, indent=1, default=str), self)
        self.parameters.setFixedHeight(90)
        self.preview = QLabel(self)
        self.preview.setObjectName("SchedulePreview")
        self.preview.setWordWrap(True)
        self.preview.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Runs", self.kind)
        form.addRow("Every / cron", self.expression)
        form.addRow("After flow", self.after)
        form.addRow("Time zone", self.timezone)
        form.addRow("A missed run", self.missed)
        form.addRow("Parameters (JSON)", self.parameters)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.preview)
        box.addWidget(self.buttons)
        for signal in (
            self.kind.currentIndexChanged,
            self.expression.textChanged,
            self.timezone.textChanged,
            self.parameters.textChanged,
        ):
            signal.connect(self.update_preview)
        self.update_preview()

    def chosen(self) -> dict[str, Any]:
        """What add_schedule needs: kind, expression, timezone, parameters, missed."""
        kind = self.kind.currentData()
        expression = self.after.currentData() if kind == AFTER else self.expression.text().strip()
        return {
            "kind": kind,
            "expression": expression or "",
            "timezone": self.timezone.text().strip() or "UTC",
            "parameters": json.loads(self.parameters.toPlainText() or "{}"),
            "missed": self.missed.currentData(),
        }

    def problem(self) -> str | None:
        """Why the schedule as typed cannot be saved, or None."""
        kind = self.kind.currentData()
        try:
            values = json.loads(self.parameters.toPlainText() or "{}")
        except ValueError as exc:
            return f"The parameters are not valid JSON: {exc}"
        if not isinstance(values, dict):
            return 'The parameters must be a JSON object: {"name": value}'
        if kind == AFTER:
            return None if self.after.count() else "There is no other flow to follow."
        try:
            draft_schedule(kind, self.expression.text(), self.timezone.text().strip())
        except ScheduleError as exc:
            return str(exc)
        return None

    def update_preview(self) -> None:
        kind = self.kind.currentData()
        self.expression.setEnabled(kind != AFTER)
        self.after.setEnabled(kind == AFTER)
        self.timezone.setEnabled(kind == CRON)
        if kind == INTERVAL and self.expression.text() in ("", "0 3 * * *"):
            self.expression.setText("1h")
        elif kind == CRON and self.expression.text() in ("", "1h"):
            self.expression.setText("0 3 * * *")
        problem = self.problem()
        ok = self.buttons.button(QDialogButtonBox.Ok)
        ok.setEnabled(problem is None)
        if problem:
            self.preview.setText(f"<span style='color:#d93838'>{problem}</span>")
            return
        if kind == AFTER:
            self.preview.setText(f"Runs each time '{self.after.currentText()}' finishes successfully.")
            return
        draft = draft_schedule(kind, self.expression.text(), self.timezone.text().strip())
        times = draft.upcoming(time.time(), 5)
        self.preview.setText(
            f"<b>{draft.describe()}</b> — the next runs:<br>" + "<br>".join(when(t) for t in times)
        )


class SchedulesDock(QWidget):
    """The open flow's schedules (with on/off) and the workspace's upcoming runs."""

    add_requested = Signal()
    remove_requested = Signal(str)  # schedule id
    enabled_changed = Signal(str, bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("SchedulesDock")
        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("SchedulesTable")
        self.table.setHorizontalHeaderLabels(["On", "When", "Parameters", "Next run"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 34)
        self.table.setColumnWidth(1, 170)
        self.table.setColumnWidth(2, 150)
        self.table.setMinimumSize(80, 36)
        self.add_button = QToolButton(self)
        self.add_button.setText("Add…")
        self.add_button.setToolTip("Schedule the open flow")
        self.add_button.clicked.connect(self.add_requested.emit)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("Remove")
        self.remove_button.setToolTip("Remove the chosen schedule")
        self.remove_button.setEnabled(False)  # until a schedule is chosen
        self.remove_button.clicked.connect(self._remove)
        self.table.itemSelectionChanged.connect(self._chosen)
        self.upcoming = QLabel(self)
        self.upcoming.setObjectName("Upcoming")
        self.upcoming.setWordWrap(True)
        self.upcoming.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>This flow</b>", self))
        bar.addStretch(1)
        bar.addWidget(self.add_button)
        bar.addWidget(self.remove_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(bar)
        box.addWidget(self.table, 1)
        heading = QLabel("<b>Upcoming runs</b>", self)
        heading.setToolTip("Scheduled runs start while Plait or `plait serve` is running")
        box.addWidget(heading)
        box.addWidget(self.upcoming)
        self.schedule_ids: list[str] = []

    def set_schedules(self, items: list[Schedule], names: dict[str, str], now: float | None = None) -> None:
        """Show a flow's schedules; `names` maps flow ids to names (for after-flow ones)."""
        now = now or time.time()
        self.schedule_ids = [s.id for s in items]
        self.table.setRowCount(len(items))
        self._chosen()
        for row, schedule in enumerate(items):
            check = QCheckBox(self.table)
            check.setChecked(schedule.enabled)
            check.toggled.connect(lambda on, sid=schedule.id: self.enabled_changed.emit(sid, on))
            self.table.setCellWidget(row, 0, check)
            text = schedule.describe()
            if schedule.kind == AFTER:
                text = f"after '{names.get(schedule.expression, schedule.expression)}' succeeds"
            nxt = schedule.upcoming(now, 1)
            for column, value in (
                (1, text),
                (2, json.dumps(schedule.parameters)),
                (3, when(nxt[0]) if nxt and schedule.enabled else "-"),
            ):
                item = QTableWidgetItem(value)
                item.setData(ID_ROLE, schedule.id)
                self.table.setItem(row, column, item)

    def set_upcoming(self, rows: list[tuple[float, str, str]]) -> None:
        """(time, flow name, how) for the next runs of every enabled schedule."""
        if not rows:
            self.upcoming.setText("Nothing scheduled.")
            return
        self.upcoming.setText("<br>".join(f"{when(t)} — <b>{name}</b> ({how})" for t, name, how in rows[:10]))

    def _chosen(self) -> None:
        self.remove_button.setEnabled(bool(self.table.selectionModel().selectedRows()))

    def _remove(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.remove_requested.emit(self.schedule_ids[rows[0].row()])
