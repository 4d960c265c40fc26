"""Auto-layout of a big flow runs in a process of its own: the window goes on, and it can be cancelled."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from plait.app.auto_layout import IN_PROCESS_BELOW
from plait.runtime.flow.model import Edge
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

    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert positions(window) == before
    for node_id, item in window.scene.nodes.items():
        assert (item.x(), item.y()) == before[node_id]


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
