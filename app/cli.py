"""The `plait` command: the window by default, and headless subcommands.

Qt is imported only when the window opens, so the headless commands start
fast and work on machines with no display.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from importlib import metadata
from pathlib import Path

from plait.runtime.store import Workspace, WorkspaceError, default_workspace_path


def _version() -> str:
    try:
        return metadata.version("plait")
    except metadata.PackageNotFoundError:
        return "unknown"


def _open_workspace(path: str | None) -> Workspace:
    return Workspace(Path(path) if path else default_workspace_path())


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


def display_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc", "eglfs", "linuxfb")):
        return None
    if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("plait: no display available (DISPLAY and WAYLAND_DISPLAY are unset); "
                "run it on a desktop, or use 'plait run FLOW' for a headless run")
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
    return run_window(args.path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plait", usage="plait [WORKSPACE] | plait COMMAND ...",
        description="Design, run and schedule Python data flows. With no command, "
                    "opens the window on WORKSPACE (default: your default workspace).")
    parser.add_argument("--version", action="version", version=f"plait {_version()}")
    parser.set_defaults(func=cmd_window, path=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    flows = sub.add_parser("flows", help="list the workspace's flows")
    flows.add_argument("-w", "--workspace", help="workspace folder (default: your default one)")
    flows.set_defaults(func=cmd_flows)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # A bare folder opens the window on it; argparse would take it for a command.
    commands = {"flows"}
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        args = argparse.Namespace(path=argv[0], func=cmd_window)
        if len(argv) > 1:
            parser.error(f"unexpected arguments after {argv[0]}: {' '.join(argv[1:])}")
    else:
        args = parser.parse_args(argv)
    try:
        return args.func(args)
    except WorkspaceError as exc:
        print(f"plait: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
