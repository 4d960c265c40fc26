"""Checksums of stored results: SHA-256 over 16 MiB chunks, hashed on several threads.

One hash serves both needs of a stored value. As its checksum it says whether
a file still holds the bytes that were written; as its digest it is what the
cache keys of the value's consumers chain on, so it must be a hash a collision
of which nobody meets by accident or design: SHA-256, which processors with
SHA extensions compute at about a gigabyte a second per core.

The stream is cut into chunks of 16 MiB, each hashed on its own, and the root
is the hash of the chunk hashes and the length. The result depends on the
bytes only, never on how many threads computed it; a large array in memory or
a memory-mapped file is hashed by every core at once (hashlib lets go of the
interpreter lock while it hashes).

Entries written before this scheme carry a CRC-32 (eight hex digits) and are
still checked with it.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CHUNK = 16 * 1024 * 1024
PREFIX = "sha256/16m:"  # how a checksum of this scheme starts

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            threads = max(1, min(8, os.cpu_count() or 1))
            _POOL = ThreadPoolExecutor(threads, thread_name_prefix="plait-hash")
        return _POOL


def _root(chunks: Sequence[bytes], size: int) -> str:
    return hashlib.sha256(b"".join(chunks) + size.to_bytes(8, "big")).hexdigest()


class ChunkedHash:
    """The hash of a stream written piece by piece (a serializer's writes)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._current = hashlib.sha256()
        self._fill = 0
        self.size = 0

    def update(self, data: Any) -> None:
        view = memoryview(data).cast("B")
        self.size += len(view)
        while len(view):
            take = min(len(view), CHUNK - self._fill)
            self._current.update(view[:take])
            self._fill += take
            view = view[take:]
            if self._fill == CHUNK:
                self._chunks.append(self._current.digest())
                self._current = hashlib.sha256()
                self._fill = 0

    def hexdigest(self) -> str:
        last = [self._current.digest()] if self._fill or not self._chunks else []
        return _root(self._chunks + last, self.size)


def hash_parts(parts: Sequence[Any]) -> str:
    """The hash of the stream made of `parts` (buffers) one after another, on all cores."""
    views = [memoryview(p).cast("B") for p in parts]
    size = sum(len(v) for v in views)
    # Each chunk as (part index, start, stop) pieces.
    chunks: list[list[tuple[int, int, int]]] = [[]]
    fill = 0
    for index, view in enumerate(views):
        start = 0
        while start < len(view):
            take = min(len(view) - start, CHUNK - fill)
            chunks[-1].append((index, start, start + take))
            start += take
            fill += take
            if fill == CHUNK:
                chunks.append([])
                fill = 0
    if not chunks[-1] and len(chunks) > 1:
        chunks.pop()

    def one(pieces: list[tuple[int, int, int]]) -> bytes:
        digest = hashlib.sha256()
        for index, start, stop in pieces:
            digest.update(views[index][start:stop])
        return digest.digest()

    if len(chunks) == 1:
        return _root([one(chunks[0])], size)
    return _root(list(_pool().map(one, chunks)), size)


def file_hash(path: Path) -> str:
    """The hash of a file's bytes, read through a memory map (the page cache, not copies)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return hash_parts([b""])
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                return hash_parts([view])
            finally:
                view.release()


def checksum_of(hex_hash: str) -> str:
    return PREFIX + hex_hash


def bytes_match(data: Any, checksum: str) -> bool:
    """Whether in-memory bytes match a checksum of either scheme."""
    if checksum.startswith(PREFIX):
        return hash_parts([data]) == checksum[len(PREFIX) :]
    return f"{zlib.crc32(data):08x}" == checksum


def file_matches(path: Path, checksum: str) -> bool:
    """Whether a file's bytes match a checksum of either scheme (OSError when unreadable)."""
    if checksum.startswith(PREFIX):
        return file_hash(path) == checksum[len(PREFIX) :]
    value = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            value = zlib.crc32(chunk, value)
    return f"{value:08x}" == checksum
