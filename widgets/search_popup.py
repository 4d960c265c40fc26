"""The node search popup: type to find a node type, Enter to place it.

Opened by Tab or a double-click on empty canvas, and when a wire is dropped on
empty canvas (then only node types with a port that fits are listed).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from plait.runtime.nodes.port_types import is_compatible
from plait.runtime.nodes.spec import NodeSpec


def matches(spec: NodeSpec, text: str) -> bool:
    """Whether every word of `text` is in the node type's name, module or docstring."""
    haystack = " ".join((spec.title, spec.key, spec.module, spec.doc)).lower()
    return all(word in haystack for word in text.lower().split())


def fitting(specs: Iterable[NodeSpec], side: str, annotation) -> list[tuple[NodeSpec, str]]:
    """Node types with a port that takes a wire from the dragged port, and that port's name.

    `side` is the side of the port being dragged from ("out" wants the new
    node's inputs, "in" wants its outputs).
    """
    found = []
    for spec in specs:
        ports = spec.inputs if side == "out" else spec.outputs
        for port in ports:
            if not port.wireable:
                continue
            ok = (
                is_compatible(annotation, port.annotation)
                if side == "out"
                else is_compatible(port.annotation, annotation)
            )
            if ok:
                found.append((spec, port.name))
                break
    return found


class NodeSearchPopup(QFrame):
    """A popup list of node types with a filter box; emits the chosen key."""

    chosen = Signal(str)

    def __init__(self, specs: list[NodeSpec], parent=None) -> None:
        super().__init__(parent, Qt.Popup)
        self.setObjectName("NodeSearchPopup")
        self.setFrameShape(QFrame.StyledPanel)
        self.specs = specs
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search node types…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.setSpacing(4)
        box.addWidget(self.search)
        box.addWidget(self.list)
        self.resize(320, 360)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._accept_current)
        self.list.itemActivated.connect(self._accept_item)
        self.search.installEventFilter(self)
        self._filter("")

    def _filter(self, text: str) -> None:
        self.list.clear()
        for spec in self.specs:
            if matches(spec, text):
                item = QListWidgetItem(f"{spec.title}    ·  {spec.module}")
                item.setData(Qt.UserRole, spec.key)
                item.setToolTip(spec.doc or spec.key)
                self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, event) -> bool:
        # Up/Down in the search box move through the list, as in a launcher.
        if (
            obj is self.search
            and event.type() == event.Type.KeyPress
            and event.key() in (Qt.Key_Up, Qt.Key_Down)
        ):
            row = self.list.currentRow() + (1 if event.key() == Qt.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
            return True
        return super().eventFilter(obj, event)

    def _accept_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._accept_item(item)

    def _accept_item(self, item: QListWidgetItem) -> None:
        key = item.data(Qt.UserRole)
        self.close()
        self.chosen.emit(key)

    def popup(self, global_pos: QPoint) -> None:
        self.move(global_pos)
        self.show()
        self.search.setFocus()
