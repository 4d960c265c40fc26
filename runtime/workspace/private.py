"""Private files: what Plait keeps in a workspace is for its owner's eyes, whatever the umask.

The database holds parameter values and logs, the cache holds every result; on a
shared machine neither is anyone else's business. Files are made 0600 and folders
0700 by setting the mode outright (a umask can only take bits away, and a
umask of 022 leaves them readable by everyone).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700
_OTHERS = 0o077  # group and other bits
_POSIX = os.name == "posix"

log = logging.getLogger("plait.runtime.workspace")


def private_dir(path: Path) -> Path:
    """Make a folder, and any missing folders above it, readable by the owner only."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another process
            continue
        if _POSIX:
            os.chmod(folder, DIR_MODE)
    return path


def open_private(path: Path) -> IO[bytes]:
    """A new file (or one emptied) to write bytes to, readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    if _POSIX:
        os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "wb")


def write_private(path: Path, data: bytes) -> None:
    """Replace a file's bytes in one step (a temporary file renamed), readable by the owner only."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open_private(temporary) as fh:
        fh.write(data)
    os.replace(temporary, path)


def create_private_file(path: Path) -> None:
    """Make an empty file readable by the owner only, unless it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    if _POSIX:
        os.fchmod(fd, FILE_MODE)
    os.close(fd)


def _tighten(path: Path) -> bool:
    """Take group and other permissions away from one path; True when it had any."""
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
    if not mode & _OTHERS or path.is_symlink():
        return False
    try:
        os.chmod(path, mode & ~_OTHERS)
    except PermissionError:  # another user's file: not ours to change
        log.warning("cannot make %s private: it belongs to another user", path)
        return False
    return True


def tighten_workspace(folder: Path, files: list[Path], data_dir: Path) -> list[Path]:
    """Make an existing workspace's database files and data folder private; say what changed.

    Inside the data folder, everything is looked at only when the folder itself was open
    to others: a private folder keeps its contents private, and a big cache is not walked
    at every opening.
    """
    if not _POSIX:
        return []
    changed = [path for path in files if _tighten(path)]
    if _tighten(data_dir):
        changed.append(data_dir)
        for root, dirs, names in os.walk(data_dir):
            for name in dirs + names:
                _tighten(Path(root) / name)
    if changed:
        shown = ", ".join(str(p.relative_to(folder)) for p in changed)
        log.warning("workspace %s: made %s readable by you only (other users could read them)", folder, shown)
    return changed
