"""For random flows and random edits, a cached run equals a fresh one and reruns exactly the edit's cone."""

import textwrap

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from plait.runtime.engine import events as ev
from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.workspace.store import Workspace

LIBRARY = textwrap.dedent("""
    SCALE = 3.0


    def helper(x):
        return x * {factor}


    def unrelated():
        return "not used by any node"


    def combine(a: float = 0.0, b: float = 0.0, c: float = 1.0) -> float:
        return a + 2 * b + c * SCALE


    def with_helper(a: float = 0.0, b: float = 0.0) -> float:
        return helper(a) - b
""")

KINDS = ("combine", "with_helper")
PORTS = {"combine": ("a", "b", "c"), "with_helper": ("a", "b")}


def draw_inputs(draw, i, ports, span=5):
    """For node `i`, each port wired from the parameter or an earlier node, a constant or left."""
    wires, constants = {}, {}
    for port in ports:
        choice = draw(st.sampled_from(["param", "node", "constant", "default"]))
        if choice == "node" and i > 0:
            wires[port] = draw(st.integers(0, i - 1))
        elif choice == "param":
            wires[port] = "p"
        elif choice == "constant":
            constants[port] = draw(st.integers(-span, span)) / 2
    return wires, constants


@st.composite
def flows(draw):
    n = draw(st.integers(2, 7))
    nodes = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        wires, constants = draw_inputs(draw, i, PORTS[kind])
        nodes.append((kind, wires, constants))
    edit = draw(st.sampled_from(["parameter", "constant", "helper", "edge"]))
    target = draw(st.integers(0, n - 1))
    return nodes, edit, target


def build(catalog, nodes):
    flow = Flow("prop", catalog=catalog)
    p = flow.add_parameter("p", "float", 1.0)
    ids = []
    for kind, wires, constants in nodes:
        node = flow.create_node(catalog.get(f"lib.py:{kind}"))
        for port, source in wires.items():
            if source == "p":
                flow.connect(p.id, "value", node.id, port)
            else:
                flow.connect(ids[source], "result", node.id, port)
        for port, value in constants.items():
            flow.set_value(node.id, port, value)
        ids.append(node.id)
    return flow, p.id, ids


def cone(flow, start):
    seen, stack = set(), [start]
    while stack:
        for edge in flow.edges_out_of(stack.pop()):
            if edge.target not in seen:
                seen.add(edge.target)
                stack.append(edge.target)
    return seen


def signatures(flow, params, values, factor):
    """What each node computes from: its code, constants and the values of its inputs."""
    found = {}
    for node_id, node in flow.nodes.items():
        if node.is_parameter:
            found[node_id] = ("parameter", node.values["name"], params[node.values["name"]])
            continue
        kind = node.spec_key.split(":")[1]
        inputs = []
        for edge in sorted(flow.edges_into(node_id), key=lambda e: e.target_port):
            source = flow.nodes[edge.source]
            value = params[source.values["name"]] if source.is_parameter else values[edge.source]
            inputs.append((edge.target_port, value))
        code = (kind, factor if kind == "with_helper" else None)
        found[node_id] = (code, tuple(sorted(node.values.items())), tuple(inputs))
    return found


def results(engine, result):
    return {
        n: engine.cache.store.read(r.outputs["result"])
        for n, r in result.nodes.items()
        if "result" in r.outputs
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=flows())
# Node 3 loses its wire from the parameter and then reads 1.0 from node 1, as node 0
# reads 1.0 from the parameter: the same computation, served from the cache.
@example(
    case=(
        [
            ("with_helper", {"b": "p"}, {}),
            ("with_helper", {"a": "p", "b": "p"}, {}),
            ("with_helper", {"a": "p", "b": "p"}, {}),
            ("with_helper", {"a": "p", "b": 1}, {}),
        ],
        "edge",
        3,
    )
)
def test_cached_runs_equal_fresh_runs_and_recompute_exactly_the_cone(tmp_path_factory, loop, case):
    nodes, edit, target = case
    folder = tmp_path_factory.mktemp("ws")
    (folder / "lib.py").write_text(LIBRARY.format(factor=2.0))
    catalog = Catalog(folder)
    catalog.load()
    with Workspace(folder) as ws:
        engine = Engine(ws, catalog, executor=InlineExecutor())
        flow, p, ids = build(catalog, nodes)
        params = {"p": 1.0}

        def go(**options):
            return loop.run_until_complete(engine.run(flow, params, RunOptions(**options)))

        first = go()
        before = signatures(flow, params, results(engine, first), factor=2.0)
        factor = 2.0
        node_id = ids[target]
        if edit == "parameter":
            params = {"p": 7.0}
        elif edit == "constant":
            port = PORTS[flow.nodes[node_id].spec_key.split(":")[1]][-1]
            if flow.edge_into(node_id, port):
                flow.disconnect(flow.edge_into(node_id, port))
            flow.set_value(node_id, port, 99.5)
        elif edit == "helper":
            factor = 5.0
            (folder / "lib.py").write_text(LIBRARY.format(factor=factor))
            catalog.reload()
            engine.forget_functions()
        else:
            edges = flow.edges_into(node_id)
            if edges:
                flow.disconnect(edges[0])

        cached = go()
        fresh = go(use_cache=False)
        after = signatures(flow, params, results(engine, fresh), factor=factor)
        # A node reruns exactly when what it computes from is new: its code, its
        # constants or the values of its inputs. One whose upstream reran and
        # produced the same value stays cached (early cutoff), and one that became
        # the same computation as another already cached is rightly served.
        expected = {n for n in flow.nodes if after[n] not in before.values()}
        recomputed = {n for n, r in cached.nodes.items() if r.state == ev.COMPLETED}
        assert recomputed == expected
        hits = {n for n, r in cached.nodes.items() if r.state == ev.CACHED}
        assert hits == set(flow.nodes) - expected
        fresh = go(use_cache=False)
        assert results(engine, cached) == results(engine, fresh)
