"""Far out, the canvas draws nodes as plain blocks without text or ports; close up, with both.

Checked on pixels the real view renders: a node's title bar holds white text
close up and one flat colour far out.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from plait.runtime.flow.model import Flow
from plait.widgets.canvas.ports import INPUT
from plait.widgets.canvas.scene import FlowScene
from plait.widgets.canvas.style import LIGHT, PORT_RADIUS, TEXT_MIN_ZOOM, TITLE_HEIGHT
from plait.widgets.canvas.view import FlowView
from tests.runtime.specs import catalog
from tests.widgets.test_canvas_scene import RecordingEditor


@pytest.fixture
def view(qtbot):
    flow = Flow("lod", catalog=catalog())
    for i, key in enumerate(("t:load", "t:scale", "t:count", "t:label", "t:add")):
        flow.create_node(flow.catalog[key], (i * 260.0, (i % 2) * 140.0), node_id=f"n{i}")
    flow.connect("n0", "result", "n2", "items")
    scene = FlowScene(RecordingEditor(flow))
    view = FlowView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    view.set_flow_scene(scene)
    qtbot.waitExposed(view)
    yield view
    scene.detach()


def colours_in(image: QImage, rect: QRectF) -> set[int]:
    r = rect.toAlignedRect().intersected(image.rect())
    return {image.pixel(x, y) for x in range(r.left(), r.right() + 1) for y in range(r.top(), r.bottom() + 1)}


def title_bar(view: FlowView, node_id: str) -> QRectF:
    """Where the node's title text goes, in view pixels, a pixel inside the bar's edges."""
    item = view.flow_scene().nodes[node_id]
    bar = QRectF(item.x() + 9, item.y() + 3, item.layout.width - 18, TITLE_HEIGHT - 6)
    return view.mapFromScene(bar).boundingRect().toRectF().adjusted(1, 1, -1, -1)


def shown(view: FlowView) -> QImage:
    return view.viewport().grab().toImage().convertToFormat(QImage.Format_RGB32)


def zoom_out_with_the_minus_key(qtbot, view: FlowView) -> None:
    while view.zoom >= TEXT_MIN_ZOOM:
        qtbot.keyClick(view, Qt.Key_Minus)


def test_close_up_a_node_shows_its_title_and_ports_far_out_a_plain_block(qtbot, view, tmp_path):
    view.reset_zoom()
    view.centerOn(view.flow_scene().nodes["n1"])
    near = shown(view)
    near.save(str(tmp_path / "near.png"))
    title = colours_in(near, title_bar(view, "n1"))
    assert QColor(LIGHT.node_title_text).rgb() in title and len(title) > 3  # white letters, smoothed
    port = view.flow_scene().nodes["n1"].port_scene_pos(INPUT, "x")
    dot = view.mapFromScene(port)
    assert QColor(near.pixel(dot)) != QColor(LIGHT.node_body)  # the port's coloured dot

    zoom_out_with_the_minus_key(qtbot, view)
    scene = view.flow_scene()
    assert scene.far and all(i.flags() & QGraphicsItem.ItemHasNoContents for i in scene.nodes.values())
    far = shown(view)
    far.save(str(tmp_path / "far.png"))
    assert colours_in(far, title_bar(view, "n1")) == {QColor(LIGHT.node_title).rgb()}  # no text
    dot = view.mapFromScene(scene.nodes["n1"].port_scene_pos(INPUT, "x") + QPoint(PORT_RADIUS, 0))
    assert QColor(far.pixel(dot)) == QColor(LIGHT.node_body)  # no port dots
    view.fit_view()  # and back in, the text returns
    qtbot.keyClick(view, Qt.Key_Plus)
    while view.zoom < 1.0:
        qtbot.keyClick(view, Qt.Key_Plus)
    assert not scene.far
    assert len(colours_in(shown(view), title_bar(view, "n1"))) > 3


def test_a_node_painted_small_draws_no_text_whoever_paints_it(qtbot, view):
    # A picture of the scene made without the view (an export, a thumbnail) paints the items
    # themselves: their paint() reads the level of detail from the painter.
    scene = view.flow_scene()
    item = scene.nodes["n1"]
    image = QImage(300, 200, QImage.Format_RGB32)
    for scale, text in ((0.4, False), (1.0, True)):
        image.fill(QColor("black"))
        painter = QPainter(image)
        source = QRectF(item.x(), item.y(), 300 / scale, 200 / scale)
        scene.render(painter, QRectF(image.rect()), source)
        painter.end()
        bar = QRectF(9 * scale, 3 * scale, (item.layout.width - 18) * scale, (TITLE_HEIGHT - 6) * scale)
        colours = colours_in(image, bar.adjusted(1, 1, -1, -1))
        if text:
            assert QColor(LIGHT.node_title_text).rgb() in colours and len(colours) > 3
        else:
            assert colours == {QColor(LIGHT.node_title).rgb()}  # the bar's colour, nothing written


def test_far_out_the_blocks_are_kept_between_frames_and_follow_a_moved_node(qtbot, view):
    zoom_out_with_the_minus_key(qtbot, view)
    scene = view.flow_scene()
    shown(view)
    built = scene.far_picture.builds
    for _ in range(3):
        view.viewport().repaint()
    scene.set_status("n1", None)
    shown(view)
    assert scene.far_picture.builds == built  # repaints reuse the rectangles
    scene.flow.move("n3", 900.0, 500.0)
    far = shown(view)
    assert scene.far_picture.builds == built + 1
    assert colours_in(far, title_bar(view, "n3")) == {QColor(LIGHT.node_title).rgb()}
