"""Every question the window asks and waits for; tests answer them in code."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget


class Questions:
    """Dialogs over `parent`, one method per question (tests replace the methods)."""

    def __init__(self, parent: QWidget, session) -> None:
        self.parent = parent
        self.session = session

    def ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel' for the open flow's unsaved changes."""
        box = QMessageBox(
            QMessageBox.Warning,
            "Unsaved changes",
            f"Save the changes to '{self.session.document.flow.name}'?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
            self.parent,
        )
        answer = box.exec()
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self.parent, title, text) == QMessageBox.Yes

    def tell(self, title: str, text: str) -> None:
        """Show a message the person must read (a run refused, an export failed)."""
        QMessageBox.warning(self.parent, title, text)

    def ask_flow_name(self, suggestion: str) -> str | None:
        """The name for a flow saved for the first time (None: the person cancelled)."""
        dialog = QInputDialog(self.parent)
        dialog.setObjectName("FlowNameDialog")
        dialog.setWindowTitle("Save flow")
        dialog.setLabelText("Name of the new flow:")
        dialog.setTextValue(suggestion)
        dialog.setOkButtonText("Save")
        try:
            return dialog.textValue() if dialog.exec() else None
        finally:
            dialog.deleteLater()

    def ask_restore_draft(self, draft) -> bool:
        text = f"Plait closed without saving changes to '{draft.name}'. Restore them?"
        return QMessageBox.question(self.parent, "Recover unsaved changes", text) == QMessageBox.Yes

    def ask_frame_text(self, title: str, text: str) -> tuple[str, str] | None:
        title, ok = QInputDialog.getText(self.parent, "Frame", "Title:", text=title)
        if not ok:
            return None
        text, ok = QInputDialog.getMultiLineText(self.parent, "Frame", "Note:", text)
        return (title, text) if ok else None

    def ask_cancel_runs(self, count: int) -> bool:
        text = (
            f"{count} run{'s are' if count > 1 else ' is'} still going. Cancel "
            f"{'them' if count > 1 else 'it'} and quit? (The records stay complete.)"
        )
        return QMessageBox.question(self.parent, "A run is going", text) == QMessageBox.Yes
