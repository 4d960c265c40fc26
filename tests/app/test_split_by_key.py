"""Split by key from an output port's context menu: ports from the last run, checked at the next."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFormLayout, QGroupBox

from plait.runtime.flow.model import Edge, Flow, Node
from plait.runtime.workspace import trust
from plait.runtime.workspace.store import Workspace
from plait.widgets.canvas.ports import OUTPUT
from tests.app.conftest import node_point, own_workspace, port_point, wire
from tests.app.test_running import click_node, wait_for_run

LIBRARY = textwrap.dedent('''
    """Nodes that give dicts."""


    def parts(n: int = 3, drop: str = "") -> dict:
        """Train and test rows, and their sizes."""
        made = {"train": list(range(n)), "test": [n], "sizes": {"n": n}}
        made.pop(drop, None)
        return made


    def count(items: list) -> int:
        return len(items)


    def pair(x: float = 2.0) -> tuple[float, str]:
        return x / 2, f"x={x}"
''')


@pytest.fixture
def folder(tmp_path):
    path = own_workspace(tmp_path / "ws")
    (path / "dicts.py").write_text(LIBRARY)
    with Workspace(path) as ws:
        flow = Flow("splits", catalog=ws.catalog())
        flow.add_node(Node("parts", "dicts.py:parts", "Parts", (0.0, 0.0)))
        flow.add_node(Node("pair", "dicts.py:pair", "Pair", (0.0, 200.0)))
        ws.save_flow(flow)
    return path


@pytest.fixture
def split_window(make_window, folder):
    window = make_window(folder, flow="splits")
    window.settings.setValue("run/executor", "inline")
    return window


def right_click_port(window, node_id: str, port: str):
    """Right-click an output port on the canvas; the port's menu opens."""
    point = port_point(window, node_id, OUTPUT, port)
    viewport = window.view.viewport()
    QTest.mouseClick(viewport, Qt.RightButton, Qt.NoModifier, point)
    # The platform follows a right click with a context menu event; offscreen, we send it.
    QApplication.sendEvent(
        viewport, QContextMenuEvent(QContextMenuEvent.Mouse, point, viewport.mapToGlobal(point))
    )
    menu = window.ports.menu
    assert menu is not None and menu.isVisible()
    return menu


def click_item(menu, name: str) -> None:
    """Click a menu item with the mouse."""
    action = menu.findChild(QAction, name)
    assert action is not None and action.isEnabled(), action.toolTip() if action else name
    QTest.qWaitForWindowExposed(menu)
    point = menu.actionGeometry(action).center()
    # A menu takes a click only once the mouse has moved in it (not the release of the
    # right click that opened it): move along the item, as a hand does, then click.
    for dx in range(8):
        QTest.mouseMove(menu, point + QPoint(dx - 8, 0))
    QTest.mouseClick(menu, Qt.LeftButton, Qt.NoModifier, point)


def run_flow(window, qtbot):
    before = len(window.runs.live)
    window.actions_by_name["run"].trigger()  # no parameters: no dialog
    qtbot.waitUntil(lambda: len(window.runs.live) > before, timeout=10_000)
    return wait_for_run(window, qtbot)


def outputs(window, node_id: str) -> list[str]:
    return [slot.name for slot in window.scene.nodes[node_id].layout.outputs]


def inspector_outputs(window) -> list[tuple[str, str]]:
    """The inspector's Outputs rows: (port, what it shows)."""
    form = window.inspector.findChild(QGroupBox, "Outputs").layout()
    return [
        (
            form.itemAt(row, QFormLayout.LabelRole).widget().text(),
            form.itemAt(row, QFormLayout.FieldRole).widget().text(),
        )
        for row in range(form.rowCount())
    ]


def test_split_by_key_needs_a_run_first_and_says_so(split_window):
    window = split_window
    menu = right_click_port(window, "parts", "result")
    assert [a.objectName() for a in menu.actions()] == ["split_keys", "join_keys"]
    split = menu.findChild(QAction, "split_keys")
    assert not split.isEnabled()
    assert split.toolTip().startswith("Run the node first")
    join = menu.findChild(QAction, "join_keys")
    assert not join.isEnabled() and join.toolTip() == "'result' is not split by key"
    menu.close()
    # A right click elsewhere on the node opens the node's own menu, not the port's.
    point = node_point(window, "parts")
    viewport = window.view.viewport()
    QTest.mouseClick(viewport, Qt.RightButton, Qt.NoModifier, point)
    QApplication.sendEvent(
        viewport, QContextMenuEvent(QContextMenuEvent.Mouse, point, viewport.mapToGlobal(point))
    )
    assert window.running.node_menu is not None and window.running.node_menu.isVisible()
    assert window.ports.menu is menu


def test_split_by_key_adds_a_port_per_key_wires_from_it_fails_a_missing_key_and_undoes(split_window, qtbot):
    window = split_window
    first = run_flow(window, qtbot)
    assert first.state == "completed"
    menu = right_click_port(window, "parts", "result")
    assert "train, test, sizes" in menu.findChild(QAction, "split_keys").toolTip()
    steps = window.document.undo_stack.count()
    click_item(menu, "split_keys")
    assert outputs(window, "parts") == ["result", "train", "test", "sizes"]
    assert window.document.flow.nodes["parts"].options == {"split": {"result": ["train", "test", "sizes"]}}
    shown = inspector_outputs(window)  # of the node the menu was opened on
    assert shown == [("result", "dict"), ("train", "Any"), ("test", "Any"), ("sizes", "Any")]
    assert window.document.undo_stack.count() == steps + 1  # one step
    assert window.document.undo_stack.undoText() == "Split result of Parts by key"

    window.document.undo_stack.undo()
    assert outputs(window, "parts") == ["result"]
    assert window.document.flow.nodes["parts"].options == {}
    window.document.undo_stack.redo()
    assert outputs(window, "parts") == ["result", "train", "test", "sizes"]

    counter = window.document.create_node("dicts.py:count", (320.0, 0.0))
    wire(window, "parts", "train", counter, "items")
    assert Edge("parts", "train", counter, "items") in window.document.flow.edges
    window.view.fit_view()
    window.grab().save(str(Path(window.workspace.folder) / "split.png"))

    second = run_flow(window, qtbot)
    assert second.state == "completed", {n: s.error for n, s in second.statuses.items()}
    store = window.runs.engine_for_workspace().cache.store
    assert store.read(second.outputs[counter]["result"]) == 3
    assert store.read(second.outputs["parts"]["test"]) == [3]

    window.document.set_value("parts", "drop", "train")
    third = run_flow(window, qtbot)
    failed = window.scene.nodes["parts"].status
    assert third.state == "failed" and failed.state == "failed"
    assert "node 'Parts' is split by key on output 'result'" in failed.error
    assert "has no key 'train' (its keys: test, sizes)" in failed.error
    assert window.scene.nodes[counter].status.state == "skipped"


def test_join_keys_removes_the_key_ports_and_their_wires_in_one_undo_step(split_window, qtbot):
    window = split_window
    run_flow(window, qtbot)
    click_item(right_click_port(window, "parts", "result"), "split_keys")
    counter = window.document.create_node("dicts.py:count", (320.0, 0.0))
    wire(window, "parts", "test", counter, "items")
    menu = right_click_port(window, "parts", "test")  # a key's own port offers the join too
    split = menu.findChild(QAction, "split_keys")
    assert not split.isEnabled() and "is the key 'test' of 'result'" in split.toolTip()
    join = menu.findChild(QAction, "join_keys")
    assert join.text() == "Join keys of 'result'"
    click_item(menu, "join_keys")
    flow = window.document.flow
    assert outputs(window, "parts") == ["result"] and flow.edges == []
    assert window.document.undo_stack.undoText() == "Join the keys of result of Parts"
    window.document.undo_stack.undo()
    assert outputs(window, "parts") == ["result", "train", "test", "sizes"]
    assert flow.edges == [Edge("parts", "test", counter, "items")]


def test_a_tuple_return_shows_one_port_per_item_and_its_items_are_not_dicts(split_window, qtbot):
    window = split_window
    assert outputs(window, "pair") == ["result_0", "result_1"]
    tip = window.palette_widget.item_for("dicts.py:pair").toolTip(0)
    assert tip.endswith("<i>in</i> x: float<br><i>out</i> result_0: float, result_1: str")
    click_node(window, qtbot, "pair")
    assert inspector_outputs(window) == [("result_0", "float"), ("result_1", "str")]
    run_flow(window, qtbot)
    menu = right_click_port(window, "pair", "result_1")
    split = menu.findChild(QAction, "split_keys")
    assert not split.isEnabled()
    assert split.toolTip() == "The last run gave a str on 'result_1', not a dict: only a dict is split by key"
    menu.close()
    window.grab().save(str(Path(window.workspace.folder) / "tuple.png"))


PICKLED = textwrap.dedent('''
    """A dict holding a value of this file's own class: stored as a pickle."""
    from pathlib import Path

    Path(__file__).with_name("IMPORTED").write_text("ran")


    class Model:
        def __init__(self, weight):
            self.weight = weight


    def fit(weight: float = 0.5) -> dict:
        return {"model": Model(weight), "weight": weight}
''')


def test_keys_of_a_pickled_dict_in_a_restricted_workspace_are_offered_without_unpickling(
    make_window, tmp_path, qtbot
):
    import subprocess
    import sys

    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / "models.py").write_text(PICKLED)
    with Workspace(folder) as ws:
        flow = Flow("fitting", catalog=ws.catalog(loader="read"))
        flow.add_node(Node("fit", "models.py:fit", "Fit", (0.0, 0.0)))
        ws.save_flow(flow)
    ran = subprocess.run(
        [sys.executable, "-m", "plait.app.cli", "run", "fitting", "-w", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    with Workspace(folder) as ws:
        meta = ws.history.latest_result(ws.flow_info("fitting").id, "fit")["result_ref"]
    assert '"serializer": "pickle"' in meta
    (folder / "IMPORTED").unlink()
    assert not trust.is_trusted(folder)

    window = make_window(folder, flow="fitting")
    assert window.trust_control.restricted
    menu = right_click_port(window, "fit", "result")
    split = menu.findChild(QAction, "split_keys")
    assert split.isEnabled() and split.toolTip().endswith("in the last run: model, weight")
    click_item(menu, "split_keys")
    assert outputs(window, "fit") == ["result", "model", "weight"]
    assert not (folder / "IMPORTED").exists()  # nothing of the workspace ran in the window
    assert not [m for m in sys.modules if m.endswith("models")]
