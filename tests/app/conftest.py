"""A main window on a scratch workspace with a small node library, driven like a person would."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest

from plait.app.window import MainWindow
from plait.widgets.canvas.ports import INPUT, OUTPUT

LIBRARY = textwrap.dedent('''
    """Small nodes for the window tests."""


    def load(path: str = "data.csv") -> list:
        """Read rows from a file."""
        return []


    def count(items: list) -> int:
        """How many items there are."""
        return len(items)


    def scale(x: float, factor: float = 2.0) -> float:
        """Multiply x by a factor."""
        return x * factor


    def label(text: str) -> str:
        """Put a label on text."""
        return text
''')


def own_workspace(folder):
    """A workspace made by Plait before any code is written into it: its user's own, trusted."""
    from plait.runtime.workspace.store import Workspace

    Workspace(folder).close()
    return folder


@pytest.fixture
def workspace_folder(tmp_path):
    folder = own_workspace(tmp_path / "ws")
    (folder / "nodes.py").write_text(LIBRARY)
    return folder


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def qasync_loop(qapp):
    """The application's qasync loop, marked running for the test as it is under `plait`.

    The window starts engine runs from slots, which needs asyncio's running
    loop; the flag is taken back afterwards so `asyncio.run` works in other tests.
    """
    from plait.app.main import event_loop

    loop = event_loop()
    asyncio.events._set_running_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)


@pytest.fixture
def make_window(qtbot, settings, qasync_loop):
    windows = []
    settings.setValue("run/executor", "inline")  # fast runs; tests that need workers say so

    def make(folder, restore_drafts: bool = False, flow: str | None = None) -> MainWindow:
        window = MainWindow(settings)
        # Not given to qtbot: its teardown would close and delete the window before the
        # engine's workers have stopped. This fixture closes it, waits, then deletes it.
        # Dialogs would block an offscreen test: answer them in code.
        window.questions.ask_save_changes = lambda: "discard"
        window.offered_drafts = []
        window.questions.ask_restore_draft = lambda draft: (
            window.offered_drafts.append(draft.name) or (restore_drafts)
        )
        window.questions.confirm = lambda title, text: True
        window.questions.ask_flow_name = lambda suggestion: suggestion
        window.open_workspace(folder, flow=flow)
        window.resize(1300, 800)
        window.show()
        qtbot.waitExposed(window)
        window.view.reset_zoom()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.questions.ask_save_changes = lambda: "discard"
        window.questions.ask_cancel_runs = lambda count: True
        if not window.shut_down:
            window.close()
            # Runs are cancelled and worker processes stopped before the window goes.
            qtbot.waitUntil(lambda: window.shut_down, timeout=60_000)
        window.deleteLater()


@pytest.fixture
def window(make_window, workspace_folder) -> MainWindow:
    return make_window(workspace_folder)


# -- helpers a test uses like hands ------------------------------------------


def add(window, name: str, x: float, y: float) -> str:
    """Add a node of `nodes.py:name` at a scene point (through the document, undoable)."""
    key = "plait:parameter" if name == "parameter" else f"nodes.py:{name}"
    return window.document.create_node(key, (x, y))


def port_point(window, node_id: str, side: str, port: str) -> QPoint:
    item = window.scene.nodes[node_id]
    return window.view.mapFromScene(item.port_scene_pos(side, port))


def node_point(window, node_id: str) -> QPoint:
    """A point on a node's title bar."""
    item = window.scene.nodes[node_id]
    return window.view.mapFromScene(item.mapToScene(60, 12))


def drag(
    window, start: QPoint, end: QPoint, steps: int = 4, button=Qt.LeftButton, modifiers=Qt.NoModifier
) -> None:
    viewport = window.view.viewport()
    QTest.mousePress(viewport, button, modifiers, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, start + (end - start) * i / steps)
    QTest.mouseRelease(viewport, button, modifiers, end)


def wire(window, source: str, out_port: str, target: str, in_port: str) -> None:
    drag(window, port_point(window, source, OUTPUT, out_port), port_point(window, target, INPUT, in_port))


def content(window) -> dict:
    """A snapshot of the flow (content() shares the nodes' live dicts)."""
    return json.loads(json.dumps(window.document.flow.content()))


def choose(combo, text: str) -> None:
    """Open a combo box's list and click the item `text` with the mouse, as a person does."""
    from PySide6.QtWidgets import QApplication

    index = combo.findText(text)
    assert index >= 0, f"{text!r} is not in the list ({[combo.itemText(i) for i in range(combo.count())]})"
    combo.showPopup()
    view = combo.view()
    QTest.qWaitForWindowExposed(view.window())
    model_index = view.model().index(index, combo.modelColumn(), view.rootIndex())
    view.scrollTo(model_index)
    point = view.visualRect(model_index).center()
    QTest.mouseMove(view.viewport(), point)
    QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    QApplication.processEvents()  # deferred deletions run here: a crash shows now


def double_click_palette(window, key: str) -> None:
    """Double-click a palette entry with the mouse, as a person adds a node without dragging."""
    tree = window.palette_widget.tree
    item = window.palette_widget.item_for(key)
    tree.scrollToItem(item)
    point = tree.visualItemRect(item).center()
    # A person's double-click is a click and then a second press that Qt reports as a
    # double-click; QTest.mouseDClick sends only the second, which an item view ignores.
    QTest.mouseClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    QTest.mouseDClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, point)


def hover(widget, point: QPoint) -> None:
    """Move the mouse onto a point with no button held, as a person hovers.

    QTest remembers the buttons of earlier presses; one left down would make the
    move a drag, and a scene gives no hover events while a button is down.
    """
    QTest.mouseRelease(widget, Qt.LeftButton, Qt.NoModifier, QPoint(1, 1))
    QTest.mouseMove(widget, point)
