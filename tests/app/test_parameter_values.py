"""A Parameter node says which value the run it shows used, when that was not its default."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from tests.app.conftest import hover, node_point, own_workspace
from tests.app.running import table_flow
from tests.app.test_history import run_elsewhere
from tests.app.test_running import run_with_dialog


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ws"
    own_workspace(path)
    return path


def test_a_parameter_node_shows_the_value_the_run_used_beside_its_default(make_window, folder, qtbot):
    ids = table_flow(folder)
    window = make_window(folder)
    factor = window.scene.nodes[ids["factor"]]
    rows = window.scene.nodes[ids["rows"]]
    assert factor.parameter_summary() == "int = 3"

    live = run_with_dialog(window, qtbot, factor="7")  # typed into the run dialog
    assert live.state == "completed", live.error
    assert factor.parameter_summary() == "int = 7 (default 3)"
    assert rows.parameter_summary() == "int = 5"  # the default was used: said once

    # Hovering the node says it too.
    hover(window.view.viewport(), node_point(window, ids["factor"]) + QPoint(0, 22))
    qtbot.waitUntil(lambda: "7 (default 3)" in factor.toolTip())

    # A past run chosen in the runs dock shows the values it used.
    run_elsewhere(folder, ids["flow"], {"factor": 9})
    window.history.poll_runs()
    table = window.runs_dock.table
    qtbot.mouseClick(
        table.viewport(), Qt.LeftButton, pos=table.visualRect(table.model().index(0, 1)).center()
    )
    qtbot.waitUntil(lambda: window.shown_run is not None and window.shown_run.id != live.id, timeout=10_000)
    assert factor.parameter_summary() == "int = 9 (default 3)"
