"""The `plait` command: the window by default, and headless subcommands.

Qt is imported only when the window opens, so the headless commands start
fast and work on machines with no display.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

from plait import __version__
from plait.runtime.workspace.store import Workspace, WorkspaceError, open_workspace


def _open_workspace(path: str | None) -> Workspace:
    return open_workspace(path)


def warn_library_errors(catalog) -> None:
    """Say on stderr which libraries failed to load (the others still run), and what is not a node."""
    for library in catalog.libraries:
        if library.error:
            first = library.error.strip().splitlines()[-1]
            print(f"plait: library {library.name} failed to load: {first}", file=sys.stderr)
        for problem in library.problems:
            print(f"plait: library {library.name}: not a node: {problem}", file=sys.stderr)


def _format_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def cmd_flows(args: argparse.Namespace) -> int:
    with _open_workspace(args.workspace) as ws:
        flows = ws.flows()
        if not flows:
            print(f"No flows in {ws.folder} yet.")
            return 0
        width = max(len(f.name) for f in flows)
        print(f"{'FLOW':<{width}}  VERSION  SAVED")
        for f in flows:
            print(f"{f.name:<{width}}  {f.latest_version:>7}  {_format_time(f.updated)}")
    return 0


def _parse_params(pairs: list[str], params_file: str | None) -> tuple[dict, set[str]]:
    """Parameters from a JSON file, then NAME=VALUE pairs (text) on top."""
    values: dict = {}
    if params_file:
        try:
            loaded = json.loads(Path(params_file).read_text())
        except OSError as exc:
            raise UsageError(f"cannot read parameters file {params_file}: {exc.strerror}") from None
        except ValueError as exc:
            raise UsageError(f"parameters file {params_file} is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError(
                f'parameters file {params_file} must hold a JSON object ({{"name": value, ...}})'
            )
        values.update(loaded)
    text: set[str] = set()
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param takes NAME=VALUE, got {pair!r}")
        values[name.strip()] = value
        text.add(name.strip())
    return values, text


class UsageError(Exception):
    pass


def cmd_run(args: argparse.Namespace) -> int:
    from plait.app.terminal import run_in_terminal

    params, text = _parse_params(args.param, args.params_file)
    return run_in_terminal(args, params, text)


def cmd_runs(args: argparse.Namespace) -> int:
    with _open_workspace(args.workspace) as ws:
        rows = ws.history.runs(ws.flow_info(args.flow).id if args.flow else None, args.limit)
        if not rows:
            print("No runs yet." if not args.flow else f"No runs of '{args.flow}' yet.")
            return 0
        print(
            f"{'RUN':<10} {'FLOW':<20} {'VER':>4} {'STATE':<10} {'STARTED':<16} "
            f"{'TIME':>8} {'NODES':>6} {'CACHED':>6}"
        )
        for r in rows:
            took = f"{r['ended'] - r['started']:.2f}s" if r["ended"] else "-"
            print(
                f"{r['id'][:8]:<10} {r['flow'][:20]:<20} {r['version']:>4} {r['state']:<10} "
                f"{_format_time(r['started']):<16} {took:>8} {r['nodes']:>6} {r['cached']:>6}"
            )
    return 0


def _run_for_logs(ws: Workspace, wanted: str) -> dict:
    """The run `wanted` names: a flow's name or id (its last run), or a run id or its start."""
    from plait.runtime.workspace.store import FlowNotFound

    try:
        info = ws.flow_info(wanted)
    except FlowNotFound:
        info = None
    if info is not None:
        last = ws.history.runs(info.id, 1)
        if not last:
            raise UsageError(f"flow '{info.name}' has not run yet: run it first (plait run {info.name!r})")
        wanted = last[0]["id"]
    found = ws.history.find_run(wanted) if wanted.strip() else None
    if found is None:
        flows = ", ".join(f.name for f in ws.flows()) or "none yet"
        raise UsageError(
            f"workspace {ws.folder} has no run or flow '{wanted}' "
            f"(give a run id from plait runs, or a flow: {flows})"
        )
    return found


def _print_log_line(line: dict, width: int) -> None:
    level = "" if line["level"] in ("INFO", None) else f"{line['level']}: "
    stamp = time.strftime("%H:%M:%S", time.localtime(line["time"]))
    print(f"{stamp}  {line['title']:<{width}} │ {level}{line['message']}", flush=True)


def _print_failure(title: str, failure: dict, width: int) -> int:
    """A failed node's traceback (from its own code on) or error, as ERROR lines after its logs."""
    from plait.runtime.engine.worker import user_traceback

    text = failure["traceback"] and user_traceback(failure["traceback"]).rstrip()
    if not text:
        kind, message = failure["error_type"], failure["error_message"] or "it failed"
        text = f"{kind}: {message}" if kind and not message.startswith(kind) else message
    lines = text.splitlines()
    for message in lines:
        _print_log_line(
            {"time": failure["ended"], "title": title, "level": "ERROR", "message": message}, width
        )
    return len(lines)


def cmd_logs(args: argparse.Namespace) -> int:
    """Print a run's log lines; with --follow, keep printing until the run ends."""
    with _open_workspace(args.workspace) as ws:
        run = _run_for_logs(ws, args.run)
        node = None
        if args.node:
            wanted = args.node.casefold()
            matches = [n for n, t in run["nodes"].items() if wanted in (n.casefold(), t.casefold())]
            if not matches:
                titles = ", ".join(sorted(run["nodes"].values())) or "none"
                raise UsageError(
                    f"run {run['id'][:8]} of '{run['flow']}' has no node '{args.node}' (its nodes: {titles})"
                )
            node = matches[0]
        width = max((len(t) for t in run["nodes"].values()), default=4)
        after, shown = 0, 0
        while True:
            lines = ws.history.log_entries(run["id"], node, after)
            for line in lines:
                _print_log_line(line, width)
            shown += len(lines)
            after = lines[-1]["id"] if lines else after
            if not args.follow or run["state"] != "running":
                break
            time.sleep(0.3)
            ws.mark_crashed_runs()  # a run whose process died is followed no longer
            run = ws.history.find_run(run["id"]) or run
            width = max([width, *(len(t) for t in run["nodes"].values())])
        for node_id, failure in run["failures"].items():
            if node in (None, node_id):
                shown += _print_failure(run["nodes"].get(node_id, node_id), failure, width)
        if not shown and not args.follow:
            whose = f"node '{run['nodes'][node]}' in " if node else ""
            print(f"No log lines for {whose}run {run['id'][:8]} of '{run['flow']}'.", file=sys.stderr)
        if args.follow and run["state"] != "running":
            print(f"Run {run['id'][:8]} of '{run['flow']}' {run['state']}.", file=sys.stderr)
    return 0


_EXPLAIN_MARKS = {"cached": "↺", "will run": "▶", "waits": "…"}


def cmd_explain(args: argparse.Namespace) -> int:
    """Say, for each node of the next run, whether it is cached or runs, and why."""
    from plait.runtime.engine.explain import explain_flow
    from plait.runtime.engine.plan import RunRefused
    from plait.runtime.results.cache import ResultCache

    params, text = _parse_params(args.param, args.params_file)
    with _open_workspace(args.workspace) as ws:
        catalog = ws.catalog()
        warn_library_errors(catalog)
        flow = ws.load_flow(args.flow, catalog=catalog)
        try:
            found = explain_flow(ws, flow, ResultCache(ws), params, from_text=text)
        except RunRefused as refused:
            raise UsageError(str(refused)) from None
        if args.node:
            wanted = args.node.casefold()
            found = [e for e in found if wanted in (e.node_id.casefold(), e.title.casefold())]
            if not found:
                titles = ", ".join(sorted(n.title for n in flow.nodes.values()))
                raise UsageError(f"flow '{flow.name}' has no node '{args.node}' (its nodes: {titles})")
        if args.json:
            print(json.dumps([e.__dict__ for e in found], indent=2))
            return 0
        print(f"Next run of '{flow.name}' (version {flow.version}):")
        width = max((len(e.title) for e in found), default=4)
        for e in found:
            reasons = "; ".join(e.reasons)
            print(f"  {_EXPLAIN_MARKS[e.state]} {e.title:<{width}}  {e.state:<8}  {reasons}".rstrip())
            for hint in e.hints:
                print(f"    {'':<{width}}  note: {hint}")
            if args.node:  # one node: say what its key is made of
                print(f"    {'':<{width}}  its key tracks:")
                for line in e.tracks:
                    print(f"    {'':<{width}}    {line}")
        counts = {state: sum(e.state == state for e in found) for state in _EXPLAIN_MARKS}
        print(", ".join(f"{n} {state}" for state, n in counts.items() if n) or "no nodes")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal

    from plait.runtime.schedules.service import Service

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")

    async def serve() -> None:
        with _open_workspace(args.workspace) as ws:
            service = Service(ws, executor=args.executor, max_workers=args.max_workers, address=args.address)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, service.stop)
            await service.run()

    asyncio.run(serve())
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from plait.runtime.schedules import schedule as sch

    with _open_workspace(args.workspace) as ws:
        if args.action == "add":
            kinds = [
                k for k, v in (("interval", args.every), ("cron", args.cron), ("after", args.after)) if v
            ]
            if len(kinds) != 1:
                raise UsageError("give exactly one of --every, --cron or --after")
            params, _ = _parse_params(args.param, None)
            expression = args.every or args.cron or args.after
            schedule = sch.add_schedule(
                ws, args.flow, kinds[0], expression, timezone=args.tz, parameters=params, missed=args.missed
            )
            print(f"Schedule {schedule.id}: flow '{args.flow}' {schedule.describe()}")
            for slot in schedule.upcoming(time.time()):
                print(f"  next: {_format_time(slot)}")
        elif args.action == "list":
            found = sch.schedules(ws, args.flow)
            if not found:
                print("No schedules.")
            names = {f.id: f.name for f in ws.flows()}
            for s in found:
                state = "on " if s.enabled else "off"
                nxt = s.upcoming(time.time(), 1)
                print(
                    f"{s.id}  {state}  {names.get(s.flow_id, s.flow_id):<20} {s.describe()}"
                    + (f"  next {_format_time(nxt[0])}" if nxt else "")
                )
        elif args.action in ("enable", "disable"):
            sch.set_enabled(ws, args.id, args.action == "enable")
        elif args.action == "remove":
            sch.remove_schedule(ws, args.id)
    return 0


EXPORT_FORMATS = ("json", "svg", "png", "dot", "py")


def cmd_export(args: argparse.Namespace) -> int:
    """Write a flow as a document, a drawing or a script, to a file or stdout."""
    suffix = Path(args.output).suffix.lstrip(".").lower() if args.output else ""
    fmt = args.to or (suffix if suffix in EXPORT_FORMATS else "json")
    if fmt == "png" and not args.output and sys.stdout.isatty():
        raise UsageError("a PNG is binary: give -o FILE.png to write it to a file")
    with _open_workspace(args.workspace) as ws:
        if fmt == "json":
            from plait.runtime.workspace.documents import export_flow

            data = export_flow(ws.load_flow(args.flow)).encode()
        else:
            # A drawing reads the libraries' source; only a script needs their code run.
            catalog = ws.catalog(loader=None if fmt == "py" else "read")
            warn_library_errors(catalog)
            flow = ws.load_flow(args.flow, catalog=catalog)
            try:
                if fmt == "py":
                    from plait.runtime.export.scripts import export_script

                    data = export_script(flow, ws.folder, args.output).encode()
                else:
                    from plait.runtime.export.drawing import draw_flow, last_run_states

                    states = last_run_states(ws, flow.id) if args.states else None
                    data = draw_flow(flow, fmt, states)
            except ValueError as exc:  # ScriptError, DrawingError: the message says why
                raise UsageError(f"cannot export flow '{flow.name}' as {fmt}: {exc}") from None
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_bytes(data)
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _trust_target(folder: str | None) -> Path:
    path = Path(folder or ".").expanduser().resolve()
    if not path.is_dir():
        raise UsageError(f"{path} is not a folder: give the workspace folder to trust")
    return path


def cmd_trust(args: argparse.Namespace) -> int:
    """Remember a workspace folder as trusted, so the window runs its code; or list them."""
    from plait.runtime.nodes.loader import workspace_sources
    from plait.runtime.workspace import trust

    if args.list:
        if args.workspace:
            raise UsageError("plait trust --list takes no folder")
        folders = trust.trusted_folders()
        if not folders:
            print("No trusted folders (the default workspace and the examples are always trusted).")
        for folder, reason in folders:
            print(f"{folder}  ({reason})" if reason else folder)
        return 0
    folder = _trust_target(args.workspace)
    if trust.builtin_trusted(folder):
        print(f"{folder} is always trusted (Plait made it)")
    elif trust.trust(folder):
        count = len(workspace_sources(folder))
        print(f"Trusted {folder}: the window will run its code ({count} Python file{'s' * (count != 1)})")
    else:
        print(f"{folder} was already trusted")
    return 0


def cmd_untrust(args: argparse.Namespace) -> int:
    """Forget that a workspace folder was trusted: the window opens it restricted again."""
    from plait.runtime.workspace import trust

    folder = _trust_target(args.workspace)
    if trust.builtin_trusted(folder):
        raise UsageError(
            f"{folder} is a folder Plait made (the default workspace or an example): it stays trusted"
        )
    if trust.untrust(folder):
        print(f"{folder} is no longer trusted: the window opens it restricted, running none of its code")
    else:
        print(f"{folder} was not trusted")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Read a flow document into the workspace as a new flow or a new version.

    The flow is checked as a run would check it first; one with problems is
    refused with all of them listed, and the workspace is left as it was
    (with --force it is saved all the same, its problems shown as warnings).
    """
    from plait.runtime.workspace.documents import import_file

    with _open_workspace(args.workspace) as ws:
        before = {f.id: f.latest_version for f in ws.flows()}
        catalog = ws.catalog(loader="read")  # which node types exist, read from source, never run
        warn_library_errors(catalog)
        flow = import_file(args.file, ws, name=args.name, catalog=None if args.force else catalog)
        if flow.id not in before:
            print(f"Imported '{flow.name}' as a new flow into {ws.folder}")
        elif before[flow.id] == flow.version:
            print(f"'{flow.name}' is unchanged (version {flow.version}); nothing imported")
        else:
            print(f"Imported '{flow.name}' as version {flow.version}")
        if args.force:
            flow.catalog = catalog
            for problem in flow.validate():
                print(f"plait: warning: {problem.message}", file=sys.stderr)
    return 0


SETTINGS = {
    "libraries": 'module names whose functions become node types, e.g. ["mypkg.nodes"]',
    "cache_limit_bytes": "size of the result cache before old entries are evicted",
    "log_lines_per_node": "log lines kept per node and run; more are counted and dropped",
    "dask_shared_store": "whether Dask workers can reach this workspace's folder",
    "held_values_bytes": "bytes of large outputs each worker keeps in memory for their consumers",
    "library_timeout": "seconds the window waits for one library to import (default 20)",
}


def cmd_settings(args: argparse.Namespace) -> int:
    with _open_workspace(args.workspace) as ws:
        if args.key is None:
            for key, meaning in SETTINGS.items():
                value = ws.get_setting(key)
                shown = "(default)" if value is None else json.dumps(value)
                print(f"{key:<20} {shown:<24} {meaning}")
            return 0
        if args.key not in SETTINGS:
            raise UsageError(f"there is no setting '{args.key}'; settings: {', '.join(SETTINGS)}")
        if args.value is None:
            print(json.dumps(ws.get_setting(args.key)))
            return 0
        try:
            value = json.loads(args.value)
        except ValueError:
            value = args.value
        ws.set_setting(args.key, value)
        print(f"{args.key} = {json.dumps(value)}")
    return 0


def display_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc", "eglfs", "linuxfb")):
        return None
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return (
            "plait: no display available (DISPLAY and WAYLAND_DISPLAY are unset); "
            "run it on a desktop, or use 'plait run FLOW' for a headless run"
        )
    if sys.platform.startswith("linux") and platform in ("", "xcb") and not os.environ.get("WAYLAND_DISPLAY"):
        # Without these Qt's X11 plugin aborts the process instead of saying why.
        import ctypes.util

        missing = [
            package
            for library, package in (
                ("xcb-cursor", "libxcb-cursor0"),
                ("xkbcommon-x11", "libxkbcommon-x11-0"),
            )
            if ctypes.util.find_library(library) is None
        ]
        if missing:
            return (
                f"plait: Qt needs {' and '.join(missing)} to open a window on X11; "
                f"install {'them' if len(missing) > 1 else 'it'} "
                f"(sudo apt-get install {' '.join(missing)}) and try again"
            )
    return None


def cmd_window(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        from plait.app.main import run_window
    except ImportError as exc:
        print(f"plait: the window cannot start: {exc}", file=sys.stderr)
        return 2
    return run_window(args.path, getattr(args, "flow", None))


def _parameter_arguments(parser: argparse.ArgumentParser, help_text: str) -> None:
    """--param NAME=VALUE (repeatable) and --params-file, read by `_parse_params`."""
    parser.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE", help=help_text)
    parser.add_argument("--params-file", metavar="FILE.json", help="parameter values as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plait",
        usage="plait [WORKSPACE [FLOW]] | plait COMMAND ...",
        description="Design, run and schedule Python data flows. With no command, "
        "opens the window on WORKSPACE (default: your default workspace), showing FLOW if given.",
    )
    parser.add_argument("--version", action="version", version=f"plait {__version__}")
    parser.set_defaults(func=cmd_window, path=None)
    # Subcommands read `usage: plait run ...`, not the top-level usage line before them.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="plait")

    flows = sub.add_parser("flows", help="list the workspace's flows")
    flows.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    flows.set_defaults(func=cmd_flows)

    run = sub.add_parser("run", help="run a flow headless, with a progress bar and exit status")
    run.add_argument("flow", help="flow name or id")
    run.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    _parameter_arguments(
        run, "a parameter value (repeatable); lists and dicts as JSON, NAME.KEY=VALUE sets one key of a dict"
    )
    run.add_argument(
        "--executor",
        choices=("local", "inline", "dask"),
        default="local",
        help="where nodes run: worker processes (local), this process (inline) or a Dask cluster (dask)",
    )
    run.add_argument(
        "--address",
        metavar="tcp://HOST:PORT",
        help="the Dask scheduler to use (default: start a local cluster)",
    )
    run.add_argument("--max-workers", type=int, metavar="N", help="worker processes to use")
    run.add_argument(
        "--dashboard",
        action="store_true",
        help="with --executor dask: serve the cluster's dashboard (on this "
        "computer only) and print its address",
    )
    run.add_argument("--no-cache", action="store_true", help="recompute every node")
    run.add_argument("--only", metavar="NODE", help="run this node and its ancestors only")
    run.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="NODE",
        help="recompute this node and everything downstream (repeatable)",
    )
    run.add_argument("--stop-on-failure", action="store_true", help="cancel the run at the first failed node")
    run.add_argument("--json", action="store_true", help="print one JSON document instead")
    run.set_defaults(func=cmd_run)

    explain = sub.add_parser("explain", help="say which nodes the next run reuses or runs, and why")
    explain.add_argument("flow", help="flow name or id")
    explain.add_argument("node", nargs="?", help="only this node (title or id)")
    explain.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    _parameter_arguments(explain, "a parameter value for the run explained (repeatable)")
    explain.add_argument("--json", action="store_true", help="print JSON instead")
    explain.set_defaults(func=cmd_explain)

    runs = sub.add_parser("runs", help="list past runs, newest first")
    runs.add_argument("flow", nargs="?", help="only runs of this flow")
    runs.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    runs.add_argument("-n", "--limit", type=int, default=30, help="how many (default 30)")
    runs.set_defaults(func=cmd_runs)

    logs = sub.add_parser("logs", help="print a run's log lines (a flow's last run, or a run by id)")
    logs.add_argument(
        "run", metavar="RUN|FLOW", help="a run id (or its start, from plait runs), or a flow: its last run"
    )
    logs.add_argument("node", nargs="?", help="only this node's lines (title or id)")
    logs.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new lines until the run ends"
    )
    logs.set_defaults(func=cmd_logs)

    settings = sub.add_parser("settings", help="show or change the workspace's settings")
    settings.add_argument("key", nargs="?", help="the setting to show or change (all when left out)")
    settings.add_argument("value", nargs="?", help="a JSON value (or plain text)")
    settings.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    settings.set_defaults(func=cmd_settings)

    serve = sub.add_parser("serve", help="run the workspace's schedules until stopped")
    serve.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    serve.add_argument(
        "--executor",
        choices=("local", "inline", "dask"),
        default="local",
        help="where scheduled runs' nodes run (default: local processes)",
    )
    serve.add_argument("--address", metavar="tcp://HOST:PORT", help="Dask scheduler")
    serve.add_argument("--max-workers", type=int, metavar="N", help="worker processes to use")
    serve.set_defaults(func=cmd_serve)

    schedule = sub.add_parser("schedule", help="add, list, enable, disable or remove schedules")
    schedule_sub = schedule.add_subparsers(dest="action", required=True)
    add = schedule_sub.add_parser("add", help="schedule a flow")
    add.add_argument("flow", help="flow name or id")
    add.add_argument("--every", metavar="INTERVAL", help="e.g. 15m, 2h, 1d")
    add.add_argument("--cron", metavar="EXPR", help="e.g. '0 3 * * *'")
    add.add_argument("--after", metavar="FLOW", help="run after this flow succeeds")
    add.add_argument("--tz", default="UTC", help="time zone of a cron expression")
    add.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value for every scheduled run (repeatable)",
    )
    add.add_argument(
        "--missed",
        choices=("run_once", "skip"),
        default="run_once",
        help="what to do with slots missed while nothing ran schedules",
    )
    listing = schedule_sub.add_parser("list", help="list schedules")
    listing.add_argument("flow", nargs="?", help="only this flow's schedules")
    for action in ("enable", "disable", "remove"):
        one = schedule_sub.add_parser(action, help=f"{action} a schedule")
        one.add_argument("id", help="the schedule's id (from plait schedule list)")
    for parser_ in (add, listing, *schedule_sub.choices.values()):
        if not any(a.dest == "workspace" for a in parser_._actions):
            parser_.add_argument("-w", "--workspace", help="workspace folder")
    schedule.set_defaults(func=cmd_schedule)

    export = sub.add_parser(
        "export", help="write a flow as JSON, a drawing (svg, png, dot) or a Python script"
    )
    export.add_argument("flow", help="flow name or id")
    export.add_argument(
        "--to", choices=EXPORT_FORMATS, help="what to write (default: from -o's extension, else json)"
    )
    export.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    export.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    export.add_argument(
        "--states", action="store_true", help="colour a drawing's nodes by the states of the flow's last run"
    )
    export.set_defaults(func=cmd_export)

    trust = sub.add_parser(
        "trust", help="let the window run a workspace's code (one made elsewhere: a clone, a download)"
    )
    trust.add_argument("workspace", nargs="?", help="the workspace folder (default: the current folder)")
    trust.add_argument("--list", action="store_true", help="list the trusted folders instead")
    trust.set_defaults(func=cmd_trust)
    untrust = sub.add_parser("untrust", help="open a workspace restricted again: its code does not run")
    untrust.add_argument("workspace", nargs="?", help="the workspace folder (default: the current folder)")
    untrust.set_defaults(func=cmd_untrust)

    import_ = sub.add_parser("import", help="read a flow document (.json) into the workspace")
    import_.add_argument("file", metavar="FILE.json", help="a flow document from plait export")
    import_.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    import_.add_argument("--name", help="save it under this name (a copy if the flow exists)")
    import_.add_argument(
        "--force",
        action="store_true",
        help="save it even when it would not run yet (say, before its libraries are added)",
    )
    import_.set_defaults(func=cmd_import)
    return parser


COMMANDS = {
    *("flows", "run", "explain", "runs", "logs", "serve", "schedule", "export", "import", "settings"),
    *("trust", "untrust"),
}
# Commands that import a workspace's code (and numpy, networkx): the interpreter's own
# teardown of those modules took 0.1 s of every `plait run`, after all was written.
_QUICK_EXIT = {"run", "explain"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # A bare folder opens the window on it; argparse would take it for a command.
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        # `plait FOLDER [FLOW]`: the window on a workspace, showing one of its flows.
        args = argparse.Namespace(path=argv[0], flow=argv[1] if len(argv) > 1 else None, func=cmd_window)
        if len(argv) > 2:
            parser.error(f"unexpected arguments after {argv[0]} {argv[1]}: {' '.join(argv[2:])}")
    else:
        args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (WorkspaceError, UsageError) as exc:
        print(f"plait: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    """The `plait` program: `main`, then out.

    After a command that imported a workspace's code, it leaves as the interpreter
    would, without taking every module apart: it waits for the threads that would be
    waited for, runs the exit functions (a module's `atexit`, logging's flush), and
    flushes the output. The window leaves the usual way (Qt saves on the way out).
    """
    code = main()
    if len(sys.argv) > 1 and sys.argv[1] in _QUICK_EXIT:
        _leave(code)
    sys.exit(code)


def _leave(code: int) -> NoReturn:
    import atexit
    import threading

    # What the interpreter does first on its way out: wait for the threads (and thread
    # pools) that hold the exit, then run the exit functions.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: what was written is gone either way
    os._exit(code)


if __name__ == "__main__":
    entry()
