"""Port names are readable at the zoom a flow opens with; further out, the hovered node's are."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from plait.runtime.flow.model import Edge
from plait.widgets.canvas.ports import INPUT
from plait.widgets.canvas.style import PORT_NAMES_ZOOM
from tests.app.conftest import add, hover


def wide_flow(window, columns: int, rows: int) -> list[str]:
    """A chain of `columns` x `rows` nodes, far wider than the view at a readable zoom."""
    ids = [add(window, "scale", c * 320, r * 160) for c in range(columns) for r in range(rows)]
    for a, b in zip(ids, ids[rows:], strict=False):
        window.document.connect(Edge(a, "result", b, "x"))
    return ids


def test_f_on_a_small_wide_flow_stops_at_the_port_name_zoom_and_centres_it(window, qtbot):
    wide_flow(window, 10, 3)  # 30 nodes, 3,000 scene pixels wide
    view = window.view
    view.setFocus()
    QTest.keyClick(view, Qt.Key_F)
    assert abs(view.zoom - PORT_NAMES_ZOOM) < 1e-6
    centre = view.mapToScene(view.viewport().rect().center())
    flow = window.scene.itemsBoundingRect()
    assert abs(centre.x() - flow.center().x()) < 30 and abs(centre.y() - flow.center().y()) < 30


def test_zoomed_further_out_hovering_a_node_draws_its_port_names(window, qtbot):
    ids = wide_flow(window, 4, 2)
    view = window.view
    view.setFocus()
    QTest.keyClick(view, Qt.Key_F)
    QTest.keyClick(view, Qt.Key_Minus)  # a person zooms out with the keyboard
    assert view.zoom < PORT_NAMES_ZOOM and not window.scene.far
    item = window.scene.nodes[ids[3]]
    before = view.viewport().grab().toImage()
    assert view.hovered_port_names() is None

    hover(view.viewport(), view.mapFromScene(item.mapToScene(QPointF(60, 12))))
    qtbot.waitUntil(lambda: view.hovered_port_names() is item)
    after = view.viewport().grab().toImage()
    # Left of the input port: a label where there was only canvas.
    port = view.mapFromScene(item.port_scene_pos(INPUT, "x"))
    changed = sum(
        before.pixelColor(x, port.y()) != after.pixelColor(x, port.y())
        for x in range(port.x() - 30, port.x() - 8)
    )
    assert changed > 10

    hover(view.viewport(), view.viewport().rect().center() / 8)
    qtbot.waitUntil(lambda: view.hovered_port_names() is None)
