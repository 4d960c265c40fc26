"""A failing node's traceback as its author reads it: from their own frame, the rest in details."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from plait.runtime.engine.worker import user_traceback
from tests.app.conftest import hover, node_point, own_workspace
from tests.app.running import failing_flow

RUN_TIMEOUT = 120_000


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ws"
    own_workspace(path)
    return path


def test_a_traceback_starts_at_the_first_frame_outside_plait():
    import plait.runtime.engine.worker as worker

    full = (
        "Traceback (most recent call last):\n"
        f'  File "{worker.__file__}", line 240, in run_task\n'
        "    value = fn(*args, **kwargs)\n"
        "            ^^^^^^^^^^^^^^^^^^^\n"
        '  File "/home/me/ws/jobs.py", line 30, in boom\n'
        '    raise ValueError(f"boom at {x}")\n'
        "ValueError: boom at 3\n"
    )
    assert user_traceback(full) == (
        "Traceback (most recent call last):\n"
        '  File "/home/me/ws/jobs.py", line 30, in boom\n'
        '    raise ValueError(f"boom at {x}")\n'
        "ValueError: boom at 3\n"
    )
    # All of it Plait's own (a built-in node): the frame that raised stays.
    builtin = full.replace("/home/me/ws/jobs.py", worker.__file__)
    assert user_traceback(builtin).count('  File "') == 1


def test_a_failed_nodes_traceback_starts_at_the_users_frame_in_tooltip_logs_and_outputs(
    make_window, folder, qtbot
):
    ids = failing_flow(folder)
    window = make_window(folder)
    window.actions_by_name["run"].trigger()
    qtbot.waitUntil(lambda: bool(window.runs.live) and not window.runs.running, timeout=RUN_TIMEOUT)
    bad = window.scene.nodes[ids["bad"]]
    assert "worker.py" in bad.status.traceback  # the whole one is kept

    # Hovering the node: the tooltip's traceback begins in jobs.py.
    viewport = window.view.viewport()
    point = node_point(window, ids["bad"])
    hover(viewport, point + QPoint(20, 30))
    qtbot.waitUntil(lambda: "Traceback" in bad.toolTip())
    tip = bad.toolTip()
    assert "jobs.py" in tip and "boom at 3" in tip
    assert "worker.py" not in tip

    # Clicking it: the logs dock shows the short traceback, the outputs dock says why.
    qtbot.mouseClick(viewport, Qt.LeftButton, pos=point)
    logs = window.logs_dock
    messages = logs.shown_messages()
    assert any("jobs.py" in m for m in messages)
    assert not any("worker.py" in m for m in messages)
    heading = window.outputs_dock.heading.text()
    assert "jobs.py" in heading and "worker.py" not in heading

    # The traceback's first line holds the whole of it: in its tooltip, and copied with Ctrl+C.
    row = next(r for r in range(logs.model.rowCount()) if logs.model.line(r)[4].startswith("Traceback"))
    index = logs.model.index(row, 4)
    assert "worker.py" in logs.model.data(index, Qt.ToolTipRole)
    table = logs.table
    table.scrollTo(index)
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=table.visualRect(index).center())
    QTest.keySequence(table, QKeySequence.Copy)
    assert "worker.py" in QApplication.clipboard().text()
