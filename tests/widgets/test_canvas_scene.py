"""The scene follows the model, and asks its editor for every change (no app involved)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF

from plait.runtime.flow.model import Edge, Flow
from plait.widgets.canvas.ports import INPUT, OUTPUT, WireReach, judge
from plait.widgets.canvas.scene import FlowScene
from plait.widgets.canvas.view import FlowView
from plait.widgets.palette import Palette
from plait.widgets.search_popup import fitting, matches
from tests.runtime.specs import catalog


class RecordingEditor:
    """A FlowEditor that edits the flow directly and notes each call."""

    read_only = False

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.calls: list = []

    def connect(self, edge: Edge):
        self.calls.append(("connect", edge))
        self.flow.connect(edge.source, edge.source_port, edge.target, edge.target_port)

    def move_nodes(self, moves, frames=None):
        self.calls.append(("move", moves, frames))
        for node_id, (x, y) in moves.items():
            self.flow.move(node_id, x, y)

    def create_node(self, key, position, wire_from=None):
        self.calls.append(("create", key, position, wire_from))


@pytest.fixture
def flow():
    flow = Flow("test", catalog=catalog())
    flow.create_node(flow.catalog["t:load"], (0, 0), node_id="load")
    flow.create_node(flow.catalog["t:count"], (300, 0), node_id="count")
    flow.create_node(flow.catalog["t:scale"], (300, 200), node_id="scale")
    return flow


@pytest.fixture
def scene(qtbot, flow):
    scene = FlowScene(RecordingEditor(flow))
    yield scene
    scene.detach()


def test_one_item_per_node_and_per_wire(scene, flow):
    flow.connect("load", "result", "count", "items")
    assert len(scene.items()) == len(flow.nodes) + len(flow.edges)


def test_the_scene_follows_every_model_event(scene, flow):
    flow.connect("load", "result", "count", "items")
    assert Edge("load", "result", "count", "items") in scene.edges
    flow.move("count", 500, 40)
    assert scene.nodes["count"].pos() == QPointF(500, 40)
    path_end = scene.edges[Edge("load", "result", "count", "items")].path().currentPosition()
    assert path_end == scene.nodes["count"].port_scene_pos(INPUT, "items")
    flow.rename("count", "Rows")
    flow.remove_node("count")
    assert "count" not in scene.nodes and not scene.edges
    flow.set_flow_field("extras", {"frames": [{"id": "f", "title": "T", "rect": [0, 0, 50, 50]}]})
    assert list(scene.frames) == ["f"]


def test_the_reach_of_a_wire_knows_types_and_cycles(flow):
    flow.connect("load", "result", "count", "items")
    load_out = next(s for s in _slots(flow, "load") if s.side == OUTPUT)
    reach = WireReach(flow, "load", load_out)
    count_in = next(s for s in _slots(flow, "count") if s.side == INPUT)
    scale_x = next(s for s in _slots(flow, "scale") if s.name == "x")
    assert reach.fits("count", count_in) and not reach.fits("scale", scale_x)
    count_out = next(s for s in _slots(flow, "count") if s.side == OUTPUT)
    back = WireReach(flow, "count", count_out)
    assert "load" in back.forbidden
    # A taken input may be replaced; the model still refuses a cycle, in its own words.
    same = judge(flow, Edge("load", "result", "count", "items"))
    assert not same.allowed and same.reason.startswith("that wire")
    widened = judge(flow, Edge("count", "result", "scale", "x"))  # an int into a float
    assert widened.allowed and widened.doubtful and "int" in widened.reason


def _slots(flow, node_id):
    from plait.widgets.canvas.ports import layout_for

    layout = layout_for(flow, node_id)
    return layout.inputs + layout.outputs


def test_far_out_nodes_are_drawn_in_one_batch_by_the_view(qtbot, scene):
    view = FlowView()
    qtbot.addWidget(view)
    view.set_flow_scene(scene)
    view.zoom_by(0.1)
    assert scene.far
    view.zoom_by(10)
    assert not scene.far


def test_palette_groups_by_module_and_search_matches_docstrings(qtbot):
    palette = Palette()
    qtbot.addWidget(palette)
    cat = catalog()
    cat.specs = lambda: list(cat.values())
    palette.set_catalog(cat)
    assert "plait:parameter" in palette.keys() and "t:load" in palette.keys()
    spec = cat["t:scale"]
    assert matches(spec, "scale") and not matches(spec, "nothing like it")


def test_search_lists_node_types_whose_ports_fit_a_dragged_wire():
    cat = catalog()
    found = {spec.key for spec, _ in fitting(cat.values(), OUTPUT, list)}
    assert "t:count" in found and "t:scale" not in found
