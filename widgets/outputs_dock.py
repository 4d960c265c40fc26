"""The outputs dock: the selected node's output values, one tab per port.

It shows and asks; the window loads values (off the GUI thread) and saves
them. Each tab says where its value came from (computed by this run, or from
the cache and which run made it) and offers "Save as…".
"""

from __future__ import annotations

from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from plait.widgets.elided import ElidedLabel
from plait.widgets.previews import DATAFRAME, IMAGE, Preview
from plait.widgets.viewers import make_viewer

SAVE_FILTERS = {
    DATAFRAME: "Tables (*.csv *.parquet *.json *.xlsx *.tsv *.pkl);;All files (*)",
    IMAGE: "Images (*.png *.jpg *.svg *.pdf);;All files (*)",
}


@dataclass
class PortInfo:
    """One output port as the dock introduces it before its value loads."""

    port: str
    summary: str  # the stored summary's preview line
    origin: str  # "computed by run …" / "from the cache, made by run …"


class OutputTab(QWidget):
    """One port: where it came from, what it is, the viewer, Open in window and Save as…"""

    open_requested = Signal()

    def __init__(self, info: PortInfo, parent=None) -> None:
        super().__init__(parent)
        self.info = info
        self.preview: Preview | None = None
        self.viewer: QWidget | None = None
        self.requested = False  # its value was asked for (once is enough)
        self.origin = QLabel(info.origin, self)
        self.origin.setObjectName("Origin")
        self.origin.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # One line, the whole in its tooltip: the rows of a table need the height more.
        self.description = ElidedLabel(self)
        self.description.set_full_text(info.summary)
        self.description.setObjectName("Dim")
        self.open_button = QToolButton(self)
        self.open_button.setText("Open in window")
        self.open_button.setToolTip("Look closer in a window of its own (or double-click the value)")
        self.open_button.setEnabled(False)
        self.save_button = QToolButton(self)
        self.save_button.setText("Save as…")
        self.save_button.setToolTip("Write this value to a file (the format follows the extension)")
        self.save_button.setEnabled(False)
        # Where the viewer goes until there is one: "Loading…", or why there is none.
        self.notice = QWidget(self)
        self.status = QLabel("Loading…", self.notice)
        self.status.setAlignment(Qt.AlignCenter)
        self.status.setWordWrap(True)
        # Shown when the stored value fails its checksum: run the node again, with force.
        self.recompute_button = QPushButton("Recompute", self.notice)
        self.recompute_button.setObjectName("Recompute")
        self.recompute_button.setToolTip("Run this node again, ignoring its cached result")
        self.recompute_button.hide()
        notice = QVBoxLayout(self.notice)
        notice.setContentsMargins(0, 0, 0, 0)
        notice.addStretch(1)
        notice.addWidget(self.status)
        notice.addWidget(self.recompute_button, 0, Qt.AlignHCenter)
        notice.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.origin, 1)
        top.addWidget(self.open_button)
        top.addWidget(self.save_button)
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(2, 2, 2, 2)
        self.box.setSpacing(2)
        self.box.addLayout(top)
        self.box.addWidget(self.description)
        self.box.addWidget(self.notice, 1)

    def show_preview(self, preview: Preview) -> None:
        if self.viewer is not None:
            self.box.removeWidget(self.viewer)
            self.viewer.deleteLater()
        self.preview = preview
        self.notice.hide()
        if preview.description:
            self.description.set_full_text(preview.description)
        self.viewer = make_viewer(preview, self)
        watched = self.viewer.viewport() if isinstance(self.viewer, QAbstractScrollArea) else self.viewer
        watched.installEventFilter(self)
        self.box.addWidget(self.viewer, 1)
        self.save_button.setEnabled(True)
        self.open_button.setEnabled(True)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.MouseButtonDblClick and event.button() == Qt.LeftButton:
            self.open_requested.emit()
            return True
        return super().eventFilter(watched, event)

    def show_error(self, message: str, recompute: bool = False) -> None:
        self.status.setText(message)
        self.recompute_button.setVisible(recompute)
        self.notice.show()


class OutputWindow(QWidget):
    """One output value in a window of its own, for a closer look at a table or a figure."""

    def __init__(self, title: str, info: PortInfo, preview: Preview, parent=None) -> None:
        super().__init__(parent, Qt.Window)
        self.setObjectName("OutputWindow")
        self.setAttribute(Qt.WA_DeleteOnClose)
        self.setWindowTitle(f"{title} — {info.port}")
        self.preview = preview
        heading = ElidedLabel(self)
        heading.set_full_text(f"{info.origin} · {preview.description or info.summary}")
        heading.setObjectName("Dim")
        self.viewer = make_viewer(preview, self)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(heading)
        box.addWidget(self.viewer, 1)
        self.resize(1000, 700)


class OutputsDock(QWidget):
    """Tabs of the chosen node's outputs; `load_requested` asks the window for a value."""

    load_requested = Signal(str)  # port
    save_requested = Signal(str, str)  # port, path
    recompute_requested = Signal(str)  # node id whose stored value is damaged

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("OutputsDock")
        self.heading = QLabel("Select a node that has run to see its outputs.", self)
        self.heading.setObjectName("OutputsHeading")
        self.heading.setWordWrap(True)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(self._current_changed)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(self.heading)
        box.addWidget(self.tabs, 1)
        self.node_id: str | None = None
        self.title = ""  # the node's, for the windows opened from a tab
        self.tab_by_port: dict[str, OutputTab] = {}
        self.windows: list[OutputWindow] = []
        self.tabs.hide()

    def clear(self, message: str = "Select a node that has run to see its outputs.") -> None:
        self.node_id = None
        self.heading.setText(message)
        self._drop_tabs()
        self.tabs.hide()

    def _drop_tabs(self) -> None:
        self.tabs.blockSignals(True)
        while self.tabs.count():
            widget = self.tabs.widget(0)
            self.tabs.removeTab(0)
            widget.deleteLater()
        self.tabs.blockSignals(False)
        self.tab_by_port = {}

    def show_node(self, node_id: str, heading: str, ports: list[PortInfo], title: str = "") -> None:
        """Introduce a node's outputs; the current tab's value is requested at once."""
        self.node_id = node_id
        self.title = title or node_id
        self.heading.setText(heading)
        self._drop_tabs()
        self.tabs.blockSignals(True)  # the first tab's value is asked for below, once
        for info in ports:
            tab = OutputTab(info, self.tabs)
            tab.save_button.clicked.connect(lambda _=False, p=info.port: self._ask_save(p))
            tab.recompute_button.clicked.connect(lambda _=False, n=node_id: self.recompute_requested.emit(n))
            tab.open_button.clicked.connect(lambda _=False, p=info.port: self.open_window(p))
            tab.open_requested.connect(lambda p=info.port: self.open_window(p))
            self.tabs.addTab(tab, info.port)
            self.tab_by_port[info.port] = tab
        self.tabs.blockSignals(False)
        self.tabs.setVisible(bool(ports))
        if ports:
            self._current_changed(self.tabs.currentIndex())

    def _current_changed(self, index: int) -> None:
        tab = self.tabs.widget(index)
        if isinstance(tab, OutputTab) and not tab.requested:
            tab.requested = True
            self.load_requested.emit(tab.info.port)

    def show_preview(self, node_id: str, port: str, preview: Preview) -> None:
        tab = self.tab_by_port.get(port)
        if tab is not None and node_id == self.node_id:
            tab.show_preview(preview)

    def show_error(self, node_id: str, port: str, message: str) -> None:
        tab = self.tab_by_port.get(port)
        if tab is not None and node_id == self.node_id:
            tab.show_error(message)

    def show_damaged(self, node_id: str, port: str, message: str) -> None:
        """The stored value failed its checksum: say so and offer to compute it again."""
        tab = self.tab_by_port.get(port)
        if tab is not None and node_id == self.node_id:
            tab.show_error(message, recompute=True)

    def open_window(self, port: str) -> OutputWindow | None:
        """Show a loaded value in a window of its own."""
        tab = self.tab_by_port.get(port)
        if tab is None or tab.preview is None:
            return None
        window = OutputWindow(self.title, tab.info, tab.preview, self)
        self.windows = [w for w in self.windows if shiboken6.isValid(w) and w.isVisible()]
        self.windows.append(window)
        window.show()
        window.raise_()
        return window

    def ask_save_path(self, port: str) -> str:
        """A file name to save a port's value to ("" when the person cancels)."""
        tab = self.tab_by_port[port]
        kind = tab.preview.kind if tab.preview else ""
        filters = SAVE_FILTERS.get(kind, "JSON (*.json);;Pickle (*.pkl);;Text (*.txt);;All files (*)")
        path, _ = QFileDialog.getSaveFileName(self, f"Save {port}", port, filters)
        return path

    def _ask_save(self, port: str) -> None:
        path = self.ask_save_path(port)
        if path:
            self.save_requested.emit(port, path)
