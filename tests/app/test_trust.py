"""A workspace made elsewhere runs nothing until trusted; libraries that crash leave the window up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from plait.runtime.flow.model import Flow, Node
from plait.runtime.workspace import trust
from plait.runtime.workspace.store import Workspace

MARKER_LIBRARY = textwrap.dedent('''
    """Nodes whose import leaves a mark: proof that the file ran."""
    from pathlib import Path

    import numpy  # a third-party module the banner names

    Path(__file__).with_name("IMPORTED").write_text("ran")


    def double(x: int = 2) -> int:
        """Twice x."""
        return 2 * x


    def total(value: float, start: float = 0.0) -> float:
        return start + value
''')


def foreign_workspace(folder: Path) -> Path:
    """A folder as a clone would bring it: code first, then a database with a flow."""
    folder.mkdir()
    (folder / "nodes.py").write_text(MARKER_LIBRARY)
    (folder / "IMPORTED").unlink(missing_ok=True)
    with Workspace(folder) as ws:
        flow = Flow("doubling", catalog=ws.catalog(loader="read"))
        flow.add_node(Node("double", "nodes.py:double", "Double", (0.0, 0.0), {"x": 4}))
        flow.add_node(Node("total", "nodes.py:total", "Total", (260.0, 0.0)))
        flow.connect("double", "result", "total", "value")
        ws.save_flow(flow)
    assert not trust.is_trusted(folder)
    return folder


def plait(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plait.app.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ},
        timeout=120,
    )


def test_flows_runs_and_drawings_of_a_foreign_workspace_import_nothing(tmp_path):
    folder = foreign_workspace(tmp_path / "clone")
    assert "doubling" in plait("flows", "-w", str(folder)).stdout
    assert plait("runs", "-w", str(folder)).returncode == 0
    for fmt in ("json", "svg", "dot"):
        done = plait(
            "export", "doubling", "--to", fmt, "-o", str(tmp_path / f"flow.{fmt}"), "-w", str(folder)
        )
        assert done.returncode == 0, done.stderr
    assert "Double" in (tmp_path / "flow.svg").read_text()
    assert not (folder / "IMPORTED").exists()
    # A run is a person's explicit request, as `python script.py` is: it runs, and trusts nothing.
    ran = plait("run", "doubling", "-w", str(folder), "--json")
    assert ran.returncode == 0, ran.stderr
    assert (folder / "IMPORTED").exists()
    assert not trust.is_trusted(folder)


def test_trust_untrust_and_list_on_the_command_line(tmp_path):
    folder = foreign_workspace(tmp_path / "clone")
    done = plait("trust", str(folder))
    assert done.returncode == 0 and "Trusted" in done.stdout
    assert trust.is_trusted(folder)
    assert str(folder.resolve()) in plait("trust", "--list").stdout
    assert "already trusted" in plait("trust", str(folder)).stdout
    assert "no longer trusted" in plait("untrust", str(folder)).stdout
    assert not trust.is_trusted(folder)
    assert str(folder.resolve()) not in plait("trust", "--list").stdout
    assert "the current folder" in plait("trust", "--help").stdout
    missing = plait("trust", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_a_foreign_workspace_opens_restricted_and_trusting_it_loads_its_code(make_window, tmp_path, qtbot):
    folder = foreign_workspace(tmp_path / "clone")
    window = make_window(folder)
    banner = window.trust_banner
    assert banner.isVisible()
    assert "has not run on this computer" in banner.title.text()
    assert "nodes.py" in banner.detail.text() and "numpy" in banner.detail.text()
    # Drawn from the source: the nodes, their ports and the wire, with nothing imported.
    assert window.catalog.restricted
    assert set(window.scene.nodes) == set(window.document.flow.nodes)
    assert "nodes.py:double" in window.palette_widget.keys()
    assert not (folder / "IMPORTED").exists()
    run = window.actions_by_name["run"]
    assert not run.isEnabled() and "trust it first" in run.toolTip()
    assert not window.schedules_dock.isEnabled()
    window.running.run_flow()  # F5 and menus end here too
    assert not window.runs.live
    assert not (folder / "IMPORTED").exists()

    window.grab().save(str(tmp_path / "restricted.png"))
    QTest.mouseClick(banner.trust_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: (folder / "IMPORTED").exists(), timeout=30_000)
    assert not banner.isVisible()
    assert not window.catalog.restricted
    assert window.actions_by_name["run"].isEnabled()
    assert trust.is_trusted(folder)
    # The code ran in the library process, not in the window's.
    assert not [m for m in sys.modules if m.startswith("_plait_ws_") and "nodes" in m]


def test_stay_restricted_hides_the_banner_and_file_menu_can_still_trust(make_window, tmp_path, qtbot):
    folder = foreign_workspace(tmp_path / "clone")
    window = make_window(folder)
    QTest.mouseClick(window.trust_banner.stay_button, Qt.LeftButton)
    assert not window.trust_banner.isVisible()
    action = window.actions_by_name["trust"]
    assert action.isVisible() and action.isEnabled()
    action.trigger()
    qtbot.waitUntil(lambda: (folder / "IMPORTED").exists(), timeout=30_000)
    assert not action.isVisible()


CRASHING = {
    "crash.py": "import ctypes\n\nX = 1\nctypes.string_at(0)\n",
    "hang.py": "import time\n\nwhile True:\n    time.sleep(0.01)\n",
    "broken.py": "def oops(:\n    pass\n",
}


def test_libraries_that_crash_hang_or_do_not_parse_leave_the_window_up(make_window, workspace_folder):
    with Workspace(workspace_folder) as ws:
        ws.set_setting("library_timeout", 3)
    for name, text in CRASHING.items():
        (workspace_folder / name).write_text(text)
    window = make_window(workspace_folder)
    assert window.isVisible()
    assert "nodes.py:count" in window.palette_widget.keys()  # the others load
    errors = {lib.name: lib.error for lib in window.catalog.libraries if lib.error}
    assert set(errors) == set(CRASHING)
    assert "SIGSEGV" in errors["crash.py"] and "crash.py line 4" in errors["crash.py"]
    assert "did not finish within 3 s" in errors["hang.py"] and "hang.py line 4" in errors["hang.py"]
    assert "SyntaxError" in errors["broken.py"] and 'broken.py", line 1' in errors["broken.py"]
    failed = window.palette_widget.failed()
    assert all(any(name in entry for entry in failed) for name in CRASHING)
    # An edit of one of the others still reloads, without waiting for the hanging file again.
    (workspace_folder / "extra.py").write_text("def shout(text: str) -> str:\n    return text.upper()\n")
    window.workspaces.reload_libraries()
    assert "extra.py:shout" in window.palette_widget.keys()
    # Fixing the crashing file loads it.
    (workspace_folder / "crash.py").write_text("def fine() -> int:\n    return 1\n")
    window.workspaces.reload_libraries()
    assert "crash.py:fine" in window.palette_widget.keys()


PICKLING = textwrap.dedent('''
    from pathlib import Path


    class Booby:
        """Unpickling it writes a marker: the value's bytes choose what runs."""

        def __init__(self, folder: str) -> None:
            self.folder = folder

        def __reduce__(self):
            return (Path(self.folder, "UNPICKLED").write_text, ("ran",))


    def make(folder: str = ".") -> object:
        return Booby(folder)
''')


def pickled_result(folder: Path) -> Path:
    """A workspace made here (so trusted) whose one node's result was pickled by `plait run`."""
    Workspace(folder).close()
    (folder / "nodes.py").write_text(PICKLING)
    with Workspace(folder) as ws:
        flow = Flow("booby")
        flow.add_node(Node("make", "nodes.py:make", "Make", (0.0, 0.0), {"folder": str(folder)}))
        ws.save_flow(flow)
    ran = plait("run", "booby", "-w", str(folder), "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["state"] == "completed"
    (folder / "UNPICKLED").unlink(missing_ok=True)
    return folder


def test_pickled_results_of_an_untrusted_workspace_are_not_read_in_the_window(make_window, tmp_path, qtbot):
    folder = pickled_result(tmp_path / "shared")
    trust.untrust(folder)  # as if it had come from someone else, cache and all

    window = make_window(folder)
    assert window.trust_control.restricted
    node_id = next(iter(window.document.flow.nodes))
    window.scene.select_nodes([node_id])
    qtbot.waitUntil(lambda: window.outputs_dock.node_id == node_id, timeout=10_000)
    window.history._load_port("result")
    qtbot.wait(500)
    assert not (folder / "UNPICKLED").exists()
    store = window.runs.engine_for_workspace().cache.store
    assert store.allow_pickle is False


def test_the_store_refuses_a_pickle_when_pickles_are_off(tmp_path):
    from plait.runtime.results.blobs import PickleRefused, ResultStore

    store = ResultStore(tmp_path)
    ref = store.write("k" * 40, "result", {1, 2, 3})  # a set: pickled
    assert ref.serializer == "pickle"
    assert store.read(ref) == {1, 2, 3}
    store.allow_pickle = False
    with pytest.raises(PickleRefused, match="trust the workspace"):
        store.read(ref)
    assert store.read(store.write("j" * 40, "result", [1, 2])) == [1, 2]  # JSON loads anywhere


def test_a_pickled_value_of_the_users_class_is_opened_outside_the_window(make_window, tmp_path, qtbot):
    from plait.runtime.nodes.loader import workspace_module_name

    folder = pickled_result(tmp_path / "mine")

    window = make_window(folder)
    assert not window.trust_control.restricted
    window.scene.select_nodes(["make"])
    qtbot.waitUntil(lambda: window.outputs_dock.node_id == "make", timeout=10_000)
    window.history._load_port("result")
    qtbot.waitUntil(lambda: (folder / "UNPICKLED").exists(), timeout=60_000)  # read, in the child
    assert workspace_module_name(folder / "nodes.py") not in sys.modules


PACKAGED = textwrap.dedent("""
    class Reading:
        def __init__(self, value):
            self.value = value

        def __repr__(self):
            return f"Reading({self.value})"
""")


def test_a_pickled_value_of_a_workspace_package_class_is_previewed(make_window, tmp_path, qtbot):
    from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit

    folder = tmp_path / "packaged"
    Workspace(folder).close()
    (folder / "things").mkdir()
    (folder / "things" / "__init__.py").write_text("")
    (folder / "things" / "kinds.py").write_text(PACKAGED)
    (folder / "nodes.py").write_text(
        "from things.kinds import Reading\n\n\ndef make() -> object:\n    return Reading(42)\n"
    )
    with Workspace(folder) as ws:
        flow = Flow("readings")
        flow.add_node(Node("make", "nodes.py:make", "Make", (0.0, 0.0), {}))
        ws.save_flow(flow)
    ran = plait("run", "readings", "-w", str(folder), "--json")
    assert ran.returncode == 0, ran.stderr

    window = make_window(folder)
    window.scene.select_nodes(["make"])
    qtbot.waitUntil(lambda: window.outputs_dock.node_id == "make", timeout=10_000)
    window.history._load_port("result")

    def shown() -> str:
        texts = [w.text() for w in window.outputs_dock.findChildren(QLabel)]
        for kind in (QPlainTextEdit, QTextEdit):
            texts += [w.toPlainText() for w in window.outputs_dock.findChildren(kind)]
        return "\n".join(texts)

    qtbot.waitUntil(lambda: "Reading(42)" in shown(), timeout=60_000)
