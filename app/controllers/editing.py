"""Editing the open flow: clipboard, delete, auto-layout, frames and comments."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QObject, QRectF
from PySide6.QtWidgets import QApplication

from plait.app import clipboard
from plait.app.controllers.session import SessionController
from plait.widgets.canvas import placement
from plait.widgets.canvas.frame_item import FRAME_TITLE
from plait.widgets.canvas.ports import node_size
from plait.widgets.mime import NODES_MIME
from plait.widgets.words import plural

PASTE_OFFSET = 40.0


class EditingController(SessionController):
    """Edits on the selection, each one undoable step, on the session's document and scene."""

    def __init__(self, session, questions, view, layouter, parent: QObject | None = None) -> None:
        super().__init__(session, parent)
        self.questions = questions
        self.view = view
        self.layouter = layouter

    def _editable(self) -> bool:
        return self.session.editable()

    def add_node_in_free_space(self, key: str) -> str | None:
        """Add a node (a palette double-click) beside the selection, else mid-view, on no other node."""
        if not self._editable():
            return None
        node = self.document.new_node(key, (0.0, 0.0))
        if node is None:
            return None
        size = node_size(self.document.flow, node)
        taken = [self._body(item) for item in self.scene.nodes.values()]
        chosen = [self._body(self.scene.nodes[i]) for i in self.scene.selected_node_ids()]
        if chosen:
            left, top = min(r[0] for r in chosen), min(r[1] for r in chosen)
            right = max(r[0] + r[2] for r in chosen)
            bottom = max(r[1] + r[3] for r in chosen)
            spot = placement.beside((left, top, right - left, bottom - top), size, taken)
        else:
            centre = self.view.mapToScene(self.view.viewport().rect().center())
            spot = placement.around((centre.x(), centre.y()), size, taken)
        node_id = self.document.create_node(key, spot)
        if node_id is not None and node_id in self.scene.nodes:
            # Selected, so the next double-click lands beside it: a chain, left to right.
            self.scene.select_nodes([node_id])
            item = self.scene.nodes[node_id]
            self.view.ensureVisible(item.sceneBoundingRect(), 40, 40)
        return node_id

    @staticmethod
    def _body(item) -> placement.Rect:
        return (item.pos().x(), item.pos().y(), item.layout.width, item.layout.height)

    def select_all(self) -> None:
        if self.scene is not None:
            for item in list(self.scene.nodes.values()) + list(self.scene.frames.values()):
                item.setSelected(True)

    def delete_selection(self) -> None:
        if not self._editable():
            return
        scene = self.scene
        self.document.delete(scene.selected_node_ids(), scene.selected_edges(), scene.selected_frame_ids())

    # -- clipboard ---------------------------------------------------------

    def _copied(self) -> dict | None:
        if self.scene is None:
            return None
        ids = self.scene.selected_node_ids()
        frames = self.scene.selected_frame_ids()
        if not ids and not frames:
            return None
        return clipboard.copy_selection(self.document.flow, ids, frames)

    def copy_selection(self) -> None:
        data = self._copied()
        if data is None:
            return
        mime = QMimeData()
        text = clipboard.to_text(data)
        mime.setData(NODES_MIME, text.encode())
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        self.show_message(f"Copied {plural(len(data['nodes']), 'node')}")

    def paste(self) -> None:
        if not self._editable():
            return
        mime = QApplication.clipboard().mimeData()
        data = None
        if mime is not None and mime.hasFormat(NODES_MIME):
            data = clipboard.from_text(bytes(mime.data(NODES_MIME)).decode())
        elif mime is not None and mime.hasText():
            data = clipboard.from_text(mime.text())
        if not data:
            self.show_message("Nothing to paste: copy nodes first")
            return
        self._paste(data, self._paste_offset(data))

    def _paste_offset(self, data: dict) -> tuple[float, float]:
        """Paste at the mouse when it is over the canvas, else just beside the originals."""
        cursor = self.view.mapFromGlobal(self.view.cursor().pos())
        if self.view.viewport().rect().contains(cursor):
            target = self.view.mapToScene(cursor)
            left, top = clipboard.bounds(data)
            return (target.x() - left, target.y() - top)
        return (PASTE_OFFSET, PASTE_OFFSET)

    def _paste(self, data: dict, offset: tuple[float, float]) -> None:
        new_ids = self.document.paste(data, offset)
        self.scene.select_nodes(new_ids)
        self.show_message(f"Pasted {plural(len(new_ids), 'node')}")

    def duplicate(self) -> None:
        if not self._editable():
            return
        data = self._copied()
        if data is not None:
            self._paste(data, (PASTE_OFFSET, PASTE_OFFSET))

    # -- layout ------------------------------------------------------------

    def auto_layout(self) -> None:
        """Place every node left to right with Graphviz dot, as one undo step.

        A big flow is laid out in a process of its own while the window goes on
        (the status bar shows it, with a Cancel button); a very big one by the
        layered layout, which takes seconds where dot would take minutes.
        """
        if not self._editable() or not self.document.flow.nodes:
            return
        self.layouter.start()

    # -- frames and comments -----------------------------------------------

    def frame_selection(self) -> None:
        if not self._editable():
            return
        items = [self.scene.nodes[n] for n in self.scene.selected_node_ids()]
        if not items:
            self.show_message("Select the nodes to frame first")
            return
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        rect = rect.adjusted(-20, -FRAME_TITLE - 14, 20, 20)
        self.document.add_frame([rect.x(), rect.y(), rect.width(), rect.height()], "Frame")

    def add_comment(self) -> None:
        if not self._editable():
            return
        answer = self.questions.ask_frame_text("Comment", "")
        if answer is None:
            return
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        self.document.add_frame([centre.x() - 120, centre.y() - 60, 240, 120], *answer)

    def edit_frame(self, frame_id: str) -> None:
        if not self._editable():
            return
        frame = next((f for f in self.document.flow.extras.get("frames", []) if f["id"] == frame_id), None)
        if frame is None:
            return
        answer = self.questions.ask_frame_text(frame.get("title", ""), frame.get("text", ""))
        if answer is not None:
            self.document.update_frame(frame_id, title=answer[0], text=answer[1])
