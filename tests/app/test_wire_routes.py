"""Wires go around nodes: Graphviz's routes after an auto-layout, detours for placed nodes."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from plait.runtime.flow.model import Edge
from tests.app.conftest import add, drag, node_point, wire


def crossed(window, edge_item) -> list[str]:
    """The nodes whose bodies a wire runs through (its own ends' edges are allowed)."""
    path = edge_item.path()
    hit = []
    for node_id, item in window.scene.nodes.items():
        body = item.mapRectToScene(item.body_rect()).adjusted(3, 3, -3, -3)
        if any(body.contains(path.pointAtPercent(i / 400)) for i in range(401)):
            hit.append(node_id)
    return hit


def test_a_wire_detours_around_a_node_in_its_way_when_an_end_is_moved(window, qtbot):
    source = add(window, "load", 0, 0)
    target = add(window, "count", 700, 0)
    wire(window, source, "result", target, "items")
    other_source = add(window, "load", 0, 400)
    other_target = add(window, "count", 700, 400)
    wire(window, other_source, "result", other_target, "items")
    scene = window.scene
    edge_item = next(e for e in scene.edges.values() if e.edge.target == target)
    other = next(e for e in scene.edges.values() if e.edge.target == other_target)
    # A node dropped across the wire: the wire stays as it is until one of its ends moves.
    blocker = add(window, "scale", 330, -10)
    assert crossed(window, edge_item) == [blocker]
    untouched = other.points

    # The person drags the target a little with the mouse: its wire goes around the blocker.
    start = node_point(window, target)
    drag(window, start, start + QPoint(30, 20))
    assert scene.nodes[target].x() != 700
    assert crossed(window, edge_item) == []
    assert len(edge_item.points) > 4  # a detour, not the plain curve
    assert other.points is untouched  # wires not touching the moved node are left alone


def test_auto_layout_draws_graphviz_routes_around_the_nodes(window, qtbot):
    # Dropped any which way: the wires cross the other nodes.
    load = add(window, "load", 300, 0)
    counts = [add(window, "count", x, y) for x, y in ((0, 10), (600, 0), (300, 120))]
    for count in counts:
        window.document.connect(Edge(load, "result", count, "items"))
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_L)  # Auto-layout
    scene = window.scene
    assert len(scene.layout_routes) == 3
    for edge_item in scene.edges.values():
        assert crossed(window, edge_item) == []
        start = scene.nodes[edge_item.edge.source].port_scene_pos("out", edge_item.edge.source_port)
        assert edge_item.points[0] == (start.x(), start.y())  # on the port, not mid-side

    # Undo moves the nodes back: their wires are the canvas's own routes again.
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert scene.layout_routes == {}
