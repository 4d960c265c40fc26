"""Drawing flows with Graphviz: every node and port in the picture, parameters and states visible."""

import html

import pytest

from plait.runtime.engine.scheduler import RunOptions
from plait.runtime.export.drawing import (
    PARAMETER_FILL,
    STATE_COLOURS,
    DrawingError,
    draw_flow,
    flow_graph,
    last_run_states,
)
from plait.runtime.flow.model import Flow

K = "tests.runtime.nodes:"


@pytest.fixture
def flow(catalog):
    f = Flow("drawn <flow>", catalog=catalog)
    x = f.add_parameter("x", "float", 2.0, position=(0, 0))
    a = f.create_node(catalog.get(K + "add"), (200, 0), title="Add & check")
    s = f.create_node(catalog.get(K + "split"), (400, 0))
    t = f.create_node(catalog.get(K + "add"), (600, 0), title="Total")
    f.connect(x.id, "value", a.id, "a")
    f.connect(a.id, "result", s.id, "x")
    f.connect(s.id, "low", t.id, "a")
    f.connect(s.id, "high", t.id, "b")
    return f


def test_the_svg_shows_every_node_its_ports_and_the_parameters(flow):
    svg = draw_flow(flow, "svg").decode()
    assert svg.startswith("<?xml")
    for node in flow.nodes.values():
        assert html.escape(node.title, quote=False) in svg
    for port in ("low", "high", "result"):
        assert f">{port}<" in svg
    assert "PARAMETER" in svg and "float = 2.0" in svg
    assert PARAMETER_FILL in svg
    assert "+1 optional input" in svg  # add's unset input b on the first node


def test_dot_text_is_left_to_right_with_wires_between_ports(flow):
    dot = draw_flow(flow, "dot").decode()
    assert "rankdir=LR" in dot
    assert "split_1:out_high:e -> add_2:in_b:w" in dot


def test_png_and_unknown_formats(flow):
    assert draw_flow(flow, "png").startswith(b"\x89PNG")
    with pytest.raises(DrawingError, match="cannot draw flow 'drawn <flow>' as 'gif'"):
        draw_flow(flow, "gif")


def test_a_node_whose_type_is_missing_is_still_drawn(flow, catalog):
    flow.add_node(type(next(iter(flow.nodes.values())))("ghost", "gone:fn", "Ghost"))
    flow.catalog = None
    graph = flow_graph(flow)
    assert "missing type gone:fn" in graph.get_node("ghost").attr["label"]


def test_nodes_take_the_colours_of_the_last_run(loop, inline_engine, flow, workspace):
    boom = flow.create_node(flow.catalog.get(K + "boom"), (200, 200))
    after = flow.create_node(flow.catalog.get(K + "add"), (400, 200), title="After boom")
    flow.connect(boom.id, "result", after.id, "a")
    workspace.save_flow(flow)
    result = loop.run_until_complete(inline_engine.run(flow, None, RunOptions(executor="inline")))
    states = last_run_states(workspace, flow.name)
    assert states == {n: r.state for n, r in result.nodes.items()}
    svg = draw_flow(flow, "svg", states).decode()
    for state in ("completed", "failed", "skipped"):
        assert STATE_COLOURS[state] in svg and f">{state}<" in svg


def test_a_flow_that_never_ran_has_no_states(flow, workspace):
    workspace.save_flow(flow)
    assert last_run_states(workspace, flow.id) == {}
