"""Auto-layout: place a flow left to right with Graphviz `dot`, and take its wire routes.

A very big flow is laid out by the layered layout instead (runtime/flow/layered.py),
which gives the same kind of result (positions, routes by edge index) in seconds.
No Qt here: the layout of a big flow runs in a process of its own (see auto_layout.py).
"""

from __future__ import annotations

from typing import Any

import pygraphviz

from plait.runtime.flow.layered import layered_layout
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
    edges = list(flow.edges)
    positions, routes = layout_graph(sorted(flow.nodes), [(e.source, e.target) for e in edges], sizes)
    return positions, {edges[i]: points for i, points in routes.items()}


def layout_graph(
    node_ids: list[str], edges: list[tuple[str, str]], sizes: dict[str, tuple[float, float]]
) -> tuple[dict[str, Point], dict[int, list[Point]]]:
    """`dot_layout` on plain data: node ids, (source, target) pairs; routes by edge index.

    Plain data so that it can run in a process of its own.
    """
    graph = pygraphviz.AGraph(directed=True, strict=False)
    graph.graph_attr.update(rankdir="LR", nodesep="0.35", ranksep="0.9", splines="spline")
    graph.node_attr.update(shape="box", fixedsize="true")
    graph.edge_attr.update(arrowhead="none", tailport="e", headport="w")
    for node_id in node_ids:
        w, h = sizes.get(node_id, (180.0, 80.0))
        graph.add_node(node_id, width=w / POINTS_PER_INCH, height=h / POINTS_PER_INCH)
    for index, (source, target) in enumerate(edges):
        graph.add_edge(source, target, key=str(index))
    graph.layout(prog="dot")
    positions = {}
    for node_id in node_ids:
        x, y = (float(v) for v in graph.get_node(node_id).attr["pos"].split(","))
        w, h = sizes.get(node_id, (180.0, 80.0))
        # Graphviz gives centres with y growing upwards; the canvas wants
        # top-left corners with y growing downwards.
        positions[node_id] = (round(x - w / 2, 1), round(-y - h / 2, 1))
    routes = {}
    for index, (source, target) in enumerate(edges):
        points = _points(graph.get_edge(source, target, key=str(index)).attr.get("pos", ""))
        if len(points) >= 4 and (len(points) - 1) % 3 == 0:
            routes[index] = points
    return positions, routes


def layout_in_child(
    conn: Any, node_ids: list[str], edges: list[tuple[str, str]], sizes: dict, layered: bool = False
) -> None:
    """The body of a layout process: lay the graph out and send back the result (or the error).

    With `layered`, the layered layout, which also sends its phases as it goes:
    ("progress", phase, fraction done) before ("done", result).
    """
    try:
        if layered:

            def progress(phase: str, done: float) -> None:
                conn.send(("progress", phase, done))

            result = layered_layout(node_ids, edges, sizes, progress)
        else:
            result = layout_graph(node_ids, edges, sizes)
        conn.send(("done", result))
    except Exception as exc:  # noqa: BLE001 - reported in the window
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _points(pos: str) -> list[Point]:
    """Graphviz's edge `pos` ("s,x,y e,x,y x,y x,y …") as canvas points, ends markers left out."""
    points = []
    for token in pos.replace("\\\n", "").split():
        if token.startswith(("s,", "e,")):
            continue
        x, y = token.split(",")[:2]
        points.append((float(x), -float(y)))
    return points
