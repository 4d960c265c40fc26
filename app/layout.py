"""Auto-layout: place a flow left to right with Graphviz `dot`."""

from __future__ import annotations

import pygraphviz

from plait.runtime.flow.model import Flow

POINTS_PER_INCH = 72.0


def dot_positions(flow: Flow, sizes: dict[str, tuple[float, float]]
                  ) -> dict[str, tuple[float, float]]:
    """Top-left positions for every node, ranked left to right by their wires.

    `sizes` gives each node's (width, height) in scene units, so dot leaves
    room for tall nodes instead of overlapping them.
    """
    graph = pygraphviz.AGraph(directed=True, strict=False)
    graph.graph_attr.update(rankdir="LR", nodesep="0.35", ranksep="0.9", splines="false")
    graph.node_attr.update(shape="box", fixedsize="true")
    for node_id in sorted(flow.nodes):
        w, h = sizes.get(node_id, (180.0, 80.0))
        graph.add_node(node_id, width=w / POINTS_PER_INCH, height=h / POINTS_PER_INCH)
    for edge in flow.edges:
        graph.add_edge(edge.source, edge.target)
    graph.layout(prog="dot")
    positions = {}
    for node_id in flow.nodes:
        x, y = (float(v) for v in graph.get_node(node_id).attr["pos"].split(","))
        w, h = sizes.get(node_id, (180.0, 80.0))
        # Graphviz gives centres with y growing upwards; the canvas wants
        # top-left corners with y growing downwards.
        positions[node_id] = (round(x - w / 2, 1), round(-y - h / 2, 1))
    return positions
