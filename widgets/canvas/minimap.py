"""A small overview of a big flow in the canvas corner; click or drag it to navigate.

It paints a cached low-resolution picture of the scene, refreshed shortly
after the scene changes, plus the rectangle the view shows: a second live
view of a 1,000-node scene would double the cost of every frame.

It never hides the flow: it is translucent, it moves to a corner with no node
under it, and when every corner has nodes it fades until the mouse is over it.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsView, QWidget

WIDTH, HEIGHT = 200, 130
MARGIN = 12  # view pixels between the minimap and the view's edge
FADED = 0.3  # its opacity over nodes, until hovered
# Bottom-right first: where overviews usually are, and where a flow read left to right ends.
CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")


class Minimap(QWidget):
    def __init__(self, view: QGraphicsView) -> None:
        super().__init__(view)
        self.view = view
        self.setObjectName("Minimap")
        self.setFixedSize(WIDTH, HEIGHT)
        self.setCursor(Qt.PointingHandCursor)
        self.setMouseTracking(True)
        self.setToolTip("Overview: click or drag to move the view")
        self.enabled_by_user = True
        self._node_items: set = set()
        self._pixmap: QPixmap | None = None
        self._source = QRectF()
        self._timer = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.refresh)
        self._place_timer = QTimer(self, singleShot=True, interval=80)
        self._place_timer.timeout.connect(self.place)
        self.corner = CORNERS[0]
        self.over_nodes = False  # every corner has nodes: drawn faint until hovered
        self.hovered = False

    def scene_changed(self) -> None:
        self._timer.start()

    def view_moved(self) -> None:
        """The view scrolled or zoomed: the corner may now be over nodes."""
        self.update()
        if self.isVisible():
            self._place_timer.start()

    def _corner_rect(self, corner: str) -> QRect:
        area = self.view.viewport().rect()
        x = area.width() - WIDTH - MARGIN if corner.endswith("right") else MARGIN
        y = area.height() - HEIGHT - MARGIN if corner.startswith("bottom") else MARGIN
        return QRect(x, y, WIDTH, HEIGHT)

    def _nodes_under(self, rect: QRect) -> bool:
        scene = self.view.scene()
        area = self.view.mapToScene(rect).boundingRect()
        return any(item in self._node_items for item in scene.items(area))

    def place(self) -> None:
        """Go to the first corner with no node under it; with none free, stay and fade."""
        scene = self.view.scene()
        if scene is None:
            return
        self._node_items = set(getattr(scene, "nodes", {}).values())
        free = [c for c in CORNERS if not self._nodes_under(self._corner_rect(c))]
        self.over_nodes = not free
        if self.corner not in free:  # a free corner is kept: a minimap that jumps distracts
            self.corner = free[0] if free else CORNERS[0]
        self.move(self._corner_rect(self.corner).topLeft())
        self._node_items = set()
        self.update()

    def opacity(self) -> float:
        return FADED if self.over_nodes and not self.hovered else 1.0

    def set_hovered(self, on: bool) -> None:
        if on != self.hovered:
            self.hovered = on
            self.update()

    def enterEvent(self, event) -> None:
        self.set_hovered(True)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        self.set_hovered(False)
        super().leaveEvent(event)

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
        self.place()
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
        painter.drawRects(
            [
                QRectF(ox + f.x() * sx, oy + f.y() * sx, f.size[0] * sx, f.size[1] * sx)
                for f in scene.frames.values()
            ]
        )
        for param, colour in ((False, style.node_title), (True, style.param_title)):
            painter.setBrush(colour)
            painter.drawRects(
                [
                    QRectF(
                        ox + n.x() * sx,
                        oy + n.y() * sx,
                        max(2.0, n.layout.width * sx),
                        max(1.5, n.layout.height * sx),
                    )
                    for n in scene.nodes.values()
                    if n.is_param == param
                ]
            )

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setOpacity(self.opacity())
        style = getattr(self.view.scene(), "style", None)
        background = QColor(style.background if style else QColor("#ffffff"))
        background.setAlpha(170)  # translucent: wires and the grid show through
        painter.fillRect(self.rect(), background)
        painter.setPen(QPen(style.node_border if style else QColor("#999999"), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if self._pixmap is not None:
            painter.setOpacity(self.opacity() * 0.85)
            painter.drawPixmap(0, 0, self._pixmap)
            painter.setOpacity(self.opacity())
        target = self._target()
        if target.isEmpty():
            return
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        sx = target.width() / self._source.width()
        frame = QRectF(
            target.x() + (visible.x() - self._source.x()) * sx,
            target.y() + (visible.y() - self._source.y()) * sx,
            visible.width() * sx,
            visible.height() * sx,
        ).intersected(QRectF(self.rect()))
        painter.setPen(QPen(style.selection if style else QColor("orange"), 1.5))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(frame)

    def _go(self, pos: QPointF) -> None:
        target = self._target()
        if target.isEmpty():
            return
        sx = target.width() / self._source.width()
        self.view.centerOn(
            QPointF(
                self._source.x() + (pos.x() - target.x()) / sx, self._source.y() + (pos.y() - target.y()) / sx
            )
        )
        self.update()

    def mousePressEvent(self, event) -> None:
        self._go(event.position())

    def mouseMoveEvent(self, event) -> None:
        self.set_hovered(True)  # also when no enter event came (a window just raised)
        if event.buttons() & Qt.LeftButton:
            self._go(event.position())
