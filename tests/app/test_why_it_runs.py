"""Before Run, the window says which nodes the next run reruns and why (canvas, tooltip, inspector)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from plait.runtime.flow.model import Flow
from plait.runtime.workspace.store import Workspace
from tests.app.conftest import own_workspace
from tests.app.running import save, table_flow, write_library
from tests.app.test_running import click_node, press_run, run_with_dialog, wait_for_run


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "ws"
    own_workspace(path)
    return path


def why_label(window) -> QLabel:
    return window.inspector.findChild(QLabel, "WhyItRuns")


def test_saving_a_library_marks_exactly_the_nodes_that_will_rerun(make_window, folder, qtbot):
    ids = table_flow(folder)
    window = make_window(folder)
    window.view.fit_view()
    run_with_dialog(window, qtbot)
    items = window.scene.nodes
    assert items[ids["double"]].status.state == "completed"
    qtbot.waitUntil(lambda: bool(window.explainer.by_node), timeout=10_000)
    assert not any(item.status.stale for item in items.values() if item.status)

    # Save an edit of `double` from "another editor": the file watcher reloads it.
    library = folder / "jobs.py"
    library.write_text(library.read_text().replace("return 2 * x", "return 3 * x"))
    qtbot.waitUntil(lambda: items[ids["double"]].status.stale, timeout=15_000)
    double = items[ids["double"]].status
    assert double.next_run == "will run"
    assert double.why == ("its code changed",)
    assert "· will rerun" in double.text()
    assert "Will rerun: its code changed" in items[ids["double"]].tooltip_text()
    for name in ("table", "summary"):
        assert not items[ids[name]].status.stale, name

    # The inspector says the same for the selected node.
    click_node(window, qtbot, ids["double"])
    assert window.inspector.node_id == ids["double"]
    text = why_label(window).text()
    assert "Will run" in text and "its code changed" in text
    click_node(window, qtbot, ids["table"])
    assert "Reused from the cache" in why_label(window).text()

    # Running again reruns just that node and clears the marks.
    live = run_with_dialog(window, qtbot)
    assert live.statuses[ids["double"]].state == "completed"
    assert live.statuses[ids["table"]].state == "cached"
    qtbot.waitUntil(lambda: not any(i.status.stale for i in items.values() if i.status), timeout=10_000)


def test_an_edit_marks_the_node_will_rerun_its_cone_may_rerun_and_undo_clears_it(make_window, folder, qtbot):
    ids = table_flow(folder)
    window = make_window(folder)
    run_with_dialog(window, qtbot)
    items = window.scene.nodes
    qtbot.waitUntil(lambda: bool(window.explainer.by_node), timeout=10_000)
    # Unwiring the scale parameter from make_table changes its key (a wire is gone).
    edge = window.document.flow.edge_into(ids["table"], "scale")
    window.document.delete([], [edge], [])
    qtbot.waitUntil(lambda: items[ids["table"]].status.next_run == "will run", timeout=10_000)
    assert items[ids["summary"]].status.next_run == "waits"
    assert items[ids["double"]].status.stale is False
    window.document.undo_stack.undo()
    qtbot.waitUntil(lambda: not items[ids["table"]].status.stale, timeout=10_000)


def test_code_that_is_not_deterministic_gets_a_hint_in_the_inspector(make_window, folder, qtbot):
    (folder / "noisy.py").write_text(
        "import random\n\n\ndef jitter(x: float = 0.0) -> float:\n    return x + random.random()\n"
    )
    catalog = write_library(folder)
    flow = Flow("Noisy", catalog=catalog)
    noisy = flow.create_node(catalog.get("noisy.py:jitter"), (0, 0)).id
    steady = flow.create_node(catalog.get("jobs.py:double"), (300, 0)).id
    save(folder, flow)
    window = make_window(folder)
    window.view.fit_view()
    click_node(window, qtbot, noisy)
    hint = window.inspector.findChild(QLabel, "NondeterminismHint")
    assert hint is not None and hint.isVisible()
    assert "random.random()" in hint.text() and "cache to never" in hint.text()
    click_node(window, qtbot, steady)
    assert window.inspector.findChild(QLabel, "NondeterminismHint") is None


def test_saving_a_data_file_the_flow_reads_marks_its_reader(make_window, folder, qtbot):
    (folder / "data.csv").write_text("x,y\n1,2\n")
    write_library(folder)
    with Workspace(folder) as ws:
        catalog = ws.catalog()
    flow = Flow("Reads", catalog=catalog)
    read = flow.create_node(catalog.get("plait.runtime.builtins:read_table"), (0, 0)).id
    flow.set_value(read, "path", "data.csv")
    summary = flow.create_node(catalog.get("jobs.py:summarize"), (300, 0)).id
    flow.connect(read, "result", summary, "table")
    save(folder, flow)
    window = make_window(folder)
    press_run(window, qtbot)  # no parameters: no dialog
    assert wait_for_run(window, qtbot).state == "completed"
    items = window.scene.nodes
    qtbot.waitUntil(lambda: bool(window.explainer.by_node), timeout=10_000)
    assert not items[read].status.stale
    # Another program saves the file; the window is not even activated.
    (folder / "data.csv").write_text("x,y\n1,2\n3,4\n")
    qtbot.waitUntil(lambda: items[read].status.stale, timeout=15_000)
    assert items[read].status.why == ("file data.csv changed",)
    assert items[summary].status.next_run == "waits"
