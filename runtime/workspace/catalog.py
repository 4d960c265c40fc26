"""Saved flows as node types: a workspace's catalog of functions plus its flows.

A flow placed in another flow is one node (a subflow): its parameters become
the node's inputs and its "flow output" nodes its outputs. `FlowCatalog`
offers every flow of a workspace as a node type beside the library
functions, and refuses a flow that would include itself. Running one is the
engine's (`plait.runtime.engine.subflows`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from plait.runtime.flow.model import Flow
from plait.runtime.flow.validation import SELF_INCLUDING, Problem
from plait.runtime.nodes.spec import REQUIRED, NodeSpec, Port

SUBFLOW_PREFIX = "plait:flow:"


def subflow_key(flow_id: str) -> str:
    return SUBFLOW_PREFIX + flow_id


def is_subflow(key: str) -> bool:
    return key.startswith(SUBFLOW_PREFIX)


class FlowCatalog:
    """A catalog of node types plus the workspace's flows as subflow node types."""

    def __init__(self, catalog: Any, workspace: Any) -> None:
        self.catalog = catalog
        self.workspace = workspace
        self._specs: dict[str, tuple[int, NodeSpec]] = {}  # flow id -> its latest version's spec
        self._building: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        # libraries, reload(), add() ... are the wrapped catalog's.
        return getattr(self.catalog, name)

    def __contains__(self, key: object) -> bool:
        return self.get(str(key)) is not None

    def get(self, key: str) -> NodeSpec | None:
        if is_subflow(key):
            return self._subflow(key[len(SUBFLOW_PREFIX) :])
        return self.catalog.get(key)

    def specs(self) -> list[NodeSpec]:
        flows = [self._subflow(info.id) for info in self.workspace.flows()]
        return list(self.catalog.specs()) + [s for s in flows if s is not None]

    def flow(self, flow_id: str) -> Flow:
        """The latest saved version of a flow, with this catalog."""
        return self.workspace.load_flow(flow_id, catalog=self)

    def _subflow(self, flow_id: str) -> NodeSpec | None:
        from plait.runtime.workspace.store import FlowNotFound

        try:
            info = self.workspace.flow_info(flow_id)
        except FlowNotFound:
            return None
        cached = self._specs.get(info.id)
        if cached is not None and cached[0] == info.latest_version:
            return cached[1]
        if info.id in self._building:  # it includes itself; flow_problems says so
            return NodeSpec(
                key=subflow_key(info.id), title=info.name, module="Flows", fingerprint="self-including"
            )
        self._building.add(info.id)
        try:
            flow = self.flow(info.id)
            spec = subflow_spec(flow)
        finally:
            self._building.discard(info.id)
        self._specs[info.id] = (info.latest_version, spec)
        return spec

    def includes(self, flow_id: str) -> set[str]:
        """Every flow that `flow_id` includes, directly or through others."""
        seen: set[str] = set()
        stack = [flow_id]
        while stack:
            current = stack.pop()
            try:
                flow = self.workspace.load_flow(current)
            except Exception:  # noqa: BLE001 - a missing flow includes nothing
                continue
            for node in flow.nodes.values():
                if is_subflow(node.spec_key):
                    child = node.spec_key[len(SUBFLOW_PREFIX) :]
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
        return seen

    def flow_problems(self, flow: Flow) -> list[Problem]:
        problems = []
        for node in flow.nodes.values():
            if not is_subflow(node.spec_key):
                continue
            child = node.spec_key[len(SUBFLOW_PREFIX) :]
            if child == flow.id or flow.id in self.includes(child):
                problems.append(
                    Problem(
                        SELF_INCLUDING,
                        f"node '{node.title}' would make flow '{flow.name}' include itself; remove it",
                        node.id,
                    )
                )
        return problems


def subflow_spec(flow: Flow) -> NodeSpec:
    """The node type of a flow: parameters in, flow outputs out."""
    inputs = tuple(
        Port(p.name, p.annotation, REQUIRED if p.required else p.default, description=p.description)
        for p in flow.parameters()
    )
    outputs = tuple(Port(name, flow.output_annotation(node_id)) for node_id, name in flow.output_names())
    # A change inside the flow, or in the code of any node it runs, changes its key.
    parts = [flow.digest()]
    for node in sorted(flow.nodes.values(), key=lambda n: n.id):
        spec = flow.spec(node)
        parts.append(f"{node.spec_key}={spec.fingerprint if spec else 'missing'}")
    fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return NodeSpec(
        key=subflow_key(flow.id),
        title=flow.name,
        doc=flow.description or f"Runs the flow '{flow.name}'.",
        module="Flows",
        inputs=inputs,
        outputs=outputs,
        fingerprint=fingerprint,
        builtin=True,
    )
