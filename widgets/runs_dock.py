"""The runs dock: the workspace's run history and the chosen run's timeline.

It shows rows it is given (`set_runs`) and asks the window, through signals,
to show a run or to run it again; it never reads the workspace itself.
"""

from __future__ import annotations

import json
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from plait.widgets.canvas.status import format_duration, state_colour
from plait.widgets.gantt import Bar, GanttChart

COLUMNS = ("Flow", "Version", "State", "Started", "Duration", "Parameters", "Cached")
RUN_ROLE = Qt.UserRole


def _started(ts: float | None) -> str:
    if not ts:
        return "-"
    today = time.strftime("%Y-%m-%d") == time.strftime("%Y-%m-%d", time.localtime(ts))
    return time.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M", time.localtime(ts))


def _parameters(text: str | None) -> str:
    try:
        values = json.loads(text or "{}")
    except ValueError:
        return text or ""
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in values.items())


class RunsDock(QWidget):
    run_selected = Signal(str)  # run id
    rerun_requested = Signal(str)  # run id
    node_clicked = Signal(str)  # a bar of the timeline
    scope_changed = Signal(bool)  # True: the open flow's runs only

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("RunsDock")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("RunsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        for column, width in enumerate((140, 56, 84, 110, 80, 200, 56)):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.itemDoubleClicked.connect(
            lambda item: self.rerun_requested.emit(self.table.item(item.row(), 0).data(RUN_ROLE))
        )

        self.only_flow = QCheckBox("This flow only", self)
        self.only_flow.toggled.connect(self.scope_changed.emit)
        self.rerun_button = QToolButton(self)
        self.rerun_button.setText("Re-run")
        self.rerun_button.setToolTip("Run the selected run's flow again with the same parameters")
        self.rerun_button.setEnabled(False)
        self.rerun_button.clicked.connect(
            lambda: self.selected_run() and self.rerun_requested.emit(self.selected_run())
        )
        self.detail = QLabel(self)
        self.detail.setObjectName("Dim")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.detail.hide()
        self.gantt = GanttChart(self)
        self.gantt.node_clicked.connect(self.node_clicked.emit)
        scroll = QScrollArea(self)
        scroll.setWidget(self.gantt)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setMinimumHeight(20)
        self.table.setMinimumHeight(36)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.only_flow)
        bar.addStretch(1)
        bar.addWidget(self.rerun_button)
        lower = QWidget(self)
        lower_box = QVBoxLayout(lower)
        lower_box.setContentsMargins(4, 0, 4, 0)
        lower_box.addWidget(self.detail)
        lower_box.addWidget(scroll, 1)
        split = QSplitter(Qt.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setSizes([160, 160])
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(bar)
        box.addWidget(split, 1)
        self.rows: list[dict] = []

    # -- history -----------------------------------------------------------

    def set_runs(self, rows: list[dict], now: float | None = None) -> None:
        """Show run rows (`RunHistory.runs`), keeping the selected run selected."""
        now = now or time.time()
        chosen = self.selected_run()
        self.rows = rows
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            ended = row.get("ended") or (now if row["state"] == "running" else None)
            duration = format_duration(ended - row["started"]) if ended and row["started"] else "-"
            cached = f"{row.get('cached', 0)}/{row.get('nodes', 0)}"
            values = (
                row["flow"],
                str(row["version"]),
                row["state"],
                _started(row["started"]),
                duration,
                _parameters(row.get("parameters")),
                cached,
            )
            for c, value in enumerate(values):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                item.setText(value)
                item.setData(RUN_ROLE, row["id"])
            state = self.table.item(r, 2)
            state.setForeground(state_colour(row["state"]))
            self.table.item(r, 5).setToolTip(_parameters(row.get("parameters")))
        self.table.blockSignals(False)
        if chosen:
            self.select_run(chosen, emit=False)

    def selected_run(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.table.item(rows[0].row(), 0).data(RUN_ROLE)

    def select_run(self, run_id: str, emit: bool = True) -> bool:
        for r, row in enumerate(self.rows):
            if row["id"] == run_id:
                self.table.blockSignals(not emit)
                self.table.selectRow(r)
                self.table.blockSignals(False)
                self.rerun_button.setEnabled(True)
                return True
        return False

    def _selected(self) -> None:
        run_id = self.selected_run()
        self.rerun_button.setEnabled(run_id is not None)
        if run_id:
            self.run_selected.emit(run_id)

    # -- the chosen run ----------------------------------------------------

    def set_timeline(self, bars: list[Bar], detail: str = "") -> None:
        self.gantt.set_bars(bars)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
