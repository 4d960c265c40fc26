"""The outputs dock gives values room: figures drawn at its size, a window of their own."""

from __future__ import annotations

import matplotlib
import pandas
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from plait.widgets.outputs_dock import OutputsDock, OutputWindow, PortInfo
from plait.widgets.previews import prepare

matplotlib.use("Agg")


def figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))  # a thumbnail's size: 300 x 200 pixels as made
    fig.add_subplot().plot([1, 3, 2])
    return fig


def dock_with(qtbot, value, size=(760, 520)) -> OutputsDock:
    dock = OutputsDock()
    qtbot.addWidget(dock)
    dock.resize(*size)
    dock.show()
    qtbot.waitExposed(dock)
    dock.show_node("n1", "<b>Plot</b>", [PortInfo("result", "a value", "computed by run 1")], "Plot")
    dock.show_preview("n1", "result", prepare(value))
    return dock


def fills(pixmap_size, room) -> bool:
    """The picture takes the room's width or its height (aspect kept)."""
    return abs(pixmap_size.width() - room.width()) <= 2 or abs(pixmap_size.height() - room.height()) <= 2


def test_a_figure_is_drawn_again_at_the_docks_size_and_on_resize(qtbot):
    dock = dock_with(qtbot, figure())
    viewer = dock.tab_by_port["result"].viewer
    qtbot.waitUntil(lambda: viewer.renders >= 1, timeout=10_000)
    room = viewer.viewport().size()
    assert viewer.pixmap.width() > 500  # not the 300-pixel thumbnail, scaled
    assert fills(viewer.label.pixmap().size(), room)
    dock.resize(1000, 700)
    qtbot.waitUntil(
        lambda: viewer.renders >= 2 and viewer.pixmap.width() > room.width() + 100, timeout=10_000
    )
    assert fills(viewer.label.pixmap().size(), viewer.viewport().size())


def test_double_clicking_a_value_opens_it_in_its_own_window(qtbot):
    dock = dock_with(qtbot, figure())
    viewer = dock.tab_by_port["result"].viewer
    point = viewer.viewport().rect().center()
    QTest.mouseClick(viewer.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    QTest.mouseDClick(viewer.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    assert len(dock.windows) == 1
    window = dock.windows[0]
    assert isinstance(window, OutputWindow) and window.isVisible()
    assert window.windowTitle() == "Plot — result"
    qtbot.waitUntil(lambda: window.viewer.renders >= 1, timeout=10_000)
    assert window.viewer.pixmap.width() > 900
    window.close()


def test_a_table_takes_the_height_and_shows_as_many_rows_as_fit(qtbot):
    frame = pandas.DataFrame({f"column_{i}": range(500) for i in range(12)})
    dock = dock_with(qtbot, frame, size=(700, 420))
    tab = dock.tab_by_port["result"]
    table = tab.viewer
    # The long list of columns and types is one line; the table has the rest.
    assert tab.description.height() < 2 * tab.description.fontMetrics().height()
    qtbot.waitUntil(lambda: table.height() > 0.7 * tab.height())
    row = table.verticalHeader().defaultSectionSize()
    shown = table.rowAt(table.viewport().height() - 1) + 1
    assert shown >= table.viewport().height() // row
    # The button opens the same table, bigger.
    qtbot.mouseClick(tab.open_button, Qt.LeftButton)
    window = dock.windows[-1]
    qtbot.waitExposed(window)
    bigger = window.viewer
    assert bigger.rowAt(bigger.viewport().height() - 1) + 1 > shown
    window.close()
