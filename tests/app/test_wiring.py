"""Drawing wires with the mouse: connect, refuse, replace, and search on empty canvas."""

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from plait.runtime.flow.model import Edge
from plait.widgets.canvas.ports import INPUT, OUTPUT
from tests.app.conftest import add, content, drag, port_point, wire


def test_dragging_from_an_output_to_an_input_wires_them(window):
    load = add(window, "load", 0, 0)
    count = add(window, "count", 300, 0)
    wire(window, load, "result", count, "items")
    assert window.document.flow.edges == [Edge(load, "result", count, "items")]


def test_dragging_from_an_input_back_to_an_output_wires_them_too(window):
    load = add(window, "load", 0, 0)
    count = add(window, "count", 300, 0)
    drag(window, port_point(window, count, INPUT, "items"), port_point(window, load, OUTPUT, "result"))
    assert window.document.flow.edges == [Edge(load, "result", count, "items")]


def test_a_wire_that_would_make_a_cycle_is_refused_and_leaves_the_model_unchanged(window):
    a = add(window, "scale", 0, 0)
    b = add(window, "scale", 300, 0)
    wire(window, a, "result", b, "x")
    before = content(window)
    steps = window.document.undo_stack.count()
    wire(window, b, "result", a, "x")
    assert content(window) == before
    assert window.document.undo_stack.count() == steps
    assert "cycle" in window.statusBar().currentMessage()


def test_an_incompatible_type_is_refused_with_the_models_message(window):
    label = add(window, "label", 0, 0)
    scale = add(window, "scale", 300, 0)
    wire(window, label, "result", scale, "x")
    assert window.document.flow.edges == []
    assert "takes float" in window.statusBar().currentMessage()


def test_while_dragging_fitting_ports_are_lit_and_others_dimmed(window):
    load = add(window, "load", 0, 0)
    count = add(window, "count", 300, 0)
    scale = add(window, "scale", 300, 200)
    viewport = window.view.viewport()
    start = port_point(window, load, OUTPUT, "result")
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, start + QPoint(40, 40))
    assert window.scene.nodes[count].reach[(INPUT, "items")] is True
    assert window.scene.nodes[scale].reach[(INPUT, "x")] is False
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, start + QPoint(40, 40))
    assert window.scene.nodes[count].reach is None


def test_dropping_on_a_taken_input_replaces_its_wire_in_one_undo_step(window):
    first = add(window, "scale", 0, 0)
    second = add(window, "scale", 0, 200)
    target = add(window, "scale", 300, 100)
    wire(window, first, "result", target, "x")
    before = content(window)
    wire(window, second, "result", target, "x")
    assert window.document.flow.edges == [Edge(second, "result", target, "x")]
    window.document.undo_stack.undo()
    assert content(window) == before


def test_a_wire_dropped_on_empty_canvas_offers_fitting_types_and_wires_the_choice(window, qtbot):
    load = add(window, "load", 0, 0)
    start = port_point(window, load, OUTPUT, "result")
    drag(window, start, start + QPoint(250, 150))
    popup = window.view.popup
    assert popup is not None and popup.isVisible()
    listed = [popup.list.item(i).data(Qt.UserRole) for i in range(popup.list.count())]
    assert "nodes.py:count" in listed and "nodes.py:scale" not in listed
    QTest.keyClicks(popup.search, "count")
    QTest.keyClick(popup.search, Qt.Key_Return)
    flow = window.document.flow
    new = next(n for n in flow.nodes.values() if n.spec_key == "nodes.py:count")
    assert flow.edges == [Edge(load, "result", new.id, "items")]
    window.document.undo_stack.undo()
    assert list(flow.nodes) == [load] and flow.edges == []


TYPED = '''
"""Nodes whose hints disagree in the ways people meet."""

from pathlib import Path

import pandas as pd


def table() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2]})


def table_and_notes() -> tuple[pd.DataFrame, dict]:
    return pd.DataFrame({"a": [1]}), {}


def name() -> str:
    return "data.csv"


def switch(on: bool) -> bool:
    return on


def first_row(data: pd.DataFrame) -> dict:
    return data.iloc[0].to_dict()


def size(path: Path) -> int:
    return path.stat().st_size
'''


@pytest.fixture
def typed_window(make_window, workspace_folder):
    (workspace_folder / "typed.py").write_text(TYPED)
    return make_window(workspace_folder)


def typed(window, name: str, x: float, y: float) -> str:
    return window.document.create_node(f"typed.py:{name}", (x, y))


def test_a_table_dragged_into_a_bool_input_is_refused_and_the_status_bar_says_why(typed_window):
    window = typed_window
    table = typed(window, "table", 0, 0)
    switch = typed(window, "switch", 300, 0)
    steps = window.document.undo_stack.count()
    wire(window, table, "result", switch, "on")
    assert window.document.flow.edges == []
    assert window.document.undo_stack.count() == steps
    message = window.statusBar().currentMessage()
    assert message == (
        "Not connected: output 'result' of 'Table' is DataFrame, but input 'on' "
        "of 'Switch' takes bool: a DataFrame is never a bool"
    )
    window.grab().save(str(Path(window.workspace.folder) / "refused.png"))


def test_doubtful_wires_are_made_and_drawn_as_warnings_with_their_reason(typed_window, qtbot):
    window = typed_window
    pair = typed(window, "table_and_notes", 0, 0)
    first = typed(window, "first_row", 320, 0)
    name = typed(window, "name", 0, 220)
    size = typed(window, "size", 320, 220)
    table = typed(window, "table", 0, 440)
    other = typed(window, "first_row", 320, 440)
    wire(window, pair, "result_1", first, "data")
    assert "with a warning: output 'result_1' of 'Table and notes' is dict" in (
        window.statusBar().currentMessage()
    )
    wire(window, name, "result", size, "path")  # the model takes str into Path now
    wire(window, table, "result", other, "data")
    flow = window.document.flow
    assert set(flow.edges) == {
        Edge(pair, "result_1", first, "data"),
        Edge(name, "result", size, "path"),
        Edge(table, "result", other, "data"),
    }
    items = window.scene.edges
    assert "turned into a Path when the node runs" in items[Edge(name, "result", size, "path")].doubt
    assert items[Edge(pair, "result_1", first, "data")].doubt.endswith(
        "dict is not a DataFrame, though a value of it may be one"
    )
    fine = items[Edge(table, "result", other, "data")]
    assert fine.doubt == "" and fine.pen().color() == window.scene.style.wire
    warned = items[Edge(name, "result", size, "path")]
    assert warned.pen().color() == window.scene.style.warning
    assert warned.pen().style() == Qt.DashDotLine and "⚠" in warned.toolTip()
    window.validate()
    assert window.problem_label.text() == "✓ no problems"  # allowed: a warning, not a problem
    window.view.fit_view()
    window.grab().save(str(Path(window.workspace.folder) / "doubtful.png"))


def test_each_item_of_a_tuple_return_is_its_own_port_judged_by_its_own_type(typed_window):
    window = typed_window
    pair = typed(window, "table_and_notes", 0, 0)
    first = typed(window, "first_row", 320, 0)
    switch = typed(window, "switch", 320, 220)
    wire(window, pair, "result_1", switch, "on")  # a dict into a bool: never
    assert "a dict is never a bool" in window.statusBar().currentMessage()
    wire(window, pair, "result_0", switch, "on")  # a DataFrame into a bool: never
    assert "a DataFrame is never a bool" in window.statusBar().currentMessage()
    wire(window, pair, "result_0", first, "data")  # the table item into a table input: fine
    flow = window.document.flow
    assert flow.edges == [Edge(pair, "result_0", first, "data")]
    assert window.scene.edges[flow.edges[0]].doubt == ""
    ports = [(s.name, s.type_name) for s in window.scene.nodes[pair].layout.outputs]
    assert ports == [("result_0", "DataFrame"), ("result_1", "dict")]
