"""A new flow's first save asks for its name; later saves do not."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

from plait.app.controllers.questions import Questions
from tests.app.conftest import add


def answer_name_dialog(qtbot, text: str | None, seen: list) -> None:
    """When the name dialog opens, type `text` and press Enter (None: press Escape)."""

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog) or QApplication.activeWindow() is not dialog:
            QTimer.singleShot(20, answer)
            return
        seen.append(dialog.textValue())
        editor = dialog.findChild(QLineEdit)
        if text is None:
            QTest.keyClick(editor, Qt.Key_Escape)
            return
        QTest.keyClick(editor, Qt.Key_A, Qt.ControlModifier)
        QTest.keyClicks(editor, text)
        QTest.keyClick(editor, Qt.Key_Return)

    QTimer.singleShot(20, answer)


def press_ctrl_s(window) -> None:
    window.activateWindow()  # back from the dialog, as a person's window is
    QTest.qWaitForWindowActive(window)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_S, Qt.ControlModifier)


def test_ctrl_s_on_an_untitled_flow_asks_its_name_once(window, qtbot):
    window.questions.ask_flow_name = Questions.ask_flow_name.__get__(window.questions)  # the real dialog
    window.workspaces.new_flow(ask=False)
    assert window.document.flow.name.startswith("Untitled flow")
    add(window, "count", 0, 0)

    # Escape: nothing is saved.
    seen: list[str] = []
    answer_name_dialog(qtbot, None, seen)
    press_ctrl_s(window)
    assert seen and seen[0].startswith("Untitled flow")
    assert window.document.modified
    assert window.document.flow.id not in {f.id for f in window.workspace.flows()}

    # A name typed and Enter: saved under it, the title and the flows dock say it.
    answer_name_dialog(qtbot, "Counting rows", seen)
    press_ctrl_s(window)
    assert not window.document.modified
    assert window.workspace.flow_info(window.document.flow.id).name == "Counting rows"
    assert "Counting rows" in window.windowTitle()
    names = [
        window.flows_dock.tree.topLevelItem(i).text(0)
        for i in range(window.flows_dock.tree.topLevelItemCount())
    ]
    assert any("Counting rows" in n for n in names)

    # The next save is a new version, with no question.
    add(window, "label", 0, 200)
    asked = len(seen)
    press_ctrl_s(window)
    QApplication.processEvents()
    assert len(seen) == asked
    assert window.workspace.flow_info(window.document.flow.id).latest_version == 2
