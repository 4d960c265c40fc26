"""Wires: one bezier path item per edge, re-pathed when either end moves.

The route itself (around nodes, or Graphviz's from the auto-layout) comes from routing.py.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from plait.runtime.flow.model import Edge
from plait.widgets.canvas import pens
from plait.widgets.canvas.style import CanvasStyle

EDGE_TYPE = QGraphicsItem.UserType + 2


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A left-to-right S curve from an output at `start` to an input at `end`."""
    path = QPainterPath(start)
    dx = max(40.0, abs(end.x() - start.x()) * 0.5)
    path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
    return path


def points_path(points: list[tuple[float, float]]) -> QPainterPath:
    """A chain of cubic segments from its control points (3n + 1 of them)."""
    path = QPainterPath()
    path.moveTo(*points[0])
    y = points[0][1]
    for i in range(1, len(points) - 2, 3):
        (ax, ay), (bx, by), (cx, cy) = points[i : i + 3]
        if ay == by == cy == y:
            path.lineTo(cx, cy)  # a lane: a line is cheaper to stroke than a flat curve
        else:
            path.cubicTo(ax, ay, bx, by, cx, cy)
        y = cy
    return path


_PENS: dict[str, tuple[CanvasStyle, dict[str, QPen]]] = {}  # theme name -> (its style, its pens)


def _wire_pens(style: CanvasStyle) -> dict[str, QPen]:
    return {
        "chosen": pens.pen(style.wire_selected, 3.0, Qt.SolidLine, Qt.RoundCap),
        "broken": pens.pen(style.broken, 2.0, Qt.DashLine, Qt.RoundCap),
        "doubt": pens.pen(style.warning, 2.0, Qt.DashDotLine, Qt.RoundCap),
        "plain": pens.pen(style.wire, 2.0, Qt.SolidLine, Qt.RoundCap),
    }


class EdgeItem(QGraphicsPathItem):
    """The picture of one `Edge`.

    Not Qt-selectable: Qt would draw a dashed box around a selected path; the
    scene keeps wire selection itself and shows it with the pen instead. Its
    tooltip is written when asked for (FlowScene.helpEvent), not for every wire
    of a flow as it opens.
    """

    def __init__(self, edge: Edge, style: CanvasStyle) -> None:
        super().__init__()
        self.edge = edge
        self.broken = False
        self.doubt = ""  # why its types may disagree when it runs (the model's wire_fit)
        self.never = False  # its types can never match (a saved flow from before a change)
        self.chosen = False  # selected by the user
        self.points: list[tuple[float, float]] = []  # its route's control points
        self.setZValue(-1.0)  # under the nodes, which stay at 0
        self.setAcceptHoverEvents(False)
        self.restyle(style)

    def type(self) -> int:  # noqa: A003 - Qt's name
        return EDGE_TYPE

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        self.setPath(wire_path(start, end))

    def set_points(self, points: list[tuple[float, float]]) -> None:
        self.points = points
        self.setPath(points_path(points))

    def restyle(self, style: CanvasStyle) -> None:
        self.setPen(self.pen_for(style))

    def pen_for(self, style: CanvasStyle) -> QPen:
        """Its pen: chosen, broken, doubtful or plain (one shared pen each per theme)."""
        pens_of = _PENS.get(style.name)
        if pens_of is None or pens_of[0] is not style:
            pens_of = _PENS[style.name] = (style, _wire_pens(style))
        if self.chosen:
            return pens_of[1]["chosen"]
        if self.broken or self.never:
            return pens_of[1]["broken"]
        return pens_of[1]["doubt" if self.doubt else "plain"]

    def toolTip(self) -> str:  # noqa: N802 - Qt's name
        if self.broken:
            return f"{self.edge}\nThis wire's port no longer exists; select it and press Del to remove it."
        if self.doubt:
            return f"{self.edge}\n⚠ {self.doubt}"
        return str(self.edge)
