"""Does the window stay responsive while a big, chatty flow runs?

    QT_QPA_PLATFORM=offscreen python benchmarks/responsiveness.py [--nodes 200] [--workers 20]
        [--repeat 3] [--stalls]

Runs a flow of independent nodes that each print 100 lines over about a
second, in the real main window (offscreen) on worker processes, while a
QTimer probe ticking every 10 ms measures how late the event loop serves it.
Prints the probe's p50 / p99 latency and the worst stall (targets: p99 under
50 ms, no stall over 100 ms), and the time from the last node finishing to the
window showing the run finished. With `--repeat N` each figure is the median
of N runs, each in a fresh process.

With `--stalls`, a thread samples the GUI thread's Python stack every 2 ms
while the loop is late, and each stall over 100 ms is printed with the stacks
it spent its time in: how the stalls of this benchmark are found.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import gc
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The scratch workspace is trusted in a config folder of its own, not the user's.
os.environ.setdefault("PLAIT_CONFIG_DIR", tempfile.mkdtemp(prefix="plait-config-"))

LIBRARY = textwrap.dedent('''
    import time


    def chatty(index: int = 0, lines: int = 100, seconds: float = 1.0) -> int:
        """Print `lines` lines spread over `seconds`."""
        for i in range(lines):
            print(f"node {index}: line {i} of {lines}")
            time.sleep(seconds / lines)
        return index
''')
PROBE_MS = 10
STALL_MS = 100  # a stall longer than this is one a person notices
SAMPLE_AFTER_MS = 30  # the sampler starts taking stacks once the loop is this late (at most)
SAMPLE_EVERY_S = 0.002


def build(folder: Path, nodes: int) -> str:
    from plait.runtime.flow.model import Flow
    from plait.runtime.nodes.libraries import Catalog
    from plait.runtime.workspace.store import Workspace
    from plait.runtime.workspace.trust import trust

    (folder / "chat.py").write_text(LIBRARY)
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("Chatty", catalog=catalog)
    for i in range(nodes):
        node = flow.create_node(catalog.get("chat.py:chatty"), ((i % 20) * 220, (i // 20) * 120))
        flow.set_value(node.id, "index", i)
    with Workspace(folder) as ws:
        ws.save_flow(flow)
    trust(folder, reason="the benchmark wrote its code")
    return flow.id


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_times(path: Path) -> tuple[float, float]:
    """A thread's time on a CPU and waiting for one, in ms (Linux schedstat; zeros elsewhere)."""
    try:
        on_cpu, waiting, _ = path.read_text().split()
        return int(on_cpu) / 1e6, int(waiting) / 1e6
    except (OSError, ValueError):
        return (0.0, 0.0)


def gui_schedstat() -> Path:
    return Path(f"/proc/self/task/{threading.main_thread().native_id}/schedstat")


class Collections:
    """How long each of Python's garbage collections held the GIL (and with it the GUI thread)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int]] = []  # (ms, generation)
        self.on = False
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.on:
            self.pauses.append(((time.perf_counter() - self._started) * 1000, info["generation"]))


class StallSampler(threading.Thread):
    """Takes the GUI thread's stack while the event loop is late, one list of stacks per stall."""

    def __init__(self, last_tick: list[float], after_ms: float) -> None:
        super().__init__(daemon=True, name="stall-sampler")
        self.after_ms = after_ms
        self.last_tick = last_tick
        self.gui = threading.main_thread().ident
        self.stacks: dict[float, list[tuple[str, ...]]] = collections.defaultdict(list)
        self.running = True

    def run(self) -> None:
        while self.running:
            time.sleep(SAMPLE_EVERY_S)
            tick = self.last_tick[0]
            if (time.perf_counter() - tick) * 1000 < self.after_ms:
                continue
            frame = sys._current_frames().get(self.gui)
            if frame is not None:
                frames = traceback.extract_stack(frame)
                self.stacks[tick].append(
                    tuple(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames[-14:])
                )

    def report(self, stalls: list[dict]) -> None:
        """Print each stall with the stacks the GUI thread spent it in, commonest first."""
        for stall in stalls:
            samples = self.stacks.get(stall["tick"], [])
            print(
                f"\nstall of {stall['ms']:.0f} ms, {stall['at']:.1f} s into the run: the GUI thread ran "
                f"{stall['ran']:.0f} ms and waited {stall['waited']:.0f} ms for a CPU "
                f"({len(samples)} samples)"
            )
            for stack, count in collections.Counter(samples).most_common(3):
                print(f"  {count} samples:")
                for line in stack:
                    print(f"      {line}")


def measure(args) -> dict:
    from PySide6.QtCore import QSettings, QTimer

    from plait.app.main import application, event_loop, open_window
    from plait.widgets.parameter_dialog import RunChoices

    app = application()
    app.setQuitOnLastWindowClosed(False)  # the scenario closes the window before it ends
    loop = event_loop()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench"
        folder.mkdir()
        build(folder, args.nodes)
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        window = open_window(folder, settings)
        window.resize(1600, 1000)
        window.questions.ask_cancel_runs = lambda count: True
        latencies: list[float] = []
        ticks: list[float] = []  # the tick each latency followed
        last = [time.perf_counter()]
        probing = [False]
        collections = Collections()
        sampler = StallSampler(last, min(SAMPLE_AFTER_MS, args.show_over / 3)) if args.stalls else None
        profile = cProfile.Profile() if args.profile else None

        schedstat = gui_schedstat()
        cpu = [cpu_times(schedstat)]
        waits: list[tuple[float, float]] = []  # per probe: (ms the GUI thread ran, ms it waited for a CPU)

        def probe() -> None:
            now = time.perf_counter()
            times = cpu_times(schedstat)
            if probing[0]:
                latencies.append(max(0.0, (now - last[0]) * 1000 - PROBE_MS))
                ticks.append(last[0])
                waits.append((times[0] - cpu[0][0], times[1] - cpu[0][1]))
            last[0] = now
            cpu[0] = times

        timer = QTimer(interval=PROBE_MS)
        timer.timeout.connect(probe)
        marks: dict[str, float] = {}

        def shown(live) -> None:
            marks["shown"] = time.time()  # after the window's own slot updated the status bar

        async def scenario() -> None:
            engine = window.runs.engine_for_workspace()
            await engine.warm_up("local", args.workers)  # workers boot before we measure
            timer.start()
            await asyncio.sleep(0.3)
            probing[0] = True
            collections.on = True
            if sampler is not None:
                sampler.start()
            window.runs.run_finished.connect(shown)
            started = time.time()
            marks["started_perf"] = time.perf_counter()
            marks["load"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            if profile is not None:
                profile.enable()
            live = window.running.start_run(
                window.document.flow, {}, RunChoices("local", "", args.workers, True)
            )
            if live is None:
                raise SystemExit("the window refused to run the benchmark's flow (see its status bar)")
            while "shown" not in marks:
                await asyncio.sleep(0.05)
            probing[0] = False
            collections.on = False
            if profile is not None:
                profile.disable()
            marks["started"] = started
            marks["last_node"] = max((s.started or 0) + (s.duration or 0) for s in live.statuses.values())
            marks["lines"] = len(live.lines)
            marks["state"] = live.state
            window.close()
            while not window.shut_down:
                await asyncio.sleep(0.05)

        loop.run_until_complete(scenario())
        timer.stop()
        if sampler is not None:
            sampler.running = False

    stalls = [
        {"tick": tick, "ms": ms, "at": tick - marks["started_perf"], "ran": ran, "waited": waited}
        for tick, ms, (ran, waited) in zip(ticks, latencies, waits, strict=True)
        if ms > args.show_over
    ]
    # What the window's own work costs: each stall less the time the GUI thread waited for a CPU
    # that other processes (the workers among them) held.
    own = [max(0.0, ms - waited) for ms, (_, waited) in zip(latencies, waits, strict=True)]
    if sampler is not None:
        sampler.report(stalls)
    if profile is not None:
        profile.dump_stats(args.profile)
        print(f"\nthe GUI thread's profile over the run, in {args.profile}; the top by own time:")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return {
        "state": marks["state"],
        "ran_s": marks["shown"] - marks["started"],
        "lines": marks["lines"],
        "probes": len(latencies),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "worst": max(latencies),
        "worst_waited": max(zip(latencies, waits, strict=True))[1][1],
        "worst_own": max(own),
        "stalls": sum(1 for ms in latencies if ms > STALL_MS),
        "own_stalls": sum(1 for ms in own if ms > STALL_MS),
        "load": marks["load"],
        "mean": statistics.fmean(latencies),
        "gc_ms": max(collections.pauses, default=(0.0, 0))[0],
        "gc_full": sum(1 for _, generation in collections.pauses if generation == 2),
        "finish_shown_ms": (marks["shown"] - marks["last_node"]) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument(
        "--workers",
        type=int,
        default=20,
        help="worker processes (the nodes mostly sleep, so more than cores)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs, each in a fresh process; medians printed"
    )
    parser.add_argument("--stalls", action="store_true", help="print where the GUI thread spent each stall")
    parser.add_argument(
        "--show-over", type=float, default=STALL_MS, metavar="MS", help="with --stalls: the stalls shown"
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile the GUI thread over the run into FILE")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one run, for --repeat
    args = parser.parse_args(argv)

    if args.repeat <= 1:
        runs = [measure(args)]
        if args.json:
            print("RESULT " + json.dumps(runs[0]))
            return 0
    else:
        runs = []
        for i in range(args.repeat):
            command = [
                sys.executable,
                __file__,
                "--json",
                f"--nodes={args.nodes}",
                f"--workers={args.workers}",
            ]
            command += ["--stalls", f"--show-over={args.show_over}"] if args.stalls else []
            out = subprocess.run(command, capture_output=True, text=True)
            found = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
            if out.returncode or not found:
                sys.stderr.write(out.stdout + out.stderr)
                return out.returncode or 1
            if args.stalls:
                print(out.stdout.replace(found[0], "").strip())
            runs.append(json.loads(found[0][len("RESULT ") :]))
            print(
                f"run {i + 1}: p50 {runs[-1]['p50']:.1f} ms, p99 {runs[-1]['p99']:.1f} ms, "
                f"worst stall {runs[-1]['worst']:.0f} ms, less CPU waits {runs[-1]['worst_own']:.0f} ms"
            )

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    first = runs[0]
    of = f" (medians of {len(runs)} runs)" if len(runs) > 1 else ""
    each = "/".join(f"{run['worst']:.0f}" for run in runs)
    print(
        f"flow: {args.nodes} nodes x 100 lines over ~1 s each, {args.workers} workers; "
        f"run {first['state']} in {median('ran_s'):.1f} s; {first['lines']:,} log lines in the dock{of}; "
        f"load average {median('load'):.1f} as it started"
    )
    print(
        f"event-loop latency over {first['probes']:,} probes every {PROBE_MS} ms: "
        f"p50 {median('p50'):.1f} ms, p99 {median('p99'):.1f} ms (target p99 < 50 ms)"
    )
    print(
        f"worst stall: {median('worst'):.0f} ms ({each} ms in each run), of which the GUI thread "
        f"waited {median('worst_waited'):.0f} ms for a CPU; stalls over {STALL_MS} ms per run: "
        f"{median('stalls'):.0f}"
    )
    print(
        f"worst stall less the GUI thread's waits for a CPU (the window's own work): "
        f"{median('worst_own'):.0f} ms (target under {STALL_MS} ms); over {STALL_MS} ms per run: "
        f"{median('own_stalls'):.0f}"
    )
    print(
        f"longest garbage collection on the GUI thread: {median('gc_ms'):.1f} ms; "
        f"full collections per run: {median('gc_full'):.0f}"
    )
    print(f"last node finished -> window shows the run finished: {median('finish_shown_ms'):.0f} ms")
    print(f"mean latency {median('mean'):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
