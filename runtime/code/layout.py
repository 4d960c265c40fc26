"""Placing a traced flow's nodes: left to right by their wires, with Graphviz `dot`.

Each node goes to dot as a table the size the canvas draws it (a title row, a
row per port, parameters one more), with a cell per port, so dot orders the
wires by the ports they join and crosses as few as it can. A flow saved before
keeps the positions its nodes had there, so nodes moved in the window stay put
when the script runs again.
"""

from __future__ import annotations

from plait.runtime.flow.model import Flow

NODE_WIDTH, PARAMETER_WIDTH = 184.0, 150.0
TITLE_HEIGHT, ROW_HEIGHT = 26.0, 20.0


def _label(flow: Flow, node_id: str) -> tuple[str, float, float]:
    """An HTML table standing for the node, and its width and height."""
    node = flow.nodes[node_id]
    inputs = {p.name: i for i, p in enumerate(flow.inputs(node))}
    outputs = {p.name: i for i, p in enumerate(flow.outputs(node))}
    extra = 1 if node.is_parameter else 0
    rows = max(len(inputs), len(outputs), 1) + extra
    width = PARAMETER_WIDTH if node.is_parameter else NODE_WIDTH
    half = width / 2
    cells = [
        f'<TR><TD COLSPAN="2" FIXEDSIZE="TRUE" WIDTH="{width:g}" HEIGHT="{TITLE_HEIGHT + 6:g}"></TD></TR>'
    ]
    for row in range(rows):
        slot = row - extra
        left = f' PORT="i{slot}"' if 0 <= slot < len(inputs) else ""
        right = f' PORT="o{slot}"' if 0 <= slot < len(outputs) else ""
        cells.append(
            f'<TR><TD{left} FIXEDSIZE="TRUE" WIDTH="{half:g}" HEIGHT="{ROW_HEIGHT:g}"></TD>'
            f'<TD{right} FIXEDSIZE="TRUE" WIDTH="{half:g}" HEIGHT="{ROW_HEIGHT:g}"></TD></TR>'
        )
    table = f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{"".join(cells)}</TABLE>>'
    return table, width, TITLE_HEIGHT + 6 + rows * ROW_HEIGHT


def lay_out(flow: Flow, keep: Flow | None = None) -> None:
    """Give every node a position; nodes `keep` has (same id and type) keep theirs."""
    import pygraphviz

    graph = pygraphviz.AGraph(directed=True, strict=False)
    graph.graph_attr.update(rankdir="LR", nodesep="0.3", ranksep="0.55")
    graph.node_attr.update(shape="plain")
    sizes = {}
    for node_id in sorted(flow.nodes):
        label, width, height = _label(flow, node_id)
        sizes[node_id] = (width, height)
        graph.add_node(node_id, label=label)
    index = {
        node_id: (
            {p.name: i for i, p in enumerate(flow.inputs(node_id))},
            {p.name: i for i, p in enumerate(flow.outputs(node_id))},
        )
        for node_id in flow.nodes
    }
    for edge in flow.edges:
        tail = index[edge.source][1].get(edge.source_port)
        head = index[edge.target][0].get(edge.target_port)
        graph.add_edge(
            edge.source,
            edge.target,
            tailport=f"o{tail}:e" if tail is not None else "",
            headport=f"i{head}:w" if head is not None else "",
        )
    graph.layout(prog="dot")
    for node_id, node in flow.nodes.items():
        old = keep.nodes.get(node_id) if keep is not None else None
        if old is not None and old.spec_key == node.spec_key:
            node.position = old.position
            continue
        x, y = (float(v) for v in graph.get_node(node_id).attr["pos"].split(","))
        width, height = sizes[node_id]
        # Graphviz gives centres with y upwards; the canvas wants top-left corners, y downwards.
        node.position = (round(x - width / 2, 1), round(-y - height / 2, 1))
