"""Drawing a flow with Graphviz: left to right, nodes with their ports, run states in colour.

The picture is for documentation and review (`plait export FLOW --to svg`):
each node is a small table, its title on top, inputs on the left and outputs
on the right, wires from port to port. Parameters are amber and rounded, flow
outputs violet, so the knobs and the results of a flow stand out. Given the
states of a run, each node's header takes the state's colour.
"""

from __future__ import annotations

import html
import json
from typing import Any

from plait.runtime.flow.model import Flow, Node
from plait.runtime.nodes.spec import REQUIRED

FORMATS = ("svg", "png", "dot")
FONT = "Helvetica"
BORDER = "#5f6b7a"
HEADER = "#e8edf3"
PARAMETER_FILL = "#fff1c7"
PARAMETER_BORDER = "#b8860b"
OUTPUT_FILL = "#ece3fa"
OUTPUT_BORDER = "#7b52ab"
MISSING_FILL = "#fde2e1"
MUTED = "#8a94a3"
VALUE_WIDTH = 28  # characters of a constant shown beside its input

# Header colours by node state (see runtime.events).
STATE_COLOURS = {
    "completed": "#b9e4c0",
    "cached": "#c9d6e3",
    "checkpoint": "#c5e3e8",
    "failed": "#f6b8b8",
    "crashed": "#f6b8b8",
    "timed_out": "#f8d0a8",
    "skipped": "#e0e0e0",
    "cancelled": "#e0e0e0",
    "running": "#fff0a8",
    "retrying": "#fff0a8",
    "pending": "#f4f4f4",
}


class DrawingError(ValueError):
    """A flow that cannot be drawn in the format asked for."""


def _text(value: Any, width: int = VALUE_WIDTH) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(str(text).split())
    return html.escape(text if len(text) <= width else text[: width - 1] + "…")


def _port_id(direction: str, name: str) -> str:
    # Graphviz port names: inputs and outputs may share a name, so prefix them.
    return f"{direction}_{name}"


def _function_label(flow: Flow, node: Node, state: str | None) -> str:
    spec = flow.spec(node)
    wired_in = {e.target_port for e in flow.edges_into(node.id)}
    if spec is not None:
        inputs = [p for p in spec.inputs if p.wireable]
        outputs = [p.name for p in flow.outputs(node)]  # with those split by key
    else:  # a missing node type: draw the ports its wires name
        inputs = []
        outputs = sorted({e.source_port for e in flow.edges_out_of(node.id)})
    inputs_cells: list[tuple[str, str]] = []  # (port, cell)
    hidden = 0  # optional inputs left at their defaults: counted, not listed, to keep it small
    for port in inputs:
        name = html.escape(port.name)
        if port.name in wired_in:
            cell = name
        elif port.name in node.values:
            cell = f'{name} <FONT COLOR="{MUTED}">= {_text(node.values[port.name])}</FONT>'
        elif port.default is REQUIRED:
            cell = f'{name} <FONT COLOR="#c0392b">(needs a value)</FONT>'
        else:
            hidden += 1
            continue
        inputs_cells.append((port.name, cell))
    if spec is None:
        inputs_cells += [(p, html.escape(p)) for p in sorted(wired_in)]
    header_fill = STATE_COLOURS.get(state or "", HEADER) if spec is not None else MISSING_FILL
    title = f"<B>{html.escape(node.title)}</B>"
    if state:
        title += f'<BR/><FONT POINT-SIZE="9" COLOR="#333333">{html.escape(state)}</FONT>'
    elif spec is None:
        title += f'<BR/><FONT POINT-SIZE="9" COLOR="#c0392b">missing type {html.escape(node.spec_key)}</FONT>'
    lines = [f'<TR><TD COLSPAN="2" BGCOLOR="{header_fill}" CELLPADDING="5">{title}</TD></TR>']
    for index in range(max(len(inputs_cells), len(outputs), 0)):
        left = right = "<TD></TD>"
        if index < len(inputs_cells):
            name, cell = inputs_cells[index]
            left = f'<TD PORT="{_port_id("in", name)}" ALIGN="LEFT">{cell}</TD>'
        if index < len(outputs):
            name = outputs[index]
            right = f'<TD PORT="{_port_id("out", name)}" ALIGN="RIGHT"><I>{html.escape(name)}</I></TD>'
        lines.append(f"<TR>{left}{right}</TR>")
    if hidden:
        more = f"+{hidden} optional input{'s' if hidden > 1 else ''}"
        lines.append(
            f'<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="{MUTED}">{more}</FONT></TD></TR>'
        )
    return _table(lines, BORDER, "white")


def _parameter_label(node: Node) -> str:
    # Parameters keep their colour in a run's picture: their "state" says nothing.
    values = node.values
    head = f"<B>{html.escape(values.get('name', node.title))}</B>"
    kind = html.escape(str(values.get("type", "any")))
    detail = f"{kind} = {_text(values['default'])}" if "default" in values else f"{kind}, required"
    lines = [
        '<TR><TD CELLPADDING="3"><FONT POINT-SIZE="9" COLOR="#7a5a00">PARAMETER</FONT></TD></TR>',
        f'<TR><TD PORT="{_port_id("out", "value")}">{head}<BR/>'
        f'<FONT POINT-SIZE="10">{detail}</FONT></TD></TR>',
    ]
    return _table(lines, PARAMETER_BORDER, PARAMETER_FILL, rounded=True)


def _output_label(node: Node) -> str:
    lines = [
        f'<TR><TD CELLPADDING="3"><FONT POINT-SIZE="9" COLOR="{OUTPUT_BORDER}">FLOW OUTPUT</FONT></TD></TR>',
        f'<TR><TD PORT="{_port_id("in", "value")}"><B>'
        f"{html.escape(node.values.get('name', node.title))}</B></TD></TR>",
    ]
    return _table(lines, OUTPUT_BORDER, OUTPUT_FILL, rounded=True)


def _table(rows: list[str], border: str, fill: str, rounded: bool = False) -> str:
    style = ' STYLE="rounded"' if rounded else ""
    return (
        f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" '
        f'COLOR="{border}" BGCOLOR="{fill}"{style}>{"".join(rows)}</TABLE>>'
    )


def flow_graph(flow: Flow, states: dict[str, str] | None = None) -> Any:
    """The flow as a pygraphviz AGraph, laid out by `dot` from left to right."""
    import pygraphviz

    states = states or {}
    graph = pygraphviz.AGraph(directed=True, strict=False, name=flow.name)
    graph.graph_attr.update(
        rankdir="LR",
        nodesep="0.35",
        ranksep="0.7",
        fontname=FONT,
        bgcolor="white",
        pad="0.2",
        label=html.escape(flow.name),
        labelloc="t",
        fontsize="16",
    )
    graph.node_attr.update(shape="plain", fontname=FONT, fontsize="11")
    graph.edge_attr.update(color=BORDER, arrowsize="0.7", penwidth="1.2")
    # Nodes in canvas order (left to right, then top to bottom) so that dot,
    # which keeps input order among equals, draws them as the designer did.
    for node in sorted(flow.nodes.values(), key=lambda n: (n.position[0], n.position[1], n.id)):
        state = states.get(node.id)
        if node.is_parameter:
            label = _parameter_label(node)
        elif node.is_output:
            label = _output_label(node)
        else:
            label = _function_label(flow, node, state)
        graph.add_node(node.id, label=label, tooltip=html.escape(node.spec_key))
    for edge in flow.edges:
        graph.add_edge(
            edge.source,
            edge.target,
            key=f"{edge.source_port}->{edge.target_port}",
            tailport=f"{_port_id('out', edge.source_port)}:e",
            headport=f"{_port_id('in', edge.target_port)}:w",
        )
    return graph


def draw_flow(flow: Flow, format: str = "svg", states: dict[str, str] | None = None) -> bytes:
    """The flow drawn as SVG, PNG or Graphviz dot text; `states` colours nodes by run state."""
    if format not in FORMATS:
        raise DrawingError(
            f"cannot draw flow '{flow.name}' as {format!r}; choose one of {', '.join(FORMATS)}"
        )
    graph = flow_graph(flow, states)
    if format == "dot":
        return graph.string().encode()
    return graph.draw(format=format, prog="dot", args="-Gdpi=144" if format == "png" else "")


def last_run_states(workspace: Any, flow_id_or_name: str) -> dict[str, str]:
    """Node id -> state in the newest run of a flow, or {} when it never ran."""
    return workspace.history.last_states(workspace.flow_info(flow_id_or_name).id)
