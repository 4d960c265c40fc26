"""The layered layout places big flows in columns: no overlaps, wires left to right, same every time."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.runtime.flow.layered import DEFAULT_SIZE, layered_layout


def random_flow(n: int, wires: int, seed: int, reach: int = 30):
    """Nodes of assorted sizes, each wire from a node to one made after it (no cycles)."""
    rng = random.Random(seed)
    nodes = [f"node_{i}" for i in range(n)]
    edges = []
    for _ in range(wires):
        target = rng.randrange(1, n)
        edges.append((nodes[rng.randrange(max(0, target - reach), target)], nodes[target]))
    sizes = {node: (rng.choice((150.0, 180.0, 240.0)), rng.choice((46.0, 80.0, 170.0))) for node in nodes}
    return nodes, edges, sizes


def rects(positions, sizes):
    return {
        node: (x, y, x + sizes.get(node, DEFAULT_SIZE)[0], y + sizes.get(node, DEFAULT_SIZE)[1])
        for node, (x, y) in positions.items()
    }


def overlapping(boxes: dict) -> list[tuple[str, str]]:
    """Pairs of rectangles that overlap, by a sweep from left to right."""
    found, active = [], []
    for node, box in sorted(boxes.items(), key=lambda item: item[1][0]):
        active = [(other, b) for other, b in active if b[2] > box[0]]
        found += [(other, node) for other, b in active if b[1] < box[3] and box[1] < b[3]]
        active.append((node, box))
    return found


def check(nodes, edges, sizes, positions, routes, closing=()):
    assert set(positions) == set(nodes)
    boxes = rects(positions, sizes)
    assert overlapping(boxes) == []
    for number, (source, target) in enumerate(edges):
        if source == target or number in closing:
            assert number not in routes
            continue
        # A wire leaves its node's right side and enters a node further right.
        assert boxes[source][2] < boxes[target][0]
        points = routes[number]
        assert (len(points) - 1) % 3 == 0
        assert points[0] == pytest.approx((boxes[source][2], (boxes[source][1] + boxes[source][3]) / 2))
        assert points[-1] == pytest.approx((boxes[target][0], (boxes[target][1] + boxes[target][3]) / 2))
        xs = [x for x, _ in points]
        assert xs == sorted(xs)


def test_a_big_random_flow_gets_columns_without_overlaps_and_every_wire_goes_right():
    nodes, edges, sizes = random_flow(2000, 3000, seed=1)
    phases = []
    positions, routes = layered_layout(nodes, edges, sizes, lambda phase, done: phases.append((phase, done)))
    check(nodes, edges, sizes, positions, routes)
    assert len(routes) == len(edges)
    assert [p for p, _ in phases][:2] == ["choosing columns", "making room for long wires"]
    assert phases[-1][0] == "routing wires"
    done = [d for _, d in phases]
    assert done == sorted(done) and 0 <= done[0] and done[-1] < 1


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80),
            st.lists(
                st.tuples(st.sampled_from((40.0, 180.0)), st.sampled_from((20.0, 90.0, 300.0))),
                min_size=n,
                max_size=n,
            ),
        )
    )
)
def test_any_acyclic_flow_is_laid_out_without_overlaps(flow):
    n, pairs, size_list = flow
    nodes = [f"n{i}" for i in range(n)]
    edges = [(nodes[min(a, b)], nodes[max(a, b)]) for a, b in pairs if a != b]
    sizes = dict(zip(nodes, size_list, strict=True))
    check(nodes, edges, sizes, *layered_layout(nodes, edges, sizes))


def test_the_result_is_the_same_every_time_and_in_another_process():
    nodes, edges, sizes = random_flow(600, 900, seed=2)
    first = layered_layout(nodes, edges, sizes)
    assert layered_layout(nodes, edges, sizes) == first
    script = (
        "import json, sys; from plait.runtime.flow.layered import layered_layout; "
        "a = json.load(sys.stdin); p, r = layered_layout(a['nodes'], [tuple(e) for e in a['edges']], "
        "{k: tuple(v) for k, v in a['sizes'].items()}); print(json.dumps([p, r]))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps({"nodes": nodes, "edges": edges, "sizes": sizes}),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    positions, routes = json.loads(out)
    assert {k: tuple(v) for k, v in positions.items()} == first[0]
    assert {int(k): [tuple(p) for p in v] for k, v in routes.items()} == first[1]


def test_crossing_wires_are_untangled():
    sources = [f"s{i}" for i in range(8)]
    targets = [f"t{i}" for i in range(8)]
    # In the given order every pair of these wires crosses.
    edges = [(sources[i], targets[7 - i]) for i in range(8)]
    positions, _ = layered_layout(sources + targets, edges, {})
    by_source = sorted(edges, key=lambda e: positions[e[0]][1])
    target_heights = [positions[t][1] for _, t in by_source]
    assert target_heights == sorted(target_heights)


def test_a_long_wire_keeps_clear_of_the_nodes_it_passes():
    # a -> b -> c -> d, and a straight to d past b and c, which sit in its way by default.
    nodes = ["a", "b", "c", "d"]
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
    positions, routes = layered_layout(nodes, edges, {})
    boxes = rects(positions, {})
    lane = routes[3]
    for node in ("b", "c"):
        left, top, right, bottom = boxes[node]
        inside = [(x, y) for x, y in lane if left <= x <= right]
        assert inside and all(y < top or y > bottom for _, y in inside)


def test_a_parameter_sits_next_to_the_node_that_reads_it():
    nodes = ["load", "clean", "fit", "report", "alpha"]
    edges = [("load", "clean"), ("clean", "fit"), ("fit", "report"), ("alpha", "fit")]
    positions, _ = layered_layout(nodes, edges, {})
    column_of = {node: x for node, (x, _) in positions.items()}
    assert column_of["alpha"] == column_of["clean"]


def test_wires_that_close_cycles_get_no_route_and_nothing_overlaps():
    nodes, edges, sizes = random_flow(300, 450, seed=3)
    far = max(nx.descendants(nx.DiGraph(edges), "node_10"), key=lambda n: int(n.split("_")[1]))
    edges = [*edges, (far, "node_10"), ("node_40", "node_40")]
    positions, routes = layered_layout(nodes, edges, sizes)
    unrouted = {number for number in range(len(edges)) if number not in routes}
    assert len(edges) - 1 in unrouted  # the wire into its own node
    # Each other one runs backwards, closing a cycle; without them the wiring has none.
    whole = nx.DiGraph(edges)
    assert all(nx.has_path(whole, edges[i][1], edges[i][0]) for i in unrouted)
    assert nx.is_directed_acyclic_graph(nx.DiGraph(e for i, e in enumerate(edges) if i not in unrouted))
    check(nodes, edges, sizes, positions, routes, closing=unrouted)


def test_nodes_without_wires_go_in_a_grid_under_the_columns():
    wired = ["load", "clean", "report"]
    edges = [("load", "clean"), ("clean", "report")]
    alone = [f"alone_{i}" for i in range(100)]
    sizes = {"clean": (180.0, 600.0)}
    positions, routes = layered_layout(wired + alone, edges, sizes)
    check(wired + alone, edges, sizes, positions, routes)
    bottom = max(positions[n][1] + sizes.get(n, DEFAULT_SIZE)[1] for n in wired)
    assert all(positions[n][1] > bottom for n in alone)
    assert len({positions[n][1] for n in alone}) == 10  # ten rows of ten
    assert len({positions[n][0] for n in alone}) == 10


def test_a_flow_of_only_unwired_nodes_is_a_grid():
    nodes = [f"n{i}" for i in range(9)]
    positions, routes = layered_layout(nodes, [], {})
    assert routes == {}
    assert len({x for x, _ in positions.values()}) == 3 and len({y for _, y in positions.values()}) == 3
    assert overlapping(rects(positions, {})) == []


def test_a_wire_to_a_node_that_is_not_there_is_named():
    with pytest.raises(ValueError, match="wire 1 joins 'a' to 'ghost'"):
        layered_layout(["a", "b"], [("a", "b"), ("a", "ghost")], {})
