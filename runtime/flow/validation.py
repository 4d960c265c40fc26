"""Checking a whole flow: every problem, attached to the node and port at fault."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plait.runtime.flow.model import ports_by_name
from plait.runtime.nodes.spec import NodeOptions, Port, tuple_port
from plait.runtime.nodes.splitting import SPLIT_OPTION

if TYPE_CHECKING:
    from plait.runtime.flow.model import Flow, Node

UNWIRED_INPUT = "unwired_input"
CYCLE = "cycle"
INCOMPATIBLE_TYPES = "incompatible_types"
MISSING_NODE_TYPE = "missing_node_type"
DUPLICATE_PARAMETER = "duplicate_parameter"
UNKNOWN_PORT = "unknown_port"
SHARED_INPUT = "shared_input"
DUPLICATE_OUTPUT = "duplicate_output"
SELF_INCLUDING = "self_including"
OUTSIDE_CHOICES = "outside_choices"
UNSPLITTABLE = "unsplittable"


@dataclass(frozen=True)
class Problem:
    """Something that stops a flow from running, and where it is."""

    kind: str
    message: str
    node_id: str | None = None
    port: str | None = None

    def __str__(self) -> str:
        return self.message


def _read_not_run(flow: Flow, node: Node) -> bool:
    """Whether the node's type was read from source, not imported (a workspace not yet trusted)."""
    spec = flow.spec(node)
    library = getattr(flow.catalog, "library", None)
    found = library(spec.module) if spec is not None and library is not None else None
    return bool(getattr(found, "restricted", False))


def _vanished_output(flow: Flow, node: Node, port: str) -> str:
    """Why a wire's output is gone, and what to do; a whole tuple split into items says so."""
    if _read_not_run(flow, node):  # inputs read from a signature are sure; outputs may not be
        return (
            f"a wire leaves output '{port}' of '{node.title}', which reading its source (it has "
            "not run) does not show: trust the workspace to check it; the wire is kept"
        )
    spec = flow.spec(node)
    names = [p.name for p in spec.outputs] if spec is not None else []
    if port == "result" and names and names == [tuple_port(i) for i in range(len(names))]:
        return (
            f"a wire leaves output 'result' of '{node.title}', but its function returns a "
            f"tuple[...], which gives one output per item ({', '.join(names)}): wire from the "
            'item the next node needs, or declare @node(outputs="result") on the function '
            "to keep the whole tuple as one output"
        )
    return f"a wire leaves output '{port}' of '{node.title}', which it no longer has: remove the wire"


def validate(flow: Flow) -> list[Problem]:
    """Every problem of the flow, in time linear in its nodes and wires."""
    problems: list[Problem] = []
    missing: set[str] = set()
    # Each node's type, options and ports by name, looked up once: a wire's check is then
    # a few dict lookups, however many ports its nodes have.
    ports: dict[str, tuple[NodeOptions, dict[str, Port], dict[str, Port]]] = {}
    for node in flow.nodes.values():
        spec = flow.spec(node)
        if spec is None:
            missing.add(node.id)
            problems.append(
                Problem(
                    MISSING_NODE_TYPE,
                    f"node '{node.title}' has type '{node.spec_key}', which is not available: "
                    "check that its library loads, or remove the node",
                    node.id,
                )
            )
        ports[node.id] = (
            flow.options(node),
            ports_by_name(spec.inputs if spec else ()),
            ports_by_name(flow.outputs_of(node, spec)),
        )

    wired: dict[tuple[str, str], int] = defaultdict(int)
    for edge in flow.edges:  # sorted: problems come in the same order every time
        wired[(edge.target, edge.target_port)] += 1
        src, dst = flow.nodes[edge.source], flow.nodes[edge.target]
        out_port = ports[edge.source][2].get(edge.source_port)
        dst_options, dst_inputs, _ = ports[edge.target]
        in_port = dst_inputs.get(edge.target_port)
        if out_port is None and edge.source not in missing:
            problems.append(
                Problem(
                    UNKNOWN_PORT, _vanished_output(flow, src, edge.source_port), edge.source, edge.source_port
                )
            )
        if in_port is None and edge.target not in missing:
            problems.append(
                Problem(
                    UNKNOWN_PORT,
                    f"a wire enters input '{edge.target_port}' of '{dst.title}', which it no "
                    "longer has: remove the wire",
                    edge.target,
                    edge.target_port,
                )
            )
        if out_port is not None and in_port is not None:
            fit = flow.port_fit(src, out_port, dst, dst_options, in_port)  # the rule `connect` applies
            if not fit.allowed:
                problems.append(Problem(INCOMPATIBLE_TYPES, fit.reason, edge.target, edge.target_port))

    for (target, port), count in sorted(wired.items()):
        if count > 1:
            problems.append(
                Problem(
                    SHARED_INPUT,
                    f"input '{port}' of '{flow.nodes[target].title}' has {count} wires; keep one",
                    target,
                    port,
                )
            )

    for node in flow.nodes.values():
        for port in ports[node.id][1].values():
            if port.required and (node.id, port.name) not in wired and port.name not in node.values:
                problems.append(
                    Problem(
                        UNWIRED_INPUT,
                        f"input '{port.name}' of '{node.title}' needs a wire or a value",
                        node.id,
                        port.name,
                    )
                )

    for node in flow.nodes.values():
        if node.is_parameter or node.is_output or node.id in missing:
            continue
        inputs = ports[node.id][1]
        for port, value in node.values.items():
            found = inputs.get(port)
            if found is not None and found.choices and (node.id, port) not in wired:
                reason = flow.outside_choices(node, port, value)
                if reason:
                    problems.append(Problem(OUTSIDE_CHOICES, reason, node.id, port))

    for node in flow.nodes.values():
        spec = None if node.id in missing else flow.spec(node)
        if spec is not None and spec.builtin and node.options.get(SPLIT_OPTION):
            problems.append(
                Problem(
                    UNSPLITTABLE,
                    f"node '{node.title}' runs a flow, whose outputs are not split by key: choose "
                    "Join keys on its output, and split the output inside that flow instead",
                    node.id,
                )
            )

    for component in sorted(flow.cycles(), key=sorted):
        titles = sorted(flow.nodes[n].title for n in component)
        for node_id in sorted(component):
            problems.append(
                Problem(CYCLE, f"nodes {', '.join(titles)} form a cycle: remove one of their wires", node_id)
            )

    by_name: dict[str, list[str]] = defaultdict(list)
    for param in flow.parameters():
        by_name[param.name].append(param.node_id)
    for name, ids in by_name.items():
        if len(ids) > 1:
            for node_id in ids:
                problems.append(
                    Problem(
                        DUPLICATE_PARAMETER,
                        f"{len(ids)} parameters are named '{name}'; rename all but one",
                        node_id,
                        "name",
                    )
                )
    outputs: dict[str, list[str]] = defaultdict(list)
    for node_id, name in flow.output_names():
        outputs[name].append(node_id)
    for name, ids in outputs.items():
        if len(ids) > 1:
            for node_id in ids:
                problems.append(
                    Problem(
                        DUPLICATE_OUTPUT,
                        f"{len(ids)} flow outputs are named '{name}'; rename all but one",
                        node_id,
                        "name",
                    )
                )
    # A catalog that knows other flows (subflows) checks that none includes itself.
    flow_problems = getattr(flow.catalog, "flow_problems", None)
    if flow_problems is not None:
        problems.extend(flow_problems(flow))
    return problems
