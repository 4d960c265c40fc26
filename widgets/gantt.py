"""A run's timeline: one bar per node from its start to its end, coloured by state."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from plait.widgets.canvas.status import format_duration, state_colour
from plait.widgets.elided import elide

ROW = 18.0
LABEL_WIDTH = 150.0
AXIS = 20.0


@dataclass
class Bar:
    node_id: str
    title: str
    state: str
    started: float | None
    ended: float | None


class GanttChart(QWidget):
    """Paints bars; hovering one tells its node, state and times, clicking selects it."""

    node_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Gantt")
        self.bars: list[Bar] = []
        self.start = 0.0
        self.end = 1.0
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMinimumHeight(int(AXIS + ROW))

    def set_bars(self, bars: list[Bar], now: float | None = None) -> None:
        """Show a run's nodes; a node still running ends at `now`."""
        now = now or time.time()
        timed = [b for b in bars if b.started is not None]
        self.bars = sorted(timed, key=lambda b: (b.started, b.title)) + [b for b in bars if b.started is None]
        if timed:
            self.start = min(b.started for b in timed)
            self.end = max(max((b.ended or now) for b in timed), self.start + 1e-3)
        else:
            self.start, self.end = 0.0, 1.0
        self.setFixedHeight(int(AXIS + ROW * max(1, len(self.bars)) + 4))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(400, int(AXIS + ROW * max(1, len(self.bars)) + 4))

    def _x(self, t: float) -> float:
        span = self.end - self.start
        width = max(10.0, self.width() - LABEL_WIDTH - 12)
        return LABEL_WIDTH + (t - self.start) / span * width

    def _bar_rect(self, row: int, bar: Bar) -> QRectF | None:
        if bar.started is None:
            return None
        x0 = self._x(bar.started)
        x1 = max(x0 + 2.0, self._x(bar.ended or time.time()))
        return QRectF(x0, AXIS + row * ROW + 3, x1 - x0, ROW - 6)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing, True)
        palette = self.palette()
        text = palette.text().color()
        dim = QColor(text)
        dim.setAlpha(110)
        metrics = QFontMetricsF(self.font())
        if not self.bars:
            painter.setPen(dim)
            painter.drawText(self.rect(), Qt.AlignCenter, "Select a run to see its timeline")
            return
        # The axis: a few ticks in seconds from the run's start.
        span = self.end - self.start
        step = _tick(span)
        painter.setPen(QPen(dim, 0))
        t = 0.0
        while t <= span + 1e-9:
            x = self._x(self.start + t)
            painter.drawLine(QPointF(x, AXIS - 4), QPointF(x, self.height()))
            painter.drawText(
                QRectF(x + 2, 0, 80, AXIS - 4),
                Qt.AlignVCenter | Qt.AlignLeft,
                format_duration(t) if t else "0",
            )
            t += step
        for row, bar in enumerate(self.bars):
            y = AXIS + row * ROW
            painter.setPen(text)
            painter.drawText(
                QRectF(4, y, LABEL_WIDTH - 8, ROW),
                Qt.AlignVCenter | Qt.AlignLeft | Qt.TextDontClip,
                elide(metrics, bar.title, LABEL_WIDTH - 8),
            )
            rect = self._bar_rect(row, bar)
            colour = state_colour(bar.state)
            if rect is None:
                painter.setPen(colour)
                painter.drawText(
                    QRectF(LABEL_WIDTH, y, 200, ROW),
                    Qt.AlignVCenter | Qt.AlignLeft,
                    bar.state.replace("_", " "),
                )
                continue
            painter.setPen(Qt.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(rect, 2.5, 2.5)

    def bar_at(self, pos: QPointF) -> Bar | None:
        row = int((pos.y() - AXIS) // ROW)
        if pos.y() < AXIS or not 0 <= row < len(self.bars):
            return None
        return self.bars[row]

    def mouseMoveEvent(self, event) -> None:
        bar = self.bar_at(event.position())
        if bar is None:
            QToolTip.hideText()
            return
        lines = [f"<b>{html.escape(bar.title)}</b>: {bar.state.replace('_', ' ')}"]
        if bar.started is not None:
            lines.append(f"started at +{format_duration(bar.started - self.start)}")
            if bar.ended is not None:
                lines.append(f"took {format_duration(bar.ended - bar.started)}")
        QToolTip.showText(event.globalPosition().toPoint(), "<br>".join(lines), self)

    def mousePressEvent(self, event) -> None:
        bar = self.bar_at(event.position())
        if bar is not None and event.button() == Qt.LeftButton:
            self.node_clicked.emit(bar.node_id)


def _tick(span: float) -> float:
    """A round tick step giving four to ten ticks over `span` seconds."""
    for step in (
        0.01,
        0.02,
        0.05,
        0.1,
        0.2,
        0.5,
        1,
        2,
        5,
        10,
        15,
        30,
        60,
        120,
        300,
        600,
        900,
        1800,
        3600,
        7200,
        14400,
        43200,
        86400,
    ):
        if span / step <= 8:
            return step
    return span / 8
