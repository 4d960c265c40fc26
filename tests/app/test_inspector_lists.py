"""Every list in the inspector and the docks is used with the mouse: open it, click an item.

Picking a parameter's type rebuilds the inspector; the list that was clicked must
outlive its own signal (it used to be deleted inside it, killing the window).
"""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox

from tests.app.conftest import add, choose


def test_changing_a_parameters_type_with_the_mouse_rebuilds_the_inspector(window):
    param = add(window, "parameter", 0, 0)
    window.scene.select_nodes([param])
    for kind in ("float", "int", "str", "bool", "list", "dict", "path", "any", "float"):
        choose(window.inspector.param_fields["type"], kind)
        assert window.document.flow.nodes[param].values["type"] == kind
        assert window.inspector.param_fields["type"].currentText() == kind
    window.document.undo_stack.undo()
    assert window.document.flow.nodes[param].values["type"] == "any"
    assert window.inspector.param_fields["type"].currentText() == "any"


def _lists(widget) -> list[QComboBox]:
    return [c for c in widget.findChildren(QComboBox) if c.isVisible() and c.count() > 1]


def test_every_list_in_the_inspector_takes_a_mouse_click(window):
    scale = add(window, "scale", 0, 0)
    param = add(window, "parameter", 0, 200)
    for node in (scale, param):
        window.scene.select_nodes([node])
        count = len(_lists(window.inspector))
        assert count >= 1
        for i in range(count):  # found again each time: a click may rebuild the page
            combo = _lists(window.inspector)[i]
            other = next(combo.itemText(j) for j in range(combo.count()) if j != combo.currentIndex())
            choose(combo, other)
            assert window.isVisible()
    assert window.document.flow.nodes[scale].options.get("cache") == "never"


def test_the_docks_lists_take_a_mouse_click(window):
    logs = window.logs_dock
    choose(logs.level, logs.level.itemText(logs.level.count() - 1))
    window.schedules_dock_widget.raise_()
    for combo in window.schedules_dock.findChildren(QComboBox):
        if combo.count() > 1 and combo.isEnabled():
            choose(combo, combo.itemText(combo.count() - 1))
    assert window.isVisible()


def _double_click_item(tree, item) -> None:
    tree.scrollToItem(item)
    point = tree.visualItemRect(item).center()
    # A person's double-click is a click, then a press that the system calls a
    # double-click; QTest's mouseDClick alone leaves out the first release.
    QTest.mouseClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    QTest.mouseDClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    QApplication.processEvents()


def test_double_clicking_flows_and_versions_in_the_flows_dock_opens_them(window):
    add(window, "count", 0, 0)
    window.workspaces.save()
    first = window.document.flow.id
    add(window, "label", 0, 200)
    window.workspaces.save()
    window.workspaces.new_flow(ask=False)
    add(window, "scale", 0, 0)
    window.workspaces.save()
    window.flows_dock_widget.raise_()
    tree = window.flows_dock.tree
    for _ in range(3):  # each open lists the flows again, under the clicked item
        item = next(
            tree.topLevelItem(i)
            for i in range(tree.topLevelItemCount())
            if tree.topLevelItem(i).data(0, Qt.UserRole) == first
        )
        item.setExpanded(True)
        _double_click_item(tree, item.child(item.childCount() - 1))  # version 1
        assert window.document.flow.id == first and window.document.read_only
        item = next(
            tree.topLevelItem(i)
            for i in range(tree.topLevelItemCount())
            if tree.topLevelItem(i).data(0, Qt.UserRole) != first
        )
        _double_click_item(tree, item)
        assert window.document.flow.id != first and not window.document.read_only
