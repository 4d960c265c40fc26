"""The flows dock: the workspace's flows and their saved versions.

It lists and asks; the window does the work (open, rename, delete) through
the signals, so this widget needs no workspace of its own.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from plait.widgets.words import plural

FLOW_ROLE = Qt.UserRole
VERSION_ROLE = Qt.UserRole + 1


class FlowsDock(QWidget):
    new_requested = Signal()
    open_requested = Signal(str)  # flow id
    version_requested = Signal(str, int)  # flow id, version: opened read-only
    rename_requested = Signal(str)
    duplicate_requested = Signal(str)
    delete_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("FlowsDock")
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Flow", "Saved"])
        self.tree.setColumnWidth(0, 170)
        self.tree.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemActivated.connect(self._activate)
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        self.buttons = {}
        for name, tip, signal in (
            ("New", "Start a new flow", lambda: self.new_requested.emit()),
            ("Open", "Open the selected flow", self._open_selected),
            ("Rename", "Rename the selected flow", lambda: self._emit(self.rename_requested)),
            ("Duplicate", "Save a copy of the selected flow", lambda: self._emit(self.duplicate_requested)),
            ("Delete", "Delete the selected flow", lambda: self._emit(self.delete_requested)),
        ):
            button = QToolButton(self)
            button.setText(name)
            button.setToolTip(tip)
            button.clicked.connect(signal)
            buttons.addWidget(button)
            self.buttons[name] = button
        buttons.addStretch(1)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.setSpacing(4)
        box.addLayout(buttons)
        box.addWidget(self.tree, 1)

    def set_flows(self, flows, versions_of, current_id: str | None = None) -> None:
        """List `flows` (FlowInfo); `versions_of(flow_id)` gives each one's versions."""
        self.tree.clear()
        for info in flows:
            item = QTreeWidgetItem(self.tree, [info.name, _when(info.updated)])
            item.setData(0, FLOW_ROLE, info.id)
            item.setToolTip(0, info.description or info.name)
            if info.id == current_id:
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
            for version in reversed(versions_of(info.id)):
                child = QTreeWidgetItem(item, [f"version {version.version}", _when(version.saved)])
                child.setData(0, FLOW_ROLE, info.id)
                child.setData(0, VERSION_ROLE, version.version)
                child.setToolTip(
                    0,
                    f"{plural(version.nodes, 'node')}, {plural(version.edges, 'wire')}; "
                    "double-click to open it read-only",
                )

    def selected_flow(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, FLOW_ROLE) if item is not None else None

    def select_flow(self, flow_id: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, FLOW_ROLE) == flow_id:
                self.tree.setCurrentItem(item)

    def _emit(self, signal) -> None:
        flow_id = self.selected_flow()
        if flow_id:
            signal.emit(flow_id)

    def _open_selected(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            self._activate(item)

    def _activate(self, item: QTreeWidgetItem) -> None:
        version = item.data(0, VERSION_ROLE)
        if version:
            self.version_requested.emit(item.data(0, FLOW_ROLE), int(version))
        else:
            self.open_requested.emit(item.data(0, FLOW_ROLE))

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        menu = QMenu(self)
        if item is not None:
            self.tree.setCurrentItem(item)
            menu.addAction(
                "Open read-only" if item.data(0, VERSION_ROLE) else "Open", lambda: self._activate(item)
            )
            if not item.data(0, VERSION_ROLE):
                menu.addAction("Rename…", lambda: self._emit(self.rename_requested))
                menu.addAction("Duplicate", lambda: self._emit(self.duplicate_requested))
                menu.addAction("Delete…", lambda: self._emit(self.delete_requested))
                menu.addSeparator()
        menu.addAction("New flow", self.new_requested.emit)
        menu.exec(self.tree.viewport().mapToGlobal(pos))


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""
