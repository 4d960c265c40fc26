"""Subflows written in place for a script: wires, constants and defaults reach the inner nodes."""

import pytest

from plait.runtime.engine.subflows import is_subflow, subflow_key, subflow_spec
from plait.runtime.export.inlining import InlineError, inline_subflows
from plait.runtime.flow.model import Edge, Flow, Node
from plait.runtime.nodes.spec import NodeSpec, Port

DOUBLE = NodeSpec(key="m:double", title="Double", inputs=(Port("x"),), outputs=(Port("result"),))


class Catalog:
    def __init__(self, *flows):
        self.flows = {f.id: f for f in flows}
        for flow in flows:
            flow.catalog = self

    def get(self, key):
        if is_subflow(key):
            return subflow_spec(self.flows[key.split(":")[-1]])
        return DOUBLE if key == DOUBLE.key else None

    def flow(self, flow_id):
        return self.flows[flow_id]


def parameter(node_id, name, **default):
    return Node(node_id, "plait:parameter", name, values={"name": name, "type": "int", **default})


def inner_flow():
    return Flow.from_parts(
        "inner",
        [
            parameter("n", "n", default=2),
            Node("double", DOUBLE.key, "Double"),
            Node("out", "plait:output", "doubled", values={"name": "doubled"}),
        ],
        [Edge("n", "value", "double", "x"), Edge("double", "result", "out", "value")],
        id="inner",
    )


def test_a_subflow_node_becomes_its_nodes_fed_by_the_wire_the_constant_or_the_default():
    outer = Flow.from_parts(
        "outer",
        [
            parameter("k", "k", default=7),
            Node("wired", subflow_key("inner"), "wired"),
            Node("constant", subflow_key("inner"), "constant", values={"n": 5}),
            Node("default", subflow_key("inner"), "default"),
            Node("double", DOUBLE.key, "Double"),
        ],
        [Edge("k", "value", "wired", "n"), Edge("wired", "doubled", "double", "x")],
        id="outer",
    )
    Catalog(inner_flow(), outer)
    flat = inline_subflows(outer)
    assert not any(is_subflow(n.spec_key) for n in flat.nodes.values())
    assert set(flat.nodes) == {"k", "double", "wired__double", "constant__double", "default__double"}
    assert set(flat.edges) == {
        Edge("k", "value", "wired__double", "x"),
        Edge("wired__double", "result", "double", "x"),
    }
    assert flat.nodes["constant__double"].values == {"x": 5}
    assert flat.nodes["default__double"].values == {"x": 2}
    assert outer.nodes["wired"].spec_key == subflow_key("inner")  # the flow itself is unchanged


def test_a_required_parameter_left_unset_is_refused_naming_the_node():
    inner = inner_flow()
    del inner.nodes["n"].values["default"]
    outer = Flow.from_parts("outer", [Node("sub", subflow_key("inner"), "Encode")], [], id="o")
    Catalog(inner, outer)
    with pytest.raises(InlineError, match="node 'Encode' runs flow 'inner', whose parameter 'n'"):
        inline_subflows(outer)
