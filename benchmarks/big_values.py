"""A big array between nodes: one producer, three consumers, against the same calls in one process.

    python benchmarks/big_values.py [--mb 1024] [--repeat 3]

Plait runs `make -> (total, first, last)` with `plait run --no-cache` on worker
processes: the producer's array is written to the cache once, and each consumer
maps it (copy-on-write) instead of reading its own copy. The baseline calls the
same four functions in one plain Python process. Prints the medians of wall
time and of the peak memory of the whole process tree (sampled every 20 ms),
and their ratios (targets: at most 2x the time and 1.5x the memory).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

NODES = textwrap.dedent("""
    import numpy


    def make(mb: int = 1024) -> numpy.ndarray:
        return numpy.ones(mb * 1024 * 1024 // 8)


    def total(a: numpy.ndarray) -> float:
        return float(a.sum())


    def first(a: numpy.ndarray) -> float:
        return float(a[0])


    def last(a: numpy.ndarray) -> float:
        return float(a[-1] + a.mean())
""")

BASELINE = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import nodes
    a = nodes.make(int(sys.argv[2]))
    print(nodes.total(a), nodes.first(a), nodes.last(a))
""")


def measure(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident bytes of the process and all its children."""
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    took = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    return took, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from plait.runtime.flow.model import Flow
    from plait.runtime.workspace.store import Workspace

    folder = Path(tempfile.mkdtemp(prefix="plait-big-")) / "ws"
    Workspace(folder).close()
    (folder / "nodes.py").write_text(NODES)
    (folder.parent / "baseline.py").write_text(BASELINE)
    with Workspace(folder) as ws:
        flow = Flow("big", catalog=ws.catalog())
        make = flow.create_node(flow.catalog.get("nodes.py:make"), (0, 0))
        flow.set_value(make.id, "mb", args.mb)
        for name in ("total", "first", "last"):
            node = flow.create_node(flow.catalog.get(f"nodes.py:{name}"), (300, 0))
            flow.connect(make.id, "result", node.id, "a")
        ws.save_flow(flow)
    plait = [sys.executable, "-m", "plait.app.cli", "run", "big", "-w", str(folder), "--no-cache"]
    plain = [sys.executable, str(folder.parent / "baseline.py"), str(folder), str(args.mb)]
    rows = []
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        rows.append((measure(plait, folder), measure(plain, folder)))
    plait_time = statistics.median(r[0][0] for r in rows)
    plait_peak = statistics.median(r[0][1] for r in rows)
    plain_time = statistics.median(r[1][0] for r in rows)
    plain_peak = statistics.median(r[1][1] for r in rows)
    ratios_time = statistics.median(r[0][0] / r[1][0] for r in rows)
    ratios_peak = statistics.median(r[0][1] / r[1][1] for r in rows)
    print(f"A {args.mb} MB array to 3 consumers, medians of {args.repeat} runs each:")
    print(f"  plait run (worker processes): {plait_time:6.2f} s, peak {plait_peak / 2**20:7.0f} MiB")
    print(f"  one plain Python process:     {plain_time:6.2f} s, peak {plain_peak / 2**20:7.0f} MiB")
    print(f"  ratio (median of per-run ratios): time {ratios_time:.1f}x, memory {ratios_peak:.1f}x")
    os._exit(0)


if __name__ == "__main__":
    main()
