"""Around a run: refusals, remembered values, parameter files, the node menu, stale states."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.app.conftest import own_workspace
from tests.app.running import table_flow
from tests.app.test_running import RUN_TIMEOUT, run_with_dialog, states, wait_for_run


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ws"
    own_workspace(path)
    return path


def test_a_flow_with_problems_is_not_run_and_the_problems_are_told(make_window, folder, qtbot):
    ids = table_flow(folder)
    window = make_window(folder)
    told = []
    window.questions.tell = lambda title, text: told.append(text)
    window.document.delete([], window.document.flow.edges_into(ids["double"]), [])
    window.actions_by_name["run"].trigger()
    assert window.running.parameter_dialog is None and not window.runs.live
    assert "x" in told[0] and "cannot run" in told[0]


def test_values_are_remembered_per_flow_and_refusals_come_from_the_engine_too(make_window, folder, qtbot):
    table_flow(folder)
    window = make_window(folder)
    run_with_dialog(window, qtbot, factor="7")
    window.actions_by_name["run"].trigger()
    dialog = window.running.parameter_dialog
    assert dialog.fields["factor"].line.text() == "7"
    assert dialog.fields["rows"].line.text() == "5"
    dialog.reject()
    told = []
    window.questions.tell = lambda title, text: told.append(text)
    assert (
        window.running.start_run(window.document.flow, {"rows": "many"}, window.run_settings.run_choices())
        is None
    )
    assert "parameter 'rows' expects int" in told[0]


def test_a_json_parameters_file_runs_without_the_dialog_or_fills_it(make_window, folder, qtbot, tmp_path):
    ids = table_flow(folder)
    window = make_window(folder)
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"rows": 2, "factor": 10}))
    live = window.running.run_with_file(str(path))
    wait_for_run(window, qtbot)
    assert live.state == "completed" and live.run.plan.plain["rows"] == 2
    window.actions_by_name["run"].trigger()
    dialog = window.running.parameter_dialog
    path.write_text(json.dumps({"rows": 9, "nope": 1}))
    dialog.load_file(str(path))
    assert dialog.fields["rows"].line.text() == "9"
    assert "nope" in dialog.message.text()
    dialog.reject()
    assert ids


def test_the_node_menu_runs_up_to_a_node_reruns_from_it_and_clears_its_cache(make_window, folder, qtbot):
    ids = table_flow(folder)
    window = make_window(folder)
    window.settings.setValue("run/executor", "inline")
    point = window.view.mapFromScene(window.scene.nodes[ids["table"]].mapToScene(60, 12))
    viewport = window.view.viewport()
    QTest.mouseClick(viewport, Qt.RightButton, Qt.NoModifier, point)
    # The platform follows a right click with a context menu event; offscreen, we send it.
    QApplication.sendEvent(
        viewport, QContextMenuEvent(QContextMenuEvent.Mouse, point, viewport.mapToGlobal(point))
    )
    assert window.running.node_menu is not None and window.running.node_menu.isVisible()
    menu = window.running.node_menu
    names = [a.objectName() for a in menu.actions() if a.objectName()]
    assert names == ["run_up_to", "rerun_from", "show_output", "show_logs", "clear_cache"]

    menu.findChild(QAction, "run_up_to").trigger()
    qtbot.mouseClick(window.running.parameter_dialog.run_button, Qt.LeftButton)
    live = wait_for_run(window, qtbot)
    assert set(live.statuses) == {ids["rows"], ids["scale"], ids["table"]}
    assert states(window)[ids["table"]] == "completed"

    window.running.open_node_menu(ids["table"], QPoint(0, 0))
    window.running.node_menu.findChild(QAction, "rerun_from").trigger()
    qtbot.mouseClick(window.running.parameter_dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.runs.live) == 2, timeout=10_000)
    forced = wait_for_run(window, qtbot)
    assert forced.statuses[ids["table"]].state == "completed"
    assert forced.statuses[ids["summary"]].state == "completed"
    assert forced.statuses[ids["double"]].state == "completed"  # never ran before
    window.running.open_node_menu(ids["double"], QPoint(0, 0))
    window.running.node_menu.findChild(QAction, "show_logs").trigger()
    assert window.logs_dock.shown_messages() == ["doubling 3"]

    window.running.open_node_menu(ids["summary"], QPoint(0, 0))
    window.running.node_menu.findChild(QAction, "clear_cache").trigger()
    assert "Cleared the cached result" in window.statusBar().currentMessage()
    again = run_with_dialog(window, qtbot)
    assert again.statuses[ids["summary"]].state == "completed"
    assert again.statuses[ids["table"]].state == "cached"


def test_editing_a_node_after_a_run_marks_it_and_its_cone_stale(make_window, folder, qtbot):
    ids = table_flow(folder)
    window = make_window(folder)
    run_with_dialog(window, qtbot)
    window.document.set_value(ids["rows"], "default", 8)
    items = window.scene.nodes
    assert items[ids["rows"]].status.stale and items[ids["table"]].status.stale
    assert items[ids["summary"]].status.stale
    assert not items[ids["double"]].status.stale
    assert items[ids["summary"]].status.text().endswith("· stale")


def test_closing_during_a_run_asks_and_cancels_it_with_complete_records(make_window, folder, qtbot, settings):
    from tests.app.running import napping_flow

    ids = napping_flow(folder)
    settings.setValue("run/executor", "local")
    window = make_window(folder)
    window.actions_by_name["run"].trigger()
    item = window.scene.nodes[ids["nap"]]
    qtbot.waitUntil(lambda: bool(item.status and item.status.state == "running"), timeout=RUN_TIMEOUT)
    asked = []
    window.questions.ask_cancel_runs = lambda count: asked.append(count) or False
    window.close()
    assert asked == [1] and window.isVisible() and window.runs.running
    window.questions.ask_cancel_runs = lambda count: True
    window.close()
    qtbot.waitUntil(lambda: window.shut_down, timeout=RUN_TIMEOUT)
    assert not window.isVisible()
    from plait.runtime.workspace.store import Workspace

    with Workspace(folder) as ws:
        run = ws.conn.execute("select state, ended from runs").fetchone()
        node = ws.conn.execute("select state, ended from node_runs").fetchone()
    assert run[0] == "cancelled" and run[1] and node[0] == "cancelled" and node[1]
