"""The runs dock, past runs on the canvas, outputs from records, schedules, export and import."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from plait.runtime.engine.scheduler import RunOptions, run_flow
from plait.runtime.workspace.store import Workspace
from tests.app.conftest import own_workspace
from tests.app.running import failing_flow, table_flow
from tests.app.test_running import click_node, run_with_dialog, states


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ws"
    own_workspace(path)
    return path


def run_elsewhere(folder, flow_id, parameters=None):
    """A run made by another process would land in the same tables: here, another thread."""
    done = {}

    def work():
        with Workspace(folder) as ws:
            catalog = ws.catalog()
            flow = ws.load_flow(flow_id, catalog=catalog)
            done["result"] = asyncio.run(
                run_flow(ws, flow, parameters, RunOptions(executor="inline"), catalog)
            )

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(120)
    return done["result"]


def test_runs_from_a_terminal_appear_and_a_past_run_shows_on_the_canvas(make_window, folder, qtbot):
    ids = table_flow(folder)
    window = make_window(folder)
    assert window.runs_dock.rows == []
    result = run_elsewhere(folder, ids["flow"], {"factor": 5})
    window.history.poll_runs()
    row = window.runs_dock.rows[0]
    assert row["id"] == result.run_id and row["state"] == "completed"
    assert "factor=5" in window.runs_dock.table.item(0, 5).text()

    window.runs_dock.table.selectRow(0)
    qtbot.waitUntil(lambda: window.shown_run is not None and window.shown_run.id == row["id"], timeout=10_000)
    assert states(window)[ids["double"]] == "completed"
    bars = window.runs_dock.gantt.bars
    assert {b.node_id for b in bars} == {v for k, v in ids.items() if k != "flow"}
    assert "doubling 5" in window.logs_dock.shown_messages()

    # Its outputs come from the records (inline values live in the cache index).
    click_node(window, qtbot, ids["double"])
    tab = window.outputs_dock.tab_by_port["result"]
    qtbot.waitUntil(lambda: tab.preview is not None, timeout=10_000)
    assert tab.preview.text == "10"
    assert result.run_id[:8] in tab.origin.text()

    # Re-run with the same parameters.
    window.runs_dock.rerun_button.click()
    qtbot.waitUntil(lambda: bool(window.runs.live) and not window.runs.running, timeout=60_000)
    live = list(window.runs.live.values())[-1]
    assert live.run.plan.plain["factor"] == 5
    assert set(states(window).values()) == {"cached"}


def test_save_as_writes_a_dataframe_in_the_format_of_its_extension(make_window, folder, qtbot, tmp_path):
    ids = table_flow(folder)
    window = make_window(folder)
    run_with_dialog(window, qtbot)
    click_node(window, qtbot, ids["table"])
    tab = window.outputs_dock.tab_by_port["result"]
    qtbot.waitUntil(lambda: tab.preview is not None, timeout=10_000)
    for name in ("table.csv", "table.parquet"):
        target = tmp_path / name
        window.outputs_dock.ask_save_path = lambda port, t=target: str(t)
        tab.save_button.click()
        qtbot.waitUntil(target.exists, timeout=10_000)
    assert (tmp_path / "table.csv").read_text().splitlines()[0] == ",x,y"
    told = []
    window.questions.tell = lambda title, text: told.append(text)
    window.outputs_dock.ask_save_path = lambda port: str(tmp_path / "table.docx")
    tab.save_button.click()
    qtbot.waitUntil(lambda: bool(told), timeout=10_000)
    assert "'.docx'" in told[0]


def test_a_failed_run_in_the_history_shows_its_error_and_timeline(make_window, folder, qtbot):
    ids = failing_flow(folder)
    run_elsewhere(folder, ids["flow"])
    window = make_window(folder)
    window.runs_dock.table.selectRow(0)
    qtbot.waitUntil(lambda: window.shown_run is not None, timeout=10_000)
    bad = window.scene.nodes[ids["bad"]]
    assert bad.status.state == "failed" and bad.status.error == "ValueError: boom at 3"
    assert window.runs_dock.table.item(0, 2).text() == "failed"
    assert "failed" in window.runs_dock.detail.text()


def test_a_schedule_is_previewed_added_and_run_by_the_open_window(make_window, folder, qtbot):
    from plait.runtime.schedules.schedule import Scheduler, schedules

    ids = table_flow(folder)
    window = make_window(folder)
    dialog = window.schedules.add_schedule_dialog()
    dialog.kind.setCurrentIndex(dialog.kind.findData("cron"))
    dialog.expression.setText("0 3 * * *")
    assert dialog.preview.text().count("<br>") == 5  # the next five times
    dialog.expression.setText("0 3 * *")
    assert "not a cron expression" in dialog.preview.text()
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.kind.setCurrentIndex(dialog.kind.findData("interval"))
    dialog.expression.setText("15m")
    dialog.parameters.setPlainText(json.dumps({"factor": 9}))
    assert "every 15m" in dialog.preview.text()
    dialog.accept()
    [schedule] = schedules(window.workspace, ids["flow"])
    assert schedule.parameters == {"factor": 9}
    assert window.schedules_dock.table.rowCount() == 1
    assert "every 15m" in window.schedules_dock.table.item(0, 1).text()
    assert "Tables" in window.schedules_dock.upcoming.text()

    # Twenty minutes on, the window's scheduler claims the slot and runs it.
    later = schedule.created + 20 * 60
    window.schedules.scheduler = Scheduler(window.workspace, clock=lambda: later)
    [run_id] = window.schedules.tick_schedules()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=60_000)
    window.history.refresh_runs()
    assert window.runs_dock.rows[0]["id"] == run_id
    assert window.runs.live[run_id].run.plan.plain["factor"] == 9
    assert window.schedules.tick_schedules() == []  # claimed once

    window.schedules_dock.table.cellWidget(0, 0).setChecked(False)
    assert not schedules(window.workspace, ids["flow"])[0].enabled

    # Remove takes the chosen schedule, and is off while none is chosen.
    dock = window.schedules_dock
    window.schedules_dock_widget.raise_()
    qtbot.waitUntil(dock.table.isVisible, timeout=5_000)
    assert not dock.remove_button.isEnabled()
    cell = dock.table.visualItemRect(dock.table.item(0, 1)).center()
    QTest.mouseClick(dock.table.viewport(), Qt.LeftButton, Qt.NoModifier, cell)
    assert dock.remove_button.isEnabled()
    window.questions.confirm = lambda title, text: True
    QTest.mouseClick(dock.remove_button, Qt.LeftButton)
    assert schedules(window.workspace, ids["flow"]) == [] and dock.table.rowCount() == 0
    assert not dock.remove_button.isEnabled()


def test_export_every_format_and_import_a_flow_document(make_window, folder, qtbot, tmp_path):
    ids = table_flow(folder)
    window = make_window(folder)
    loop = asyncio.get_event_loop()
    for fmt in ("json", "svg", "png", "dot", "py"):
        target = tmp_path / f"tables.{fmt}"
        task = loop.create_task(window.export.export_to(str(target)))
        qtbot.waitUntil(task.done, timeout=30_000)
        assert task.result() is True and target.stat().st_size > 0
    assert "make_table" in (tmp_path / "tables.py").read_text()
    assert "<svg" in (tmp_path / "tables.svg").read_text()
    document = json.loads((tmp_path / "tables.json").read_text())
    document["name"] = "Tables copy"
    document["id"] = "copy"
    (tmp_path / "copy.json").write_text(json.dumps(document))
    flow_id = window.export.import_from(str(tmp_path / "copy.json"))
    assert window.document.flow.name == "Tables copy" and window.document.flow.id == flow_id
    told = []
    window.questions.tell = lambda title, text: told.append(text)
    (tmp_path / "bad.json").write_text("{nope")
    assert window.export.import_from(str(tmp_path / "bad.json")) is None
    assert "bad.json" in told[0]
    assert ids and Qt
