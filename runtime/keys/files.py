"""File fingerprints: a value that names a file or folder brings the file's content into a key.

A string or path given to a node (a constant, a parameter, an upstream
output, also inside lists and dicts) that names an existing file adds the
file's fingerprint — size, modification time and a hash of its content — to
the node's cache key. The content hash is remembered by inode, mtime and
size, so a big file is read once until it changes. A folder counts by its
listing and its files' fingerprints, up to a bound past which its listing
with sizes and times stands in.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

MAX_ITEMS = 1_000  # items of a list or dict searched for paths
MAX_FOLDER_FILES = 2_000  # files of a folder hashed by content; past it, by size and time
_CHUNK = 1 << 20


def paths_in(value: Any, depth: int = 0) -> Iterator[str]:
    """Strings and paths inside `value` that could name files (not checked yet)."""
    if depth > 6:
        return
    if isinstance(value, PurePath):
        yield str(value)
    elif isinstance(value, str):
        if 0 < len(value) < 4096 and "\n" not in value and "\0" not in value:
            yield value
    elif isinstance(value, (list, tuple)):
        for item in value[:MAX_ITEMS]:
            yield from paths_in(item, depth + 1)
    elif isinstance(value, dict):
        for i, item in enumerate(value.values()):
            if i >= MAX_ITEMS:
                break
            yield from paths_in(item, depth + 1)


def existing(value: Any, folder: str | os.PathLike[str] | None) -> list[str]:
    """The paths inside `value` that name an existing file or folder (relative to `folder`)."""
    found = []
    for text in paths_in(value):
        path = _resolve(text, folder)
        try:
            if path.exists():
                found.append(text)
        except (OSError, ValueError):
            continue
    return sorted(set(found))


def fingerprints(paths: list[str], folder: str | os.PathLike[str] | None) -> dict[str, str]:
    """Each path's fingerprint now ("missing" when it is gone)."""
    return {text: path_fingerprint(_resolve(text, folder)) for text in paths}


def _resolve(text: str, folder: str | os.PathLike[str] | None) -> Path:
    path = Path(text).expanduser()
    if not path.is_absolute() and folder is not None:
        path = Path(folder) / path
    return path


def path_fingerprint(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    if path.is_dir():
        return "folder:" + _folder(path)
    return _content(str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _content(path: str, inode: int, mtime_ns: int, size: int) -> str:
    digest = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return "unreadable"
    return f"{size}:{digest.hexdigest()}"


def _folder(folder: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    entries = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            entries.append(os.path.join(root, name))
        if len(entries) > MAX_FOLDER_FILES * 10:
            break
    by_content = len(entries) <= MAX_FOLDER_FILES
    for entry in entries:
        relative = os.path.relpath(entry, folder)
        try:
            stat = os.stat(entry)
        except OSError:
            continue
        part = (
            _content(entry, stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if by_content
            else f"{stat.st_size}:{stat.st_mtime_ns}"
        )
        digest.update(f"{relative}\0{part}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
