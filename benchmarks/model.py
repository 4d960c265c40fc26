"""Saving and loading a large flow: 1,000 nodes and 1,500 wires.

    python benchmarks/model.py [--repeat 5]

Prints medians of building the flow edit by edit (every connect checked for
cycles), saving it as a version, loading it back in bulk, and validating it;
then how building scales (1,000 and 10,000 nodes, and their ratio: linear is
10, the target at most 12) and validating a fan-in of 5,000 wires into one
node (target under 0.1 s).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

from plait.runtime.flow.model import Flow
from plait.runtime.nodes.spec import NodeSpec, Port
from plait.runtime.workspace.store import Workspace

NODES = 1000


class _Catalog(dict):
    def get(self, key, default=None):  # type: ignore[override]
        return super().get(key, default)


def catalog() -> _Catalog:
    spec = NodeSpec(
        "bench:add", "Add", inputs=(Port("a", default=0), Port("b", default=0)), outputs=(Port("result"),)
    )
    return _Catalog({spec.key: spec})


def build(cat: _Catalog, size: int = NODES) -> Flow:
    flow = Flow("large", catalog=cat)
    nodes = [flow.create_node(cat["bench:add"], (i * 10.0, i * 5.0)) for i in range(size)]
    for i in range(1, size):
        flow.connect(nodes[(i - 1) // 2].id, "result", nodes[i].id, "a")
    for i in range(size // 2 - 1, size):  # half as many more: 1,500 wires for 1,000 nodes
        flow.connect(nodes[i - (size // 2 - 1)].id, "result", nodes[i].id, "b")
    return flow


FAN_IN = 5000


def fan_in(repeat: int) -> float:
    """Median time to validate 5,000 sources wired into one node's 5,000 inputs."""
    wide = NodeSpec(
        "bench:gather",
        "Gather",
        inputs=tuple(Port(f"x{i}", default=0) for i in range(FAN_IN)),
        outputs=(Port("result"),),
    )
    cat = catalog()
    cat[wide.key] = wide
    flow = Flow("fan-in", catalog=cat)
    sink = flow.create_node(wide)
    for i in range(FAN_IN):
        source = flow.create_node(cat["bench:add"])
        flow.connect(source.id, "result", sink.id, f"x{i}")
    return statistics.median(timed(flow.validate)[0] for _ in range(repeat))


def timed(fn):  # type: ignore[no-untyped-def]
    gc.collect()  # each run starts from the same heap, not from the last one's garbage
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cat = catalog()
    builds, saves, loads, checks = [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder, Workspace(Path(folder)) as ws:
            took, flow = timed(lambda: build(cat))
            builds.append(took)
            saves.append(timed(lambda: ws.save_flow(flow))[0])
            took, loaded = timed(lambda: ws.load_flow("large", catalog=cat))
            loads.append(took)
            checks.append(timed(loaded.validate)[0])
            assert loaded.content() == flow.content() and loaded.validate() == []
    edges = len(flow.edges)
    print(f"Flow of {NODES} nodes and {edges} wires, medians of {args.repeat} runs:")
    print(f"  build with checked edits  {statistics.median(builds) * 1000:8.1f} ms")
    print(f"  save as a new version     {statistics.median(saves) * 1000:8.1f} ms")
    print(f"  load from the workspace   {statistics.median(loads) * 1000:8.1f} ms")
    print(f"  validate                  {statistics.median(checks) * 1000:8.1f} ms")
    # The small build is short enough for a busy machine to blur: it gets more runs.
    small = statistics.median(timed(lambda: build(cat, 1000))[0] for _ in range(args.repeat * 3))
    large = statistics.median(timed(lambda: build(cat, 10_000))[0] for _ in range(args.repeat))
    print(
        f"(g) build with checked edits: 1,000 nodes {small * 1000:.1f} ms, 10,000 nodes "
        f"{large * 1000:.1f} ms, ratio {large / small:.1f} (linear: 10)"
    )
    print(f"  validate a fan-in of {FAN_IN:,} wires into one node  {fan_in(args.repeat) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
