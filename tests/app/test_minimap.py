"""The minimap never hides the flow: it moves off nodes, fades over them, and can be turned off."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from plait.widgets.canvas.minimap import FADED
from tests.app.conftest import add, drag


def node_under(window, corner_point: QPoint) -> str:
    """Add a node whose body covers a point of the viewport."""
    scene_point = window.view.mapToScene(corner_point)
    return add(window, "count", scene_point.x() - 60, scene_point.y() - 30)


def test_the_minimap_moves_to_a_free_corner_and_fades_when_none_is_free(window, qtbot):
    view = window.view
    minimap = view.minimap
    add(window, "count", 0, 0)
    add(window, "count", 4000, 3000)  # far away: the flow does not fit, so the minimap shows
    qtbot.waitUntil(minimap.isVisible, timeout=5_000)
    assert minimap.corner == "bottom-right"
    area = view.viewport().rect()
    node_under(window, minimap.geometry().center())

    # The person pans a little (middle drag): the minimap leaves the node it would cover.
    drag(window, area.center(), area.center() + QPoint(1, 1), button=Qt.MiddleButton)
    qtbot.waitUntil(lambda: minimap.corner != "bottom-right", timeout=5_000)
    assert not any(
        minimap.geometry().intersects(view.mapFromScene(item.sceneBoundingRect()).boundingRect())
        for item in window.scene.nodes.values()
    )
    assert minimap.opacity() == 1.0

    # Nodes under every corner: it stays put and fades, and comes back under the mouse.
    for corner in ("bottom-left", "top-right", "top-left"):
        node_under(window, minimap._corner_rect(corner).center())
    drag(window, area.center(), area.center() + QPoint(-1, -1), button=Qt.MiddleButton)
    qtbot.waitUntil(lambda: minimap.over_nodes, timeout=5_000)
    assert minimap.opacity() == FADED
    QTest.mouseMove(minimap, minimap.rect().center())
    qtbot.waitUntil(lambda: minimap.opacity() == 1.0, timeout=5_000)
    QTest.mouseMove(view.viewport(), area.center())
    qtbot.waitUntil(lambda: minimap.opacity() == FADED, timeout=5_000)


def test_the_minimap_is_toggled_from_the_view_menu_and_remembered(
    make_window, workspace_folder, settings, qtbot
):
    window = make_window(workspace_folder)
    add(window, "count", 0, 0)
    add(window, "count", 4000, 3000)
    minimap = window.view.minimap
    qtbot.waitUntil(minimap.isVisible, timeout=5_000)

    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    window.menuBar().setActiveAction(view_menu.menuAction())
    QTest.qWaitForWindowExposed(view_menu)
    item = window.actions_by_name["minimap"]
    QTest.mouseClick(view_menu, Qt.LeftButton, Qt.NoModifier, view_menu.actionGeometry(item).center())
    assert not item.isChecked()
    qtbot.waitUntil(lambda: not minimap.isVisible(), timeout=5_000)
    assert settings.value("minimap", type=bool) is False

    again = make_window(workspace_folder)
    assert not again.actions_by_name["minimap"].isChecked()
    assert not again.view.minimap.enabled_by_user
