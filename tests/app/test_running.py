"""Running flows from the real main window: the dialog, live states, logs, outputs, history."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolBar

from tests.app.conftest import node_point, own_workspace
from tests.app.running import failing_flow, napping_flow, noted_flow, noted_imports, table_flow

RUN_TIMEOUT = 120_000


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ws"
    own_workspace(path)
    return path


def press_run(window, qtbot) -> None:
    """Click the toolbar's Run button, as a person would."""
    toolbar = window.findChild(QToolBar, "MainToolbar")
    button = toolbar.widgetForAction(window.actions_by_name["run"])
    qtbot.mouseClick(button, Qt.LeftButton)


def type_into(line, text: str) -> None:
    line.selectAll()
    QTest.keyClicks(line, text)


def wait_for_run(window, qtbot):
    qtbot.waitUntil(lambda: bool(window.runs.live) and not window.runs.running, timeout=RUN_TIMEOUT)
    return list(window.runs.live.values())[-1]


def states(window) -> dict[str, str]:
    return {n: item.status.state for n, item in window.scene.nodes.items() if item.status}


def click_node(window, qtbot, node_id: str) -> None:
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=node_point(window, node_id))


def run_with_dialog(window, qtbot, factor: str | None = None, executor: str | None = None):
    before = len(window.runs.live)
    press_run(window, qtbot)
    dialog = window.running.parameter_dialog
    assert dialog is not None and dialog.isVisible()
    if factor is not None:
        type_into(dialog.fields["factor"].line, factor)
    if executor is not None:
        dialog.executor.setCurrentIndex(dialog.executor.findData(executor))
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.runs.live) > before, timeout=10_000)
    return wait_for_run(window, qtbot)


def test_run_a_flow_with_parameters_end_to_end(make_window, folder, qtbot):
    ids = table_flow(folder)
    window = make_window(folder)
    window.view.fit_view()
    press_run(window, qtbot)
    dialog = window.running.parameter_dialog
    assert set(dialog.fields) == {"factor", "rows", "scale"}
    assert dialog.fields["rows"].line.text() == "5"  # the default, filled in

    # A wrong value is refused beside its field and Run stays disabled.
    factor = dialog.fields["factor"]
    type_into(factor.line, "three")
    assert "valid integer" in factor.error.text()
    assert factor.error.isVisible()
    assert not dialog.run_button.isEnabled()
    type_into(factor.line, "4")
    assert factor.error.text() == ""
    assert dialog.run_button.isEnabled()
    # Worker processes for this run.
    dialog.executor.setCurrentIndex(dialog.executor.findData("local"))
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    live = wait_for_run(window, qtbot)
    assert live.state == "completed", live.error

    assert states(window) == {
        n: "completed" for n in ("rows", "scale", "factor", "table", "summary", "double") for n in [ids[n]]
    }
    assert window.running.run_label.text().startswith("✓")

    # The table's output in the outputs dock, its printed line in the logs dock.
    click_node(window, qtbot, ids["table"])
    tab = window.outputs_dock.tab_by_port["result"]
    qtbot.waitUntil(lambda: tab.preview is not None, timeout=20_000)
    model = tab.viewer.model()
    assert (model.rowCount(), model.columnCount()) == (5, 2)
    assert "5 rows × 2 columns" in tab.description.full_text
    assert "computed by run" in tab.origin.text()
    assert "making 5 rows" in window.logs_dock.shown_messages()

    # The run in the runs dock, newest first.
    window.history.refresh_runs()
    assert window.runs_dock.rows[0]["id"] == live.id
    assert window.runs_dock.table.item(0, 2).text() == "completed"

    # The same parameters again (remembered): everything comes from the cache.
    again = run_with_dialog(window, qtbot)
    assert set(states(window).values()) == {"cached"}
    assert again.run.plan.plain["factor"] == 4

    # One parameter changed: only its downstream cone runs.
    third = run_with_dialog(window, qtbot, factor="6")
    assert third.state == "completed"
    now = states(window)
    assert {n for n, s in now.items() if s == "completed"} == {ids["factor"], ids["double"]}
    assert {n for n, s in now.items() if s == "cached"} == {
        ids["rows"],
        ids["scale"],
        ids["table"],
        ids["summary"],
    }
    click_node(window, qtbot, ids["table"])
    tab = window.outputs_dock.tab_by_port["result"]
    qtbot.waitUntil(lambda: "made by run" in tab.origin.text(), timeout=20_000)
    assert live.id[:8] in tab.origin.text()


def test_the_workers_import_the_flows_code_while_its_parameters_are_filled_in(
    make_window, folder, qtbot, settings
):
    noted_flow(folder, parameter=True)
    settings.setValue("run/executor", "local")
    settings.setValue("run/max_workers", 2)
    window = make_window(folder, flow="noted")
    press_run(window, qtbot)
    dialog = window.running.parameter_dialog
    assert dialog is not None and dialog.isVisible()

    def workers() -> list[int]:
        return [pid for pid, side in noted_imports(folder) if side == "worker"]

    # Both worker processes are up and have imported the node's code; nothing runs yet.
    qtbot.waitUntil(lambda: len(set(workers())) == 2, timeout=60_000)
    assert not window.runs.live
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(window.runs.live), timeout=10_000)
    live = wait_for_run(window, qtbot)
    assert live.state == "completed", live.error
    assert live.run.executor.name == "local"
    assert len(workers()) == 2  # the worker that ran it did not import it again


def test_a_failing_node_shows_its_error_while_an_independent_branch_completes(make_window, folder, qtbot):
    ids = failing_flow(folder)
    window = make_window(folder)
    window.actions_by_name["run"].trigger()  # no parameters: no dialog
    assert window.running.parameter_dialog is None
    live = wait_for_run(window, qtbot)
    assert live.state == "failed"
    bad = window.scene.nodes[ids["bad"]]
    assert bad.status.state == "failed"
    assert bad.status.error == "ValueError: boom at 3"
    assert "ValueError: boom at 3" in bad.status.text()
    assert "Traceback" in bad.tooltip_text()
    assert window.scene.nodes[ids["good"]].status.state == "completed"
    assert window.scene.nodes[ids["after"]].status.state == "completed"
    click_node(window, qtbot, ids["bad"])
    messages = window.logs_dock.shown_messages()
    assert any("boom at 3" in m for m in messages)
    assert any("Traceback" in m for m in messages)
    assert "no output in this run" in window.outputs_dock.heading.text()


def test_stop_cancels_a_long_node(make_window, folder, qtbot, settings):
    ids = napping_flow(folder)
    settings.setValue("run/executor", "local")
    window = make_window(folder)
    window.actions_by_name["run"].trigger()
    item = window.scene.nodes[ids["nap"]]
    qtbot.waitUntil(lambda: bool(item.status and item.status.fraction), timeout=60_000)
    assert item.status.state == "running"
    assert window.running.stop_button.isVisible()
    assert "running" in item.status.text() and "%" in item.status.text()
    qtbot.mouseClick(window.running.stop_button, Qt.LeftButton)
    live = wait_for_run(window, qtbot)
    assert live.state == "cancelled"
    assert item.status.state == "cancelled"
    assert not window.running.stop_button.isVisible()
    row = window.workspace.conn.execute("select state, ended from runs where id=?", (live.id,)).fetchone()
    assert row[0] == "cancelled" and row[1] is not None
