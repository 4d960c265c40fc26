"""Subflows written out in place: one flat flow with the nodes of every flow it runs.

A script has no engine to start a child run, so a subflow node becomes the
nodes of its flow: the wires and constants given to the subflow node feed the
consumers of the matching parameters (a parameter left unset gives its
default), and the consumers of the subflow's outputs read from whatever feeds
the inner flow's output nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plait.runtime.engine.subflows import SUBFLOW_PREFIX, is_subflow
from plait.runtime.flow.model import Edge, Flow, Node


class InlineError(ValueError):
    """A subflow that cannot be written in place; the message names the node and why."""


@dataclass(frozen=True)
class _Port:
    node: str
    port: str


@dataclass(frozen=True)
class _Value:
    value: Any


def inline_subflows(flow: Flow) -> Flow:
    """The flow with each subflow node replaced by the nodes of the flow it runs."""
    subflows = [n for n in flow.nodes.values() if is_subflow(n.spec_key)]
    if not subflows:
        return flow
    nodes = {n.id: _copy(n, n.id) for n in flow.nodes.values() if not is_subflow(n.spec_key)}
    taken = set(flow.nodes)
    # (subflow node, output name) -> what feeds that output inside it
    gives: dict[tuple[str, str], _Port | _Value] = {}
    wires: list[tuple[_Port | _Value, _Port]] = []
    for edge in flow.edges:
        if not is_subflow(flow.nodes[edge.target].spec_key):
            wires.append((_Port(edge.source, edge.source_port), _Port(edge.target, edge.target_port)))
    for outer in subflows:
        child = _child(flow, outer)
        renamed = {}
        for node_id in child.nodes:
            new = node_id if node_id not in taken else f"{outer.id}__{node_id}"
            while new in taken:
                new += "_"
            taken.add(new)
            renamed[node_id] = new
        given: dict[str, _Port | _Value] = {}
        for param in child.parameters():
            wire = flow.edge_into(outer.id, param.name)
            if wire is not None:
                given[param.node_id] = _Port(wire.source, wire.source_port)
            elif param.name in outer.values:
                given[param.node_id] = _Value(outer.values[param.name])
            elif not param.required:
                given[param.node_id] = _Value(param.default)
            else:
                raise InlineError(
                    f"node '{outer.title}' runs flow '{child.name}', whose "
                    f"parameter '{param.name}' has no value; wire or set it"
                )
        for node in child.nodes.values():
            if not (node.is_parameter or node.is_output):
                nodes[renamed[node.id]] = _copy(node, renamed[node.id])
        for edge in child.edges:
            source = given.get(edge.source) or _Port(renamed[edge.source], edge.source_port)
            target = child.nodes[edge.target]
            if target.is_output:
                gives[(outer.id, target.values.get("name", target.title))] = source
            else:
                wires.append((source, _Port(renamed[edge.target], edge.target_port)))
    flat_edges = []
    for source, target in wires:
        source = _through(flow, source, gives)
        if isinstance(source, _Value):
            nodes[target.node].values[target.port] = source.value
        else:
            flat_edges.append(Edge(source.node, source.port, target.node, target.port))
    return Flow.from_parts(
        flow.name,
        nodes.values(),
        flat_edges,
        id=flow.id,
        description=flow.description,
        catalog=flow.catalog,
        version=flow.version,
    )


def _child(flow: Flow, node: Node) -> Flow:
    """The flow a subflow node runs, its own subflows already inlined."""
    try:
        child = flow.catalog.flow(node.spec_key[len(SUBFLOW_PREFIX) :])
    except Exception as exc:  # noqa: BLE001 - a deleted flow, a store error: say which node
        raise InlineError(f"node '{node.title}' runs a flow that cannot be loaded ({exc})") from None
    return inline_subflows(child)


def _through(
    flow: Flow, source: _Port | _Value, gives: dict[tuple[str, str], _Port | _Value]
) -> _Port | _Value:
    """Follow a wire from a subflow node's output to what produces it inside."""
    while (
        isinstance(source, _Port)
        and source.node in flow.nodes
        and is_subflow(flow.nodes[source.node].spec_key)
    ):
        inner = gives.get((source.node, source.port))
        if inner is None:
            title = flow.nodes[source.node].title
            raise InlineError(f"node '{title}' has no output '{source.port}' that its flow gives")
        source = inner
    return source


def _copy(node: Node, node_id: str) -> Node:
    return Node(node_id, node.spec_key, node.title, node.position, dict(node.values), dict(node.options))
