"""A large output whose file a worker is still writing is shown once the file is there, never as missing."""

from __future__ import annotations

import os
import signal
import textwrap

import pytest

from plait.runtime.flow.model import Flow
from plait.runtime.nodes.libraries import Catalog
from tests.app.conftest import own_workspace
from tests.app.running import save
from tests.app.test_running import RUN_TIMEOUT, click_node, press_run, wait_for_run

LIBRARY = textwrap.dedent('''
    """A node whose array a worker writes slowly: its write waits for a file named gate."""
    import os
    import time
    from pathlib import Path

    import numpy


    def big(mb: int = 20) -> numpy.ndarray:
        """A large array."""
        from plait.runtime.results import blobs

        gate = Path(__file__).with_name("gate")
        original = blobs._write_piece

        def first_piece(fh, piece):
            blobs._write_piece = original
            original(fh, piece)
            fh.flush()
            gate.with_name("writing").write_text(str(os.getpid()))
            while not gate.exists():
                time.sleep(0.01)

        blobs._write_piece = first_piece
        return numpy.full(mb * 1024 * 1024 // 8, 2.0)
''')


@pytest.fixture
def folder(tmp_path):
    path = own_workspace(tmp_path / "ws")
    (path / "slow.py").write_text(LIBRARY)
    return path


def open_big_flow(make_window, settings, folder):
    """A window on a flow of one slowly written big array, run on worker processes."""
    settings.setValue("run/executor", "local")
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("Big array", catalog=catalog)
    big = flow.create_node(catalog.get("slow.py:big"), (240, 0)).id
    save(folder, flow)
    return make_window(folder), big


def test_an_output_still_being_written_is_shown_once_its_file_is_complete(
    make_window, settings, folder, qtbot
):
    window, big = open_big_flow(make_window, settings, folder)
    window.view.fit_view()
    window.outputs_dock_widget.show()
    press_run(window, qtbot)

    def finished_while_writing() -> bool:
        live = list(window.runs.live.values())
        status = live[-1].statuses.get(big) if live else None
        return (folder / "writing").exists() and status is not None and status.state == "completed"

    qtbot.waitUntil(finished_while_writing, timeout=RUN_TIMEOUT)
    # The run ends with its node; its result joins the cache once the file is written.
    qtbot.waitUntil(lambda: not window.runs.running, timeout=RUN_TIMEOUT)
    assert not (folder / "gate").exists()

    def explained():
        found = window.explainer.by_node.get(big)
        return found.state if found is not None else None

    qtbot.waitUntil(lambda: explained() == "will run", timeout=10_000)  # not in the cache yet
    message = window.statusBar().currentMessage()
    assert message == "The run of 'Big array' finished; writing 1 large result to the cache…", message
    window.grab().save(str(folder.parent / "writing.png"))
    click_node(window, qtbot, big)

    def tab():
        return window.outputs_dock.tab_by_port.get("result")

    try:
        qtbot.waitUntil(lambda: tab() is not None, timeout=10_000)
        qtbot.wait(300)
        assert tab().preview is None and tab().status.text() == "Loading…"  # waiting, not "cannot be read"
    finally:
        (folder / "gate").touch()
    qtbot.waitUntil(lambda: tab() is not None and tab().preview is not None, timeout=RUN_TIMEOUT)
    assert wait_for_run(window, qtbot).state == "completed"
    assert tab().save_button.isEnabled()
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == "The results of 'Big array' are in the cache",
        timeout=RUN_TIMEOUT,
    )
    # And the next run reuses it, now that it is in the cache (it would have run before).
    qtbot.waitUntil(lambda: explained() == "cached", timeout=10_000)


def test_a_result_whose_write_fails_after_its_run_ended_is_said_not_kept(
    make_window, settings, folder, qtbot
):
    window, _ = open_big_flow(make_window, settings, folder)
    press_run(window, qtbot)
    qtbot.waitUntil(lambda: (folder / "writing").exists() and not window.runs.running, timeout=RUN_TIMEOUT)
    os.kill(int((folder / "writing").read_text()), signal.SIGKILL)  # the worker writing it dies
    qtbot.waitUntil(
        lambda: "could not be written to the cache" in window.statusBar().currentMessage(),
        timeout=RUN_TIMEOUT,
    )
    assert window.statusBar().currentMessage() == (
        "The result of 'Big' could not be written to the cache (its log says why): "
        "the next run computes it again"
    )
