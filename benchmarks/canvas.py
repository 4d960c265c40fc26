"""Canvas benchmark: a 1,000-node, 1,500-wire flow opened, drawn and laid out.

Builds the flow, saves it to a scratch workspace, then in a fresh process
measures: open (load from the workspace + build the scene), full-view and
zoomed frame render medians (offscreen), auto-layout, and process memory.
Prints figures; asserts nothing.

    .venv/bin/python benchmarks/canvas.py [--nodes 1000] [--edges 1500]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

FLOW = "benchmark"


def node_types():
    """A handful of node types with 1-4 inputs and 1-2 outputs, built by hand."""
    from plait.runtime.nodes.spec import NodeSpec, Port

    specs = []
    for n_in in range(1, 5):
        for n_out in (1, 2):
            specs.append(
                NodeSpec(
                    key=f"bench:step_{n_in}_{n_out}",
                    title=f"Step {n_in}→{n_out}",
                    module="bench",
                    inputs=tuple(Port(f"in_{i}", float, 1.0) for i in range(n_in)),
                    outputs=tuple(Port(f"out_{i}", float) for i in range(n_out)),
                )
            )
    return specs


class Catalog(dict):
    def specs(self):
        return list(self.values())


def catalog():
    return Catalog({s.key: s for s in node_types()})


def build(folder: Path, n_nodes: int, n_edges: int) -> None:
    from plait.runtime.workspace.store import Workspace

    flow = make_flow(n_nodes, n_edges)
    with Workspace(folder) as ws:
        ws.save_flow(flow)
    print(f"flow: {len(flow.nodes)} nodes, {len(flow.edges)} wires")


def make_flow(n_nodes: int, n_edges: int, **flow_options):
    """Nodes in a grid, each input wired (until there are `n_edges`) from one of the 80 before it."""
    from plait.runtime.flow.model import Edge, Flow, Node

    rng = random.Random(4)
    specs = node_types()
    nodes, free_inputs = [], []
    for i in range(n_nodes):
        spec = rng.choice(specs)
        node = Node(f"n{i}", spec.key, f"{spec.title} #{i}", ((i % 40) * 240.0, (i // 40) * 160.0))
        nodes.append((node, spec))
        free_inputs += [(i, p.name) for p in spec.inputs]
    rng.shuffle(free_inputs)
    edges: set[Edge] = set()
    for target, port in free_inputs:
        if len(edges) >= n_edges:
            break
        if target == 0:
            continue
        source = rng.randrange(max(0, target - 80), target)  # only backwards: no cycles
        src_node, src_spec = nodes[source]
        edges.add(Edge(src_node.id, rng.choice(src_spec.outputs).name, f"n{target}", port))
    return Flow.from_parts(FLOW, [n for n, _ in nodes], sorted(edges), **flow_options)


def measure(folder: Path, frames: int) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication

    from plait.app.auto_layout import LAYERED_FROM
    from plait.app.document import FlowDocument
    from plait.app.layout import layout_graph
    from plait.runtime.flow.layered import layered_layout
    from plait.runtime.workspace.store import Workspace
    from plait.widgets.canvas.scene import FlowScene
    from plait.widgets.canvas.view import FlowView

    app = QApplication([])
    view = FlowView()
    view.resize(1600, 1000)
    view.show()
    app.processEvents()

    t0 = time.perf_counter()
    ws = Workspace(folder)
    flow = ws.load_flow(FLOW, catalog=catalog())
    t_load = time.perf_counter() - t0
    document = FlowDocument(flow, flow.catalog)
    scene = FlowScene(document)
    view.set_flow_scene(scene)
    t_open = time.perf_counter() - t0
    print(
        f"open (load {t_load * 1000:.0f} ms + build scene): {t_open * 1000:.0f} ms "
        f"[{len(scene.items())} graphics items, "
        f"{len(scene.items()) / len(flow.nodes):.2f} per node incl. wires]"
    )

    # Wires are routed around nodes after the open, in batches the event loop interleaves;
    # here all at once, so the frames below draw the routes a person sees.
    if hasattr(scene, "route_pending"):
        t0 = time.perf_counter()
        scene.route_pending()
        detoured = sum(1 for e in scene.edges.values() if len(e.points) > 4)
        print(
            f"route every wire around nodes (after the open): "
            f"{(time.perf_counter() - t0) * 1000:.0f} ms, {detoured} of {len(scene.edges)} "
            "wires detour"
        )

    image = QImage(view.viewport().size(), QImage.Format_ARGB32_Premultiplied)

    def frame_ms() -> float:
        painter = QPainter(image)
        start = time.perf_counter()
        view.render(painter, QRectF(image.rect()), view.viewport().rect())
        painter.end()
        return (time.perf_counter() - start) * 1000

    view.fit_view()
    fitted = view.zoom
    frame_ms()  # fills the item caches, as the first frame on screen would
    full = [frame_ms() for _ in range(frames)]
    view.resetTransform()
    view.centerOn(scene.nodes["n420"])
    frame_ms()
    zoomed = [frame_ms() for _ in range(frames)]
    print(f"full-view frame: median {statistics.median(full):.1f} ms (whole flow fitted, zoom {fitted:.2f})")
    print(f"zoomed frame (1:1): median {statistics.median(zoomed):.1f} ms")

    # An uncached frame after a zoom step, as while wheeling.
    view.fit_view()
    steps = []
    for i in range(6):
        view.zoom_by(1.1 if i % 2 == 0 else 1 / 1.1)
        steps.append(frame_ms())
    print(f"full-view frame right after a zoom step (caches cold): median {statistics.median(steps):.1f} ms")

    # As the window does it: dot, or from LAYERED_FROM nodes on the layered layout.
    sizes = {nid: (item.layout.width, item.layout.height) for nid, item in scene.nodes.items()}
    edges = list(flow.edges)
    layered = len(flow.nodes) >= LAYERED_FROM
    lay_out = layered_layout if layered else layout_graph
    t0 = time.perf_counter()
    positions, routes = lay_out(sorted(flow.nodes), [(e.source, e.target) for e in edges], sizes)
    t_layout = time.perf_counter() - t0
    t0 = time.perf_counter()
    with scene.moving_many():
        document.move_nodes(positions, text="Auto-layout")
        scene.set_layout_routes({edges[i]: points for i, points in routes.items()})
    t_apply = time.perf_counter() - t0
    print(
        f"auto-layout: {'layered' if layered else 'dot'} {t_layout * 1000:.0f} ms (in a process of its "
        f"own in the window) + apply with its wire routes as one undo step {t_apply * 1000:.0f} ms"
    )
    if hasattr(scene, "route_pending"):
        t0 = time.perf_counter()
        scene.route_pending()
        print(f"route the moved wires after the auto-layout: {(time.perf_counter() - t0) * 1000:.0f} ms")
    t0 = time.perf_counter()
    document.undo_stack.undo()
    print(f"undo auto-layout: {(time.perf_counter() - t0) * 1000:.0f} ms")
    rss = _rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: {rss:.0f} MB resident now, {peak:.0f} MB peak")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=1500)
    parser.add_argument("--frames", type=int, default=15)
    parser.add_argument("--measure", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(Path(args.measure), args.frames)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp), args.nodes, args.edges)
        # A fresh process, so the open is measured cold, as a user would see it.
        return subprocess.call([sys.executable, __file__, "--measure", tmp, "--frames", str(args.frames)])


if __name__ == "__main__":
    sys.exit(main())
