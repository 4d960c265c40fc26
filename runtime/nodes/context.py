"""The workspace a node runs in: what relative file paths in a flow are relative to.

A flow saved in a workspace says `iris.csv`, not `/home/ana/plait/iris.csv`,
so it still works when the folder is copied, cloned or shared. Built-in nodes
and cache-key functions resolve such paths with `resolve_path`, against the
workspace of the run (`using_workspace`, set by whatever runs the node), never
against the current directory of whichever process happens to run it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

# A ContextVar, not a global: the inline executor runs nodes of different
# workspaces on threads of one process, and asyncio.to_thread copies it along.
_workspace: ContextVar[Path | None] = ContextVar("plait_workspace", default=None)


@contextmanager
def using_workspace(folder: str | os.PathLike[str] | None) -> Iterator[None]:
    """Resolve relative paths against `folder` within this block (None leaves it unset)."""
    token = _workspace.set(resolved_folder(folder) if folder is not None else None)
    try:
        yield
    finally:
        _workspace.reset(token)


def resolved_folder(folder: str | os.PathLike[str]) -> Path:
    """`folder` resolved; an absolute one remembered by its text (a worker names the same
    folder with every task). A relative one depends on the working folder: resolved each time."""
    text = os.fspath(folder)
    return _resolved(text) if os.path.isabs(text) else Path(text).resolve()


@functools.lru_cache(maxsize=256)
def _resolved(text: str) -> Path:
    return Path(text).resolve()


def workspace_folder() -> Path | None:
    """The workspace of the node running here, or None outside a Plait run."""
    return _workspace.get()


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """`path` as an absolute path: `~` expanded, relative ones under the run's workspace."""
    resolved = Path(path).expanduser()
    if resolved.is_absolute():
        return resolved
    base = workspace_folder()
    return (base / resolved) if base is not None else resolved.resolve()
