import subprocess
import sys

import networkx as nx
import pytest

from plait.runtime.flow.model import (
    PARAMETER_KEY,
    ConnectionRefused,
    Edge,
    EdgeAdded,
    EdgeRemoved,
    Flow,
    FlowChanged,
    FlowError,
    Node,
    NodeAdded,
    NodeChanged,
    NodeRemoved,
)
from tests.runtime.specs import catalog


@pytest.fixture
def flow():
    return Flow("demo", catalog=catalog())


@pytest.fixture
def events(flow):
    seen = []
    flow.observe(seen.append)
    return seen


def add(flow, key, node_id=None):
    return flow.create_node(flow.catalog[key], (0, 0), node_id=node_id)


def test_adding_a_node_gives_it_a_readable_id_and_notifies(flow, events):
    a = add(flow, "t:load")
    b = add(flow, "t:load")
    assert (a.id, b.id) == ("load_1", "load_2")
    assert events == [NodeAdded(a), NodeAdded(b)]


def test_new_ids_take_the_lowest_free_number_even_after_removals(flow):
    ids = [add(flow, "t:load").id for _ in range(5)]
    assert ids == [f"load_{i}" for i in range(1, 6)]
    flow.remove_node("load_2")
    flow.remove_node("load_4")
    assert add(flow, "t:load").id == "load_2"
    add(flow, "t:load", "load_6")  # taken by hand
    assert [add(flow, "t:load").id for _ in range(2)] == ["load_4", "load_7"]


def test_a_node_id_cannot_be_used_twice(flow):
    add(flow, "t:load", "x")
    with pytest.raises(FlowError, match="already has a node 'x'"):
        add(flow, "t:count", "x")


def test_connect_wires_an_output_to_an_input_and_notifies(flow, events):
    a, b = add(flow, "t:load"), add(flow, "t:count")
    edge = flow.connect(a.id, "result", b.id, "items")
    assert edge == Edge(a.id, "result", b.id, "items")
    assert flow.edges == [edge]
    assert events[-1] == EdgeAdded(edge)
    assert flow.edge_into(b.id, "items") == edge


def test_an_output_can_feed_many_inputs(flow):
    a = add(flow, "t:load")
    counts = [add(flow, "t:count") for _ in range(3)]
    for c in counts:
        flow.connect(a.id, "result", c.id, "items")
    assert len(flow.edges_out_of(a.id)) == 3


def test_connect_refuses_a_second_wire_into_an_input(flow):
    a, b, c = add(flow, "t:load"), add(flow, "t:load"), add(flow, "t:count")
    flow.connect(a.id, "result", c.id, "items")
    with pytest.raises(ConnectionRefused, match="already has a wire"):
        flow.connect(b.id, "result", c.id, "items")
    assert len(flow.edges) == 1


def test_connect_refuses_a_cycle_and_leaves_the_flow_unchanged(flow, events):
    a, b, c = add(flow, "t:add"), add(flow, "t:add"), add(flow, "t:add")
    flow.connect(a.id, "result", b.id, "a")
    flow.connect(b.id, "result", c.id, "a")
    before = (list(flow.edges), len(events))
    with pytest.raises(ConnectionRefused, match="cycle"):
        flow.connect(c.id, "result", a.id, "a")
    with pytest.raises(ConnectionRefused, match="cycle"):
        flow.connect(a.id, "result", a.id, "b")
    assert (list(flow.edges), len(events)) == before


def test_wires_against_the_order_nodes_were_added_in_are_checked_for_cycles(flow):
    # A chain wired from its end back to its start: each wire goes against the order the
    # nodes were added in, so the order the flow keeps is repaired wire by wire.
    nodes = [add(flow, "t:add") for _ in range(6)]
    for left, right in reversed(list(zip(nodes, nodes[1:], strict=False))):
        flow.connect(left.id, "result", right.id, "a")
    with pytest.raises(ConnectionRefused, match="cycle"):
        flow.connect(nodes[-1].id, "result", nodes[0].id, "b")
    with pytest.raises(ConnectionRefused, match="cycle"):
        flow.connect(nodes[3].id, "result", nodes[1].id, "b")
    flow.connect(nodes[1].id, "result", nodes[3].id, "b")  # along the chain: fine
    assert flow.cycles() == []


def test_a_cycle_loaded_or_restored_is_found_and_ends_with_one_of_its_wires(flow):
    a, b, c = add(flow, "t:add"), add(flow, "t:add"), add(flow, "t:add")
    flow.connect(a.id, "result", b.id, "a")
    flow.connect(b.id, "result", c.id, "a")
    back = flow.restore_edge(Edge(c.id, "result", a.id, "a"))  # unchecked, as undo puts it back
    assert flow.cycles() == [{a.id, b.id, c.id}]
    with pytest.raises(ConnectionRefused, match="cycle"):
        flow.connect(c.id, "result", b.id, "b")
    flow.disconnect(back)
    assert flow.cycles() == []
    flow.connect(a.id, "result", c.id, "b")
    with pytest.raises(ConnectionRefused, match="cycle"):
        flow.connect(c.id, "result", a.id, "a")


def test_connect_refuses_exactly_the_wires_that_would_close_a_cycle():
    import random

    rng = random.Random(13)
    for _ in range(20):
        flow = Flow("random", catalog=catalog())
        nodes = [add(flow, "t:add").id for _ in range(12)]
        for _ in range(60):
            if flow.edges and rng.random() < 0.2:
                flow.disconnect(rng.choice(flow.edges))
                continue
            if rng.random() < 0.05:
                victim = rng.choice(nodes)
                flow.remove_node(victim)
                nodes.remove(victim)
                nodes.append(add(flow, "t:add").id)
                continue
            source, target = rng.choice(nodes), rng.choice(nodes)
            port = rng.choice(["a", "b"])
            if flow.edge_into(target, port) is not None:
                continue
            closes = source == target or nx.has_path(flow.graph(), target, source)
            try:
                flow.connect(source, "result", target, port)
            except ConnectionRefused as exc:
                assert closes and "cycle" in str(exc)
            else:
                assert not closes
        assert flow.cycles() == []


def test_connect_refuses_unknown_nodes_and_ports(flow):
    a, b = add(flow, "t:load"), add(flow, "t:count")
    with pytest.raises(ConnectionRefused, match="no node 'ghost'"):
        flow.connect("ghost", "result", b.id, "items")
    with pytest.raises(ConnectionRefused, match="no output 'nope'"):
        flow.connect(a.id, "nope", b.id, "items")
    with pytest.raises(ConnectionRefused, match="no input 'nope'"):
        flow.connect(a.id, "result", b.id, "nope")


def test_connect_refuses_incompatible_types_naming_both_ports(flow):
    a, b = add(flow, "t:load"), add(flow, "t:label")
    with pytest.raises(ConnectionRefused, match="'result' of 'Load' is list.*'text' of 'Label' takes str"):
        flow.connect(a.id, "result", b.id, "text")


def test_connect_refuses_a_var_keyword_port(flow):
    a, b = add(flow, "t:add"), add(flow, "t:sink")
    with pytest.raises(ConnectionRefused, match="cannot take a wire"):
        flow.connect(a.id, "result", b.id, "extra")


def test_connect_refuses_a_node_whose_type_is_missing(flow):
    a = add(flow, "t:add")
    ghost = flow.add_node(Node("ghost", "gone:fn", "Ghost"))
    with pytest.raises(ConnectionRefused, match="'gone:fn', which is not available"):
        flow.connect(a.id, "result", ghost.id, "x")


def test_parameters_wire_into_inputs_of_a_compatible_type(flow):
    p = flow.add_parameter("factor", "int", 3, "how much")
    s = add(flow, "t:scale")
    flow.connect(p.id, "value", s.id, "factor")  # int feeds float
    q = flow.add_parameter("label", "str")
    with pytest.raises(ConnectionRefused, match="takes float"):
        flow.connect(q.id, "value", s.id, "x")
    assert [x.name for x in flow.parameters()] == ["factor", "label"]
    assert flow.parameters()[0].default == 3


def test_disconnect_removes_the_wire_and_notifies(flow, events):
    a, b = add(flow, "t:load"), add(flow, "t:count")
    edge = flow.connect(a.id, "result", b.id, "items")
    flow.disconnect(edge)
    assert flow.edges == [] and flow.edge_into(b.id, "items") is None
    assert events[-1] == EdgeRemoved(edge)
    with pytest.raises(FlowError, match="no wire"):
        flow.disconnect(edge)


def test_removing_a_node_removes_its_wires_first(flow, events):
    a, b, c = add(flow, "t:load"), add(flow, "t:count"), add(flow, "t:count")
    e1 = flow.connect(a.id, "result", b.id, "items")
    e2 = flow.connect(a.id, "result", c.id, "items")
    node, removed = flow.remove_node(a.id)
    assert node is a and removed == sorted([e1, e2])
    assert flow.edges == [] and a.id not in flow.nodes
    assert events[-3:] == [EdgeRemoved(e1), EdgeRemoved(e2), NodeRemoved(a)]


def test_set_value_sets_and_clears_a_constant(flow, events):
    s = add(flow, "t:scale")
    flow.set_value(s.id, "x", 1.5)
    assert s.values == {"x": 1.5}
    assert events[-1] == NodeChanged(s.id, "value", "x", None, 1.5)
    flow.set_value(s.id, "x")
    assert s.values == {}
    assert events[-1] == NodeChanged(s.id, "value", "x", 1.5, None)


def test_set_value_refuses_what_cannot_be_saved(flow):
    s = add(flow, "t:scale")
    with pytest.raises(FlowError, match="cannot be saved"):
        flow.set_value(s.id, "x", object())
    with pytest.raises(FlowError, match="cannot be saved"):
        flow.set_value(s.id, "x", float("nan"))
    assert s.values == {}


def test_a_parameter_definition_is_edited_field_by_field(flow):
    p = flow.add_parameter("n", "int", 1)
    flow.set_value(p.id, "name", "count")
    flow.set_value(p.id, "type", "float")
    assert p.title == "count" and flow.parameters()[0].type == "float"
    with pytest.raises(FlowError, match="cannot have type 'matrix'"):
        flow.set_value(p.id, "type", "matrix")
    with pytest.raises(FlowError, match="cannot name a parameter"):
        flow.set_value(p.id, "name", "two words")
    with pytest.raises(FlowError, match="unknown type"):
        flow.add_parameter("x", "matrix")


def test_options_override_the_node_type(flow, events):
    s = add(flow, "t:scale")
    flow.set_option(s.id, "retries", 3)
    assert flow.options(s).retries == 3
    assert events[-1] == NodeChanged(s.id, "option", "retries", None, 3)
    flow.set_option(s.id, "retries")
    assert flow.options(s).retries == 0
    with pytest.raises(FlowError, match="no option 'colour'"):
        flow.set_option(s.id, "colour", "red")


def test_move_and_rename_notify_with_old_and_new(flow, events):
    s = add(flow, "t:scale")
    flow.move(s.id, 10, 20)
    assert events[-1] == NodeChanged(s.id, "position", None, (0.0, 0.0), (10.0, 20.0))
    flow.rename(s.id, "Double it")
    assert events[-1] == NodeChanged(s.id, "title", None, "Scale", "Double it")
    with pytest.raises(FlowError, match="non-empty title"):
        flow.rename(s.id, "  ")
    with pytest.raises(FlowError, match="cannot move"):
        flow.move(s.id, float("inf"), 0)


def test_flow_fields_change_and_notify(flow, events):
    flow.set_flow_field("description", "counts things")
    assert events[-1] == FlowChanged("description", "", "counts things")
    with pytest.raises(FlowError, match="non-empty name"):
        flow.set_flow_field("name", "")


def test_unsubscribed_observers_hear_nothing(flow):
    seen = []
    stop = flow.observe(seen.append)
    stop()
    add(flow, "t:load")
    assert seen == []


def test_graph_is_a_multidigraph_with_ports_on_the_edges(flow):
    a, b = add(flow, "t:add"), add(flow, "t:add")
    flow.connect(a.id, "result", b.id, "a")
    flow.connect(a.id, "result", b.id, "b")
    g = flow.graph()
    assert isinstance(g, nx.MultiDiGraph)
    assert g.number_of_edges(a.id, b.id) == 2
    assert {d["target_port"] for _, _, d in g.edges(data=True)} == {"a", "b"}
    assert g.nodes[a.id]["node"] is a


def test_copy_is_deep_and_equal(flow):
    a, b = add(flow, "t:load"), add(flow, "t:count")
    flow.connect(a.id, "result", b.id, "items")
    flow.set_value(a.id, "path", "x.csv")
    copy = flow.copy()
    assert copy.content() == flow.content()
    copy.set_value(a.id, "path", "y.csv")
    assert flow.nodes[a.id].values["path"] == "x.csv"


def test_bulk_load_keeps_what_edits_would_refuse(flow):
    nodes = [Node("a", "t:add", "A"), Node("b", "t:add", "B")]
    edges = [
        Edge("a", "result", "b", "a"),
        Edge("b", "result", "a", "a"),
        Edge("a", "result", "b", "gone"),
        Edge("x", "result", "a", "b"),
    ]
    loaded = Flow.from_parts("f", nodes, edges, catalog=catalog())
    # The wire from the unknown node 'x' cannot exist; the rest is kept.
    assert len(loaded.edges) == 3
    kinds = {p.kind for p in loaded.validate()}
    assert {"cycle", "unknown_port"} <= kinds


def test_parameter_nodes_are_a_builtin_kind(flow):
    p = flow.add_parameter("n", "int", 1)
    assert p.spec_key == PARAMETER_KEY and p.is_parameter
    assert [o.name for o in flow.outputs(p)] == ["value"]
    assert flow.outputs(p)[0].annotation is int


def test_judge_wire_is_the_rule_connect_applies_ok_doubtful_or_impossible(flow):
    import pathlib

    from plait.runtime.nodes.port_types import DOUBTFUL, IMPOSSIBLE, OK
    from tests.runtime.specs import make_spec

    for spec in (
        make_spec("t:table", [], [("result", "pd.DataFrame")]),
        make_spec("t:switch", [("on", bool)]),
        make_spec("t:size", [("path", pathlib.Path)]),
    ):
        flow.catalog[spec.key] = spec
    table, switch, size, label = (add(flow, k) for k in ("t:table", "t:switch", "t:size", "t:label"))
    never = Edge(table.id, "result", switch.id, "on")
    assert flow.judge_wire(never).verdict == IMPOSSIBLE
    assert flow.judge_wire(never).reason == (
        "output 'result' of 'Table' is pd.DataFrame, but input 'on' of 'Switch' takes bool: "
        "a pd.DataFrame is never a bool"
    )
    with pytest.raises(ConnectionRefused, match="a pd.DataFrame is never a bool"):
        flow.connect(table.id, "result", switch.id, "on")
    text_as_path = Edge(label.id, "result", size.id, "path")
    fit = flow.judge_wire(text_as_path)
    assert fit.verdict == DOUBTFUL and "turned into a Path" in fit.reason
    flow.connect(label.id, "result", size.id, "path")  # str into Path: allowed, with a warning
    assert flow.wire_fit(text_as_path) == fit
    assert not [p for p in flow.validate() if p.kind == "incompatible_types"]  # not a problem
    assert flow.judge_wire(text_as_path).verdict == IMPOSSIBLE  # now the input is taken
    assert flow.judge_wire(Edge(label.id, "result", label.id, "text")).verdict == IMPOSSIBLE
    assert flow.judge_wire(Edge(table.id, "result", add(flow, "t:add").id, "a")).verdict == OK


def test_threads_that_make_the_wiring_at_once_share_one_class():
    # In a fresh process, so the class is not made yet: networkx's import leaves a wide window.
    script = (
        "import threading\n"
        "from plait.runtime.flow import graph\n"
        "barrier = threading.Barrier(4)\n"
        "made = []\n"
        "def make():\n"
        "    barrier.wait()\n"
        "    made.append(graph._wiring_class())\n"
        "threads = [threading.Thread(target=make) for _ in range(4)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "assert len({id(c) for c in made}) == 1 and made[0] is graph.Wiring, made\n"
        "print('one class')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "one class" in done.stdout, done.stderr
