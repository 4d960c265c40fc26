"""What the window has open, shared by its controllers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal


class Session(QObject):
    """The open workspace, its catalog, the flow document and the scene showing it.

    The workspace controller sets the workspace and catalog, the window the
    document and scene; every controller reads them here. `say` puts a line in
    the status bar.
    """

    message = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace: Any = None
        self.catalog: Any = None
        self.document: Any = None  # FlowDocument
        self.scene: Any = None  # FlowScene
        self.problems: list = []  # the open flow's, from the last validation

    def say(self, text: str) -> None:
        self.message.emit(text)

    def editable(self) -> bool:
        return self.document is not None and not self.document.read_only

    def shows_flow(self, flow_id: str) -> bool:
        return self.document is not None and self.document.flow.id == flow_id

    def selected_one(self) -> str | None:
        ids = self.scene.selected_node_ids() if self.scene else []
        return ids[0] if len(ids) == 1 else None


class SessionController(QObject):
    """A controller of the window: reads what is open from the session, speaks through it."""

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session

    @property
    def workspace(self) -> Any:
        return self.session.workspace

    @property
    def document(self) -> Any:
        return self.session.document

    @property
    def scene(self) -> Any:
        return self.session.scene

    def show_message(self, text: str) -> None:
        self.session.say(text)
