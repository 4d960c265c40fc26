"""The workspace a node runs in: what relative file paths in a flow are relative to.

A flow saved in a workspace says `iris.csv`, not `/home/ana/plait/iris.csv`,
so it still works when the folder is copied, cloned or shared. Built-in nodes
and cache-key functions resolve such paths with `resolve_path`, against the
workspace of the run (`using_workspace`, set by whatever runs the node), never
against the current directory of whichever process happens to run it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

# A ContextVar, not a global: the inline executor runs nodes of different
# workspaces on threads of one process, and asyncio.to_thread copies it along.
_workspace: ContextVar[Path | None] = ContextVar("plait_workspace", default=None)

DB_NAME = "plait.sqlite"  # the same name as runtime.store's; not imported, to stay light


@contextmanager
def using_workspace(folder: str | os.PathLike[str] | None) -> Iterator[None]:
    """Resolve relative paths against `folder` within this block (None leaves it unset)."""
    token = _workspace.set(Path(folder).resolve() if folder is not None else None)
    try:
        yield
    finally:
        _workspace.reset(token)


def workspace_folder() -> Path | None:
    """The workspace of the node running here, or None outside a Plait run."""
    folder = _workspace.get()
    if folder is not None:
        return folder
    return _inferred_folder()


def _inferred_folder() -> Path | None:
    """The workspace when no runner has said it explicitly.

    A worker process started for a workspace has the folder first on sys.path;
    a process that imported a workspace's node files has it active in the
    loader. Both are facts of the process, so this is only a fallback for
    runners that do not call `using_workspace` themselves.
    """
    if os.environ.get("PLAIT_WORKER"):
        for entry in sys.path:
            if entry and (Path(entry) / DB_NAME).is_file():
                return Path(entry).resolve()
    from plait.runtime import loader

    active = getattr(loader, "_active", None)
    return Path(active[0]) if active else None


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """`path` as an absolute path: `~` expanded, relative ones under the run's workspace."""
    resolved = Path(path).expanduser()
    if resolved.is_absolute():
        return resolved
    base = workspace_folder()
    return (base / resolved) if base is not None else resolved.resolve()
