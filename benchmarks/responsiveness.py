"""Does the window stay responsive while a big, chatty flow runs?

    QT_QPA_PLATFORM=offscreen python benchmarks/responsiveness.py [--nodes 200] [--workers 20]

Runs a flow of independent nodes that each print 100 lines over about a
second, in the real main window (offscreen) on worker processes, while a
QTimer probe ticking every 10 ms measures how late the event loop serves it.
Prints the probe's p50 / p99 / max latency (target: p99 under 50 ms) and the
time from the last node finishing to the window showing the run finished.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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


def build(folder: Path, nodes: int) -> str:
    from plait.runtime.flow.model import Flow
    from plait.runtime.nodes.libraries import Catalog
    from plait.runtime.workspace.store import Workspace

    (folder / "chat.py").write_text(LIBRARY)
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("Chatty", catalog=catalog)
    for i in range(nodes):
        node = flow.create_node(catalog.get("chat.py:chatty"), ((i % 20) * 220, (i // 20) * 120))
        flow.set_value(node.id, "index", i)
    with Workspace(folder) as ws:
        ws.save_flow(flow)
    return flow.id


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument(
        "--workers",
        type=int,
        default=20,
        help="worker processes (the nodes mostly sleep, so more than cores)",
    )
    args = parser.parse_args(argv)

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
        last = [time.perf_counter()]
        probing = [False]

        def probe() -> None:
            now = time.perf_counter()
            if probing[0]:
                latencies.append(max(0.0, (now - last[0]) * 1000 - PROBE_MS))
            last[0] = now

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
            window.runs.run_finished.connect(shown)
            started = time.time()
            live = window.running.start_run(
                window.document.flow, {}, RunChoices("local", "", args.workers, True)
            )
            while "shown" not in marks:
                await asyncio.sleep(0.05)
            probing[0] = False
            marks["started"] = started
            marks["last_node"] = max((s.started or 0) + (s.duration or 0) for s in live.statuses.values())
            marks["lines"] = len(live.lines)
            marks["state"] = live.state
            window.close()
            while not window.shut_down:
                await asyncio.sleep(0.05)

        loop.run_until_complete(scenario())
        timer.stop()

    ran = marks["shown"] - marks["started"]
    print(
        f"flow: {args.nodes} nodes x 100 lines over ~1 s each, {args.workers} workers; "
        f"run {marks['state']} in {ran:.1f} s; {marks['lines']:,} log lines in the dock"
    )
    print(
        f"event-loop latency over {len(latencies):,} probes every {PROBE_MS} ms: "
        f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms (target p99 < 50 ms)"
    )
    print(
        f"last node finished -> window shows the run finished: "
        f"{(marks['shown'] - marks['last_node']) * 1000:.0f} ms"
    )
    print(f"mean latency {statistics.fmean(latencies):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
