"""One window, two workspaces with files of the same names: each run uses the open folder's code."""

from __future__ import annotations

import sys
import textwrap

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from plait.runtime.flow.model import Flow
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.nodes.loader import SIGNATURE_ATTRIBUTE
from plait.runtime.workspace.store import Workspace
from tests.app.conftest import own_workspace
from tests.app.test_running import click_node, press_run, wait_for_run

FILES = {
    "lib.py": '''
        def make() -> str:
            """Makes things the {who} way."""
            return "made in {who}"
    ''',
    "shapes/__init__.py": """
        KIND = "{who}-shaped"
    """,
    "nodes.py": """
        from lib import make as made_at_import

        from plait.runtime import node


        @node(cache="never")
        def made() -> str:
            import lib
            import shapes

            return f"{{lib.make()}}, {{made_at_import()}}, {{shapes.KIND}}"
    """,
}


@pytest.fixture(autouse=True)
def _forget_workspace_modules():
    """The flows are made, and run inline, in this process: later tests expect none of their files."""
    modules = set(sys.modules)
    yield
    for name in set(sys.modules) - modules:
        if hasattr(sys.modules[name], SIGNATURE_ATTRIBUTE):
            del sys.modules[name]


def make_workspace(folder, who: str):
    own_workspace(folder)
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).format(who=who))
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("Made", catalog=catalog)
    node_id = flow.create_node(catalog.get("nodes.py:made"), (0, 0)).id
    with Workspace(folder) as ws:
        ws.save_flow(flow)
    return folder, node_id


@pytest.fixture
def folders(tmp_path):
    return make_workspace(tmp_path / "a", "A"), make_workspace(tmp_path / "b", "B")


def click_menu(window, qtbot, *path: str) -> None:
    """Open a menu of the menu bar and click through its items (and submenus) with the mouse."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == path[0])
    window.menuBar().setActiveAction(menu.menuAction())
    QTest.qWaitForWindowExposed(menu)
    for text in path[1:]:
        action = next(a for a in menu.actions() if a.text() == text)
        submenu = action.menu()  # asked first: clicking a recent folder rebuilds that menu
        QTest.mouseClick(menu, Qt.LeftButton, Qt.NoModifier, menu.actionGeometry(action).center())
        if submenu is not None:
            menu = submenu
            qtbot.waitUntil(menu.isVisible, timeout=5_000)


def run_and_read(window, qtbot, node_id: str) -> str:
    before = len(window.runs.live)
    press_run(window, qtbot)
    qtbot.waitUntil(lambda: len(window.runs.live) > before, timeout=10_000)
    live = wait_for_run(window, qtbot)
    assert live.state == "completed", live.error
    click_node(window, qtbot, node_id)
    tab = window.outputs_dock.tab_by_port["result"]
    qtbot.waitUntil(lambda: tab.preview is not None and live.id[:8] in tab.origin.text(), timeout=20_000)
    return tab.preview.text


def test_opening_one_folder_then_another_and_back_runs_each_folders_own_files(
    make_window, folders, qtbot, monkeypatch
):
    (a, a_node), (b, b_node) = folders
    window = make_window(a)
    assert "made in A, made in A, A-shaped" in run_and_read(window, qtbot, a_node)
    assert "the A way" in window.catalog.get("lib.py:make").doc

    # File > Open workspace folder…, the folder dialog answering B.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(b))
    click_menu(window, qtbot, "&File", "&Open workspace folder…")
    qtbot.waitUntil(lambda: window.workspace is not None and window.workspace.folder == b.resolve())
    assert "made in B, made in B, B-shaped" in run_and_read(window, qtbot, b_node)
    assert "the B way" in window.catalog.get("lib.py:make").doc

    # File > Recent workspaces > A.
    click_menu(window, qtbot, "&File", "Recent &workspaces", str(a.resolve()))
    qtbot.waitUntil(lambda: window.workspace is not None and window.workspace.folder == a.resolve())
    assert "made in A, made in A, A-shaped" in run_and_read(window, qtbot, a_node)
    assert "the A way" in window.catalog.get("lib.py:make").doc
