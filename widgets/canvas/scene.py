"""The canvas scene: follows a `Flow`'s events and turns gestures into editor calls.

The flow is the source of truth. The scene subscribes to it once
(`flow.observe`) and adds, removes, moves and repaints items as events come
in. Gestures (dragging nodes, drawing wires, deleting) never touch the model:
they call the `FlowEditor`, which pushes undoable commands, whose edits come
back here as events.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene, QGraphicsView, QToolTip

from plait.runtime.flow.model import (
    Edge,
    EdgeAdded,
    EdgeRemoved,
    FlowChanged,
    ManyEdits,
    NodeAdded,
    NodeChanged,
    NodeRemoved,
)
from plait.widgets.canvas.edge_item import EdgeItem, wire_path
from plait.widgets.canvas.editor import FlowEditor
from plait.widgets.canvas.far import FarPicture
from plait.widgets.canvas.frame_item import FrameItem
from plait.widgets.canvas.node_item import NodeItem
from plait.widgets.canvas.ports import INPUT, OUTPUT, WireReach, judge
from plait.widgets.canvas.routing import Obstacles, route, s_curve
from plait.widgets.canvas.status import STATUS_HEIGHT, RunStates
from plait.widgets.canvas.style import GRID, LIGHT, CanvasStyle

SCENE_MARGIN = 400.0
# Wires routed at once in one turn of the event loop (a drag moves a few); past that
# (opening a big flow, an auto-layout, an undo) they are drawn plain and routed in
# batches while the window stays responsive.
ROUTE_NOW = 64
ROUTE_BATCH_MS = 12.0
BSP_DEPTH = 8


def _fit_ends(
    points: list[tuple[float, float]], start: tuple[float, float], end: tuple[float, float]
) -> list[tuple[float, float]]:
    """A drawn route moved onto the ports: Graphviz ends wires mid-side, the ports are lower."""
    (sx, sy), (ex, ey) = points[0], points[-1]
    first = (points[1][0] + start[0] - sx, points[1][1] + start[1] - sy)
    last = (points[-2][0] + end[0] - ex, points[-2][1] + end[1] - ey)
    if len(points) == 4:
        return [start, first, last, end]
    return [start, first, *points[2:-2], last, end]


class FlowScene(RunStates, QGraphicsScene):
    """Items for one flow. `editor.flow` is the model it shows."""

    message = Signal(str)  # a refusal or hint for the status bar
    # (scene position, (node id, side, port) of a wire dropped on empty canvas, or None)
    search_requested = Signal(QPointF, object)
    frame_edit_requested = Signal(str)
    wire_selection_changed = Signal()
    hovered_changed = Signal(object, object)  # the node items the mouse left and entered
    node_menu_requested = Signal(str, QPoint)  # node id, screen position: the window builds the menu
    port_menu_requested = Signal(str, str, QPoint)  # node id, output port, screen position

    def __init__(self, editor: FlowEditor, style: CanvasStyle = LIGHT, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.style = style
        self.snap_to_grid = False
        # Far out, the view draws every node as a block in one batch and the
        # node items paint nothing (they still take clicks): see FlowView.
        self.far = False
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self.frames: dict[str, FrameItem] = {}
        self._node_edges: dict[str, set[EdgeItem]] = {}
        self.obstacles = Obstacles()  # node rectangles the wires go around
        # Routes Graphviz drew in the last auto-layout, kept until an end of the wire moves.
        self.layout_routes: dict[Edge, list[tuple[float, float]]] = {}
        self._unrouted: dict[EdgeItem, None] = {}  # drawn plain, to be routed (in order)
        # Wires of a big flow whose port types are checked right after the open, with the routing.
        self._unjudged: dict[EdgeItem, None] = {}
        self._judge_later = False
        self._held: dict[EdgeItem, None] | None = None  # wires to draw once many nodes have moved
        self._holding = 0  # how many `moving_many` (or steps of many edits) are under way
        self._routed_this_turn = 0
        self._route_timer = QTimer(self, singleShot=True, interval=0)
        self._route_timer.timeout.connect(self._route_batch)
        self._wire: QGraphicsPathItem | None = None
        self._reach: WireReach | None = None
        self._drag_start: dict[QGraphicsItem, QPointF] | None = None
        self._drag_seen: dict[QGraphicsItem, QPointF] = {}  # where each dragged node's wires were drawn
        self._carry: dict[FrameItem, list[NodeItem]] = {}
        self.hovered: NodeItem | None = None
        self._rect_set = False
        self.far_picture = FarPicture(self)
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        self.setBackgroundBrush(style.background)
        self._build()
        self._unsubscribe = self.flow.observe(self._on_event)

    @property
    def flow(self):
        return self.editor.flow

    def detach(self) -> None:
        """Stop following the flow (before the scene is thrown away)."""
        self._unsubscribe()
        self._route_timer.stop()
        self._unrouted.clear()
        self._unjudged.clear()

    # -- building ----------------------------------------------------------

    def _build(self) -> None:
        # Items are positioned before they join the scene, so the index is
        # built once and no per-item move notifications fire.
        for node_id in self.flow.nodes:
            item = NodeItem(self, node_id)
            self.nodes[node_id] = item
            self._node_edges[node_id] = set()
            self.addItem(item)
            self._place_obstacle(item)
        # A big flow opens with plain wires, routed around nodes and checked against their
        # ports' types in batches right after.
        big = len(self.flow.edges) > ROUTE_NOW
        self._routed_this_turn = ROUTE_NOW if big else 0
        self._judge_later = big
        for edge in self.flow.edges:
            self._add_edge(edge)
        self._judge_later = False
        self._sync_frames()
        self.fit_scene_rect()
        # Qt would pick a depth from the item count (14 for 5,000 nodes and their wires); long
        # wires then sit in hundreds of leaves, and building the index and drawing a whole flow
        # cost a third more for nothing: a node is found as fast with this depth.
        self.setBspTreeDepth(BSP_DEPTH)

    def content_rect(self) -> QRectF:
        """What the nodes and frames cover (the wires run between them), or an empty rect.

        Added up from their positions and sizes: asking a thousand items for their
        bounding rectangles goes through Python once per item.
        """
        rects = [(i.x(), i.y(), i.layout.width, i.layout.height + STATUS_HEIGHT) for i in self.nodes.values()]
        rects += [(f.x(), f.y(), *f.size) for f in self.frames.values()]
        if not rects:
            return QRectF()
        left = min(r[0] for r in rects)
        top = min(r[1] for r in rects)
        right = max(r[0] + r[2] for r in rects)
        bottom = max(r[1] + r[3] for r in rects)
        return QRectF(left, top, right - left, bottom - top)

    def fit_scene_rect(self) -> None:
        """Grow the scene rectangle to hold every node and frame with room around it."""
        content = self.content_rect()
        rect = content.adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN)
        # Until a rectangle is set, sceneRect() would measure every item to make one up.
        if self._rect_set and not content.isNull():
            rect = rect.united(self.sceneRect())
        self._rect_set = True
        self.setSceneRect(rect)

    def _add_edge(self, edge: Edge) -> None:
        item = EdgeItem(edge, self.style)
        self.edges[edge] = item
        self._node_edges[edge.source].add(item)
        self._node_edges[edge.target].add(item)
        self._path_edge(item, judge=True)
        self.addItem(item)

    def _place_obstacle(self, item: NodeItem) -> None:
        x, y = item.x(), item.y()
        self.obstacles.set(item.node_id, (x, y, x + item.layout.width, y + item.layout.height))

    def set_layout_routes(self, routes: dict[Edge, list[tuple[float, float]]]) -> None:
        """Draw these wires along the given control points (Graphviz's, after an auto-layout)."""
        self.layout_routes = {e: r for e, r in routes.items() if e in self.edges}
        for edge in self.layout_routes:
            self._redraw_wire(self.edges[edge])

    @contextlib.contextmanager
    def moving_many(self) -> Iterator[None]:
        """Move many nodes (and set routes) at once: each wire they touch is drawn once, at the end.

        A wire follows each of its ends as it moves; moving thousands of nodes
        together would draw most wires two or three times over.
        """
        self._hold()
        try:
            yield
        finally:
            self._let_go()

    def _hold(self) -> None:
        self._holding += 1
        if self._held is None:
            self._held = {}

    def _let_go(self) -> None:
        self._holding -= 1
        if self._holding > 0 or self._held is None:
            return
        held, self._held = self._held, None
        for edge_item in held:
            if self.edges.get(edge_item.edge) is edge_item:
                self._path_edge(edge_item)

    def _redraw_wire(self, edge_item: EdgeItem) -> None:
        if self._held is None:
            self._path_edge(edge_item)
        else:
            self._held[edge_item] = None

    def _path_edge(self, item: EdgeItem, judge: bool = False) -> None:
        edge = item.edge
        src, dst = self.nodes[edge.source], self.nodes[edge.target]
        out_slot = src.layout.slot(OUTPUT, edge.source_port)
        in_slot = dst.layout.slot(INPUT, edge.target_port)
        ends = src.port_point(OUTPUT, out_slot), dst.port_point(INPUT, in_slot)
        drawn = self.layout_routes.get(edge)
        if drawn is not None:
            self._unrouted.pop(item, None)
            item.set_points(_fit_ends(drawn, *ends))
        elif self._routed_this_turn < ROUTE_NOW:
            if not self._routed_this_turn:
                self._route_timer.start()  # the next turn starts counting afresh
            self._routed_this_turn += 1
            self._unrouted.pop(item, None)
            item.set_points(route(*ends, self.obstacles, (edge.source, edge.target)))
        else:
            item.set_points(s_curve(*ends))
            self._unrouted[item] = None
            self._route_timer.start()
        broken = out_slot is None or out_slot.ghost or in_slot is None or in_slot.ghost
        # Types only change with the ports, so moving a node does not ask again.
        if judge and self._judge_later:
            self._unjudged[item] = None
            self._route_timer.start()
        elif judge:
            self._unjudged.pop(item, None)
            self._judge(item, broken)
            return
        if broken != item.broken:
            item.broken = broken
            item.restyle(self.style)

    def _judge(self, item: EdgeItem, broken: bool) -> None:
        """Ask the model whether the wire's port types fit, and draw it so."""
        fit = self.flow.wire_fit(item.edge)
        doubt, never = (fit.reason if fit.doubtful or not fit.allowed else ""), not fit.allowed
        if (broken, doubt, never) != (item.broken, item.doubt, item.never):
            item.broken, item.doubt, item.never = broken, doubt, never
            item.restyle(self.style)

    def _route_batch(self) -> None:
        self._routed_this_turn = 0
        if self._unrouted or self._unjudged:
            if self.route_pending(budget_ms=ROUTE_BATCH_MS):
                self._route_timer.start()

    def route_pending(self, budget_ms: float | None = None) -> int:
        """Check and route the wires drawn plain so far (for about `budget_ms`, or all).

        Returns how many are left.
        """
        started = time.perf_counter()
        while self._unjudged:
            item = next(iter(self._unjudged))
            del self._unjudged[item]
            if self.edges.get(item.edge) is item:
                self._judge(item, item.broken)
            if budget_ms is not None and (time.perf_counter() - started) * 1000 > budget_ms:
                return len(self._unrouted) + len(self._unjudged)
        while self._unrouted:
            item = next(iter(self._unrouted))
            del self._unrouted[item]
            if item.edge not in self.edges or self.edges[item.edge] is not item:
                continue
            edge = item.edge
            start = self.nodes[edge.source].port_scene_pos(OUTPUT, edge.source_port)
            end = self.nodes[edge.target].port_scene_pos(INPUT, edge.target_port)
            item.set_points(
                route((start.x(), start.y()), (end.x(), end.y()), self.obstacles, (edge.source, edge.target))
            )
            if budget_ms is not None and (time.perf_counter() - started) * 1000 > budget_ms:
                break
        return len(self._unrouted) + len(self._unjudged)

    def _sync_frames(self) -> None:
        wanted = {f["id"]: f for f in self.flow.extras.get("frames", [])}
        for frame_id in list(self.frames):
            if frame_id not in wanted:
                self.removeItem(self.frames.pop(frame_id))
        for frame_id, data in wanted.items():
            item = self.frames.get(frame_id)
            if item is not None and item.data == data:
                continue
            if item is not None:
                self.removeItem(item)
            self.frames[frame_id] = item = FrameItem(self, data)
            self.addItem(item)

    # -- following the model ----------------------------------------------

    def _on_event(self, event: object) -> None:
        if isinstance(event, NodeAdded):
            item = NodeItem(self, event.node.id)
            self.nodes[event.node.id] = item
            self._node_edges[event.node.id] = set()
            self.addItem(item)
            self._place_obstacle(item)
            self.far_picture.invalidate()
            self.fit_scene_rect()
        elif isinstance(event, NodeRemoved):
            item = self.nodes.pop(event.node.id)
            self._node_edges.pop(event.node.id, None)
            self.obstacles.remove(event.node.id)
            self.far_picture.invalidate()
            self.removeItem(item)
        elif isinstance(event, EdgeAdded):
            self._add_edge(event.edge)
            self._refresh_ends(event.edge)
        elif isinstance(event, EdgeRemoved):
            item = self.edges.pop(event.edge)
            self.layout_routes.pop(event.edge, None)
            self._node_edges[event.edge.source].discard(item)
            self._node_edges[event.edge.target].discard(item)
            self.removeItem(item)
            self._refresh_ends(event.edge)
        elif isinstance(event, NodeChanged):
            item = self.nodes.get(event.node_id)
            if item is None:
                return
            if event.what == "position":
                if (item.x(), item.y()) != tuple(event.new):
                    item.setPos(*event.new)
                    self.node_item_moved(item)
            else:
                item.refresh()
                self.far_picture.invalidate()
                # A parameter's type changes its output, mapping over an input its type.
                if event.what in ("value", "option"):
                    self._repath(event.node_id)
        elif isinstance(event, FlowChanged) and event.what == "extras":
            self._sync_frames()
        elif isinstance(event, ManyEdits):  # a step of many edits (an undone layout): wires once
            if event.begun:
                self._hold()
            else:
                self._let_go()

    def _refresh_ends(self, edge: Edge) -> None:
        # A wire to a vanished port adds or drops a ghost port on its nodes.
        for node_id in (edge.source, edge.target):
            item = self.nodes.get(node_id)
            if item is not None:
                item.refresh()
                self._repath(node_id)

    def _repath(self, node_id: str) -> None:
        self.far_picture.invalidate()  # its size may have changed with its ports
        item = self.nodes.get(node_id)
        if item is not None:
            self._place_obstacle(item)  # its size may have changed with its ports
        for edge_item in self._node_edges.get(node_id, ()):
            self._path_edge(edge_item, judge=True)

    def refresh_ports(self) -> None:
        """Re-read every node's ports (the libraries were reloaded)."""
        self.far_picture.invalidate()
        for item in self.nodes.values():
            item.refresh()
            self._place_obstacle(item)
        for edge_item in self.edges.values():
            self._path_edge(edge_item, judge=True)

    def set_problems(self, problems: list) -> None:
        """Show validation problems as badges on their nodes."""
        by_node: dict[str, list[str]] = {}
        for problem in problems:
            if problem.node_id:
                by_node.setdefault(problem.node_id, []).append(problem.message)
        for node_id, item in self.nodes.items():
            mine = by_node.get(node_id, [])
            if mine != item.problems:
                item.problems = mine
                item.setToolTip("")
                item.hover_slot = None
                item.update()

    def helpEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # A wire's tooltip is written when it is asked for (see EdgeItem.toolTip).
        widget = event.widget()
        view = widget.parentWidget() if widget is not None else None
        transform = view.transform() if isinstance(view, QGraphicsView) else QTransform()
        for item in self.items(event.scenePos(), Qt.IntersectsItemShape, Qt.DescendingOrder, transform):
            if isinstance(item, EdgeItem):
                QToolTip.showText(event.screenPos(), item.toolTip(), widget)
                event.accept()
                return
            if item.toolTip():
                break
        super().helpEvent(event)

    def set_hovered(self, item: NodeItem | None) -> None:
        if item is not self.hovered:
            old, self.hovered = self.hovered, item
            self.hovered_changed.emit(old, item)

    def set_far(self, far: bool) -> None:
        if far == self.far:
            return
        self.far = far
        for item in self.nodes.values():
            item.setFlag(QGraphicsItem.ItemHasNoContents, far)

    def set_style(self, style: CanvasStyle) -> None:
        self.style = style
        self.setBackgroundBrush(style.background)
        for edge_item in self.edges.values():
            edge_item.restyle(style)
        for item in list(self.nodes.values()) + list(self.frames.values()):
            item.update()

    # -- item callbacks ----------------------------------------------------

    def node_item_moved(self, item: NodeItem) -> None:
        # Only the wires touching the moved node are routed again: cheap while dragging.
        self._place_obstacle(item)
        self.far_picture.invalidate()
        for edge_item in self._node_edges.get(item.node_id, ()):
            self.layout_routes.pop(edge_item.edge, None)
            self._redraw_wire(edge_item)

    def frame_item_moved(self, frame: FrameItem) -> None:
        carried = self._carry.get(frame)
        if not carried:
            return
        delta = frame.pos() - frame.last_pos
        frame.last_pos = frame.pos()
        for node in carried:
            node.moveBy(delta.x(), delta.y())
            self.node_item_moved(node)

    # -- selection ---------------------------------------------------------

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_frame_ids(self) -> list[str]:
        return [i.frame_id for i in self.selectedItems() if isinstance(i, FrameItem)]

    def selected_edges(self) -> list[Edge]:
        return [e for e, item in self.edges.items() if item.chosen]

    def select_nodes(self, node_ids) -> None:
        self.clearSelection()
        for node_id in node_ids:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)

    def _choose_wire(self, item: EdgeItem | None, add: bool) -> None:
        changed = False
        for other in self.edges.values():
            want = (other is item and not (add and other.chosen)) or (
                add and other.chosen and other is not item
            )
            if other.chosen != want:
                other.chosen = want
                other.restyle(self.style)
                changed = True
        if changed:
            self.wire_selection_changed.emit()

    def nodes_in(self, rect: QRectF) -> list[NodeItem]:
        return [i for i in self.items(rect, Qt.ContainsItemBoundingRect) if isinstance(i, NodeItem)]

    # -- gestures ----------------------------------------------------------

    def _item_at(self, pos: QPointF) -> QGraphicsItem | None:
        return self.itemAt(pos, QTransform())

    def mousePressEvent(self, event) -> None:
        pos = event.scenePos()
        item = self._item_at(pos)
        if event.button() == Qt.LeftButton and isinstance(item, NodeItem) and not self.editor.read_only:
            slot = item.slot_at(pos)
            if slot is not None and slot.wireable:
                self._start_wire(item, slot)
                event.accept()
                return
        if event.button() == Qt.LeftButton:
            ctrl = bool(event.modifiers() & Qt.ControlModifier)
            if isinstance(item, EdgeItem):
                if not ctrl:
                    self.clearSelection()
                self._choose_wire(item, ctrl)
                event.accept()
                return
            if not ctrl:
                self._choose_wire(None, False)
        super().mousePressEvent(event)
        if (
            event.button() == Qt.LeftButton
            and isinstance(item, (NodeItem, FrameItem))
            and not self.editor.read_only
        ):
            self._remember_drag()

    def mouseMoveEvent(self, event) -> None:
        if self._wire is not None:
            self._drag_wire(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)
        if self._drag_start:
            self._follow_drag()

    def _follow_drag(self) -> None:
        """Snap the nodes Qt just dragged to the grid, and move their wires."""
        carried = {n for nodes in self._carry.values() for n in nodes}  # moved by their frame
        for item in self._drag_start:
            if not isinstance(item, NodeItem) or item in carried:
                continue
            pos = item.pos()
            if self.snap_to_grid:
                snapped = QPointF(round(pos.x() / GRID) * GRID, round(pos.y() / GRID) * GRID)
                if snapped != pos:
                    item.setPos(snapped)
                    pos = snapped
            if self._drag_seen.get(item) != pos:
                self._drag_seen[item] = pos
                self.node_item_moved(item)

    def mouseReleaseEvent(self, event) -> None:
        if self._wire is not None:
            self._finish_wire(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._commit_drag()

    def _remember_drag(self) -> None:
        selected = [i for i in self.selectedItems() if isinstance(i, (NodeItem, FrameItem))]
        self._carry = {}
        start = {i: i.pos() for i in selected}
        for frame in (i for i in selected if isinstance(i, FrameItem)):
            rect = frame.sceneBoundingRect()
            frame.last_pos = frame.pos()
            self._carry[frame] = [n for n in self.nodes_in(rect) if not n.isSelected()]
            start.update({n: n.pos() for n in self._carry[frame]})
        self._drag_start = start
        self._drag_seen = dict(start)

    def _commit_drag(self) -> None:
        start, self._drag_start, self._carry = self._drag_start, None, {}
        if not start:
            return
        moves: dict[str, tuple[float, float]] = {}
        frames: dict[str, list[float]] = {}
        for item, was in start.items():
            if item.pos() == was:
                continue
            if isinstance(item, NodeItem):
                moves[item.node_id] = (item.x(), item.y())
            else:
                frames[item.frame_id] = item.rect_list()
        if moves or frames:
            self.editor.move_nodes(moves, frames)

    # -- wiring ------------------------------------------------------------

    def _start_wire(self, item: NodeItem, slot) -> None:
        self._reach = WireReach(self.flow, item.node_id, slot)
        self._wire_anchor = item.port_scene_pos(slot.side, slot.name)
        self._wire = QGraphicsPathItem()
        pen = QPen(self.style.highlight, 2.0, Qt.DashLine)
        self._wire.setPen(pen)
        self._wire.setZValue(5.0)
        self.addItem(self._wire)
        for node_item in self.nodes.values():
            node_item.reach = {
                (s.side, s.name): self._reach.fits(node_item.node_id, s)
                for s in node_item.layout.inputs + node_item.layout.outputs
            }
            node_item.update()
        self._drag_wire(self._wire_anchor)

    def _drag_wire(self, pos: QPointF) -> None:
        if self._reach.slot.side == OUTPUT:
            self._wire.setPath(wire_path(self._wire_anchor, pos))
        else:
            self._wire.setPath(wire_path(pos, self._wire_anchor))

    def _end_wire(self) -> None:
        self.removeItem(self._wire)
        self._wire = None
        for node_item in self.nodes.values():
            node_item.reach = None
            node_item.update()

    def _finish_wire(self, pos: QPointF) -> None:
        reach = self._reach
        anchor = self._wire_anchor
        self._end_wire()
        target = next((i for i in self.items(pos) if isinstance(i, NodeItem)), None)
        if target is None:
            if (pos - anchor).manhattanLength() > 12:
                self.search_requested.emit(pos, (reach.node_id, reach.slot.side, reach.slot.name))
            return
        if target.node_id == reach.node_id and target.slot_at(pos) is reach.slot:
            return  # a click on a port, not a drag
        slot = target.slot_at(pos)
        if slot is None:
            # Dropped on a node's body: take its first port that fits.
            candidates = target.layout.inputs if reach.slot.side == OUTPUT else target.layout.outputs
            slot = next((s for s in candidates if reach.fits(target.node_id, s)), None)
            if slot is None:
                self.message.emit(f"'{target.node.title}' has no port that fits '{reach.slot.name}'")
                return
        if slot.side == reach.slot.side:
            self.message.emit("a wire goes from an output (right side) to an input (left side)")
            return
        edge = reach.edge_to(target.node_id, slot.name)
        fit = judge(self.flow, edge)
        if not fit.allowed:
            self.message.emit(f"Not connected: {fit.reason}")
            return
        why = self.editor.connect(edge)
        if why:
            self.message.emit(f"Not connected: {why}")
        elif fit.doubtful:
            self.message.emit(f"Connected {edge}, with a warning: {fit.reason}")
        else:
            self.message.emit(f"Connected {edge}")
