"""Auto-layout: place a flow left to right with Graphviz `dot`, and take its wire routes."""

from __future__ import annotations

import pygraphviz

from plait.runtime.flow.model import Edge, Flow

POINTS_PER_INCH = 72.0

Point = tuple[float, float]


def dot_layout(
    flow: Flow, sizes: dict[str, tuple[float, float]]
) -> tuple[dict[str, Point], dict[Edge, list[Point]]]:
    """Top-left positions for every node, ranked left to right by their wires, and each
    wire's route as Bézier control points (3n + 1), drawn by dot around the nodes.

    `sizes` gives each node's (width, height) in scene units, so dot leaves
    room for tall nodes instead of overlapping them. Wires leave their node's
    right side and enter the left, as the canvas draws them.
    """
    graph = pygraphviz.AGraph(directed=True, strict=False)
    graph.graph_attr.update(rankdir="LR", nodesep="0.35", ranksep="0.9", splines="spline")
    graph.node_attr.update(shape="box", fixedsize="true")
    graph.edge_attr.update(arrowhead="none", tailport="e", headport="w")
    for node_id in sorted(flow.nodes):
        w, h = sizes.get(node_id, (180.0, 80.0))
        graph.add_node(node_id, width=w / POINTS_PER_INCH, height=h / POINTS_PER_INCH)
    keys = {}
    for index, edge in enumerate(flow.edges):
        keys[edge] = str(index)
        graph.add_edge(edge.source, edge.target, key=str(index))
    graph.layout(prog="dot")
    positions = {}
    for node_id in flow.nodes:
        x, y = (float(v) for v in graph.get_node(node_id).attr["pos"].split(","))
        w, h = sizes.get(node_id, (180.0, 80.0))
        # Graphviz gives centres with y growing upwards; the canvas wants
        # top-left corners with y growing downwards.
        positions[node_id] = (round(x - w / 2, 1), round(-y - h / 2, 1))
    routes = {}
    for edge, key in keys.items():
        points = _points(graph.get_edge(edge.source, edge.target, key=key).attr.get("pos", ""))
        if len(points) >= 4 and (len(points) - 1) % 3 == 0:
            routes[edge] = points
    return positions, routes


def _points(pos: str) -> list[Point]:
    """Graphviz's edge `pos` ("s,x,y e,x,y x,y x,y …") as canvas points, ends markers left out."""
    points = []
    for token in pos.replace("\\\n", "").split():
        if token.startswith(("s,", "e,")):
            continue
        x, y = token.split(",")[:2]
        points.append((float(x), -float(y)))
    return points


def dot_positions(flow: Flow, sizes: dict[str, tuple[float, float]]) -> dict[str, Point]:
    """Top-left positions for every node (the routes left out)."""
    return dot_layout(flow, sizes)[0]
