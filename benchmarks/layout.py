"""Auto-layout benchmark: Graphviz dot against the layered layout, at 1,000 / 5,000 / 10,000 nodes.

The flows are the canvas benchmark's (each node's inputs wired from the 80
nodes before it, 1.5 wires a node), with the sizes the canvas draws them.
Prints the median seconds of several runs of each layout, as the window's
layout process runs it (plain data in, positions and wire routes out); asserts
nothing. Dot takes half a minute to a minute at 5,000 nodes, so by default it
runs at 1,000 only; `--slow-dot` adds one run at 5,000, of dot as the window runs it
and of dot in a cheaper configuration (straight wires, shorter searches).

    .venv/bin/python benchmarks/layout.py [--runs 5] [--sizes 1000 5000 10000] [--slow-dot]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from canvas import catalog, make_flow  # noqa: E402

DOT_UP_TO = 1000  # nodes: past this dot runs only with --slow-dot
CHEAP_DOT = {"splines": "false", "mclimit": "0.1", "nslimit": "1", "nslimit1": "1", "searchsize": "10"}


def graph(n_nodes: int):
    from plait.widgets.canvas.ports import node_size

    flow = make_flow(n_nodes, n_nodes * 3 // 2, catalog=catalog())
    sizes = {node_id: node_size(flow, node) for node_id, node in flow.nodes.items()}
    return sorted(flow.nodes), [(e.source, e.target) for e in flow.edges], sizes


def cheap_dot(node_ids, edges, sizes):
    """dot as the window runs it, but with straight wires and its searches cut short."""
    import pygraphviz

    graph = pygraphviz.AGraph(directed=True, strict=False)
    graph.graph_attr.update(rankdir="LR", nodesep="0.35", ranksep="0.9", **CHEAP_DOT)
    graph.node_attr.update(shape="box", fixedsize="true")
    for node_id in node_ids:
        w, h = sizes[node_id]
        graph.add_node(node_id, width=w / 72, height=h / 72)
    for index, (source, target) in enumerate(edges):
        graph.add_edge(source, target, key=str(index))
    graph.layout(prog="dot")


def seconds(lay_out, args, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        lay_out(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> int:
    from plait.app.auto_layout import LAYERED_FROM
    from plait.app.layout import layout_graph
    from plait.runtime.flow.layered import layered_layout

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--slow-dot", action="store_true", help="also run dot once at 5,000 nodes")
    args = parser.parse_args()
    print(f"the window uses dot below {LAYERED_FROM:,} nodes and the layered layout from there on")
    for n in args.sizes:
        data = graph(n)
        print(f"{n:,} nodes, {len(data[1]):,} wires:")
        median, times = seconds(layered_layout, data, args.runs)
        print(f"  layered layout: {median:.2f} s median of {len(times)} ({min(times):.2f}-{max(times):.2f})")
        if n <= DOT_UP_TO:
            median, times = seconds(layout_graph, data, max(1, args.runs // 2 + 1))
            print(
                f"  dot:            {median:.2f} s median of {len(times)} ({min(times):.2f}-{max(times):.2f})"
            )
            median, times = seconds(cheap_dot, data, max(1, args.runs // 2 + 1))
            print(f"  dot, cheaper:   {median:.2f} s median of {len(times)}")
        elif args.slow_dot and n <= 5 * DOT_UP_TO:
            print(f"  dot:            {seconds(layout_graph, data, 1)[0]:.1f} s (one run)")
            print(f"  dot, cheaper:   {seconds(cheap_dot, data, 1)[0]:.1f} s (one run)")
        else:
            print("  dot:            not run (half a minute or more at 5,000 nodes, and it grows faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
