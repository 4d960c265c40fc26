"""Where a node's ports are, and which ports a wire being dragged may reach.

Ports are not graphics items: a node item lays them out in rows and paints
them itself, which keeps a 1,000-node flow at one item per node. A port that a
saved wire still names but the node type no longer has is kept as a "ghost"
port, so the wire can be drawn (as broken) instead of silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plait.runtime.flow import graph
from plait.runtime.flow.model import Edge, Flow, Node
from plait.runtime.nodes.port_types import IMPOSSIBLE, Fit, type_name
from plait.runtime.nodes.spec import REQUIRED, Port
from plait.widgets.canvas.style import (
    NODE_WIDTH,
    PARAM_WIDTH,
    PORT_RADIUS,
    ROW_HEIGHT,
    TITLE_HEIGHT,
)

INPUT = "in"
OUTPUT = "out"


@dataclass(frozen=True)
class PortSlot:
    """A port as drawn: which side, its row, and the model's Port (None for a ghost)."""

    side: str
    name: str
    row: int
    port: Port | None

    @property
    def ghost(self) -> bool:
        return self.port is None

    @property
    def type_name(self) -> str:
        return self.port.type_name if self.port is not None else "?"

    @property
    def wireable(self) -> bool:
        return self.port is not None and self.port.wireable


def port_tooltip(slot: PortSlot) -> str:
    """Type, description and default of a port, as a tooltip."""
    if slot.port is None:
        return f"<b>{slot.name}</b><br>This port no longer exists on the node type; remove its wire."
    port = slot.port
    lines = [f"<b>{port.name}</b> : {_escape(port.type_name)}"]
    if port.description:
        lines.append(_escape(port.description))
    if slot.side == INPUT:
        if not port.wireable:
            lines.append("<i>collects extra arguments; cannot take a wire</i>")
        elif port.default is REQUIRED:
            lines.append("<i>required</i>")
        else:
            lines.append(f"default: {_escape(repr(port.default))}")
    return "<br>".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class NodeLayout:
    """The port slots of one node and the node's size."""

    inputs: list[PortSlot]
    outputs: list[PortSlot]
    width: float
    height: float
    extra_rows: int = 0  # rows a parameter node uses for its summary line

    def slot(self, side: str, name: str) -> PortSlot | None:
        for slot in self.inputs if side == INPUT else self.outputs:
            if slot.name == name:
                return slot
        return None

    def port_y(self, slot: PortSlot) -> float:
        return TITLE_HEIGHT + (slot.row + self.extra_rows + 0.5) * ROW_HEIGHT

    def port_pos(self, slot: PortSlot) -> tuple[float, float]:
        """The port's centre in node coordinates."""
        return (0.0 if slot.side == INPUT else self.width, self.port_y(slot))

    def slot_at(self, x: float, y: float, reach: float = PORT_RADIUS + 5) -> PortSlot | None:
        """The port under a point in node coordinates, generous enough to hit with a mouse."""
        for slot in self.inputs + self.outputs:
            px, py = self.port_pos(slot)
            # A port is hit anywhere on its row near the edge, not only on its dot.
            inward = 3 * reach
            if abs(y - py) <= ROW_HEIGHT / 2 and (
                (slot.side == INPUT and -reach <= x - px <= inward)
                or (slot.side == OUTPUT and -inward <= x - px <= reach)
            ):
                return slot
        return None


def layout_for(flow: Flow, node_id: str) -> NodeLayout:
    """Lay out a node's ports from its type, plus ghosts for wires to vanished ports."""
    node = flow.nodes[node_id]
    inputs = [PortSlot(INPUT, p.name, i, p) for i, p in enumerate(flow.inputs(node))]
    outputs = [PortSlot(OUTPUT, p.name, i, p) for i, p in enumerate(flow.outputs(node))]
    known_in = {s.name for s in inputs}
    known_out = {s.name for s in outputs}
    for edge in flow.edges_into(node_id):
        if edge.target_port not in known_in:
            known_in.add(edge.target_port)
            inputs.append(PortSlot(INPUT, edge.target_port, len(inputs), None))
    for edge in flow.edges_out_of(node_id):
        if edge.source_port not in known_out:
            known_out.add(edge.source_port)
            outputs.append(PortSlot(OUTPUT, edge.source_port, len(outputs), None))
    width, height = _size(node, len(inputs), len(outputs))
    return NodeLayout(inputs, outputs, width, height, 1 if node.is_parameter else 0)


def node_size(flow: Flow, node: Node) -> tuple[float, float]:
    """How big a node will be drawn, before it is in the flow."""
    return _size(node, len(flow.inputs(node)), len(flow.outputs(node)))


def _size(node: Node, inputs: int, outputs: int) -> tuple[float, float]:
    rows = max(inputs, outputs, 1) + (1 if node.is_parameter else 0)
    width = PARAM_WIDTH if node.is_parameter else NODE_WIDTH
    return width, TITLE_HEIGHT + rows * ROW_HEIGHT + 6


class WireReach:
    """Which ports a wire dragged from one port may end on (types and cycles).

    Computed once when the drag starts: the nodes that would close a cycle are
    the ancestors of the source (or descendants of the target), found by one walk.
    """

    def __init__(self, flow: Flow, node_id: str, slot: PortSlot) -> None:
        self.flow = flow
        self.node_id = node_id
        self.slot = slot
        self.annotation: Any = slot.port.annotation if slot.port is not None else Any
        upstream = slot.side == OUTPUT
        self.forbidden = _walk(flow, node_id, upstream)

    def fits(self, node_id: str, slot: PortSlot) -> bool:
        """Whether a drop there would be accepted (by the model's own type rule)."""
        if slot.side == self.slot.side or not slot.wireable or not self.slot.wireable:
            return False
        if node_id in self.forbidden:
            return False
        return self.flow.wire_fit(self.edge_to(node_id, slot.name)).allowed

    def edge_to(self, node_id: str, slot_name: str) -> Edge:
        """The edge a drop on (node, port) would make, oriented output -> input."""
        if self.slot.side == OUTPUT:
            return Edge(self.node_id, self.slot.name, node_id, slot_name)
        return Edge(node_id, slot_name, self.node_id, self.slot.name)


def _walk(flow: Flow, start: str, upstream: bool) -> set[str]:
    """The node and everything up (or down) the wires from it."""
    if start not in flow.wiring:
        return {start}
    return {start} | (graph.upstream_of if upstream else graph.downstream_of)(flow.wiring, start)


def judge(flow: Flow, edge: Edge) -> Fit:
    """The model's verdict on a dropped wire; a drop on a taken input replaces its wire."""
    existing = flow.edge_into(edge.target, edge.target_port)
    if existing == edge:
        return Fit(IMPOSSIBLE, f"that wire already exists ({edge})")
    if existing is not None:
        # Replacing is allowed: ask the model about the flow without the old wire.
        trial = flow.copy()
        trial.disconnect(existing)
        flow = trial
    return flow.judge_wire(edge)


def describe_type(annotation: Any) -> str:
    return type_name(annotation)
