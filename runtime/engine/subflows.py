"""Subflows: a saved flow placed in another flow as one node.

Its parameters become the node's inputs and its "flow output" nodes its
outputs. `FlowCatalog` offers every flow of a workspace as a node type beside
the library functions, and refuses a flow that would include itself.
"""

from __future__ import annotations

import hashlib
import time
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
        self._specs: dict[tuple[str, int], NodeSpec] = {}
        self._building: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        # libraries, reload(), add() ... are the wrapped catalog's.
        return getattr(self.catalog, name)

    def __contains__(self, key: object) -> bool:
        return self.get(str(key)) is not None

    def get(self, key: str) -> NodeSpec | None:
        if is_subflow(key):
            return self._subflow(key[len(SUBFLOW_PREFIX):])
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
        cached = self._specs.get((info.id, info.latest_version))
        if cached is not None:
            return cached
        if info.id in self._building:  # it includes itself; flow_problems says so
            return NodeSpec(key=subflow_key(info.id), title=info.name, module="Flows",
                            fingerprint="self-including")
        self._building.add(info.id)
        try:
            flow = self.flow(info.id)
            spec = subflow_spec(flow)
        finally:
            self._building.discard(info.id)
        self._specs[(info.id, info.latest_version)] = spec
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
                    child = node.spec_key[len(SUBFLOW_PREFIX):]
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
        return seen

    def flow_problems(self, flow: Flow) -> list[Problem]:
        problems = []
        for node in flow.nodes.values():
            if not is_subflow(node.spec_key):
                continue
            child = node.spec_key[len(SUBFLOW_PREFIX):]
            if child == flow.id or flow.id in self.includes(child):
                problems.append(Problem(
                    SELF_INCLUDING,
                    f"node '{node.title}' would make flow '{flow.name}' include itself; "
                    "remove it", node.id))
        return problems


def subflow_spec(flow: Flow) -> NodeSpec:
    """The node type of a flow: parameters in, flow outputs out."""
    inputs = tuple(
        Port(p.name, p.annotation, REQUIRED if p.required else p.default,
             description=p.description)
        for p in flow.parameters())
    outputs = tuple(Port(name, flow.output_annotation(node_id))
                    for node_id, name in flow.output_names())
    # A change inside the flow, or in the code of any node it runs, changes its key.
    parts = [flow.digest()]
    for node in sorted(flow.nodes.values(), key=lambda n: n.id):
        spec = flow.spec(node)
        parts.append(f"{node.spec_key}={spec.fingerprint if spec else 'missing'}")
    fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return NodeSpec(key=subflow_key(flow.id), title=flow.name,
                    doc=flow.description or f"Runs the flow '{flow.name}'.",
                    module="Flows", inputs=inputs, outputs=outputs, fingerprint=fingerprint,
                    builtin=True)


async def execute_subflow(run: Any, node_id: str, options: Any) -> None:
    """Run a subflow node: its flow runs as a child run of this one, with the same engine."""
    from plait.runtime.engine import events as ev
    from plait.runtime.engine.scheduler import RunOptions

    node = run.flow.nodes[node_id]
    state = run.nodes[node_id]
    child_flow = run.flow.catalog.flow(node.spec_key[len(SUBFLOW_PREFIX):])
    state.attempts = 1
    run._emit(ev.NodeStarted(run.id, node_id, 1, time.time(),
                             run.plan.keys[node_id]))
    refs, values = {}, {}
    names = {p.name for p in child_flow.parameters()}
    for edge in run.flow.edges_into(node_id):
        source = run.nodes[edge.source]
        refs[edge.target_port] = (run.plan.input_digest(edge.source, edge.source_port,
                                                        source.outputs),
                                  source.outputs[edge.source_port])
    for name, value in node.values.items():
        if name in names and name not in refs:
            values[name] = value
    child_options = RunOptions(executor=run.options.executor,
                               max_workers=run.options.max_workers,
                               use_cache=run.options.use_cache, log_limit=run.log_limit,
                               parent_run=run.id, parent_node=node_id)
    child = run.engine.start(child_flow, values, child_options, refs=refs)
    run.log(node_id, f"[plait] running flow '{child_flow.name}' as run {child.id[:8]}")
    try:
        async for event in child.events():
            if isinstance(event, ev.NodeFinished):
                done = sum(1 for n in child.nodes.values() if n.state in ev.FINAL_STATES)
                run._emit(ev.NodeProgress(run.id, node_id, done, len(child.nodes),
                                          f"{done}/{len(child.nodes)} nodes of "
                                          f"'{child_flow.name}'", event.time))
        result = await child.wait()
    except BaseException:
        child.cancel()
        await child.wait()
        raise
    if not result.ok:
        failed = [n for n in result.nodes.values() if n.state not in ev.SUCCESS_STATES
                  and n.error and n.state != ev.SKIPPED]
        first = f"; '{failed[0].title}': {failed[0].error}" if failed else ""
        run._finish(node_id, ev.FAILED, error_type="SubflowFailed",
                    error_message=f"flow '{child_flow.name}' {result.state}{first}")
        return
    outputs = {}
    for output_id, name in child_flow.output_names():
        produced = result.nodes[output_id].outputs.get("value")
        if produced is not None:
            outputs[name] = produced
    # Not cached as a whole: the child run's nodes are, each by its own key, so a
    # `never`, expiring or file-reading node inside reruns as it would at top level.
    run._finish(node_id, ev.CACHED if all(n.state in (ev.CACHED,) or
                                           child_flow.nodes[n.node_id].is_parameter
                                           for n in result.nodes.values()) else ev.COMPLETED,
                outputs=outputs)
