"""Every edit kind is one undo step that returns the flow to exactly its previous state."""

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from plait.runtime.flow.model import Edge
from tests.app.conftest import add, content, drag, node_point, wire


def _flow(window):
    """load -> count, a scale node with a value, a parameter, and a frame."""
    load = add(window, "load", 0, 0)
    count = add(window, "count", 300, 0)
    scale = add(window, "scale", 300, 200)
    param = add(window, "parameter", 0, 200)
    window.document.connect(Edge(load, "result", count, "items"))
    window.document.connect(Edge(param, "value", scale, "x"))
    window.document.set_value(scale, "factor", 3.0)
    window.scene.select_nodes([load, count])
    window.editing.frame_selection()
    window.scene.clearSelection()
    return {"load": load, "count": count, "scale": scale, "param": param}


def _frame_id(window):
    return window.document.flow.extras["frames"][0]["id"]


EDITS = {
    "add node": lambda w, n: add(w, "label", 600, 0),
    "delete selection": lambda w, n: (
        w.scene.select_nodes([n["load"], n["scale"]]),
        w.editing.delete_selection(),
    ),
    "wire with the mouse": lambda w, n: wire(w, n["param"], "value", n["scale"], "factor"),
    "replace a wire": lambda w, n: wire(w, n["param"], "value", n["count"], "items"),
    "drag a node": lambda w, n: drag(
        w, node_point(w, n["count"]), node_point(w, n["count"]) + QPoint(80, 90)
    ),
    "set a value": lambda w, n: w.document.set_value(n["scale"], "factor", 7.5),
    "clear a value": lambda w, n: w.document.set_value(n["scale"], "factor"),
    "set an option": lambda w, n: w.document.set_option(n["count"], "retries", 3),
    "rename": lambda w, n: w.document.rename(n["count"], "Row count"),
    "rename a parameter": lambda w, n: w.document.set_value(n["param"], "name", "threshold"),
    "change a parameter type": lambda w, n: w.document.set_value(n["param"], "type", "float"),
    "set a parameter default": lambda w, n: w.document.set_value(n["param"], "default", 1.5),
    "add a frame": lambda w, n: w.editing.add_comment(),
    "edit a frame": lambda w, n: w.document.update_frame(_frame_id(w), title="Inputs"),
    "paste": lambda w, n: (
        w.scene.select_nodes([n["load"], n["count"]]),
        w.editing.copy_selection(),
        w.editing.paste(),
    ),
    "duplicate": lambda w, n: (w.scene.select_nodes([n["scale"]]), w.editing.duplicate()),
    "auto-layout": lambda w, n: w.editing.auto_layout(),
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_undo_and_redo_return_the_flow_to_exactly_the_state_before_and_after(window, kind):
    window.questions.ask_frame_text = lambda title, text: ("Note", "remember this")
    nodes = _flow(window)
    stack = window.document.undo_stack
    before = content(window)
    steps = stack.count()
    EDITS[kind](window, nodes)
    after = content(window)
    assert after != before, f"{kind} changed nothing"
    assert stack.count() == steps + 1, f"{kind} took {stack.count() - steps} undo steps"
    stack.undo()
    assert content(window) == before
    stack.redo()
    assert content(window) == after
    stack.undo()
    # The scene followed: one item per node and wire, where the model says.
    flow = window.document.flow
    assert set(window.scene.nodes) == set(flow.nodes)
    assert set(window.scene.edges) == set(flow.edges)
    for node_id, item in window.scene.nodes.items():
        assert (item.x(), item.y()) == flow.nodes[node_id].position


def test_the_title_shows_the_unsaved_marker_until_saved(window):
    add(window, "count", 0, 0)
    assert window.isWindowModified()
    assert window.document.flow.name in window.windowTitle()
    window.workspaces.save()
    assert not window.isWindowModified()
    window.document.undo_stack.undo()
    assert window.isWindowModified()


@pytest.mark.parametrize("keys", ["Ctrl+Y", "Ctrl+Shift+Z"])
def test_ctrl_y_and_ctrl_shift_z_both_redo(window, keys):
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(40, 40))
    add(window, "count", 0, 0)
    QTest.keySequence(window.view, QKeySequence.Undo)
    assert window.document.flow.nodes == {}
    QTest.keySequence(window.view, QKeySequence(keys))
    assert [n.spec_key for n in window.document.flow.nodes.values()] == ["nodes.py:count"]
