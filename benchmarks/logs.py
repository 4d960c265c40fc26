"""Memory of the scheduling process while a node prints a million lines.

    python benchmarks/logs.py [--repeat 3] [--lines 1000000]

Runs `plait run` (the command itself, in a process of its own, on the local
executor) on a flow of one node that prints `--lines` lines, and prints the
peak resident memory of that process: with the per-node limit raised so every
line is kept (streamed to the workspace's database as it comes), with the
default limit (10,000 kept, the rest counted and dropped), and, for
comparison, for a node that prints one line. Medians of `--repeat` runs.

Target: under 100 MB with every line kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from plait.runtime.flow.model import Flow
from plait.runtime.workspace.store import Workspace

LIBRARY = textwrap.dedent("""
    def chatty(lines: int = 1) -> int:
        for i in range(lines):
            print(f"line {i} of a node that has a lot to say")
        return lines
""")

# `plait run` in this process, then its own peak resident memory (children not counted).
RUN_SCRIPT = textwrap.dedent("""
    import resource, sys
    from plait.app.cli import main

    code = main(["run", "chatty", "-w", sys.argv[1], "--no-cache"])
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)
    sys.exit(code)
""")


def peak(folder: Path, lines: int, limit: int | None) -> tuple[int, int]:
    """Peak RSS in MB of one `plait run`, and the lines the run history kept."""
    with Workspace(folder) as ws:
        flow = ws.load_flow("chatty", catalog=ws.catalog())
        flow.set_value(next(iter(flow.nodes)), "lines", lines)
        ws.save_flow(flow)
        ws.set_setting("log_lines_per_node", limit)
    done = subprocess.run(
        [sys.executable, "-c", RUN_SCRIPT, str(folder)],
        stdout=subprocess.DEVNULL,  # the lines are echoed as a person would see them
        stderr=subprocess.PIPE,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with contextlib.closing(sqlite3.connect(folder / "plait.sqlite")) as db:
        (run_id,) = db.execute("select id from runs order by started desc limit 1").fetchone()
        (kept,) = db.execute("select count(*) from logs where run_id=?", (run_id,)).fetchone()
    return int(done.stderr.split()[-1]), kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="plait-bench-logs-"))
    try:
        (folder / "talk.py").write_text(LIBRARY)
        with Workspace(folder) as ws:
            catalog = ws.catalog()
            flow = Flow("chatty", catalog=catalog)
            flow.create_node(catalog.get("talk.py:chatty"))
            ws.save_flow(flow)
        print(
            f"Plait log memory: {os.cpu_count()} cores, medians of {args.repeat} runs, "
            "peak RSS of the `plait run` process"
        )
        cases = [
            (f"{args.lines:,} lines, all kept (limit raised)", args.lines, args.lines + 1),
            (f"{args.lines:,} lines, default limit", args.lines, None),
            ("one line (the process's own floor)", 1, None),
        ]
        for label, lines, limit in cases:
            runs = [peak(folder, lines, limit) for _ in range(args.repeat)]
            kept = runs[-1][1]
            print(
                f"  {label:<46} {statistics.median(r[0] for r in runs):6.0f} MB   "
                f"{kept:,} line{'s' if kept != 1 else ''} in the run history"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
