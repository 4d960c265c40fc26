"""A stored value that fails its checksum is named as damaged in the outputs dock, with a way out."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from plait.runtime.flow.model import Flow
from tests.app.conftest import own_workspace
from tests.app.running import save, write_library
from tests.app.test_running import click_node, press_run, wait_for_run


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ws"
    own_workspace(path)
    return path


def big_table_flow(folder) -> str:
    """One node, no parameters, with a table large enough to be stored as a file."""
    catalog = write_library(folder)
    flow = Flow("Big table", catalog=catalog)
    table = flow.create_node(catalog.get("jobs.py:make_table"), (240, 0))
    flow.set_value(table.id, "rows", 50_000)
    save(folder, flow)
    return table.id


def test_a_damaged_output_says_so_and_its_recompute_button_runs_the_node_again(make_window, folder, qtbot):
    table = big_table_flow(folder)
    window = make_window(folder)
    window.view.fit_view()
    press_run(window, qtbot)
    first = wait_for_run(window, qtbot)
    assert first.state == "completed", first.error
    ref = first.outputs[table]["result"]
    assert ref.file is not None
    blob = window.workspace.data_dir / "cache" / ref.file
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped byte, same size
    blob.write_bytes(bytes(data))

    window.outputs_dock_widget.show()
    click_node(window, qtbot, table)
    tab = window.outputs_dock.tab_by_port["result"]
    qtbot.waitUntil(lambda: tab.recompute_button.isVisible(), timeout=20_000)
    assert "is damaged: its bytes do not match their checksum" in tab.status.text()
    assert tab.preview is None and not tab.save_button.isEnabled()

    runs_before = len(window.runs.live)
    qtbot.mouseClick(tab.recompute_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.runs.live) > runs_before, timeout=10_000)
    again = wait_for_run(window, qtbot)
    assert again.state == "completed", again.error
    assert again.statuses[table].state == "completed"  # computed again, not taken from the cache
    qtbot.waitUntil(
        lambda: (
            window.outputs_dock.tab_by_port.get("result") is not None
            and window.outputs_dock.tab_by_port["result"].preview is not None
        ),
        timeout=20_000,
    )
    fresh = window.outputs_dock.tab_by_port["result"]
    assert fresh.viewer.model().columnCount() == 2
    assert not fresh.recompute_button.isVisible()
