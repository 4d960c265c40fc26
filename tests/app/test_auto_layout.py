"""Auto-layout of a big flow runs in a process of its own: the window goes on, and it can be cancelled."""

from __future__ import annotations

import multiprocessing

import pytest
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtTest import QTest

from plait.app import auto_layout
from plait.app.auto_layout import IN_PROCESS_BELOW
from plait.app.layout import layout_in_child
from plait.runtime.flow.model import Edge
from plait.widgets.canvas.ports import OUTPUT
from tests.app.conftest import add

SIZE = IN_PROCESS_BELOW + 50  # big enough to be laid out off the GUI thread


def big_flow(window) -> list[str]:
    """A tree of scale nodes dropped in a grid, each fed by the one before it in the tree."""
    ids = [add(window, "scale", (i % 20) * 40.0, (i // 20) * 30.0) for i in range(SIZE)]
    for i in range(1, SIZE):
        window.document.connect(Edge(ids[(i - 1) // 2], "result", ids[i], "x"))
    return ids


def positions(window) -> dict[str, tuple[float, float]]:
    return {n: tuple(node.position) for n, node in window.document.flow.nodes.items()}


def test_a_big_flow_is_laid_out_while_the_window_goes_on_and_undo_puts_it_back(window, qtbot):
    big_flow(window)
    before = positions(window)
    stack = window.document.undo_stack
    steps = stack.count()
    layouter = window.layouter
    seen_running = []
    timer = QTimer(window, interval=10)
    timer.timeout.connect(lambda: seen_running.append(layouter.running))
    timer.start()

    window.view.setFocus()
    with qtbot.waitSignal(layouter.finished, timeout=120_000) as done:
        QTest.keyClick(window.view, Qt.Key_L)  # the Auto-layout shortcut
        # The key press came back with dot still at work, and the status bar says so.
        assert layouter.running
        assert layouter.busy.isVisible() and layouter.cancel_button.isVisible()
        assert layouter.label.text() == f"Laying out {SIZE} nodes…"
    timer.stop()
    assert done.args == [True]
    # The event loop went on (a timer kept firing) while the layout ran.
    assert seen_running.count(True) >= 3
    after = positions(window)
    assert after != before and set(after) == set(before)
    assert stack.count() == steps + 1 and stack.undoText() == "Auto-layout"
    assert not layouter.busy.isVisible() and not layouter.cancel_button.isVisible()

    drawn = []
    draw = window.scene._path_edge

    def counted(item, judge=False):
        drawn.append(item.edge)
        return draw(item, judge)

    window.scene._path_edge = counted
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert positions(window) == before
    for node_id, item in window.scene.nodes.items():
        assert (item.x(), item.y()) == before[node_id]
    # One step for the canvas too: every wire drawn again once, not once per end that moved.
    assert sorted(drawn) == sorted(window.scene.edges)


def test_cancel_stops_the_layout_and_moves_nothing(window, qtbot):
    big_flow(window)
    before = positions(window)
    steps = window.document.undo_stack.count()
    layouter = window.layouter
    finished = []
    layouter.finished.connect(finished.append)
    window.actions_by_name["layout"].trigger()  # the menu's Auto-layout
    process = layouter._process
    assert process.is_alive()

    qtbot.mouseClick(layouter.cancel_button, Qt.LeftButton)
    assert finished == [False]
    assert not layouter.running and not process.is_alive()
    assert not layouter.cancel_button.isVisible()
    assert "Auto-layout cancelled" in window.statusBar().currentMessage()
    qtbot.wait(300)  # had it gone on, its answer would have been read by now
    assert positions(window) == before
    assert window.document.undo_stack.count() == steps


def test_a_flow_edited_meanwhile_keeps_its_places_and_says_so(window, qtbot):
    ids = big_flow(window)
    window.view.setFocus()
    with qtbot.waitSignal(window.layouter.finished, timeout=120_000) as done:
        QTest.keyClick(window.view, Qt.Key_L)
        extra = add(window, "count", -300, -300)  # the window takes edits while dot works
    assert done.args == [False]
    assert "changed while it was being laid out" in window.statusBar().currentMessage()
    assert window.document.flow.nodes[ids[0]].position == (0.0, 0.0)
    assert window.document.flow.nodes[extra].position == (-300.0, -300.0)


def test_a_second_press_while_it_runs_starts_nothing_more(window, qtbot):
    big_flow(window)
    window.view.setFocus()
    with qtbot.waitSignal(window.layouter.finished, timeout=120_000) as done:
        QTest.keyClick(window.view, Qt.Key_L)
        process = window.layouter._process
        QTest.keyClick(window.view, Qt.Key_L)
        assert window.layouter._process is process
        assert "already running" in window.statusBar().currentMessage()
    assert done.args == [True]


def node_boxes(window) -> dict[str, tuple[float, float, float, float]]:
    boxes = {}
    for node_id, item in window.scene.nodes.items():
        x, y = window.document.flow.nodes[node_id].position
        boxes[node_id] = (x, y, x + item.layout.width, y + item.layout.height)
    return boxes


def test_a_very_big_flow_is_laid_out_in_columns_as_one_undo_step(window, qtbot, monkeypatch):
    # The layered layout takes over from LAYERED_FROM nodes; lowered here, to keep the flow small.
    monkeypatch.setattr(auto_layout, "LAYERED_FROM", SIZE)
    ids = big_flow(window)
    before = positions(window)
    stack = window.document.undo_stack
    steps = stack.count()
    layouter = window.layouter

    window.view.setFocus()
    with qtbot.waitSignal(layouter.finished, timeout=120_000) as done:
        QTest.keyClick(window.view, Qt.Key_L)
        assert layouter.running
        # The layered layout says how far it has gone: a bar with an end, not a busy one.
        assert layouter.busy.isVisible() and layouter.busy.maximum() == 100
    assert done.args == [True]
    assert stack.count() == steps + 1 and stack.undoText() == "Auto-layout"

    boxes = node_boxes(window)
    # The tree's levels are its columns: each node one column right of its parent.
    for i in range(1, SIZE):
        parent, child = boxes[ids[(i - 1) // 2]], boxes[ids[i]]
        assert parent[2] < child[0]
    ordered = sorted(boxes.values())
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a[0] == b[0]:  # same column: one below the other
            assert a[3] <= b[1]
    assert len({box[0] for box in boxes.values()}) == (SIZE).bit_length()
    # The canvas grew to hold the new places: all of the flow can be scrolled to.
    area = window.scene.sceneRect()
    assert all(area.contains(QRectF(x0, y0, x1 - x0, y1 - y0)) for x0, y0, x1, y1 in boxes.values())
    # Every wire follows the route the layout drew, from its output to its input.
    scene = window.scene
    assert set(scene.layout_routes) == set(window.document.flow.edges)
    for edge, item in scene.edges.items():
        start = scene.nodes[edge.source].port_scene_pos(OUTPUT, edge.source_port)
        assert item.points[0] == (start.x(), start.y())
        assert len(item.points) == len(scene.layout_routes[edge])

    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert positions(window) == before


def test_cancel_from_the_view_menu_stops_a_layered_layout(window, qtbot, monkeypatch):
    monkeypatch.setattr(auto_layout, "LAYERED_FROM", SIZE)
    big_flow(window)
    before = positions(window)
    steps = window.document.undo_stack.count()
    layouter = window.layouter
    finished = []
    layouter.finished.connect(finished.append)

    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    window.menuBar().setActiveAction(view_menu.menuAction())
    QTest.qWaitForWindowExposed(view_menu)
    item = window.actions_by_name["layout"]
    QTest.mouseClick(view_menu, Qt.LeftButton, Qt.NoModifier, view_menu.actionGeometry(item).center())
    process = layouter._process
    assert process.is_alive() and layouter.busy.maximum() == 100

    qtbot.mouseClick(layouter.cancel_button, Qt.LeftButton)
    assert finished == [False]
    assert not layouter.running and not process.is_alive()
    qtbot.wait(300)
    assert positions(window) == before
    assert window.document.undo_stack.count() == steps


def test_the_layout_process_sends_its_phases_before_the_result():
    nodes = [f"n{i}" for i in range(30)]
    edges = [(nodes[i // 2], nodes[i]) for i in range(1, 30)]
    receive, send = multiprocessing.Pipe(duplex=False)
    layout_in_child(send, nodes, edges, {}, layered=True)
    messages = [receive.recv()]
    while messages[-1][0] == "progress":
        messages.append(receive.recv())
    with pytest.raises(EOFError):  # nothing after the result: the process closed its end
        receive.recv()
    kinds = [m[0] for m in messages]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"progress"}
    phases = [m[1] for m in messages[:-1]]
    assert phases[0] == "choosing columns" and "ordering columns" in phases
    positions, routes = messages[-1][1]
    assert set(positions) == set(nodes) and len(routes) == len(edges)
