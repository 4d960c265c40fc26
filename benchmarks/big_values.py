"""A big array between nodes: one producer, three consumers, against the same calls in one process.

    python benchmarks/big_values.py [--mb 1024] [--repeat 3]

The flow is `make -> (total, first, last)`, every node computed (no cache).
Two comparisons, each measured interleaved, run by run:

- a whole `plait run` process (interpreter, workspace, worker processes started
  cold) against a plain Python process calling the same four functions;
- a run on an engine whose two worker processes are already up, as in the
  window, against the four calls in a Python process that has numpy imported.

Plait's producer hashes the array where it lies, writes its file in the
background and keeps it in memory: its consumers run on the same worker and
get it from there. Prints medians of wall time and of the peak resident memory
of the whole process tree (sampled every 20 ms), with the ratios of each run
(targets: at most 2x the time and 1.5x the memory).

`--pause S` rests S seconds before each measurement. On a virtual machine whose
host takes back freed memory, memory touched a few seconds after it was freed
costs several times what it costs just after: with no rest, a command that
follows one that freed a gigabyte gets it cheaply; with a rest, every command
pays full price, Plait twice (the array, and the page cache its file goes to).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
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

# Prints how long the four calls took, after the imports.
BASELINE = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    import numpy
    import nodes
    if len(sys.argv) > 3:
        sys.stdin.readline()  # warm: wait until the measuring starts
    start = time.perf_counter()
    a = nodes.make(int(sys.argv[2]))
    print(nodes.total(a), nodes.first(a), nodes.last(a), file=sys.stderr)
    print(time.perf_counter() - start, flush=True)
""")


class Peak:
    """The peak resident memory of a process and its children, sampled on a thread."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


PAUSE = 0.0


def measure_process(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident bytes of a command and all its children."""
    time.sleep(PAUSE)
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with Peak(process) as peak:
        _, err = process.communicate()
    took = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {err.decode()[-2000:]}")
    return took, peak.peak


def measure_warm_calls(command: list[str], cwd: Path) -> tuple[float, float]:
    """The four calls in a process that has already started and imported numpy."""
    process = psutil.Popen(
        [*command, "warm"],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(max(1.0, PAUSE))  # its imports are done
    with Peak(process) as peak:
        out, _ = process.communicate("go\n")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return float(out.split()[-1]), peak.peak


async def measure_engine(engine, flow, options) -> tuple[float, float]:
    await asyncio.sleep(PAUSE)
    with Peak(psutil.Process()) as peak:
        start = time.perf_counter()
        result = await engine.run(flow, None, options)
        took = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"the run failed: {result.state} {result.error}")
    return took, peak.peak


def build(folder: Path, mb: int) -> None:
    from plait.runtime.flow.model import Flow
    from plait.runtime.workspace.store import Workspace

    Workspace(folder).close()
    (folder / "nodes.py").write_text(NODES)
    (folder.parent / "baseline.py").write_text(BASELINE)
    with Workspace(folder) as ws:
        flow = Flow("big", catalog=ws.catalog())
        make = flow.create_node(flow.catalog.get("nodes.py:make"), (0, 0))
        flow.set_value(make.id, "mb", mb)
        for name in ("total", "first", "last"):
            node = flow.create_node(flow.catalog.get(f"nodes.py:{name}"), (300, 0))
            flow.connect(make.id, "result", node.id, "a")
        ws.save_flow(flow)


def report(title: str, plait: str, plain: str, rows: list) -> None:
    """Medians of (seconds, peak bytes) for Plait and the plain process, and of their ratios."""
    mid = statistics.median
    print(title)
    for label, side in ((plait, 0), (plain, 1)):
        took, peak = mid(r[side][0] for r in rows), mid(r[side][1] for r in rows)
        print(f"  {label:<34} {took:6.2f} s, peak {peak / 2**20:7.0f} MiB")
    time_ratio = mid(r[0][0] / r[1][0] for r in rows)
    memory_ratio = mid(r[0][1] / r[1][1] for r in rows)
    print(f"  {'ratio (median of per-run ratios)':<34} time {time_ratio:.1f}x, memory {memory_ratio:.2f}x")


async def warm_rows(folder: Path, mb: int, repeat: int) -> list:
    from plait.runtime.engine.executors import LocalExecutor
    from plait.runtime.engine.scheduler import Engine, RunOptions
    from plait.runtime.workspace.store import Workspace

    plain = [sys.executable, str(folder.parent / "baseline.py"), str(folder), str(mb)]
    with Workspace(folder) as ws:
        flow = ws.load_flow("big", catalog=ws.catalog())
        executor = LocalExecutor(2, str(folder))
        await executor.start()
        engine = Engine(ws, flow.catalog, executor=executor)
        options = RunOptions(use_cache=False)
        await measure_engine(engine, flow, options)  # the workers import numpy and the nodes
        rows = []
        for _ in range(repeat):
            rows.append((await measure_engine(engine, flow, options), measure_warm_calls(plain, folder)))
        await engine.close()
        await executor.close()
    return rows


def figures(folder: Path, args: argparse.Namespace) -> None:
    build(folder, args.mb)
    plait = [sys.executable, "-m", "plait.app.cli", "run", "big", "-w", str(folder), "--no-cache"]
    plain = [sys.executable, str(folder.parent / "baseline.py"), str(folder), str(args.mb)]
    cold = []
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        cold.append((measure_process(plait, folder), measure_process(plain, folder)))
    warm = asyncio.run(warm_rows(folder, args.mb, args.repeat))
    print(f"A {args.mb} MB array to 3 consumers, medians of {args.repeat} runs each:")
    report("whole processes, started cold:", "plait run (worker processes)", "one plain Python process", cold)
    report(
        "workers already started, numpy imported:",
        "a run on the engine (2 workers)",
        "the four calls in one process",
        warm,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds of rest before each measurement")
    args = parser.parse_args()
    global PAUSE
    PAUSE = args.pause

    scratch = Path(tempfile.mkdtemp(prefix="plait-big-"))
    try:
        figures(scratch / "ws", args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # a gigabyte of cache per size measured
    os._exit(0)


if __name__ == "__main__":
    main()
