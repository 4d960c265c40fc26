"""Walks over a flow's wiring, in one place: cycles, reachability, order and cones.

A flow keeps its wiring as a networkx `DiGraph` of node ids (an edge per
wired pair of nodes, however many wires join them), kept up to date edit by
edit once it is made (when first asked for), so a check never rebuilds it.
Validation asks it for the cycles of a flow that has some, and a run's plan
for its order, the ancestors of the node it runs to and the cones below
forced or failed nodes. `connect` asks an `Order`, a topological order kept
up to date edit by edit, whether a new wire would close a cycle, and
validation whether there is any. networkx itself is imported by the first
walk that needs it, so opening, editing and checking a flow does without it.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx


def load() -> None:
    """Import what the walks use now: a window does once it is shown, so that its first
    wire drag or stale cone does not wait for the import."""
    _nx()


def _nx() -> Any:
    # networkx is imported when a walk first needs it (~0.1 s and 25,000 objects): a
    # process that only opens, edits and checks acyclic flows never pays for it.
    import networkx

    return networkx


_WIRING: list[type] = []  # the one class, made under the lock: threads all get the same
_WIRING_LOCK = threading.Lock()


def _wiring_class() -> type:
    if _WIRING:
        return _WIRING[0]
    with _WIRING_LOCK:
        if not _WIRING:
            _WIRING.append(_make_wiring_class())
    return _WIRING[0]


def _make_wiring_class() -> type:
    nx = _nx()

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

    Wiring.__module__ = __name__
    Wiring.__qualname__ = "Wiring"
    return Wiring


def __getattr__(name: str) -> Any:
    if name == "Wiring":  # made with networkx, the first time it is asked for
        return _wiring_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:

    class Wiring(nx.DiGraph):  # what `_wiring_class` makes, for type checkers
        wires: dict[tuple[str, str], int]

        @classmethod
        def of(cls, nodes: Iterable[str], wires: Iterable[Any]) -> Wiring: ...
        def add_wire(self, source: str, target: str) -> None: ...
        def remove_wire(self, source: str, target: str) -> None: ...


class Order:
    """A topological order of a flow's nodes, kept up to date wire by wire, for cycle checks.

    Each node has a rank, every wire going from a lower rank to a higher one; a new
    node ranks last. A new wire from a lower rank to a higher one can close no cycle,
    which is how most wires are drawn, and costs nothing; one that goes against the
    order is checked and the order repaired among only the nodes ranked between its
    ends (Pearce and Kelly's dynamic topological sort). So a flow built wire by wire
    is checked in linear time, where a reachability search per wire is quadratic on
    a long chain. A flow that holds a cycle (loaded as it was saved) has no order:
    its checks search the whole downstream cone until a wire goes.

    `nodes` is the flow's live collection of node ids; `successors` and
    `predecessors` give the ids wired out of and into a node.
    """

    def __init__(
        self,
        nodes: Iterable[str],
        successors: Callable[[str], Iterable[str]],
        predecessors: Callable[[str], Iterable[str]],
    ) -> None:
        self._nodes = nodes
        self._succ = successors
        self._pred = predecessors
        self._rank: dict[str, int] | None = None  # None: not worked out (or a cycle)
        self._next = 0
        self._cyclic = False  # the last attempt found a cycle; a removed wire may end it

    def _ranks(self) -> dict[str, int] | None:
        if self._rank is None and not self._cyclic:
            # Among the nodes ready, the one added first: the order stays close to the one
            # the nodes were added in, which most new wires follow.
            place = {n: i for i, n in enumerate(self._nodes)}
            indegree = dict.fromkeys(place, 0)
            for node in place:
                for target in self._succ(node):
                    indegree[target] += 1
            ready = [place[n] for n, count in indegree.items() if count == 0]
            names = list(place)
            order: list[str] = []
            while ready:
                node = names[heapq.heappop(ready)]
                order.append(node)
                for target in self._succ(node):
                    indegree[target] -= 1
                    if indegree[target] == 0:
                        heapq.heappush(ready, place[target])
            if len(order) == len(indegree):
                self._rank = {n: i for i, n in enumerate(order)}
                self._next = len(order)
            else:
                self._cyclic = True
        return self._rank

    def ordered(self) -> bool:
        """Whether the nodes have an order: the flow holds no cycle."""
        return self._ranks() is not None

    def reaches(self, start: str, goal: str) -> bool:
        """Whether `goal` is downstream of `start` (or is it)."""
        if start == goal:
            return True
        rank = self._ranks()
        if rank is None:
            return goal in self._search(start, self._succ, lambda n: True, goal)
        limit = rank[goal]
        if rank[start] > limit:
            return False
        return goal in self._search(start, self._succ, lambda n: rank[n] <= limit, goal)

    def add_node(self, node: str) -> None:
        if self._rank is not None:
            self._rank[node] = self._next
            self._next += 1

    def remove_node(self, node: str) -> None:
        """After its wires have gone."""
        if self._rank is not None:
            self._rank.pop(node, None)

    def add_wire(self, source: str, target: str) -> None:
        """After the wire is in the flow: repair the order, or note the cycle it closed."""
        rank = self._rank
        if rank is None:
            return
        low, high = rank[target], rank[source]
        if high < low:
            return
        ahead = self._search(target, self._succ, lambda n: rank[n] <= high, source)
        if source in ahead:  # an unchecked wire (a restore) closed a cycle
            self._rank, self._cyclic = None, True
            return
        behind = self._search(source, self._pred, lambda n: rank[n] >= low, None)
        moved = sorted(behind, key=rank.__getitem__) + sorted(ahead, key=rank.__getitem__)
        for node, place in zip(moved, sorted(rank[n] for n in moved), strict=True):
            rank[node] = place

    def remove_wire(self, source: str, target: str) -> None:
        """A wire fewer keeps an order valid, and may end a cycle."""
        self._cyclic = False

    @staticmethod
    def _search(
        start: str, step: Callable[[str], Iterable[str]], keep: Callable[[str], bool], goal: str | None
    ) -> set[str]:
        """The nodes reached from `start` through nodes that `keep` accepts; stops at `goal`."""
        seen = {start}
        stack = [start]
        while stack:
            for node in step(stack.pop()):
                if node not in seen and keep(node):
                    seen.add(node)
                    if node == goal:
                        return seen
                    stack.append(node)
        return seen


def reaches(wiring: nx.DiGraph, start: str, goal: str) -> bool:
    """Whether `goal` is downstream of `start` (or is it)."""
    return _nx().has_path(wiring, start, goal)


def cycles(wiring: nx.DiGraph) -> list[set[str]]:
    """The groups of nodes that form cycles (a node wired into itself is one)."""
    nx = _nx()
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
    copy = _nx().DiGraph()
    copy.add_nodes_from(keep)
    copy.add_edges_from(
        (source, target) for source in keep for target in sorted(wiring.succ[source]) if target in chosen
    )
    return copy


def topological_order(wiring: nx.DiGraph) -> list[str]:
    """Every node after all of its upstreams, breadth first: the sources, then what they
    free, and so on; ties in the graph's own order (sorted, for an `ordered` graph)."""
    return [node for generation in _nx().topological_generations(wiring) for node in generation]


def order_by(wiring: nx.DiGraph, key: Callable[[str], Any]) -> list[str]:
    """Every node after all of its upstreams; among the ready ones, the smallest `key` first."""
    return list(_nx().lexicographical_topological_sort(wiring, key=key))


def upstream_of(wiring: nx.DiGraph, node: str) -> set[str]:
    """Every node that `node` depends on, directly or not."""
    return _nx().ancestors(wiring, node)


def downstream_of(wiring: nx.DiGraph, node: str) -> set[str]:
    """The node's cone: every node that depends on it, directly or not."""
    return _nx().descendants(wiring, node)
