"""Frames: titled boxes (with optional comment text) that group nodes visually.

A frame lives in the flow's `extras["frames"]` as a plain dict
(`id`, `title`, `text`, `rect` = [x, y, w, h]); dragging it carries the nodes
inside it along, and its bottom-right corner resizes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyle

from plait.widgets.canvas.pens import font
from plait.widgets.elided import elide

if TYPE_CHECKING:
    from plait.widgets.canvas.scene import FlowScene

FRAME_TYPE = QGraphicsItem.UserType + 3
FRAME_TITLE = 28.0
HANDLE = 14.0


class FrameItem(QGraphicsItem):
    def __init__(self, scene: FlowScene, data: dict[str, Any]) -> None:
        super().__init__()
        self._scene = scene
        self.frame_id = data["id"]
        self.data = dict(data)
        x, y, w, h = data["rect"]
        self.size = (float(w), float(h))
        self.resizing: QPointF | None = None
        self.setPos(x, y)
        self.last_pos = self.pos()
        self.setZValue(-10.0)
        self.setFlags(
            QGraphicsItem.ItemIsMovable
            | QGraphicsItem.ItemIsSelectable
            | QGraphicsItem.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setToolTip(self.tooltip_text())

    def title(self) -> str:
        return self.data.get("title") or "Frame"

    def tooltip_text(self) -> str:
        """The whole title (drawn shortened when the frame is narrow) and the note."""
        note = self.data.get("text") or (
            "Drag to move the frame with its nodes; double-click to edit its title and note"
        )
        escape = lambda t: t.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
        return f"<b>{escape(self.title())}</b><br>{escape(note)}"

    def type(self) -> int:  # noqa: A003 - Qt's name
        return FRAME_TYPE

    def rect_list(self) -> list[float]:
        return [round(self.x(), 2), round(self.y(), 2), round(self.size[0], 2), round(self.size[1], 2)]

    def boundingRect(self) -> QRectF:
        return QRectF(-1, -1, self.size[0] + 2, self.size[1] + 2)

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemPositionHasChanged:
            self._scene.frame_item_moved(self)
        return super().itemChange(change, value)

    def _on_handle(self, pos: QPointF) -> bool:
        return pos.x() >= self.size[0] - HANDLE and pos.y() >= self.size[1] - HANDLE

    def hoverMoveEvent(self, event) -> None:
        self.setCursor(Qt.SizeFDiagCursor if self._on_handle(event.pos()) else Qt.ArrowCursor)
        super().hoverMoveEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self._on_handle(event.pos()):
            self.resizing = event.pos()
            self._start_size = self.size
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self.resizing is not None:
            delta = event.pos() - self.resizing
            self.prepareGeometryChange()
            self.size = (
                max(120.0, self._start_size[0] + delta.x()),
                max(60.0, self._start_size[1] + delta.y()),
            )
            self.update()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self.resizing is not None:
            self.resizing = None
            self._scene.editor.update_frame(self.frame_id, rect=self.rect_list())
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        self._scene.frame_edit_requested.emit(self.frame_id)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        style = self._scene.style
        selected = bool(option.state & QStyle.State_Selected)
        rect = QRectF(0, 0, *self.size)
        painter.setRenderHint(QPainter.Antialiasing, True)
        painter.setPen(
            QPen(
                style.selection if selected else style.frame_border,
                2.0 if selected else 1.2,
                Qt.DashLine if not selected else Qt.SolidLine,
            )
        )
        painter.setBrush(style.frame_fill)
        painter.drawRoundedRect(rect, 8, 8)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < 0.3:
            return
        painter.setPen(style.frame_text)
        painter.setFont(font("title"))
        painter.drawText(
            QRectF(10, 0, rect.width() - 20, FRAME_TITLE),
            Qt.AlignVCenter | Qt.AlignLeft | Qt.TextDontClip,
            elide(QFontMetricsF(font("title")), self.title(), rect.width() - 20),
        )
        text = self.data.get("text")
        if text:
            painter.setFont(font("small"))
            painter.drawText(
                QRectF(10, FRAME_TITLE, rect.width() - 20, rect.height() - FRAME_TITLE - 6),
                Qt.AlignTop | Qt.AlignLeft | Qt.TextWordWrap,
                text,
            )
        # Resize grip.
        painter.setPen(QPen(style.frame_border, 1.2))
        for d in (4.0, 8.0, 12.0):
            painter.drawLine(
                QPointF(rect.width() - d, rect.height() - 2), QPointF(rect.width() - 2, rect.height() - d)
            )
