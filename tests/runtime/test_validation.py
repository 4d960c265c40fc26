from plait.runtime.flow.model import Edge, Flow, Node
from plait.runtime.flow.validation import (
    CYCLE,
    DUPLICATE_PARAMETER,
    INCOMPATIBLE_TYPES,
    MISSING_NODE_TYPE,
    SHARED_INPUT,
    UNKNOWN_PORT,
    UNWIRED_INPUT,
)
from tests.runtime.specs import catalog


def kinds(flow):
    return sorted((p.kind, p.node_id, p.port) for p in flow.validate())


def test_a_complete_flow_has_no_problems():
    f = Flow("ok", catalog=catalog())
    a = f.create_node(f.catalog["t:load"])
    b = f.create_node(f.catalog["t:count"])
    f.connect(a.id, "result", b.id, "items")
    assert f.validate() == []


def test_an_unwired_required_input_is_a_problem_until_it_has_a_value():
    f = Flow("f", catalog=catalog())
    s = f.create_node(f.catalog["t:scale"])  # x is required, factor has a default
    assert kinds(f) == [(UNWIRED_INPUT, s.id, "x")]
    f.set_value(s.id, "x", 2.0)
    assert kinds(f) == []


def test_a_cycle_is_reported_on_each_node_in_it():
    f = Flow.from_parts(
        "f",
        [Node("a", "t:add", "A", values={"b": 1}), Node("b", "t:add", "B", values={"b": 1})],
        [Edge("a", "result", "b", "a"), Edge("b", "result", "a", "a")],
        catalog=catalog(),
    )
    problems = f.validate()
    assert sorted((p.kind, p.node_id) for p in problems) == [(CYCLE, "a"), (CYCLE, "b")]
    assert "A, B form a cycle" in problems[0].message


def test_incompatible_types_from_a_load_are_reported_on_the_input():
    f = Flow.from_parts(
        "f",
        [Node("a", "t:load", "A"), Node("b", "t:label", "B")],
        [Edge("a", "result", "b", "text")],
        catalog=catalog(),
    )
    assert kinds(f) == [(INCOMPATIBLE_TYPES, "b", "text")]


def test_a_missing_node_type_is_reported_and_its_wires_kept():
    f = Flow.from_parts(
        "f",
        [Node("a", "t:load", "A"), Node("g", "gone:fn", "Ghost")],
        [Edge("a", "result", "g", "x")],
        catalog=catalog(),
    )
    problems = f.validate()
    assert [(p.kind, p.node_id) for p in problems] == [(MISSING_NODE_TYPE, "g")]
    assert "'gone:fn'" in problems[0].message
    assert len(f.edges) == 1


def test_a_wire_to_a_port_that_disappeared_is_reported():
    f = Flow.from_parts(
        "f",
        [Node("a", "t:load", "A"), Node("b", "t:count", "B")],
        [Edge("a", "result", "b", "old_name")],
        catalog=catalog(),
    )
    assert (UNKNOWN_PORT, "b", "old_name") in kinds(f)
    assert (UNWIRED_INPUT, "b", "items") in kinds(f)


def test_duplicate_parameter_names_are_reported_on_each():
    f = Flow("f", catalog=catalog())
    p1 = f.add_parameter("n", "int")
    p2 = f.add_parameter("n", "float")
    assert kinds(f) == sorted([(DUPLICATE_PARAMETER, p1.id, "name"), (DUPLICATE_PARAMETER, p2.id, "name")])


def test_two_wires_into_one_input_from_a_load_are_reported():
    f = Flow.from_parts(
        "f",
        [Node("a", "t:load", "A"), Node("b", "t:load", "B"), Node("c", "t:count", "C")],
        [Edge("a", "result", "c", "items"), Edge("b", "result", "c", "items")],
        catalog=catalog(),
    )
    assert kinds(f) == [(SHARED_INPUT, "c", "items")]


def test_validate_never_raises_on_a_flow_without_a_catalog():
    f = Flow.from_parts("f", [Node("a", "t:load", "A")], [], catalog=None)
    assert [p.kind for p in f.validate()] == [MISSING_NODE_TYPE]
