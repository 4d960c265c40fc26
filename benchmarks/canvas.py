"""Canvas benchmark: flows of 1,000 and 5,000 nodes opened and drawn, beside plain Qt items.

For each size it builds a flow (1.5 wires per node), saves it to a scratch
workspace, then in a fresh process measures Plait's canvas: open (load from
the workspace + build the scene), the first frame, full-view and zoomed
frame medians (offscreen), frames right after a zoom step, and auto-layout.
In the same process it builds plain Qt items for the same graph — a
QGraphicsRectItem per node and a QGraphicsPathItem per wire, along the same
routes — and draws them in the same view size and zoom, so each figure stands
beside what Qt itself does with the simplest items. Prints figures; asserts
nothing.

    .venv/bin/python benchmarks/canvas.py [SIZE ...] [--repeat 3] [--frames 15] [--no-layout]

SIZE defaults to 1000 and 5000. With --repeat N each figure is the median of N
fresh processes; each ratio is the median of the ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
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
ZOOM_STEPS = 6  # wheel steps, alternately in and out


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


def build(folder: Path, n_nodes: int, n_edges: int) -> str:
    from plait.runtime.workspace.store import Workspace

    flow = make_flow(n_nodes, n_edges)
    with Workspace(folder) as ws:
        ws.save_flow(flow)
    return f"{len(flow.nodes):,} nodes, {len(flow.edges):,} wires"


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


def plain_scene(flow, geometry):
    """The same graph as plain Qt items: a rect per node, an S-curve path per wire."""
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QBrush, QColor, QPen
    from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem, QGraphicsScene

    from plait.widgets.canvas.edge_item import wire_path

    scene = QGraphicsScene()
    body, border, wire = QBrush(QColor("#ffffff")), QPen(QColor("#b9bec7"), 1.0), QPen(QColor("#7d8590"), 2.0)
    paths = {}
    left = top = float("inf")
    right = bottom = float("-inf")
    for x, y, w, h in geometry["rects"].values():
        item = QGraphicsRectItem(0, 0, w, h)
        item.setPos(x, y)
        item.setBrush(body)
        item.setPen(border)
        item.setZValue(1.0)
        scene.addItem(item)
        left, top, right, bottom = min(left, x), min(top, y), max(right, x + w), max(bottom, y + h)
    for edge, (start, end) in geometry["ends"].items():
        item = QGraphicsPathItem(wire_path(QPointF(*start), QPointF(*end)))
        item.setPen(wire)
        scene.addItem(item)
        paths[edge] = item
    scene.setSceneRect(QRectF(left - 400, top - 400, right - left + 800, bottom - top + 800))
    return scene, paths


def measure(folder: Path, frames: int, layout: bool) -> dict:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication, QGraphicsView

    from plait.app.auto_layout import LAYERED_FROM
    from plait.app.document import FlowDocument
    from plait.app.layout import layout_graph
    from plait.runtime.flow.layered import layered_layout
    from plait.runtime.workspace.store import Workspace
    from plait.widgets.canvas.ports import INPUT, OUTPUT
    from plait.widgets.canvas.scene import FlowScene
    from plait.widgets.canvas.view import FlowView

    out: dict = {}
    app = QApplication([])
    view = FlowView()
    view.resize(1600, 1000)
    view.show()
    app.processEvents()
    image = QImage(view.viewport().size(), QImage.Format_ARGB32_Premultiplied)

    def frame_ms(shown: QGraphicsView) -> float:
        painter = QPainter(image)
        start = time.perf_counter()
        shown.render(painter, QRectF(image.rect()), shown.viewport().rect())
        painter.end()
        return (time.perf_counter() - start) * 1000

    t0 = time.perf_counter()
    ws = Workspace(folder)
    flow = ws.load_flow(FLOW, catalog=catalog())
    out["load"] = (time.perf_counter() - t0) * 1000
    document = FlowDocument(flow, flow.catalog)
    scene = FlowScene(document)
    view.set_flow_scene(scene)
    out["open"] = (time.perf_counter() - t0) * 1000
    view.fit_view()
    out["first_frame"] = frame_ms(view)  # builds the item index, as the first frame on screen does
    out["items_per_node"] = len(scene.items()) / len(flow.nodes)

    # A big flow's wires are checked and routed around nodes after the open, in batches the
    # event loop interleaves; here all at once, so the frames below draw what a person sees.
    t0 = time.perf_counter()
    scene.route_pending()
    out["route"] = (time.perf_counter() - t0) * 1000

    # The same graph as plain Qt items, in a view of the same size and render hints.
    geometry = {
        "rects": {n: (i.x(), i.y(), i.layout.width, i.layout.height) for n, i in scene.nodes.items()},
        "ends": {},
    }
    for edge in flow.edges:
        start = scene.nodes[edge.source].port_scene_pos(OUTPUT, edge.source_port)
        end = scene.nodes[edge.target].port_scene_pos(INPUT, edge.target_port)
        geometry["ends"][edge] = ((start.x(), start.y()), (end.x(), end.y()))
    plain = QGraphicsView()
    plain.setRenderHints(view.renderHints())
    plain.setOptimizationFlags(view.optimizationFlags())
    plain.setHorizontalScrollBarPolicy(view.horizontalScrollBarPolicy())
    plain.setVerticalScrollBarPolicy(view.verticalScrollBarPolicy())
    plain.resize(view.size())
    plain.show()
    app.processEvents()
    t0 = time.perf_counter()
    plain_items, paths = plain_scene(flow, geometry)
    plain.setScene(plain_items)
    out["plain_open"] = (time.perf_counter() - t0) * 1000 + out["load"]
    plain.setTransform(view.transform())
    plain.centerOn(view.mapToScene(view.viewport().rect().center()))
    out["plain_first_frame"] = frame_ms(plain)
    for edge, item in paths.items():  # the routes Plait drew, so both draw the same lines
        item.setPath(scene.edges[edge].path())

    def frames_of(shown: QGraphicsView) -> float:
        frame_ms(shown)  # fills the item caches, as the first frame on screen would
        return statistics.median(frame_ms(shown) for _ in range(frames))

    def steps_of(shown: QGraphicsView, zoom_by) -> float:
        steps = []
        for i in range(ZOOM_STEPS):
            zoom_by(shown, 1.1 if i % 2 == 0 else 1 / 1.1)
            steps.append(frame_ms(shown))
        return statistics.median(steps)

    def plait_zoom(shown, factor):
        shown.zoom_by(factor)

    def plain_zoom(shown, factor):
        shown.scale(factor, factor)

    def show_same(transform, centre) -> None:
        for shown in (view, plain):
            shown.setTransform(transform)
            shown.centerOn(centre)
        view.zoom_by(1.0)  # the level of detail follows the zoom set from outside

    view.fit_view()
    fitted = view.transform(), view.mapToScene(view.viewport().rect().center())
    out["fit_zoom"] = view.zoom
    show_same(*fitted)
    out["full"], out["plain_full"] = frames_of(view), frames_of(plain)
    out["full_step"], out["plain_full_step"] = steps_of(view, plait_zoom), steps_of(plain, plain_zoom)
    view.resetTransform()
    show_same(view.transform(), scene.nodes["n420"].sceneBoundingRect().center())
    out["zoomed"], out["plain_zoomed"] = frames_of(view), frames_of(plain)
    out["zoomed_step"], out["plain_zoomed_step"] = steps_of(view, plait_zoom), steps_of(plain, plain_zoom)

    if layout:
        # As the window does it: dot, or from LAYERED_FROM nodes on the layered layout.
        sizes = {nid: (item.layout.width, item.layout.height) for nid, item in scene.nodes.items()}
        edges = list(flow.edges)
        out["layered"] = layered = len(flow.nodes) >= LAYERED_FROM
        lay_out = layered_layout if layered else layout_graph
        t0 = time.perf_counter()
        positions, routes = lay_out(sorted(flow.nodes), [(e.source, e.target) for e in edges], sizes)
        out["layout"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        with scene.moving_many():
            document.move_nodes(positions, text="Auto-layout")
            scene.set_layout_routes({edges[i]: points for i, points in routes.items()})
        out["layout_apply"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        scene.route_pending()
        out["layout_route"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        document.undo_stack.undo()
        out["layout_undo"] = (time.perf_counter() - t0) * 1000
    out["rss"] = _rss_mb()
    out["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def report(size: int, described: str, runs: list[dict]) -> None:
    def med(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    def ratio(key: str) -> str:
        return f"{statistics.median(run[key] / run['plain_' + key] for run in runs):.2f}×"

    of = f"medians of {len(runs)} runs" if len(runs) > 1 else "one run"
    print(f"\n{size:,} nodes: {described}, {med('items_per_node'):.2f} graphics items per node ({of})")
    print(f"  {'':44s} {'Plait':>9s} {'plain Qt':>9s} {'ratio':>7s}")
    rows = (
        ("open (load + build the scene)", "open", "ms"),
        ("first frame (full view; builds the index)", "first_frame", "ms"),
        (f"full-view frame (zoom {med('fit_zoom'):.2f})", "full", "ms"),
        ("full-view frame right after a zoom step", "full_step", "ms"),
        ("zoomed frame (1:1)", "zoomed", "ms"),
        ("zoomed frame right after a zoom step", "zoomed_step", "ms"),
    )
    for label, key, unit in rows:
        print(f"  {label:44s} {med(key):7.1f}{unit} {med('plain_' + key):7.1f}{unit} {ratio(key):>7s}")
    print(
        f"  load from the workspace {med('load'):.0f} ms (in both opens); after the open, check every "
        f"wire's port types and route it around nodes: {med('route'):.0f} ms, in batches between frames"
    )
    if "layout" in runs[0]:
        kind = "layered" if runs[0]["layered"] else "dot"
        print(
            f"  auto-layout: {kind} {med('layout'):.0f} ms (in a process of "
            f"its own in the window) + apply with its routes as one undo step {med('layout_apply'):.0f} ms, "
            f"route the moved wires {med('layout_route'):.0f} ms, undo {med('layout_undo'):.0f} ms"
        )
    print(f"  memory: {med('rss'):.0f} MB resident after, {med('peak'):.0f} MB peak (both scenes)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 5000], metavar="SIZE", help="nodes")
    parser.add_argument("--wires", type=float, default=1.5, help="wires per node")
    parser.add_argument("--frames", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per size")
    parser.add_argument("--no-layout", action="store_true", help="leave out the auto-layout")
    parser.add_argument("--measure", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print("RESULT " + json.dumps(measure(Path(args.measure), args.frames, not args.no_layout)))
        return 0
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            described = build(Path(tmp), size, int(size * args.wires))
            runs = []
            for _ in range(args.repeat):
                # A fresh process each time, so the open is measured cold, as a user would see it.
                command = [sys.executable, __file__, "--measure", tmp, "--frames", str(args.frames)]
                done = subprocess.run(
                    command + (["--no-layout"] if args.no_layout else []), capture_output=True, text=True
                )
                found = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
                if done.returncode or not found:
                    sys.stderr.write(done.stdout + done.stderr)
                    return done.returncode or 1
                runs.append(json.loads(found[0][len("RESULT ") :]))
            report(size, described, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
