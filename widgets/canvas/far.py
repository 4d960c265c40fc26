"""How a flow looks far out: every node a plain block, drawn by the view in one batch.

Below `TEXT_MIN_ZOOM` a node is a few pixels wide: its text and ports cannot be
read, and asking a thousand items to paint themselves costs more than the
drawing. The node items then paint nothing (they still take clicks and
drags) and the view draws this picture over the wires: the blocks' rectangles
are kept from one frame to the next and made again only when a node is
added, removed, moved or resized; the borders that show a node's run state,
problems or selection are sorted out per frame from those rectangles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter

from plait.widgets.canvas import pens
from plait.widgets.canvas.style import TITLE_HEIGHT

if TYPE_CHECKING:
    from plait.widgets.canvas.scene import FlowScene


class FarPicture:
    """The blocks of one scene's nodes, kept between frames."""

    def __init__(self, scene: FlowScene) -> None:
        self.scene = scene
        self.bodies: dict[str, QRectF] = {}
        self.heads: list[QRectF] = []
        self.param_heads: list[QRectF] = []
        self.builds = 0  # how often the rectangles were made (tests read it)
        self._stale = True

    def invalidate(self) -> None:
        """A node was added, removed, moved or resized: make the rectangles again when next drawn."""
        self._stale = True

    def _build(self) -> None:
        self.bodies, self.heads, self.param_heads = {}, [], []
        for node_id, item in self.scene.nodes.items():
            pos = item.pos()
            x, y, w = pos.x(), pos.y(), item.layout.width
            self.bodies[node_id] = QRectF(x, y, w, item.layout.height)
            (self.param_heads if item.is_param else self.heads).append(QRectF(x, y, w, TITLE_HEIGHT))
        self._stale = False
        self.builds += 1

    def draw(self, painter: QPainter) -> None:
        if self._stale:
            self._build()
        scene, style, bodies = self.scene, self.scene.style, self.bodies
        chosen = [bodies[i.node_id] for i in scene.selectedItems() if getattr(i, "node_id", None) in bodies]
        marked, by_state = [], {}
        for node_id, item in scene.nodes.items():
            if item.problems:
                marked.append(bodies[node_id])
            elif item.status is not None:
                by_state.setdefault(item.status.state, []).append(bodies[node_id])
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(pens.pen(style.node_border, 0))
        painter.setBrush(style.node_body)
        painter.drawRects(list(bodies.values()))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.node_title)
        painter.drawRects(self.heads)
        painter.setBrush(style.param_title)
        painter.drawRects(self.param_heads)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        borders = [(rects, pens.state_colour(state)) for state, rects in by_state.items()]
        for rects, colour in borders + [(marked, style.broken), (chosen, style.selection)]:
            if rects:
                painter.setPen(pens.pen(colour, 3, cosmetic=True))  # three screen pixels
                painter.drawRects(rects)
