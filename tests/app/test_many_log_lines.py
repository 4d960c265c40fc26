"""A run that prints more lines than the window keeps: the logs dock shows its latest and says so."""

from __future__ import annotations

import textwrap

import pytest

from plait.app import past_runs
from plait.runtime.flow.model import Flow
from plait.runtime.nodes.libraries import Catalog
from plait.widgets import logs_dock
from plait.widgets.logs_dock import LogModel
from tests.app.conftest import own_workspace
from tests.app.running import failing_flow, save
from tests.app.test_follow_flow import open_from_dock
from tests.app.test_running import press_run, wait_for_run

KEPT = 1_000


@pytest.fixture
def kept(monkeypatch):
    monkeypatch.setattr(logs_dock, "KEPT_LINES", KEPT)
    monkeypatch.setattr(logs_dock, "_SLACK", KEPT // 10)
    monkeypatch.setattr(past_runs, "LOG_LIMIT", KEPT)


def lines(first: int, count: int) -> list[tuple]:
    return [(float(i), "n", "INFO", "stdout", f"line {i}") for i in range(first, first + count)]


def test_the_model_keeps_the_latest_lines_and_its_filter_rows_follow(kept):
    model = LogModel()
    model.set_filter(text="7")
    for start in range(0, 5_000, 250):  # the lines come in batches, as a run's do
        model.append(lines(start, 250))
    assert len(model.lines) <= KEPT + KEPT // 10 and model.lines[-1][4] == "line 4999"
    assert model.earlier + len(model.lines) == 5_000
    shown = [model.line(row)[4] for row in range(model.rowCount())]
    assert shown == [line[4] for line in model.lines if "7" in line[4]]  # rows of kept lines only
    model.set_lines(lines(0, 3_000), earlier=10)
    assert len(model.lines) == KEPT and model.earlier == 2_010 and model.lines[0][4] == "line 2000"


@pytest.fixture
def folder(tmp_path):
    path = own_workspace(tmp_path / "ws")
    (path / "chatty.py").write_text(
        textwrap.dedent('''
            def chatty(n: int = 5000) -> int:
                """Prints n lines."""
                for i in range(n):
                    print(f"line {i}")
                return n
        ''')
    )
    return path


def test_a_run_printing_more_than_the_window_keeps_shows_its_latest_lines_then_and_later(
    make_window, folder, qtbot, kept
):
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("Chatty", catalog=catalog)
    flow.create_node(catalog.get("chatty.py:chatty"), (0, 0))
    chatty = save(folder, flow)
    other = failing_flow(folder)["flow"]
    window = make_window(folder)
    open_from_dock(window, chatty)
    press_run(window, qtbot)
    live = wait_for_run(window, qtbot)
    assert live.state == "completed"

    def shows_the_latest() -> None:
        shown = window.logs_dock.shown_messages()
        assert shown[-1] == "line 4999" and KEPT <= len(shown) <= KEPT + KEPT // 10, len(shown)
        assert window.logs_dock.count_label.text().startswith("the latest ")
        earlier = 5_000 - len(shown)
        assert f"{earlier:,} earlier lines" in window.logs_dock.count_label.toolTip()

    shows_the_latest()
    assert len(live.lines) <= KEPT + KEPT // 10  # the window let the rest go

    # Shown again from the run history: its latest lines, and how many came before.
    open_from_dock(window, other)
    open_from_dock(window, chatty)
    qtbot.waitUntil(lambda: window.logs_dock.shown_messages()[-1:] == ["line 4999"], timeout=10_000)
    shows_the_latest()
    assert window.logs_dock.shown_messages()[0] == f"line {5_000 - KEPT}"
    window.grab().save(str(folder.parent / "latest-lines.png"))
