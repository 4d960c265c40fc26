"""The inspector edits the selected node through undoable commands."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from plait.widgets.editors import (
    BoolEditor,
    ChoiceEditor,
    ExpressionEditor,
    JsonEditor,
    NumberEditor,
    TextEditor,
)
from plait.widgets.words import plural
from tests.app.conftest import add, node_point, wire
from tests.app.test_canvas import drop


def test_selecting_a_node_shows_an_editor_per_unwired_input(window):
    scale = add(window, "scale", 0, 0)
    window.scene.select_nodes([scale])
    editors = window.inspector.value_editors
    assert set(editors) == {"x", "factor"}
    assert all(isinstance(e, NumberEditor) for e in editors.values())
    assert editors["factor"].widget.value() == 2.0


def test_typing_a_value_sets_it_in_the_model_and_undo_takes_it_back(window):
    scale = add(window, "scale", 0, 0)
    window.scene.select_nodes([scale])
    box = window.inspector.value_editors["x"].widget
    box.lineEdit().selectAll()
    QTest.keyClicks(box.lineEdit(), "4.5")
    QTest.keyClick(box.lineEdit(), Qt.Key_Return)
    flow = window.document.flow
    assert flow.nodes[scale].values == {"x": 4.5}
    window.document.undo_stack.undo()
    assert flow.nodes[scale].values == {}
    assert window.inspector.value_editors["x"].widget.value() == 0.0


def test_renaming_in_the_inspector_renames_the_node(window):
    count = add(window, "count", 0, 0)
    window.scene.select_nodes([count])
    edit = window.inspector.title_edit
    edit.selectAll()
    QTest.keyClicks(edit, "Rows")
    QTest.keyClick(edit, Qt.Key_Return)
    assert window.document.flow.nodes[count].title == "Rows"


def test_options_are_edited_as_overrides(window):
    count = add(window, "count", 0, 0)
    window.scene.select_nodes([count])
    fields = window.inspector.option_fields
    fields["retries"].setValue(2)
    fields["timeout"].setValue(30)
    fields["cache"].activated.emit(fields["cache"].findText("never"))
    assert window.document.flow.nodes[count].options == {"retries": 2, "timeout": 30.0, "cache": "never"}
    window.document.undo_stack.undo()
    assert window.document.flow.nodes[count].options == {"retries": 2, "timeout": 30.0}
    assert fields["cache"].currentText() == "inputs"


def test_a_parameter_node_edits_its_name_type_default_and_description(window):
    param = add(window, "parameter", 0, 0)
    window.scene.select_nodes([param])
    fields = window.inspector.param_fields
    fields["name"].setText("threshold")
    fields["name"].editingFinished.emit()
    fields = window.inspector.param_fields
    fields["type"].activated.emit(fields["type"].findText("float"))
    fields = window.inspector.param_fields  # the default editor follows the type
    assert isinstance(fields["default"], NumberEditor)
    fields["has_default"].setChecked(True)
    fields["default"].widget.setValue(0.25)
    values = window.document.flow.nodes[param].values
    assert values["name"] == "threshold" and values["type"] == "float"
    assert values["default"] == 0.25
    assert window.document.flow.nodes[param].title == "threshold"


def test_a_bad_parameter_name_is_refused_with_the_models_message(window):
    param = add(window, "parameter", 0, 0)
    window.scene.select_nodes([param])
    fields = window.inspector.param_fields
    fields["name"].setText("not a name")
    fields["name"].editingFinished.emit()
    assert window.document.flow.nodes[param].values["name"] == "param"
    assert "cannot name a parameter" in window.statusBar().currentMessage()


def test_editor_kinds_follow_the_port_types():
    import pathlib
    from typing import Annotated, Any, Literal, Optional

    from plait.runtime.nodes.spec import Port
    from plait.widgets.editors import editor_kind

    kinds = {
        name: editor_kind(Port(name, annotation, choices=choices))
        for name, annotation, choices in [
            ("i", int, None),
            ("f", Optional[float], None),
            ("b", bool, None),
            ("s", str, None),
            ("p", pathlib.Path, None),
            ("l", list[int], None),
            ("d", dict, None),
            ("c", Literal["a", "b"], ("a", "b")),
            ("a", Any, None),
            ("r", Annotated[int, "range"], None),
        ]
    }
    assert kinds == {
        "i": "int",
        "f": "float",
        "b": "bool",
        "s": "str",
        "p": "path",
        "l": "json",
        "d": "json",
        "c": "choice",
        "a": "expression",
        "r": "int",
    }
    _ = (BoolEditor, ChoiceEditor, ExpressionEditor, JsonEditor, TextEditor)


def test_the_flow_summary_follows_drops_wires_paste_and_undo_in_words(window):
    def summary() -> str:
        return window.inspector.summary.text()

    assert "0 nodes, 0 wires." in summary()
    palette = window.palette_widget
    for key, point in (("nodes.py:load", QPoint(380, 200)), ("nodes.py:count", QPoint(700, 200))):
        drop(window, palette.tree.mimeData([palette.item_for(key)]), point)
    assert "2 nodes, 0 wires." in summary()
    [load, count] = window.document.flow.nodes
    wire(window, load, "result", count, "items")
    assert "2 nodes, 1 wire." in summary()
    # Copy one node and paste it with the keyboard, as a person does.
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, node_point(window, count))
    assert window.scene.selected_node_ids() == [count]
    QTest.keySequence(window.view, QKeySequence.Copy)
    assert window.statusBar().currentMessage() == "Copied 1 node"
    QTest.keySequence(window.view, QKeySequence.Paste)
    assert window.statusBar().currentMessage() == "Pasted 1 node"
    assert window.document.undo_stack.undoText() == "Paste Count"
    QTest.keySequence(window.view, QKeySequence.SelectAll)
    QTest.keySequence(window.view, QKeySequence.Copy)
    assert window.statusBar().currentMessage() == "Copied 3 nodes"
    QTest.keySequence(window.view, QKeySequence.Paste)
    assert window.document.undo_stack.undoText() == "Paste 3 nodes"
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(40, 40))
    assert window.scene.selected_node_ids() == []
    assert "6 nodes, 2 wires." in summary()
    QTest.keySequence(window.view, QKeySequence.Undo)
    assert "3 nodes, 1 wire." in summary()
    QTest.keySequence(window.view, QKeySequence.Undo)
    assert "2 nodes, 1 wire." in summary()
    QTest.keySequence(window.view, QKeySequence.Undo)
    assert "2 nodes, 0 wires." in summary()


def test_counted_words_are_plural_unless_one():
    assert [plural(n, "node") for n in (0, 1, 2, 1200)] == ["0 nodes", "1 node", "2 nodes", "1,200 nodes"]
    assert plural(1, "saved version") == "1 saved version"
    assert plural(3, "child", "children") == "3 children"


def test_floats_show_as_typed_in_value_and_option_editors(window):
    scale = add(window, "scale", 0, 0)
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, node_point(window, scale))
    editors = window.inspector.value_editors
    assert editors["factor"].widget.text() == "2.0"  # the default, as the code spells it
    line = editors["x"].widget.lineEdit()
    QTest.mouseClick(line, Qt.LeftButton)
    QTest.keySequence(line, QKeySequence.SelectAll)
    QTest.keyClicks(line, "6.4")
    QTest.keyClick(line, Qt.Key_Return)
    assert window.document.flow.nodes[scale].values == {"x": 6.4}
    assert window.inspector.value_editors["x"].widget.text() == "6.4"
    delay = window.inspector.option_fields["retry_delay"]
    QTest.mouseClick(delay.lineEdit(), Qt.LeftButton)
    QTest.keySequence(delay.lineEdit(), QKeySequence.SelectAll)
    QTest.keyClicks(delay.lineEdit(), "1.25")
    QTest.keyClick(delay.lineEdit(), Qt.Key_Return)
    assert window.document.flow.nodes[scale].options == {"retry_delay": 1.25}
    assert window.inspector.option_fields["retry_delay"].text() == "1.25 s"
    # Shown again after the selection moves away and back, the value reads the same.
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(40, 40))
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, node_point(window, scale))
    assert window.inspector.value_editors["x"].widget.text() == "6.4"
    assert window.inspector.option_fields["timeout"].text() == "none"
