"""The logs dock: every line of a run, filtered by node, level and text.

One table model over plain tuples, no widget per line: filtering builds a
list of row numbers, so 100,000 lines filter in a blink and scroll freely.
New lines wait in the dock and join the table together every `FLUSH_MS`:
however they arrive (a line at a time or thousands), the table, its count
and its scroll position are updated at most that often.
"""

from __future__ import annotations

import bisect
import time

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from plait.runtime.engine.worker import user_traceback
from plait.widgets.words import plural

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
LEVEL_CHOICES = (("All levels", 0), ("Info and above", 20), ("Warnings and errors", 30), ("Errors only", 40))
COLUMNS = ("Time", "Node", "Level", "Stream", "Message")
TIME, NODE, LEVEL, STREAM, MESSAGE = range(5)
FLUSH_MS = 100
_LEVEL_COLOURS = {"WARNING": QColor("#c07a12"), "ERROR": QColor("#d93838"), "CRITICAL": QColor("#d93838")}

# A line: (time, node id, level, stream, message), and optionally its details: the
# first line of a traceback carries the whole of it, Plait's own frames included.
Line = tuple


def traceback_lines(t: float, node_id: str, full: str) -> list[Line]:
    """A node's traceback as error lines from the user's own frame; the first keeps the whole."""
    lines: list[Line] = [
        (t, node_id, "ERROR", "plait", text) for text in user_traceback(full).rstrip().splitlines()
    ]
    if lines:
        lines[0] = (*lines[0], full.rstrip())
    return lines


def level_number(level: str) -> int:
    return LEVELS.get(level.upper(), 20)


# Lines of one run the window keeps, its latest: a node printing millions of lines must not
# grow the window without end. Every line is in the run history (`plait logs RUN`).
KEPT_LINES = 200_000
_SLACK = KEPT_LINES // 10  # the oldest go in steps this size, so each append stays cheap


def _past_kept(count: int) -> int:
    """How many of a growing run's `count` lines to let go now: none until they are past
    `KEPT_LINES` by a step, then all the oldest past it."""
    over = count - KEPT_LINES
    return over if over > _SLACK else 0


def let_go(lines: list) -> int:
    """Drop a growing run's oldest lines past `KEPT_LINES` (in steps); how many went."""
    over = _past_kept(len(lines))
    del lines[:over]
    return over


def kept(lines: list, earlier: int) -> tuple[list, int]:
    """The latest `KEPT_LINES` of a run's lines, and how many came before them."""
    over = len(lines) - KEPT_LINES
    return (lines[over:], earlier + over) if over > 0 else (lines, earlier)


class LogModel(QAbstractTableModel):
    """Log lines with a filter; `visible` maps shown rows to lines.

    It keeps a run's latest `KEPT_LINES`; `earlier` counts the lines before them.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.lines: list[Line] = []
        self.earlier = 0
        self.titles: dict[str, str] = {}
        self.visible: list[int] = []
        self.nodes: set[str] | None = None  # None: every node
        self.min_level = 0
        self.text = ""

    # -- filtering ---------------------------------------------------------

    def _accepts(self, line: Line) -> bool:
        if self.nodes is not None and line[1] not in self.nodes:
            return False
        if self.min_level and level_number(line[2]) < self.min_level:
            return False
        return not self.text or self.text in line[4].lower()

    def set_filter(
        self, nodes: set[str] | None = ..., min_level: int | None = None, text: str | None = None
    ) -> None:
        """Change any of the filters (an omitted one stays as it is)."""
        if nodes is not ...:
            self.nodes = set(nodes) if nodes is not None else None
        if min_level is not None:
            self.min_level = min_level
        if text is not None:
            self.text = text.lower()
        self.beginResetModel()
        lines, accepts = self.lines, self._accepts
        if self.nodes is None and not self.min_level and not self.text:
            self.visible = list(range(len(lines)))
        else:
            self.visible = [i for i, line in enumerate(lines) if accepts(line)]
        self.endResetModel()

    # -- content -----------------------------------------------------------

    def set_lines(self, lines: list[Line], titles: dict[str, str] | None = None, earlier: int = 0) -> None:
        lines, self.earlier = kept(list(lines), earlier)
        self.lines = lines
        if titles is not None:
            self.titles = dict(titles)
        self.set_filter()

    def clear(self) -> None:
        self.set_lines([], {})

    def append(self, lines: list[Line]) -> None:
        """Add lines at the end; only the ones the filter shows become rows."""
        if not lines:
            return
        start = len(self.lines)
        self.lines.extend(lines)
        shown = [start + i for i, line in enumerate(lines) if self._accepts(line)]
        if shown:
            first = len(self.visible)
            self.beginInsertRows(QModelIndex(), first, first + len(shown) - 1)
            self.visible.extend(shown)
            self.endInsertRows()
        over = _past_kept(len(self.lines))
        if over:
            self._drop(over)

    def _drop(self, count: int) -> None:
        """Let the oldest `count` lines go (their rows too)."""
        gone = bisect.bisect_left(self.visible, count)  # rows showing them
        if gone:
            self.beginRemoveRows(QModelIndex(), 0, gone - 1)
        del self.lines[:count]
        self.visible = [i - count for i in self.visible[gone:]]
        self.earlier += count
        if gone:
            self.endRemoveRows()

    def line(self, row: int) -> Line:
        return self.lines[self.visible[row]]

    def as_text(self, rows: list[int] | None = None) -> str:
        """Lines as plain text, one per row: time, node, level and message."""
        rows = range(len(self.visible)) if rows is None else rows
        out = []
        for row in rows:
            line = self.line(row)
            t, node, level, message = line[0], line[1], line[2], line[4]
            out.append(f"{_clock(t)}  {self.titles.get(node, node)}  {level:<7} {message}")
            if rows is not range(len(self.visible)) and len(line) > 5 and line[5]:
                out.append(line[5])  # a chosen traceback line copies the whole traceback
        return "\n".join(out)

    # -- the Qt model ------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.visible)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        # Qt asks for a dozen roles per cell on every repaint, and reading `Qt.DisplayRole`
        # costs PySide a few microseconds each time: the roles are module constants.
        if role not in _ROLES or not index.isValid():
            return None
        line = self.lines[self.visible[index.row()]]
        column = index.column()
        if role == _DISPLAY:
            if column == TIME:
                return _clock(line[0])
            if column == NODE:
                return self.titles.get(line[1], line[1])
            if column == MESSAGE:
                return line[4]
            return line[2] if column == LEVEL else line[3]
        if role == _FOREGROUND:
            return _LEVEL_COLOURS.get(line[2].upper())
        if column == NODE:  # the tooltip: the column is narrow, a long title is cut
            return self.titles.get(line[1], line[1])
        if column == MESSAGE:
            if len(line) > 5 and line[5]:
                return f"The whole traceback, Plait's frames included:\n\n{line[5][-4000:]}"
            if len(line[4]) > 80:
                return line[4][:4000]
        return None


_DISPLAY, _FOREGROUND, _TOOLTIP = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.ToolTipRole,
)
_ROLES = frozenset((_DISPLAY, _FOREGROUND, _TOOLTIP))


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


class _LogTable(QTableView):
    """Ctrl+C copies whole lines, not the one cell under the cursor."""

    copy_requested = Signal()

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.Copy):
            self.copy_requested.emit()
            return
        super().keyPressEvent(event)


class LogsDock(QWidget):
    """The table of log lines with its filters, follow mode and copy."""

    node_filter_cleared = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("LogsDock")
        self.model = LogModel(self)
        self.table = _LogTable(self)
        self.table.copy_requested.connect(self.copy)
        self.table.setObjectName("LogTable")
        self.table.setModel(self.model)
        self.table.setWordWrap(False)
        self.table.setMinimumHeight(40)
        self.table.setShowGrid(False)
        self.table.setSelectionBehavior(QTableView.SelectRows)
        self.table.setHorizontalScrollMode(QTableView.ScrollPerPixel)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.Monospace)
        mono.setPointSizeF(9.0)
        self.table.setFont(mono)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.Fixed)  # uniform rows: no measuring 100k lines
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 4)
        header = self.table.horizontalHeader()
        for column, width in ((TIME, 96), (NODE, 130), (LEVEL, 70), (STREAM, 64)):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)

        self.node_label = QLabel("All nodes", self)
        self.node_clear = QToolButton(self)
        self.node_clear.setText("✕")
        self.node_clear.setToolTip("Show every node's lines")
        self.node_clear.clicked.connect(self.clear_node_filter)
        self.level = QComboBox(self)
        for text, number in LEVEL_CHOICES:
            self.level.addItem(text, number)
        self.level.currentIndexChanged.connect(
            lambda _: self.model.set_filter(min_level=self.level.currentData())
        )
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Filter text…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(60)
        self.level.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.level.setMinimumContentsLength(8)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(lambda: self.model.set_filter(text=self.search.text()))
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        self.follow = QCheckBox("Follow", self)
        self.follow.setToolTip("Keep the newest line in view")
        self.follow.setChecked(True)
        self.copy_button = QToolButton(self)
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the selected lines (or every shown line)")
        self.copy_button.clicked.connect(self.copy)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("Dim")

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for widget in (
            self.node_label,
            self.node_clear,
            self.level,
            self.search,
            self.follow,
            self.copy_button,
            self.count_label,
        ):
            bar.addWidget(widget, 1 if widget is self.search else 0)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addLayout(bar)
        box.addWidget(self.table, 1)
        self.model.rowsInserted.connect(self._inserted)
        self.model.modelReset.connect(self._count)
        self.model.rowsRemoved.connect(self._count)  # the oldest lines let go
        self.node_clear.setVisible(False)
        self._pending: list[Line] = []  # lines not in the table yet, in their order
        self._flush_timer = QTimer(self, singleShot=True, interval=FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush)
        self._count()

    # -- what is shown -----------------------------------------------------

    def set_lines(self, lines: list[Line], titles: dict[str, str], earlier: int = 0) -> None:
        """Show these lines instead (any still waiting are dropped: `lines` is the whole of them,
        but for the `earlier` lines before them that only the run history has)."""
        self._pending = []
        self._flush_timer.stop()
        self.model.set_lines(lines, titles, earlier)
        self._scroll()

    def append(self, lines: list[Line], titles: dict[str, str] | None = None) -> None:
        """Add lines at the end; they join the table with the others of the next flush."""
        if titles:
            self.model.titles.update(titles)
        if lines:
            self._pending.extend(lines)
            if not self._flush_timer.isActive():
                self._flush_timer.start()

    def flush(self) -> None:
        """Put the waiting lines in the table now: one insertion, one count, one scroll."""
        self._flush_timer.stop()
        pending, self._pending = self._pending, []
        self.model.append(pending)

    def set_node_filter(self, node_ids: list[str] | None, label: str = "") -> None:
        """Show only these nodes' lines (None or empty: every node)."""
        if not node_ids:
            self.model.set_filter(nodes=None)
            self.node_label.setText("All nodes")
            self.node_clear.setVisible(False)
        else:
            self.model.set_filter(nodes=set(node_ids))
            self.node_label.setText(label or plural(len(node_ids), "node"))
            self.node_clear.setVisible(True)
        self._scroll()

    def clear_node_filter(self) -> None:
        self.set_node_filter(None)
        self.node_filter_cleared.emit()

    def shown_messages(self) -> list[str]:
        self.flush()
        return [self.model.line(r)[4] for r in range(self.model.rowCount())]

    # -- follow and copy ---------------------------------------------------

    def _inserted(self, *_: object) -> None:
        self._count()
        if self.follow.isChecked():
            self.table.scrollToBottom()

    def _scroll(self) -> None:
        if self.follow.isChecked():
            self.table.scrollToBottom()

    def _count(self) -> None:
        total, shown = len(self.model.lines), self.model.rowCount()
        text = plural(shown, "line") if shown == total else f"{shown:,} of {plural(total, 'line')}"
        earlier = self.model.earlier
        if earlier:
            text = f"the latest {text}"
            self.count_label.setToolTip(
                f"{plural(earlier, 'earlier line')} of this run are in its run history: "
                "plait logs RUN prints them all"
            )
        else:
            self.count_label.setToolTip("")
        self.count_label.setText(text)

    def copy(self) -> None:
        self.flush()
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        QApplication.clipboard().setText(self.model.as_text(rows or None))
