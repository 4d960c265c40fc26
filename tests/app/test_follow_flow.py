"""The logs dock and the status bar follow the open flow: switching flows shows that flow's last run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.app.conftest import own_workspace
from tests.app.running import failing_flow, table_flow
from tests.app.test_running import press_run, run_with_dialog, wait_for_run


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ws"
    own_workspace(path)
    return path


def open_from_dock(window, flow_id: str) -> None:
    """Double-click the flow's row in the flows dock, as a person switches flows."""
    window.flows_dock_widget.raise_()
    tree = window.flows_dock.tree
    item = next(
        tree.topLevelItem(i)
        for i in range(tree.topLevelItemCount())
        if tree.topLevelItem(i).data(0, Qt.UserRole) == flow_id
    )
    point = tree.visualItemRect(item).center()
    QTest.mouseClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    QTest.mouseDClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    QApplication.processEvents()
    assert window.document.flow.id == flow_id


def test_switching_flows_shows_each_flows_last_run_in_the_logs_and_status_bar(make_window, folder, qtbot):
    failing = failing_flow(folder)["flow"]
    tables = table_flow(folder)["flow"]
    window = make_window(folder)
    open_from_dock(window, failing)
    press_run(window, qtbot)  # no parameters: it starts at once
    wait_for_run(window, qtbot)
    assert window.running.run_label.full_text.startswith("✗ 'Failing' failed")
    assert any("boom at 3" in m for m in window.logs_dock.shown_messages())

    # A flow that never ran: nothing of the other flow's run is left.
    open_from_dock(window, tables)
    assert window.logs_dock.shown_messages() == []
    assert window.running.run_label.full_text == ""
    run_with_dialog(window, qtbot)
    assert window.running.run_label.full_text.startswith("✓ 'Tables' completed")
    assert "making 5 rows" in window.logs_dock.shown_messages()

    open_from_dock(window, failing)
    assert window.running.run_label.full_text.startswith("✗ 'Failing' failed")
    assert any("boom at 3" in m for m in window.logs_dock.shown_messages())
    assert window.scene.nodes[next(iter(window.scene.nodes))].status is not None


def test_a_flow_opened_in_a_new_window_shows_its_last_recorded_run(make_window, folder, qtbot):
    failing = failing_flow(folder)["flow"]
    tables = table_flow(folder)["flow"]
    first = make_window(folder)
    open_from_dock(first, failing)
    press_run(first, qtbot)
    wait_for_run(first, qtbot)
    open_from_dock(first, tables)

    window = make_window(folder)
    open_from_dock(window, failing)
    qtbot.waitUntil(lambda: any("boom at 3" in m for m in window.logs_dock.shown_messages()), timeout=10_000)
    assert window.running.run_label.full_text.startswith("✗ 'Failing' failed")
    assert window.scene.statuses()
