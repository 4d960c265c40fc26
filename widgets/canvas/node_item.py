"""A node on the canvas: one graphics item that paints its title, ports and labels.

Drawing ports and labels in the node's own `paint()` instead of one child item
per port keeps a big flow at one item per node; the painting is cached per
item (DeviceCoordinateCache) and drops text when zoomed far out. Far out in
the view a node paints nothing: the view draws every node as a block (far.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyle, QStyleOptionGraphicsItem, QWidget

from plait.runtime.engine.worker import user_traceback
from plait.runtime.flow.model import PARAMETER_KEY
from plait.widgets.canvas import pens
from plait.widgets.canvas.ports import INPUT, NodeLayout, PortSlot, layout_for, port_tooltip
from plait.widgets.canvas.status import STATUS_HEIGHT, NodeStatus, state_colour
from plait.widgets.canvas.style import (
    PORT_NAMES_ZOOM,
    PORT_RADIUS,
    ROW_HEIGHT,
    TEXT_MIN_ZOOM,
    TITLE_HEIGHT,
    type_colour,
)
from plait.widgets.elided import elide

if TYPE_CHECKING:
    from plait.widgets.canvas.scene import FlowScene

NODE_TYPE = QGraphicsItem.UserType + 1
# Text is elided to whole letters before it is drawn, and never clipped through a glyph.
_LEFT = Qt.AlignVCenter | Qt.AlignLeft | Qt.TextDontClip
_RIGHT = Qt.AlignVCenter | Qt.AlignRight | Qt.TextDontClip
_WHITE = QColor("white")
# Qt's enums as module constants: PySide takes about a microsecond to look up `Qt.NoPen`, and a
# node's paint() would look up a dozen.
_NO_PEN, _NO_BRUSH, _SOLID, _DASH = (
    Qt.PenStyle.NoPen,
    Qt.BrushStyle.NoBrush,
    Qt.PenStyle.SolidLine,
    Qt.PenStyle.DashLine,
)
_CENTRE, _ANTIALIAS = Qt.AlignmentFlag.AlignCenter, QPainter.RenderHint.Antialiasing
_SELECTED = QStyle.StateFlag.State_Selected
BADGE_RADIUS = 8.0
# Or-ing Qt's flags goes through Python's enum machinery: done once, not once per node.
_FLAGS = QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
_FAR_FLAGS = _FLAGS | QGraphicsItem.ItemHasNoContents  # far out the view draws the node (FlowView)


class NodeItem(QGraphicsItem):
    """The picture of one `Node`; the model stays in the flow."""

    def __init__(self, scene: FlowScene, node_id: str) -> None:
        super().__init__()
        self._scene = scene
        self.node_id = node_id
        self.layout: NodeLayout = layout_for(scene.flow, node_id)
        self.problems: list[str] = []
        self.status: NodeStatus | None = None  # its state in the run the canvas shows
        # While a wire is dragged: port name -> True (fits) / False (does not).
        self.reach: dict[tuple[str, str], bool] | None = None
        self.hover_slot: PortSlot | None = None
        node = scene.flow.nodes[node_id]
        self.is_param = node.is_parameter
        self._bounds = self._outline()
        self._title: tuple[str, str] | None = None  # (title, as elided to the node's width)
        self._labels: dict[tuple[str, str], str] = {}  # (side, port) -> its name as elided
        # No itemChange() here: Qt would call into Python for every change of every item (its
        # flags, scene, z, position), six times per node as a big flow opens. The scene moves
        # the wires when it moves a node, or sees Qt move one in a drag (FlowScene.mouseMoveEvent).
        # Nodes stay at z 0, above the wires (z -1); Qt repaints a node when it is selected.
        self.setPos(*node.position)
        self.setFlags(_FAR_FLAGS if scene.far else _FLAGS)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setAcceptHoverEvents(True)

    def type(self) -> int:  # noqa: A003 - Qt's name
        return NODE_TYPE

    # -- model -------------------------------------------------------------

    @property
    def node(self):
        return self._scene.flow.nodes[self.node_id]

    def refresh(self) -> None:
        """Re-read ports and title from the model (after a library reload or an edit)."""
        self.prepareGeometryChange()
        self.layout = layout_for(self._scene.flow, self.node_id)
        self._bounds = self._outline()
        self._title = None
        self._labels = {}
        self.update()

    def port_scene_pos(self, side: str, name: str) -> QPointF:
        return QPointF(*self.port_point(side, self.layout.slot(side, name)))

    def port_point(self, side: str, slot: PortSlot | None) -> tuple[float, float]:
        """Where a port of this node is in the scene, as (x, y)."""
        # A node item has no parent and no transform: its scene point is its position plus the port's.
        if slot is None:  # the wire's port vanished and the layout has not caught up
            x, y = (0.0 if side == INPUT else self.layout.width), TITLE_HEIGHT
        else:
            x, y = self.layout.port_pos(slot)
        pos = self.pos()
        return pos.x() + x, pos.y() + y

    def slot_at(self, scene_pos: QPointF) -> PortSlot | None:
        p = self.mapFromScene(scene_pos)
        return self.layout.slot_at(p.x(), p.y())

    # -- geometry ----------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return self._bounds  # asked for on every frame and index query: made once per layout

    def _outline(self) -> QRectF:
        w, h = self.layout.width, self.layout.height
        return QRectF(
            -PORT_RADIUS - 2,
            -BADGE_RADIUS - 2,
            w + 2 * PORT_RADIUS + 4 + BADGE_RADIUS,
            h + BADGE_RADIUS + 4 + STATUS_HEIGHT,
        )

    def set_status(self, status: NodeStatus | None) -> None:
        """Show the node's state in a run (None: no run shown)."""
        self.status = status
        if self.isUnderMouse() and self.hover_slot is None:
            self.setToolTip(self._node_tooltip())
        self.update()

    def tooltip_text(self) -> str:
        """What hovering the node's body shows: its doc, problems, run state and traceback."""
        return self._node_tooltip()

    def body_rect(self) -> QRectF:
        return QRectF(0, 0, self.layout.width, self.layout.height)

    # -- hover -------------------------------------------------------------

    def hoverMoveEvent(self, event) -> None:
        slot = self.layout.slot_at(event.pos().x(), event.pos().y())
        if slot is not self.hover_slot:
            self.hover_slot = slot
            self.setToolTip(port_tooltip(slot) if slot else self._node_tooltip())
            self.update()
        super().hoverMoveEvent(event)

    def hoverEnterEvent(self, event) -> None:
        self.setToolTip(self._node_tooltip())
        self._scene.set_hovered(self)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self._scene.set_hovered(None)
        if self.hover_slot is not None:
            self.hover_slot = None
            self.update()
        super().hoverLeaveEvent(event)

    def _node_tooltip(self) -> str:
        flow = self._scene.flow
        node = self.node
        spec = flow.spec(node)
        parts = [f"<b>{_escape(node.title)}</b> <span style='color:gray'>{_escape(node.spec_key)}</span>"]
        if spec is not None and spec.doc:
            parts.append(spec.doc.split("\n\n", 1)[0])
        if node.spec_key == PARAMETER_KEY:
            parts.append(_escape(self.parameter_summary()))
        parts += [f"<span style='color:#d93838'>⚠ {p}</span>" for p in self.problems]
        status = self.status
        if status is not None:
            colour = state_colour(status.state).name()
            parts.append(f"<span style='color:{colour}'>{_escape(status.text(time.time()))}</span>")
            if status.why_text():
                parts.append(_escape(status.why_text()))
            if status.traceback:
                shown = user_traceback(status.traceback).strip()[-4000:]
                parts.append(f"<pre>{_escape(shown)}</pre>")
        return "<br>".join(parts)

    # -- painting ----------------------------------------------------------

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        style = self._scene.style
        node = self.node
        is_param = self.is_param
        missing = not is_param and self._scene.flow.spec(node) is None
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = bool(option.state & _SELECTED)
        rect = self.body_rect()
        body = style.param_body if is_param else style.node_body
        head = style.broken if missing else (style.param_title if is_param else style.node_title)
        border = style.selection if selected else (style.broken if self.problems else style.node_border)
        status = self.status
        if status is not None and not selected and not self.problems:
            border = pens.state_colour(status.state, 110 if status.stale else 255)

        if lod < TEXT_MIN_ZOOM:
            # Far out: a block with its title colour is all the eye can use.
            painter.setPen(pens.pen(border, 3 if selected else 1))
            painter.setBrush(body)
            painter.drawRect(rect)
            painter.fillRect(QRectF(0, 0, rect.width(), TITLE_HEIGHT), head)
            return

        painter.setRenderHint(_ANTIALIAS, True)
        radius = 12.0 if is_param else 5.0
        width = 2.2 if selected or (status is not None and status.state != "pending") else 1.0
        painter.setPen(pens.pen(border, width, _DASH if status and status.stale else _SOLID))
        painter.setBrush(body)
        painter.drawRoundedRect(rect, radius, radius)
        # Title bar: rounded at the top only.
        painter.setPen(_NO_PEN)
        painter.setBrush(head)
        painter.drawRoundedRect(QRectF(0.5, 0.5, rect.width() - 1, TITLE_HEIGHT), radius, radius)
        painter.drawRect(QRectF(0.5, TITLE_HEIGHT / 2, rect.width() - 1, TITLE_HEIGHT / 2))

        painter.setFont(pens.font("title"))
        painter.setPen(style.node_title_text)
        painter.drawText(QRectF(9, 0, rect.width() - 18, TITLE_HEIGHT), _LEFT, self._elided_title(node))

        painter.setFont(pens.font("small"))
        if is_param:
            self._paint_parameter_summary(painter, style)
        elif missing:
            painter.setPen(style.broken)
            painter.setFont(pens.font("italic"))
            painter.drawText(
                QRectF(9, TITLE_HEIGHT, rect.width() - 18, ROW_HEIGHT), _LEFT, "type not available"
            )
            painter.setFont(pens.font("small"))

        names = lod >= PORT_NAMES_ZOOM - 1e-6
        for slot in self.layout.inputs + self.layout.outputs:
            self._paint_port(painter, style, slot, names)
        if self.problems:
            self._paint_badge(painter, style, rect)
        if status is not None:
            self._paint_status(painter, style, rect, status)

    def _elided_title(self, node) -> str:
        # Elided once per title and layout, not once per paint.
        title = ("◆ " if self.is_param else "") + node.title
        if self._title is None or self._title[0] != title:
            room = self.layout.width - 18
            self._title = (title, elide(pens.metrics("title"), title, room))
        return self._title[1]

    def _port_label(self, slot: PortSlot) -> str:
        label = self._labels.get((slot.side, slot.name))
        if label is None:
            half = self.layout.width / 2 - 14
            label = elide(pens.metrics("small"), slot.name + (" ✕" if slot.ghost else ""), half)
            self._labels[(slot.side, slot.name)] = label
        return label

    def parameter_summary(self) -> str:
        """A parameter's type and value: the last run's when it was not the default."""
        values = self.node.values
        summary = values.get("type", "any")
        used = self.status.used if self.status is not None else None
        if used is not None and ("default" not in values or used[0] != values["default"]):
            summary += f" = {used[0]!r}" + (
                f" (default {values['default']!r})" if "default" in values else ""
            )
        elif "default" in values:
            summary += f" = {values['default']!r}"
        else:
            summary += " (required)"
        return summary

    def _paint_parameter_summary(self, painter, style) -> None:
        painter.setPen(style.text_dim)
        width = self.layout.width - 18
        painter.drawText(
            QRectF(9, TITLE_HEIGHT, width, ROW_HEIGHT),
            _LEFT,
            elide(pens.metrics("small"), self.parameter_summary(), width),
        )

    def _paint_port(self, painter, style, slot: PortSlot, names: bool) -> None:
        x, y = self.layout.port_pos(slot)
        centre = QPointF(x, y)
        colour = style.broken if slot.ghost else type_colour(slot.type_name)
        fits = None if self.reach is None else self.reach.get((slot.side, slot.name), False)
        if fits is False:
            colour = pens.faded(colour, 60)
        text_colour = style.text if slot.wireable and fits is not False else style.text_dim
        if fits or slot is self.hover_slot:
            painter.setPen(_NO_PEN)
            painter.setBrush(pens.faded(style.highlight, 90))
            painter.drawEllipse(centre, PORT_RADIUS + 4, PORT_RADIUS + 4)
        if slot.wireable or slot.ghost:
            painter.setPen(pens.pen(style.broken if slot.ghost else style.node_body, 1.5))
            painter.setBrush(colour)
            painter.drawEllipse(centre, PORT_RADIUS, PORT_RADIUS)
        else:
            painter.setPen(pens.pen(colour, 1.5))
            painter.setBrush(_NO_BRUSH)
            painter.drawEllipse(centre, PORT_RADIUS - 1.5, PORT_RADIUS - 1.5)
        if not names:
            return
        painter.setPen(style.broken if slot.ghost else text_colour)
        half = self.layout.width / 2 - 14
        if slot.side == INPUT:
            painter.drawText(
                QRectF(x + 10, y - ROW_HEIGHT / 2, half, ROW_HEIGHT), _LEFT, self._port_label(slot)
            )
        else:
            painter.drawText(
                QRectF(x - 10 - half, y - ROW_HEIGHT / 2, half, ROW_HEIGHT),
                _RIGHT,
                self._port_label(slot),
            )

    def _paint_status(self, painter, style, rect: QRectF, status: NodeStatus) -> None:
        colour = pens.state_colour(status.state, 130 if status.stale else 255)
        if status.state in ("running", "retrying"):
            # A bar along the bottom edge: its share when the total is known, else a stripe.
            track = QRectF(4, rect.height() - 5, rect.width() - 8, 3)
            painter.setPen(_NO_PEN)
            painter.setBrush(pens.faded(colour, 50))
            painter.drawRoundedRect(track, 1.5, 1.5)
            fraction = status.fraction
            if fraction is not None:
                painter.setBrush(colour)
                painter.drawRoundedRect(
                    QRectF(track.x(), track.y(), track.width() * fraction, track.height()), 1.5, 1.5
                )
        painter.setFont(pens.font("small"))
        painter.setPen(colour if status.state != "pending" else style.text_dim)
        line = QRectF(2, rect.height() + 2, rect.width() + 40, STATUS_HEIGHT - 4)
        painter.drawText(line, _LEFT, elide(pens.metrics("small"), status.text(time.time()), line.width()))

    def _paint_badge(self, painter, style, rect: QRectF) -> None:
        centre = QPointF(rect.width() - 2, -1)
        painter.setPen(pens.pen(style.node_body, 1.5))
        painter.setBrush(style.broken)
        painter.drawEllipse(centre, BADGE_RADIUS, BADGE_RADIUS)
        painter.setPen(_WHITE)
        painter.setFont(pens.font("title"))
        painter.drawText(
            QRectF(centre.x() - BADGE_RADIUS, centre.y() - BADGE_RADIUS, 2 * BADGE_RADIUS, 2 * BADGE_RADIUS),
            _CENTRE,
            str(len(self.problems)) if len(self.problems) > 1 else "!",
        )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
