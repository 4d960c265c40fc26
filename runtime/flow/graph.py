"""Walks over a flow's wiring, in one place: cycles, reachability, order and cones.

A flow keeps its wiring as a networkx `DiGraph` of node ids (an edge per
wired pair of nodes, however many wires join them, counted in `wires`), kept
up to date edit by edit, so a check never rebuilds it. Validation asks it for
cycles, `connect` whether a new wire would close one, and a run's plan for
its order, the ancestors of the node it runs to and the cones below forced
or failed nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import networkx as nx

Wiring = nx.DiGraph


def new_wiring() -> nx.DiGraph:
    return nx.DiGraph()


def add_wire(wiring: nx.DiGraph, source: str, target: str) -> None:
    """Count one more wire from `source` to `target`."""
    data = wiring.succ[source].get(target) if source in wiring else None
    if data is None:
        wiring.add_edge(source, target, wires=1)
    else:
        data["wires"] += 1


def remove_wire(wiring: nx.DiGraph, source: str, target: str) -> None:
    """Count one wire fewer from `source` to `target`; the pair goes with its last wire."""
    data = wiring[source][target]
    data["wires"] -= 1
    if data["wires"] == 0:
        wiring.remove_edge(source, target)


def reaches(wiring: nx.DiGraph, start: str, goal: str) -> bool:
    """Whether `goal` is downstream of `start` (or is it)."""
    if start != goal and not wiring.succ[start]:
        return False  # most new wires leave the newest node: nothing below it to search
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
