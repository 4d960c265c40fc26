"""`plait run`: one headless run with a progress bar, a summary and an exit status."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

from plait.app.cli import warn_library_errors
from plait.runtime.engine import events as ev
from plait.runtime.engine.plan import RunRefused
from plait.runtime.engine.scheduler import Engine, RunOptions, RunResult
from plait.runtime.engine.worker import user_traceback
from plait.runtime.workspace.store import FlowNotFound, open_workspace
from plait.widgets.words import plural

_MARKS = {
    ev.COMPLETED: "✓",
    ev.CACHED: "↺",
    ev.FAILED: "✗",
    ev.TIMED_OUT: "⌛",
    ev.SKIPPED: "–",
    ev.CANCELLED: "■",
    ev.CRASHED: "✗",
}


class _Progress:
    """A tqdm bar of nodes done, with the running nodes' names and progress."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        self.running: dict[str, str] = {}
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                unit="node",
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}] {postfix}",
            )

    def update(self, event: object, titles: dict[str, str]) -> None:
        if self.bar is None:
            return
        if isinstance(event, ev.NodeStarted):
            self.running[event.node_id] = titles.get(event.node_id, event.node_id)
        elif isinstance(event, ev.NodeProgress) and event.total:
            title = titles.get(event.node_id, event.node_id)
            self.running[event.node_id] = f"{title} {event.done / event.total:.0%}"
        elif isinstance(event, ev.NodeFinished):
            self.running.pop(event.node_id, None)
            self.bar.update(1)
        else:
            return
        self.bar.set_postfix_str(", ".join(list(self.running.values())[:3]), refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _echo(event: ev.NodeLog | ev.NodeRetrying, titles: dict[str, str], progress: _Progress) -> None:
    """Show what a node prints as it prints it, and its retries, after its title."""
    title = titles.get(event.node_id, event.node_id)
    if isinstance(event, ev.NodeRetrying):
        messages = [
            f"attempt {event.attempt} failed ({event.error.splitlines()[0]}); retrying in {event.delay:g}s"
        ]
    else:
        messages = [line.message for line in event.lines]
    for message in messages:
        text = f"  {title} │ {message}"
        if progress.bar is not None:
            progress.bar.write(text, file=sys.stdout)
        else:
            print(text, flush=True)


def _headline(message: str) -> str:
    """An error's line for the summary: its first, and the reason when that only leads in to
    a traceback ("Importing pipeline.py failed:" and the exception it ended with)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[-1]}"
    return lines[0]


def _summary(result: RunResult, errors: dict[str, str], finals: set[str] | None = None) -> str:
    """One line per node; `finals` (nodes nothing consumes) also show their result, cached or not."""
    width = max((len(n.title) for n in result.nodes.values()), default=4)
    lines = []
    for node in result.nodes.values():
        took = "-" if node.state in (ev.CACHED, ev.SKIPPED, ev.PENDING) else f"{node.duration:.2f}s"
        line = f"  {_MARKS.get(node.state, '?')} {node.title:<{width}}  {node.state:<10} {took:>8}"
        if node.node_id in errors:
            line += f"  {errors[node.node_id]}"
        elif finals and node.node_id in finals and node.outputs:
            previews = [
                str(ref.summary.get("preview", ref.summary.get("type", ""))) for ref in node.outputs.values()
            ]
            shown = "; ".join(previews)
            line += f"  → {shown if len(shown) <= 70 else shown[:69] + '…'}"
        lines.append(line)
    counts: dict[str, int] = {}
    for node in result.nodes.values():
        counts[node.state] = counts.get(node.state, 0) + 1
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines.append(
        f"Run {result.run_id[:8]} of '{result.flow}' {result.state} in {result.duration:.2f}s ({tally})"
    )
    return "\n".join(lines)


def _as_json(
    result: RunResult, run: Any, failures: dict[str, dict[str, Any]], log_counts: dict[str, int]
) -> dict[str, Any]:
    """The run as one JSON document: each node with its outputs, log line count and error.

    A node that did not succeed has `error` (the message), `error_type` and `traceback`.
    """
    return {
        "run_id": result.run_id,
        "flow": result.flow,
        "flow_version": run.flow.version,
        "state": result.state,
        **({"error": result.error} if result.error else {}),
        "duration": round(result.duration, 4),
        "parameters": run.plan.plain,
        "nodes": [
            {
                "id": n.node_id,
                "title": n.title,
                "state": n.state,
                "attempts": n.attempts,
                "duration": round(n.duration, 4),
                "outputs": {p: r.summary for p, r in n.outputs.items()},
                "log_lines": log_counts.get(n.node_id, 0),
                # "error" stays the message, as it always was; the type and traceback join it.
                **({"error": n.error} if n.error else {}),
                **failures.get(n.node_id, {}),
            }
            for n in result.nodes.values()
        ],
    }


async def _run(args: argparse.Namespace, params: dict, text: set[str], stuck: list[str]) -> int:
    """The run, its summary and its exit status; `stuck` gets the nodes left running on
    threads of this process (an inline node abandoned on a timeout or cancel)."""
    dashboard = getattr(args, "dashboard", False)
    if dashboard and args.executor != "dask":
        print("plait: --dashboard is the Dask cluster's; add --executor dask", file=sys.stderr)
        return 2
    workspace = open_workspace(args.workspace)
    engine = Engine(workspace, dashboard=dashboard)
    # Start the worker processes first: they boot, and import the flow's functions, while
    # the flow and its libraries load here.
    try:
        preload = workspace.spec_keys(args.flow)
    except FlowNotFound:
        preload = None  # said below, where the flow is loaded
    warm = asyncio.ensure_future(
        engine.warm_up(args.executor, args.max_workers, getattr(args, "address", None), preload)
    )
    if args.executor == "local":
        # Lets it spawn them now, before the loading below holds the loop (a cluster's
        # connection waits for it: its timeout must not run while the loop is held).
        await asyncio.sleep(0)
    run = None
    try:
        catalog = workspace.catalog()
        engine.catalog = catalog
        warn_library_errors(catalog)
        flow = workspace.load_flow(args.flow, catalog=catalog)
        options = RunOptions(
            executor=args.executor,
            max_workers=args.max_workers,
            address=getattr(args, "address", None),
            use_cache=not args.no_cache,
            stop_on_failure=args.stop_on_failure,
            only=args.only,
            force=tuple(args.force),
        )
        if dashboard:
            await _say_dashboard(
                engine.executor(args.executor, args.max_workers, getattr(args, "address", None))
            )
        try:
            run = engine.start(flow, params, options, from_text=text)
        except RunRefused as refused:
            print(f"plait: {refused}", file=sys.stderr)
            return 2
        loop = asyncio.get_running_loop()
        signals: list[int] = []

        def stop(sig: int) -> None:
            """The first signal cancels the run, which is then recorded; a second stops at once."""
            if signals:
                print("plait: stopped at once", file=sys.stderr, flush=True)
                os._exit(128 + sig)
            signals.append(sig)
            run.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop, sig)
            except (NotImplementedError, RuntimeError):
                pass
        bar = _Progress(len(run.nodes), enabled=not args.json and sys.stderr.isatty())
        titles = {n: r.title for n, r in run.nodes.items()}
        errors: dict[str, str] = {}
        failures: dict[str, dict[str, Any]] = {}  # node -> error type and traceback
        log_counts: dict[str, int] = {}
        try:
            async for event in run.events():
                bar.update(event, titles)
                if isinstance(event, (ev.NodeLog, ev.NodeRetrying)) and not args.json:
                    _echo(event, titles, bar)
                if isinstance(event, ev.NodeLog):
                    log_counts[event.node_id] = log_counts.get(event.node_id, 0) + len(event.lines)
                if isinstance(event, ev.NodeFinished) and event.error_message:
                    failures[event.node_id] = {
                        "error_type": event.error_type,
                        "traceback": user_traceback(event.traceback) if event.traceback else None,
                    }
                    if event.state != ev.SKIPPED:
                        errors[event.node_id] = _headline(event.error_message)
        finally:
            bar.close()
        result = await run.wait()
        if args.json:
            print(json.dumps(_as_json(result, run, failures, log_counts), indent=2, default=str))
        else:
            finals = {n for n in result.nodes if not run.flow.edges_out_of(n)}
            print(_summary(result, errors, finals))
            if result.error:
                print(f"plait: {result.error}", file=sys.stderr)
        stuck.extend(getattr(run.executor, "stuck", list)())
        if stuck:
            print(
                f"plait: an inline node cannot be killed, only abandoned: {', '.join(stuck)} "
                "went on running on a thread of this process until it exited (the local "
                "executor, the default, stops a node that hangs)",
                file=sys.stderr,
            )
        return 0 if result.ok else 1
    finally:
        warm.cancel()
        if engine.writing and not getattr(args, "json", False):
            sys.stdout.flush()
            print(f"plait: writing {plural(engine.writing, 'large result')} to the cache…", file=sys.stderr)
        await engine.close()
        workspace.close()
        if run is not None and run.unwritten:
            titles = ", ".join(repr(run.flow.nodes[n].title) for n in run.unwritten)
            print(
                f"plait: the result of {titles} could not be written to the cache (plait logs says why): "
                "the next run computes it again",
                file=sys.stderr,
            )


async def _say_dashboard(executor) -> None:
    try:
        await executor.start()
    except Exception:  # noqa: BLE001 - the run reports why the cluster did not start
        return
    link = executor.dashboard_link
    print(
        f"plait: Dask dashboard at {link}" if link else "plait: this Dask cluster serves no dashboard",
        file=sys.stderr,
    )


def run_in_terminal(args: argparse.Namespace, params: dict, text: set[str]) -> int:
    stuck: list[str] = []
    code = asyncio.run(_run(args, params, text, stuck))
    if stuck:
        # The run is recorded and the workspace closed. A thread left running could still
        # hold the exit (a thread pool inside the node is joined at exit): leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
