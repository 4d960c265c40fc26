"""The canvas view: zoom, pan, keyboard moves, drops from the palette, search popups."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsView

from plait.widgets.canvas.minimap import Minimap
from plait.widgets.canvas.node_item import NodeItem
from plait.widgets.canvas.pens import font
from plait.widgets.canvas.ports import INPUT, OUTPUT
from plait.widgets.canvas.scene import FlowScene
from plait.widgets.canvas.style import GRID, PORT_NAMES_ZOOM, TEXT_MIN_ZOOM
from plait.widgets.elided import elide
from plait.widgets.mime import NODE_TYPE_MIME
from plait.widgets.search_popup import NodeSearchPopup, fitting

MIN_ZOOM, MAX_ZOOM = 0.03, 4.0
FIT_MARGIN = 24.0  # view pixels around a fitted flow
FIT_MAX_ZOOM = 1.25
# A flow this small is fitted no further out than where port names are drawn, and centred:
# a few nodes whose ports cannot be read are no overview.
FIT_READABLE_NODES = 30
HOVER_NAMES_REACH = 220  # view pixels beside a node that its hovered port names may take


class FlowView(QGraphicsView):
    """Shows a `FlowScene`. `catalog` (anything with `.specs()`) feeds the search popup."""

    zoom_changed = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.catalog = None
        self.setObjectName("FlowView")
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        # Panning is middle-drag, space+drag and the minimap; scroll bars only take room.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self._pan_from: QPointF | None = None
        self._space = False
        self.popup: NodeSearchPopup | None = None
        self.minimap = Minimap(self)
        self.minimap.hide()
        # A flow opened before the window has its size is fitted again once it has.
        self._fit_pending = False

    # -- scene -------------------------------------------------------------

    def flow_scene(self) -> FlowScene | None:
        scene = self.scene()
        return scene if isinstance(scene, FlowScene) else None

    def set_flow_scene(self, scene: FlowScene) -> None:
        self.setScene(scene)
        scene.set_far(False)
        self.setRenderHint(QPainter.Antialiasing, True)
        self._update_lod()
        scene.search_requested.connect(self.open_search)
        scene.changed.connect(self.minimap.scene_changed)
        scene.hovered_changed.connect(self._hover_changed)
        self.minimap.scene_changed()

    # -- zoom --------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        self._fit_pending = False
        target = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor))
        factor = target / self.zoom
        if abs(factor - 1.0) > 1e-6:
            self.scale(factor, factor)
            self._update_lod()
            self.zoom_changed.emit(self.zoom)
            self.minimap.scene_changed()

    def reset_zoom(self) -> None:
        self.zoom_by(1.0 / self.zoom)

    def fit_view(self, keep_fitting: bool = False) -> None:
        """Show the whole flow, snugly with a small margin (F).

        With `keep_fitting` (a flow just opened), fit again when the view is
        resized, until the person zooms: the window may not have its size yet.
        """
        scene = self.flow_scene()
        if scene is None:
            return
        rect = scene.content_rect()
        if rect.isEmpty():
            rect = QRectF(-200, -150, 400, 300)
        margin = FIT_MARGIN / max(self.zoom, 1e-3)
        # Two passes: the margin is in view pixels, so it depends on the zoom being fitted.
        for _ in range(2):
            self.fitInView(rect.adjusted(-margin, -margin, margin, margin), Qt.KeepAspectRatio)
            margin = FIT_MARGIN / max(self.zoom, 1e-3)
        # A small flow is shown a little enlarged at most: blown up further it looks broken.
        if self.zoom > FIT_MAX_ZOOM:
            self.zoom_by(FIT_MAX_ZOOM / self.zoom)
        elif self.zoom < PORT_NAMES_ZOOM and len(scene.nodes) <= FIT_READABLE_NODES:
            self.zoom_by(PORT_NAMES_ZOOM / self.zoom)
            self.centerOn(rect.center())
        self._fit_pending = keep_fitting
        self._update_lod()
        self.zoom_changed.emit(self.zoom)
        self.minimap.scene_changed()

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(math.pow(1.0015, delta))
        event.accept()

    # -- panning -----------------------------------------------------------

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton:
            self._fit_pending = False
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        self.minimap.set_hovered(False)  # the mouse is over the canvas, not the minimap
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton and self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            self.minimap.view_moved()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.itemAt(event.position().toPoint()) is None:
            self.open_search(self.mapToScene(event.position().toPoint()), None)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.minimap.view_moved()

    # -- keys --------------------------------------------------------------

    def event(self, event) -> bool:
        # Tab would move the focus; on the canvas it opens the node search.
        if event.type() == QEvent.KeyPress and event.key() == Qt.Key_Tab and self.flow_scene() is not None:
            pos = self.mapFromGlobal(self.cursor().pos())
            if not self.viewport().rect().contains(pos):
                pos = self.viewport().rect().center()
            self.open_search(self.mapToScene(pos), None)
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        scene = self.flow_scene()
        key = event.key()
        if key == Qt.Key_Space and not event.isAutoRepeat():
            # Space+drag pans over items too, so the scene must not see the press.
            self._space = True
            self.setInteractive(False)
            self.setDragMode(QGraphicsView.ScrollHandDrag)
            return
        arrows = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1), Qt.Key_Down: (0, 1)}
        if key in arrows and scene is not None and scene.selected_node_ids() and not scene.editor.read_only:
            step = 1.0 if event.modifiers() & Qt.ShiftModifier else GRID
            dx, dy = arrows[key]
            moves = {}
            for node_id in scene.selected_node_ids():
                x, y = scene.flow.nodes[node_id].position
                moves[node_id] = (x + dx * step, y + dy * step)
            scene.editor.move_nodes(moves, {})
            return
        if key in (Qt.Key_Plus, Qt.Key_Equal):
            self.zoom_by(1.25)
            return
        if key == Qt.Key_Minus:
            self.zoom_by(0.8)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat() and self._space:
            self._space = False
            self.setDragMode(QGraphicsView.RubberBandDrag)
            self.setInteractive(True)
            return
        super().keyReleaseEvent(event)

    # -- drops from the palette -------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME) and self._editable():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if not (event.mimeData().hasFormat(NODE_TYPE_MIME) and self._editable()):
            event.ignore()
            return
        key = bytes(event.mimeData().data(NODE_TYPE_MIME)).decode()
        pos = self.mapToScene(event.position().toPoint())
        self.flow_scene().editor.create_node(key, (pos.x(), pos.y()))
        event.acceptProposedAction()
        self.setFocus()

    def _editable(self) -> bool:
        scene = self.flow_scene()
        return scene is not None and not scene.editor.read_only

    # -- search popup ------------------------------------------------------

    def open_search(self, scene_pos: QPointF, wire: tuple[str, str, str] | None) -> None:
        """Pop up the node search at a scene point; with `wire`, list what fits it."""
        scene = self.flow_scene()
        if scene is None or self.catalog is None or scene.editor.read_only:
            return
        specs = list(self.catalog.specs())
        if wire is not None:
            node_id, side, port = wire
            ports = scene.flow.outputs(node_id) if side == OUTPUT else scene.flow.inputs(node_id)
            annotation = next((p.annotation for p in ports if p.name == port), None)
            specs = [spec for spec, _ in fitting(specs, side, annotation)]
            if not specs:
                scene.message.emit(f"no node type has a port that fits '{port}'")
                return
        self.popup = NodeSearchPopup(specs, self)
        self.popup.chosen.connect(
            lambda key: scene.editor.create_node(key, (scene_pos.x(), scene_pos.y()), wire)
        )
        self.popup.popup(self.mapToGlobal(self.mapFromScene(scene_pos)))

    # -- painting ----------------------------------------------------------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        super().drawBackground(painter, rect)
        scene = self.flow_scene()
        if scene is None:
            return
        zoom = self.zoom
        # Far out the fine grid is noise (and thousands of lines): draw the coarse one only.
        step = GRID if zoom >= TEXT_MIN_ZOOM else GRID * 5
        if step * zoom < 6:
            return
        style = scene.style
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        minor, major = [], []
        x = left
        while x < rect.right():
            (major if round(x / step) % 5 == 0 else minor).append((x, True))
            x += step
        y = top
        while y < rect.bottom():
            (major if round(y / step) % 5 == 0 else minor).append((y, False))
            y += step
        for lines, colour in ((minor, style.grid_minor), (major, style.grid_major)):
            painter.setPen(QPen(colour, 0))
            for value, vertical in lines:
                if vertical:
                    painter.drawLine(QPointF(value, rect.top()), QPointF(value, rect.bottom()))
                else:
                    painter.drawLine(QPointF(rect.left(), value), QPointF(rect.right(), value))

    def _update_lod(self) -> bool:
        scene = self.flow_scene()
        far = self.zoom < TEXT_MIN_ZOOM
        if scene is None or scene.far == far:
            return False
        scene.set_far(far)
        # Far out everything is a block or a hairline: smoothing their edges costs and shows nothing.
        self.setRenderHint(QPainter.Antialiasing, not far)
        return True

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        scene = self.flow_scene()
        if scene is None:
            return
        if self._update_lod():
            # Reached by a zoom that did not go through zoom_by: draw again in the new mode.
            QTimer.singleShot(0, self.viewport().update)
        if not scene.far:
            hovered = self.hovered_port_names()
            if hovered is not None:
                self._draw_port_names(painter, hovered)
            return
        scene.far_picture.draw(painter)

    def _hover_changed(self, old: NodeItem | None, new: NodeItem | None) -> None:
        if self.zoom >= PORT_NAMES_ZOOM or self.flow_scene() is None or self.flow_scene().far:
            return
        for item in (old, new):
            if item is not None and item.scene() is self.scene():
                area = self.mapFromScene(item.sceneBoundingRect()).boundingRect()
                # The stacked names may stand taller than the node's ports at this zoom.
                extra = 12 + 8 * max(len(item.layout.inputs), len(item.layout.outputs))
                self.viewport().update(area.adjusted(-HOVER_NAMES_REACH, -extra, HOVER_NAMES_REACH, extra))

    def hovered_port_names(self) -> NodeItem | None:
        """The node whose port names the view draws at screen size (zoomed out, hovered)."""
        scene = self.flow_scene()
        item = scene.hovered if scene is not None else None
        if item is None or scene.far or self.zoom >= PORT_NAMES_ZOOM or item.scene() is not scene:
            return None
        return item

    def _draw_port_names(self, painter: QPainter, item: NodeItem) -> None:
        # In view pixels, at the canvas's own text size: readable whatever the zoom.
        style = self.flow_scene().style
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.Antialiasing, True)
        small = font("small")
        painter.setFont(small)
        metrics = QFontMetricsF(small)
        height = metrics.height() + 3
        for slots in (item.layout.inputs, item.layout.outputs):
            # Stacked in port order: at this zoom the ports are closer than a line of text.
            points = [QPointF(self.mapFromScene(item.port_scene_pos(s.side, s.name))) for s in slots]
            if not points:
                continue
            top = (points[0].y() + points[-1].y()) / 2 - height * len(points) / 2
            for i, (slot, point) in enumerate(zip(slots, points, strict=True)):
                width = min(metrics.horizontalAdvance(slot.name) + 12, HOVER_NAMES_REACH - 10)
                x = point.x() - 8 - width if slot.side == INPUT else point.x() + 8
                box = QRectF(x, top + i * height, width, height - 1)
                painter.setPen(QPen(style.node_border, 1))
                painter.setBrush(style.node_body)
                painter.drawRoundedRect(box, 4, 4)
                painter.setPen(style.text)
                painter.drawText(
                    box.adjusted(5, 0, -5, 0),
                    Qt.AlignVCenter | Qt.AlignLeft | Qt.TextDontClip,
                    elide(metrics, slot.name, width - 8),
                )
        painter.restore()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_pending:
            self.fit_view(keep_fitting=True)
        self.minimap.place()
        self.minimap.scene_changed()

    def node_item_at(self, view_pos) -> NodeItem | None:
        item = self.itemAt(view_pos)
        return item if isinstance(item, NodeItem) else None
