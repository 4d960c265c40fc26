"""The canvas under the mouse and keyboard: drops, moves, selection, keys, frames."""

from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtTest import QTest

from plait.runtime.flow.model import Edge
from plait.widgets.mime import NODE_TYPE_MIME
from tests.app.conftest import add, double_click_palette, drag, node_point


def drop(window, mime, point: QPoint) -> QDropEvent:
    """Deliver a real drop event to the view's handlers.

    QDrag.exec() blocks in a platform drag loop that cannot be driven offscreen,
    and Qt delivers a Drop only to the target of a live drag, so the events go
    to the handlers directly, as the drag loop would send them.
    """
    enter = QDragEnterEvent(point, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.view.dragEnterEvent(enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(point), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.view.dropEvent(event)
    return event


def test_the_palette_drag_carries_the_node_type_key(window):
    item = window.palette_widget.item_for("nodes.py:count")
    mime = window.palette_widget.tree.mimeData([item])
    assert bytes(mime.data(NODE_TYPE_MIME)).decode() == "nodes.py:count"


def test_dropping_a_palette_entry_creates_the_node_at_the_drop_point(window):
    item = window.palette_widget.item_for("nodes.py:count")
    mime = window.palette_widget.tree.mimeData([item])
    point = QPoint(420, 260)
    event = drop(window, mime, point)
    assert event.isAccepted()
    [node] = window.document.flow.nodes.values()
    assert node.spec_key == "nodes.py:count"
    where = window.view.mapToScene(point)
    assert node.position == (where.x(), where.y())
    assert window.scene.nodes[node.id].pos() == where


def test_the_palette_lists_library_functions_and_parameters_and_searches_docstrings(window):
    palette = window.palette_widget
    assert {"plait:parameter", "nodes.py:load", "nodes.py:count"} <= set(palette.keys())
    QTest.keyClicks(palette.search, "multiply")
    visible = [k for k in palette.keys() if not palette.item_for(k).isHidden()]
    assert visible == ["nodes.py:scale"]


def test_dragging_a_node_moves_it_and_undo_moves_it_back(window):
    node_id = add(window, "count", 0, 0)
    start = node_point(window, node_id)
    drag(window, start, start + QPoint(100, 60))
    assert window.document.flow.nodes[node_id].position == (100.0, 60.0)
    window.document.undo_stack.undo()
    assert window.document.flow.nodes[node_id].position == (0.0, 0.0)
    assert window.scene.nodes[node_id].pos() == QPointF(0, 0)


def test_snapping_puts_moved_nodes_on_the_grid(window):
    window.actions_by_name["snap"].trigger()
    node_id = add(window, "count", 0, 0)
    start = node_point(window, node_id)
    drag(window, start, start + QPoint(47, 33))
    assert window.document.flow.nodes[node_id].position == (40.0, 40.0)


def test_rubber_band_and_ctrl_click_select_nodes(window):
    a = add(window, "count", 0, 0)
    b = add(window, "count", 250, 0)
    c = add(window, "count", 0, 300)
    top_left = window.view.mapFromScene(QPointF(-30, -30))
    bottom_right = window.view.mapFromScene(QPointF(460, 120))
    drag(window, top_left, bottom_right)
    assert sorted(window.scene.selected_node_ids()) == sorted([a, b])
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.ControlModifier, node_point(window, c))
    assert sorted(window.scene.selected_node_ids()) == sorted([a, b, c])


def test_arrow_keys_move_the_selection_and_delete_removes_it(window):
    node_id = add(window, "count", 0, 0)
    window.scene.select_nodes([node_id])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Right)
    QTest.keyClick(window.view, Qt.Key_Down)
    assert window.document.flow.nodes[node_id].position == (20.0, 20.0)
    QTest.keyClick(window.view, Qt.Key_Delete)
    assert window.document.flow.nodes == {}


def test_clicking_a_wire_selects_it_and_delete_removes_only_the_wire(window):
    load = add(window, "load", 0, 0)
    count = add(window, "count", 400, 0)
    window.document.connect(Edge(load, "result", count, "items"))
    edge_item = next(iter(window.scene.edges.values()))
    middle = window.view.mapFromScene(edge_item.path().pointAtPercent(0.5))
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, middle)
    assert window.scene.selected_edges() == [edge_item.edge]
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Delete)
    assert window.document.flow.edges == [] and len(window.document.flow.nodes) == 2


def test_wheel_zooms_and_f_fits_the_flow(window):
    # More nodes than fit view keeps readable: the whole flow is shown, however far out.
    for i in range(31):
        add(window, "count", (i % 2) * 3000, (i // 2) * 130)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_F)
    assert window.view.zoom < 0.5
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.itemsBoundingRect())


def test_tab_and_double_click_open_the_node_search(window):
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_Tab)
    assert window.view.popup.isVisible()
    QTest.keyClicks(window.view.popup.search, "scale")
    QTest.keyClick(window.view.popup.search, Qt.Key_Return)
    assert [n.spec_key for n in window.document.flow.nodes.values()] == ["nodes.py:scale"]
    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(600, 500))
    assert window.view.popup.isVisible()
    window.view.popup.close()


def test_a_frame_carries_its_nodes_when_dragged(window):
    inside = add(window, "count", 0, 0)
    outside = add(window, "count", 600, 0)
    window.scene.select_nodes([inside])
    window.editing.frame_selection()
    [frame] = window.document.flow.extras["frames"]
    x, y = frame["rect"][:2]
    grip = window.view.mapFromScene(QPointF(x + 10, y + 8))
    drag(window, grip, grip + QPoint(50, 100))
    flow = window.document.flow
    assert flow.nodes[inside].position == (50.0, 100.0)
    assert flow.nodes[outside].position == (600.0, 0.0)
    assert flow.extras["frames"][0]["rect"][:2] == [x + 50, y + 100]
    window.document.undo_stack.undo()
    assert flow.nodes[inside].position == (0.0, 0.0)
    assert flow.extras["frames"][0]["rect"][:2] == [x, y]


def test_problems_show_as_badges_and_in_the_inspector(window, qtbot):
    count = add(window, "count", 0, 0)
    qtbot.waitUntil(lambda: bool(window.scene.nodes[count].problems))
    assert "items" in window.scene.nodes[count].problems[0]
    window.scene.select_nodes([count])
    assert "needs a wire or a value" in window.inspector.problem_list.text()


def test_parameter_nodes_look_different_from_function_nodes(window):
    param = add(window, "parameter", 0, 0)
    count = add(window, "count", 300, 0)
    assert window.scene.nodes[param].is_param and not window.scene.nodes[count].is_param
    assert window.scene.nodes[param].layout.width != window.scene.nodes[count].layout.width


def _body(window, node_id) -> QRectF:
    item = window.scene.nodes[node_id]
    return QRectF(item.pos(), QSizeF(item.layout.width, item.layout.height))


def _assert_apart(window) -> None:
    bodies = [_body(window, n) for n in window.document.flow.nodes]
    for i, body in enumerate(bodies):
        assert not any(body.intersects(other) for other in bodies[i + 1 :]), bodies


def test_double_clicking_palette_entries_places_nodes_in_free_space_beside_the_selection(window):
    double_click_palette(window, "nodes.py:load")
    [load] = window.document.flow.nodes
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert _body(window, load).contains(centre)  # on an empty canvas: mid-view
    assert window.scene.selected_node_ids() == [load]
    double_click_palette(window, "nodes.py:count")
    [count] = [n for n in window.document.flow.nodes if n != load]
    assert window.scene.selected_node_ids() == [count]
    assert _body(window, count).left() > _body(window, load).right()  # the chain goes right
    assert _body(window, count).top() == _body(window, load).top()
    # A node already sits where the next would go: the new one goes round it.
    where = _body(window, count).topRight() + QPointF(48, 0)
    blocker = add(window, "scale", where.x(), where.y())
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, node_point(window, count))
    double_click_palette(window, "nodes.py:label")
    [label] = [n for n in window.document.flow.nodes if n not in (load, count, blocker)]
    _assert_apart(window)
    assert _body(window, label).left() > _body(window, count).right()
    assert abs(_body(window, label).top() - _body(window, count).top()) < 300  # still beside it
    # Nothing selected, and the middle of the view taken: the node goes next to it.
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(10, 10))
    assert window.scene.selected_node_ids() == []
    window.view.centerOn(_body(window, load).center())
    double_click_palette(window, "plait:parameter")
    assert len(window.document.flow.nodes) == 5
    _assert_apart(window)
    [param] = window.scene.selected_node_ids()
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(_body(window, param))
    # One undo step each, as any other edit.
    QTest.keySequence(window.view, QKeySequence.Undo)
    assert param not in window.document.flow.nodes
