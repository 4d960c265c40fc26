"""Long titles, port names and status texts are shortened to whole letters, whole in a tooltip."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtTest import QTest

from plait.widgets.canvas.ports import INPUT
from plait.widgets.canvas.style import TITLE_HEIGHT
from plait.widgets.elided import ElidedLabel
from tests.app.conftest import hover, port_point

LONG = '''
def summarise_the_quarterly_revenue_of_every_regional_office(
        revenue_table_with_all_the_regional_offices_in_it: list) -> int:
    """A node with a long name and a long input."""
    return len(revenue_table_with_all_the_regional_offices_in_it)
'''


def render_node(window, node_id) -> tuple[QImage, float]:
    """The node as drawn on screen at the view's zoom, and that zoom."""
    item = window.scene.nodes[node_id]
    zoom = window.view.zoom
    rect = item.mapRectToScene(item.body_rect())
    image = QImage(
        int(rect.width() * zoom) + 1, int(rect.height() * zoom) + 1, QImage.Format_ARGB32_Premultiplied
    )
    image.fill(QColor("white"))
    painter = QPainter(image)
    window.scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    return image, zoom


def test_a_long_title_and_port_name_are_elided_with_the_whole_text_on_hover(
    make_window, workspace_folder, qtbot
):
    (workspace_folder / "offices.py").write_text(LONG)
    window = make_window(workspace_folder)
    key = "offices.py:summarise_the_quarterly_revenue_of_every_regional_office"
    node_id = window.document.create_node(key, (0, 0))
    item = window.scene.nodes[node_id]
    assert len(item.node.title) > 40
    window.view.centerOn(item)
    QTest.qWait(10)

    # Drawn: the right padding of the title bar is bare (no letter cut at its edge).
    image, zoom = render_node(window, node_id)
    head = image.pixelColor(int(item.layout.width * zoom) - 3, int(22 * zoom))
    for x in range(int((item.layout.width - 9) * zoom) - 1, int(item.layout.width * zoom) - 2):
        for y in range(int(9 * zoom), int((TITLE_HEIGHT - 4) * zoom)):  # under the badge
            assert image.pixelColor(x, y) == head, f"ink at ({x}, {y}) in the title's padding"

    # Hovering the title shows the whole title; hovering the port its whole name.
    viewport = window.view.viewport()
    hover(viewport, window.view.mapFromScene(item.mapToScene(QPointF(40, 12))))
    qtbot.waitUntil(lambda: item.node.title in item.toolTip())
    hover(viewport, port_point(window, node_id, INPUT, "revenue_table_with_all_the_regional_offices_in_it"))
    qtbot.waitUntil(lambda: "revenue_table_with_all_the_regional_offices_in_it" in item.toolTip())


def test_the_status_bar_label_is_elided_not_clipped(qtbot):
    label = ElidedLabel(grow=True)
    qtbot.addWidget(label)
    text = "✗ 'A flow with a name far longer than the status bar has room for' failed: 12 nodes"
    label.set_full_text(text)
    label.resize(160, label.sizeHint().height())
    label.show()
    qtbot.waitExposed(label)
    assert label.text().endswith("…") and label.text() != text
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()
    assert label.toolTip() == text
    label.resize(label.sizeHint().width() + 10, label.height())
    assert label.text() == text and label.toolTip() == ""
    assert QPoint(0, 0) == label.rect().topLeft()
