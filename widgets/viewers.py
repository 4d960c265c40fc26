"""Viewers for output values: lazy tables, images, trees and text.

A viewer is built from a `Preview` (see previews.py) on the GUI thread.
Tables load rows as they are scrolled to (`canFetchMore`/`fetchMore`), so a
ten-million-row DataFrame opens as fast as a small one.
"""

from __future__ import annotations

import threading
from typing import Any

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from plait.widgets.previews import ARRAY, DATAFRAME, IMAGE, TREE, Preview, short_repr
from plait.widgets.words import plural

FIRST_ROWS = 10_000
MORE_ROWS = 10_000
TREE_CHILDREN = 500  # children shown per container before "… more"
_PLACEHOLDER = "__plait_placeholder__"
# A figure drawn at two sizes at once (the dock and its own window) would mix them up.
_FIGURE_LOCK = threading.Lock()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


class FrameModel(QAbstractTableModel):
    """A pandas DataFrame, its rows fetched in pages as the view scrolls."""

    def __init__(self, frame: Any, parent=None) -> None:
        super().__init__(parent)
        self.frame = frame
        self.total = len(frame)
        self.loaded = min(self.total, FIRST_ROWS)
        self.columns = [str(c) for c in frame.columns]
        self.dtypes = [str(t) for t in frame.dtypes]
        self._index = frame.index

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self.loaded

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.loaded < self.total

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: B008
        more = min(MORE_ROWS, self.total - self.loaded)
        if more <= 0:
            return
        self.beginInsertRows(QModelIndex(), self.loaded, self.loaded + more - 1)
        self.loaded += more
        self.endInsertRows()

    def data(self, index, role=Qt.DisplayRole):
        if role not in (Qt.DisplayRole, Qt.ToolTipRole) or not index.isValid():
            return None
        value = self.frame.iat[index.row(), index.column()]
        return _cell(value) if role == Qt.DisplayRole else str(value)[:2000]

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal:
            if role == Qt.DisplayRole:
                return self.columns[section]
            if role == Qt.ToolTipRole:
                return f"{self.columns[section]}: {self.dtypes[section]}"
        elif role == Qt.DisplayRole:
            return _cell(self._index[section])
        return None


class ArrayModel(QAbstractTableModel):
    """A 1-D or 2-D numpy array as a table, fetched in pages."""

    def __init__(self, array: Any, parent=None) -> None:
        super().__init__(parent)
        self.array = array if array.ndim == 2 else array.reshape(-1, 1)
        self.total = self.array.shape[0]
        self.loaded = min(self.total, FIRST_ROWS)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.loaded

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.array.shape[1]

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.loaded < self.total

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: B008
        more = min(MORE_ROWS, self.total - self.loaded)
        if more > 0:
            self.beginInsertRows(QModelIndex(), self.loaded, self.loaded + more - 1)
            self.loaded += more
            self.endInsertRows()

    def data(self, index, role=Qt.DisplayRole):
        if role != Qt.DisplayRole or not index.isValid():
            return None
        return _cell(self.array[index.row(), index.column()].item())

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        return str(section) if role == Qt.DisplayRole else None


def _table(model: QAbstractTableModel, parent: QWidget | None) -> QTableView:
    view = QTableView(parent)
    view.setObjectName("ValueTable")
    view.setModel(model)
    model.setParent(view)
    view.setWordWrap(False)
    rows = view.verticalHeader()
    rows.setSectionResizeMode(QHeaderView.Fixed)
    rows.setDefaultSectionSize(view.fontMetrics().height() + 6)
    view.horizontalHeader().setDefaultSectionSize(110)
    view.setHorizontalScrollMode(QTableView.ScrollPerPixel)
    return view


class ImageViewer(QScrollArea):
    """An image scaled to the room it has, aspect kept; a figure is drawn again at that size.

    A figure is re-rendered off the GUI thread a moment after the size settles, so
    its text and lines are as sharp and as large as the dock allows, not a stretched
    thumbnail.
    """

    rendered = Signal(int, bytes)  # render number, PNG (from the rendering thread)

    def __init__(self, png: bytes, parent=None, figure: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("ImageViewer")
        self.pixmap = QPixmap()
        self.pixmap.loadFromData(png, "PNG")
        self.figure = figure
        self.renders = 0  # figures drawn at the viewer's size so far
        self._asked = 0
        self.label = QLabel(self)
        self.label.setAlignment(Qt.AlignCenter)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self._timer = QTimer(self, singleShot=True, interval=120)
        self._timer.timeout.connect(self._render)
        self.rendered.connect(self._rendered)
        self._fit()

    def _fit(self) -> None:
        if self.pixmap.isNull():
            self.label.setText("(the image could not be decoded)")
            return
        room = self.viewport().size()
        if room.width() < 8 or room.height() < 8:
            return
        pixmap = self.pixmap
        if pixmap.size() != room:
            scale = min(room.width() / pixmap.width(), room.height() / pixmap.height())
            # Small pictures (a digit, an icon) grow in crisp blocks; others smoothly.
            mode = Qt.FastTransformation if scale >= 2 else Qt.SmoothTransformation
            pixmap = pixmap.scaled(room, Qt.KeepAspectRatio, mode)
        self.label.setPixmap(pixmap)

    def _render(self) -> None:
        room = self.viewport().size()
        if self.figure is None or room.width() < 80 or room.height() < 60:
            return
        self._asked += 1
        number, size = self._asked, (room.width(), room.height())

        def work() -> None:
            from plait.widgets.previews import render_figure

            with _FIGURE_LOCK:
                if number != self._asked:
                    return  # a newer size was asked for meanwhile
                try:
                    png = render_figure(self.figure, *size)
                except Exception:  # noqa: BLE001 - the first picture stays
                    return
            if shiboken6.isValid(self):
                self.rendered.emit(number, png)

        threading.Thread(target=work, daemon=True, name="figure-render").start()

    def _rendered(self, number: int, png: bytes) -> None:
        if number != self._asked:
            return
        pixmap = QPixmap()
        if pixmap.loadFromData(png, "PNG"):
            self.pixmap = pixmap
            self.renders += 1
            self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()
        if self.figure is not None:
            self._timer.start()


class TreeViewer(QTreeWidget):
    """dict / list / tuple / set as an expandable tree; children are built when opened."""

    def __init__(self, value: Any, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ValueTree")
        self.setHeaderLabels(["Key", "Value", "Type"])
        self.setColumnWidth(0, 180)
        self.setColumnWidth(1, 320)
        self.setUniformRowHeights(True)
        self.itemExpanded.connect(self._expand)
        # Containers not yet opened, by number: Qt would turn a dict into a QVariantMap.
        self._values: dict[int, Any] = {}
        self._fill(self.invisibleRootItem(), value)
        if self.topLevelItemCount() <= 20:
            for i in range(self.topLevelItemCount()):
                self.topLevelItem(i).setExpanded(True)

    @staticmethod
    def _children(value: Any) -> list[tuple[str, Any]]:
        if isinstance(value, dict):
            return [(repr(k) if not isinstance(k, str) else k, v) for k, v in value.items()]
        if isinstance(value, (set, frozenset)):
            return [(str(i), v) for i, v in enumerate(sorted(value, key=repr))]
        return [(str(i), v) for i, v in enumerate(value)]

    def _fill(self, parent: QTreeWidgetItem, value: Any) -> None:
        children = self._children(value)
        for key, child in children[:TREE_CHILDREN]:
            item = QTreeWidgetItem(parent, [key, short_repr.repr(child), type(child).__name__])
            if isinstance(child, (dict, list, tuple, set, frozenset)) and child:
                number = len(self._values) + 1
                self._values[number] = child
                item.setData(0, Qt.UserRole, number)
                QTreeWidgetItem(item, [_PLACEHOLDER])
        if len(children) > TREE_CHILDREN:
            QTreeWidgetItem(parent, ["…", plural(len(children) - TREE_CHILDREN, "more item"), ""])

    def _expand(self, item: QTreeWidgetItem) -> None:
        if item.childCount() == 1 and item.child(0).text(0) == _PLACEHOLDER:
            item.takeChild(0)
            self._fill(item, self._values.pop(item.data(0, Qt.UserRole)))


def make_viewer(preview: Preview, parent: QWidget | None = None) -> QWidget:
    """The widget that shows a prepared value."""
    if preview.kind == DATAFRAME:
        return _table(FrameModel(preview.value), parent)
    if preview.kind == ARRAY:
        return _table(ArrayModel(preview.value), parent)
    if preview.kind == IMAGE and preview.png:
        return ImageViewer(preview.png, parent, figure=preview.value)
    if preview.kind == TREE:
        return TreeViewer(preview.value, parent)
    text = QPlainTextEdit(parent)
    text.setObjectName("ValueText")
    text.setReadOnly(True)
    mono = QFont("monospace")
    mono.setStyleHint(QFont.Monospace)
    text.setFont(mono)
    text.setPlainText(preview.text)
    return text
