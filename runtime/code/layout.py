"""Placing a traced flow's nodes: left to right by their wires, with Graphviz `dot`.

The sizes are estimates of how the canvas draws nodes (a title row, a row per
port); a flow saved before keeps the positions its nodes had there, so moving
nodes in the window survives the script running again.
"""

from __future__ import annotations

from plait.runtime.flow.model import Flow

POINTS_PER_INCH = 72.0
NODE_WIDTH, PARAMETER_WIDTH = 184.0, 150.0
TITLE_HEIGHT, ROW_HEIGHT = 26.0, 20.0


def _size(flow: Flow, node_id: str) -> tuple[float, float]:
    node = flow.nodes[node_id]
    rows = max(len(flow.inputs(node)), len(flow.outputs(node)), 1) + (1 if node.is_parameter else 0)
    width = PARAMETER_WIDTH if node.is_parameter else NODE_WIDTH
    return width, TITLE_HEIGHT + rows * ROW_HEIGHT + 6


def lay_out(flow: Flow, keep: Flow | None = None) -> None:
    """Give every node a position; nodes `keep` has (same id and type) keep theirs."""
    import pygraphviz

    graph = pygraphviz.AGraph(directed=True, strict=False)
    graph.graph_attr.update(rankdir="LR", nodesep="0.35", ranksep="0.7")
    graph.node_attr.update(shape="box", fixedsize="true")
    sizes = {node_id: _size(flow, node_id) for node_id in flow.nodes}
    for node_id in sorted(flow.nodes):
        width, height = sizes[node_id]
        graph.add_node(node_id, width=width / POINTS_PER_INCH, height=height / POINTS_PER_INCH)
    for edge in flow.edges:
        graph.add_edge(edge.source, edge.target)
    graph.layout(prog="dot")
    for node_id, node in flow.nodes.items():
        old = keep.nodes.get(node_id) if keep is not None else None
        if old is not None and old.spec_key == node.spec_key:
            node.position = old.position
            continue
        x, y = (float(v) for v in graph.get_node(node_id).attr["pos"].split(","))
        width, height = sizes[node_id]
        # Graphviz gives centres with y upwards; the canvas wants top-left corners, y downwards.
        node.position = (round(x - width / 2, 1), round(-y - height / 2, 1))
