"""Walks over a flow's wiring, in one place: cycles, reachability, order and cones.

A flow keeps its wiring as a networkx `DiGraph` of node ids (an edge per
wired pair of nodes, however many wires join them), kept up to date edit by
edit once it is made (when first asked for), so a check never rebuilds it. Validation asks it for
cycles, `connect` whether a new wire would close one, and a run's plan for
its order, the ancestors of the node it runs to and the cones below forced
or failed nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import networkx as nx


class Wiring(nx.DiGraph):
    """Which nodes feed which: a DiGraph that also counts the wires joining each pair."""

    def __init__(self, incoming_graph_data: object = None, **attr: object) -> None:
        super().__init__(incoming_graph_data, **attr)
        self.wires: dict[tuple[str, str], int] = {}

    @classmethod
    def of(cls, nodes: Iterable[str], wires: Iterable[Any]) -> Wiring:
        """The wiring of these nodes and wires (anything with `source` and `target`), in bulk."""
        wiring = cls()
        wiring.add_nodes_from(nodes)
        for wire in wires:
            pair = (wire.source, wire.target)
            wiring.wires[pair] = wiring.wires.get(pair, 0) + 1
        wiring.add_edges_from(wiring.wires)
        return wiring

    def add_wire(self, source: str, target: str) -> None:
        pair = (source, target)
        count = self.wires.get(pair, 0)
        self.wires[pair] = count + 1
        if count == 0:
            self.add_edge(source, target)

    def remove_wire(self, source: str, target: str) -> None:
        """One wire fewer between the two; the pair goes with its last wire."""
        pair = (source, target)
        count = self.wires.pop(pair)
        if count > 1:
            self.wires[pair] = count - 1
        else:
            self.remove_edge(source, target)

    def remove_node(self, n: str) -> None:
        for pair in [(n, t) for t in self.succ[n]] + [(s, n) for s in self.pred[n]]:
            self.wires.pop(pair, None)
        super().remove_node(n)


def reaches(wiring: nx.DiGraph, start: str, goal: str) -> bool:
    """Whether `goal` is downstream of `start` (or is it)."""
    return nx.has_path(wiring, start, goal)


def cycles(wiring: nx.DiGraph) -> list[set[str]]:
    """The groups of nodes that form cycles (a node wired into itself is one)."""
    if nx.is_directed_acyclic_graph(wiring):
        return []
    return [
        component
        for component in nx.strongly_connected_components(wiring)
        if len(component) > 1 or any(wiring.has_edge(n, n) for n in component)
    ]


def ordered(wiring: nx.DiGraph, nodes: Iterable[str] | None = None) -> nx.DiGraph:
    """A copy of the wiring (or of the part among `nodes`) whose nodes and successors
    come in sorted order, so walks over it are the same on every run."""
    keep = sorted(wiring if nodes is None else nodes)
    chosen = set(keep)
    copy = nx.DiGraph()
    copy.add_nodes_from(keep)
    copy.add_edges_from(
        (source, target) for source in keep for target in sorted(wiring.succ[source]) if target in chosen
    )
    return copy


def topological_order(wiring: nx.DiGraph) -> list[str]:
    """Every node after all of its upstreams, breadth first: the sources, then what they
    free, and so on; ties in the graph's own order (sorted, for an `ordered` graph)."""
    return [node for generation in nx.topological_generations(wiring) for node in generation]


def order_by(wiring: nx.DiGraph, key: Callable[[str], Any]) -> list[str]:
    """Every node after all of its upstreams; among the ready ones, the smallest `key` first."""
    return list(nx.lexicographical_topological_sort(wiring, key=key))


def upstream_of(wiring: nx.DiGraph, node: str) -> set[str]:
    """Every node that `node` depends on, directly or not."""
    return nx.ancestors(wiring, node)


def downstream_of(wiring: nx.DiGraph, node: str) -> set[str]:
    """The node's cone: every node that depends on it, directly or not."""
    return nx.descendants(wiring, node)
