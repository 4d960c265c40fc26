"""The palette: every node type on offer, grouped by module, searchable, draggable.

Drag an entry onto the canvas to place a node there (the drag carries the
node type key as `NODE_TYPE_MIME`); double-click it to place one in free space
beside the selection (or mid-view). Libraries that failed to import are listed with their error,
and members of a library that cannot be nodes with the reason.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QPlainTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from plait.runtime.flow.model import PARAMETER_SPEC
from plait.widgets.elided import ElidedLabel
from plait.widgets.mime import NODE_TYPE_MIME
from plait.widgets.search_popup import matches

KEY_ROLE = Qt.UserRole
ERROR_ROLE = Qt.UserRole + 1
PROBLEMS_ROLE = Qt.UserRole + 2  # a library's members that are not nodes, and why


def node_type_mime(key: str) -> QMimeData:
    """What a palette drag carries: the node type key (and its text, for other apps)."""
    mime = QMimeData()
    mime.setData(NODE_TYPE_MIME, key.encode())
    mime.setText(key)
    return mime


class _Tree(QTreeWidget):
    def mimeTypes(self) -> list[str]:
        return [NODE_TYPE_MIME]

    def mimeData(self, items) -> QMimeData:
        keys = [i.data(0, KEY_ROLE) for i in items if i.data(0, KEY_ROLE)]
        return node_type_mime(keys[0]) if keys else QMimeData()


class Palette(QWidget):
    """Node types grouped by module; `activated(key)` on double-click or Enter."""

    activated = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Palette")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search name, module, docstring…")
        self.search.setClearButtonEnabled(True)
        self.tree = _Tree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.error_title = ElidedLabel(self, Qt.ElideMiddle)  # a file name: both ends say most
        self.error_title.setObjectName("PaletteErrorTitle")
        self.error = QPlainTextEdit(self)
        self.error.setObjectName("PaletteError")
        self.error.setReadOnly(True)
        self.error.setMaximumHeight(160)
        self.error_title.hide()
        self.error.hide()
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.setSpacing(4)
        box.addWidget(self.search)
        box.addWidget(self.tree, 1)
        box.addWidget(self.error_title)
        box.addWidget(self.error)
        self.search.textChanged.connect(self._filter)
        self.tree.itemActivated.connect(self._activated)
        self.tree.currentItemChanged.connect(self._show_error)
        self._specs: dict[str, object] = {}

    # -- content -----------------------------------------------------------

    def set_catalog(self, catalog) -> None:
        """Rebuild from a catalog (`.specs()`, and `.libraries` when it has them)."""
        expanded = {
            self.tree.topLevelItem(i).text(0)
            for i in range(self.tree.topLevelItemCount())
            if self.tree.topLevelItem(i).isExpanded()
        }
        first = self.tree.topLevelItemCount() == 0
        self.tree.clear()
        self._specs = {}
        groups: dict[str, QTreeWidgetItem] = {}

        def group(name: str) -> QTreeWidgetItem:
            if name not in groups:
                item = QTreeWidgetItem(self.tree, [name])
                item.setFlags(Qt.ItemIsEnabled)
                groups[name] = item
            return groups[name]

        specs = list(catalog.specs()) if catalog is not None else []
        if not any(s.key == PARAMETER_SPEC.key for s in specs):
            specs.insert(0, PARAMETER_SPEC)
        for spec in specs:
            self._specs[spec.key] = spec
            item = QTreeWidgetItem(group(spec.module or "Other"), [spec.title])
            item.setData(0, KEY_ROLE, spec.key)
            item.setToolTip(
                0,
                f"<b>{spec.title}</b> <span style='color:gray'>{spec.key}</span>"
                + (f"<br>{spec.doc}" if spec.doc else "")
                + _ports_line(spec),
            )
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
        for library in getattr(catalog, "libraries", None) or []:
            if getattr(library, "restricted", False) and not library.error and library.specs:
                item = group(library.name)
                item.setText(0, f"{library.name} · read, not run")
                item.setToolTip(
                    0, f"{_escape(library.name)}: read from its source; it runs once you trust the workspace"
                )
            if library.error:
                item = group(library.name)
                item.setText(0, f"⚠ {library.name} — failed to import")
                item.setForeground(0, QBrush(QColor("#d93838")))
                item.setData(0, ERROR_ROLE, library.error)
                item.setToolTip(
                    0,
                    f"<b>{_escape(library.name)} failed to import</b><pre>"
                    + _escape(library.error[-1500:])
                    + "</pre>",
                )
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
            elif library.problems:
                home = library.specs[0].module if library.specs else library.name
                count = len(library.problems)
                said = "1 member is not a node" if count == 1 else f"{count} members are not nodes"
                item = QTreeWidgetItem(group(home), [f"⚠ {said}"])
                item.setForeground(0, QBrush(QColor("#d93838")))
                text = "\n".join(library.problems)
                item.setData(0, PROBLEMS_ROLE, text)
                item.setToolTip(0, f"<b>Not nodes in {_escape(library.name)}</b><pre>{_escape(text)}</pre>")
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
        for name, item in groups.items():
            item.setExpanded(first or name in expanded or bool(self.search.text()))
        self._filter(self.search.text())

    def keys(self) -> list[str]:
        """The node type keys listed (visible or not), in order."""
        return list(self._specs)

    def failed(self) -> list[str]:
        return [
            self.tree.topLevelItem(i).text(0)
            for i in range(self.tree.topLevelItemCount())
            if self.tree.topLevelItem(i).data(0, ERROR_ROLE)
        ]

    def item_for(self, key: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                if group.child(j).data(0, KEY_ROLE) == key:
                    return group.child(j)
        return None

    # -- behaviour ---------------------------------------------------------

    def _filter(self, text: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                child = group.child(j)
                spec = self._specs.get(child.data(0, KEY_ROLE))
                hide = bool(text) and spec is not None and not matches(spec, text)
                child.setHidden(hide)
                shown += not hide
            failed = bool(group.data(0, ERROR_ROLE))
            group.setHidden(
                bool(text) and shown == 0 and not (failed and text.lower() in group.text(0).lower())
            )
            if text:
                group.setExpanded(True)

    def _activated(self, item: QTreeWidgetItem) -> None:
        key = item.data(0, KEY_ROLE)
        if key:
            self.activated.emit(key)

    def _show_error(self, item: QTreeWidgetItem | None) -> None:
        error = item.data(0, ERROR_ROLE) if item is not None else None
        problems = item.data(0, PROBLEMS_ROLE) if item is not None else None
        self.error_title.setVisible(bool(error or problems))
        self.error.setVisible(bool(error or problems))
        if error:
            self.error_title.set_full_text(f"Why {item.text(0).split(' — ')[0][2:]} did not load:")
            self.error.setPlainText(error)
        elif problems:
            self.error_title.set_full_text(f"Why these members of {item.parent().text(0)} are not nodes:")
            self.error.setPlainText(problems)


def _ports_line(spec) -> str:
    """Inputs and outputs with their types, as the tooltip's last lines."""

    def listed(ports) -> str:
        return ", ".join(f"{_escape(p.name)}: {_escape(p.type_name)}" for p in ports) or "none"

    inputs = [p for p in spec.inputs if p.wireable]
    return f"<br><i>in</i> {listed(inputs)}<br><i>out</i> {listed(spec.outputs)}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
