"""A small overview of a big flow in the canvas corner; click or drag it to navigate.

It paints a cached low-resolution picture of the scene, refreshed shortly
after the scene changes, plus the rectangle the view shows: a second live
view of a 1,000-node scene would double the cost of every frame.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsView, QWidget

WIDTH, HEIGHT = 200, 130


class Minimap(QWidget):
    def __init__(self, view: QGraphicsView) -> None:
        super().__init__(view)
        self.view = view
        self.setObjectName("Minimap")
        self.setFixedSize(WIDTH, HEIGHT)
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self.enabled_by_user = True
        self._pixmap: QPixmap | None = None
        self._source = QRectF()
        self._timer = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.refresh)

    def scene_changed(self) -> None:
        self._timer.start()

    def _target(self) -> QRectF:
        """Where the scene's source rectangle lands in the widget, aspect kept."""
        if self._source.isEmpty():
            return QRectF()
        scale = min((WIDTH - 8) / self._source.width(), (HEIGHT - 8) / self._source.height())
        w, h = self._source.width() * scale, self._source.height() * scale
        return QRectF((WIDTH - w) / 2, (HEIGHT - h) / 2, w, h)

    def refresh(self) -> None:
        scene = self.view.scene()
        if scene is None:
            self.hide()
            return
        self._source = scene.itemsBoundingRect().adjusted(-40, -40, 40, 40)
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        # Worth showing only when the flow does not fit in the view.
        wanted = self.enabled_by_user and not visible.contains(scene.itemsBoundingRect())
        self.setVisible(wanted)
        if not wanted:
            return
        pixmap = QPixmap(WIDTH, HEIGHT)
        pixmap.fill(Qt.transparent)
        painter = QPainter(pixmap)
        self._draw_blocks(painter, scene)
        painter.end()
        self._pixmap = pixmap
        self.update()

    def _draw_blocks(self, painter: QPainter, scene) -> None:
        # Blocks only: at this size titles and ports are noise, and going
        # through the items would cost a full scene render per refresh.
        target = self._target()
        sx = target.width() / self._source.width()
        ox, oy = target.x() - self._source.x() * sx, target.y() - self._source.y() * sx
        style = scene.style
        painter.setPen(Qt.NoPen)
        painter.setBrush(style.frame_fill)
        painter.drawRects([QRectF(ox + f.x() * sx, oy + f.y() * sx, f.size[0] * sx,
                                  f.size[1] * sx) for f in scene.frames.values()])
        for param, colour in ((False, style.node_title), (True, style.param_title)):
            painter.setBrush(colour)
            painter.drawRects([QRectF(ox + n.x() * sx, oy + n.y() * sx,
                                      max(2.0, n.layout.width * sx), max(1.5, n.layout.height * sx))
                               for n in scene.nodes.values() if n.is_param == param])

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        style = getattr(self.view.scene(), "style", None)
        background = QColor(style.background if style else QColor("#ffffff"))
        background.setAlpha(230)
        painter.fillRect(self.rect(), background)
        painter.setPen(QPen(style.node_border if style else QColor("#999999"), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if self._pixmap is not None:
            painter.drawPixmap(0, 0, self._pixmap)
        target = self._target()
        if target.isEmpty():
            return
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        sx = target.width() / self._source.width()
        frame = QRectF(target.x() + (visible.x() - self._source.x()) * sx,
                       target.y() + (visible.y() - self._source.y()) * sx,
                       visible.width() * sx, visible.height() * sx).intersected(
                           QRectF(self.rect()))
        painter.setPen(QPen(style.selection if style else QColor("orange"), 1.5))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(frame)

    def _go(self, pos: QPointF) -> None:
        target = self._target()
        if target.isEmpty():
            return
        sx = target.width() / self._source.width()
        self.view.centerOn(QPointF(self._source.x() + (pos.x() - target.x()) / sx,
                                   self._source.y() + (pos.y() - target.y()) / sx))
        self.update()

    def mousePressEvent(self, event) -> None:
        self._go(event.position())

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.LeftButton:
            self._go(event.position())
