"""Results by reference: blobs with checksums, read and written through the serializers.

The worker that computes a value writes it here and hands back an `OutputRef`;
downstream workers load the value from the reference. The scheduling process
(the window or the CLI) only ever sees references and summaries, so a flow of
gigabyte arrays does not grow it.

Small values travel inline (the bytes ride in the reference and are kept in
SQLite); larger ones are files under `.plait/cache/`, written to a temporary
name and renamed into place, with a CRC so a blob torn by a crash is detected
and recomputed rather than loaded.
"""

from __future__ import annotations

import hashlib
import io
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from plait.runtime.keys.files import existing
from plait.runtime.results.serializers import _BY_NAME, Serializer, serializer_for, summarize
from plait.runtime.workspace.private import open_private, private_dir

INLINE_LIMIT = 64 * 1024
MAP_LIMIT = 16 * 1024 * 1024  # arrays from this size on are memory-mapped when read
_CHUNK = 1 << 20


class CorruptResult(Exception):
    """A stored result is missing or fails its checksum."""


@dataclass(frozen=True)
class OutputRef:
    """Where one output value lives and what it looks like, without the value."""

    serializer: str
    size: int
    checksum: str
    summary: dict[str, Any]
    file: str | None = None  # relative to the cache folder
    data: bytes | None = field(default=None, repr=False)  # inline bytes
    # A content digest of the stored bytes: consumers' cache keys chain on it.
    digest: str = ""
    # Paths the value names that existed when it was made: their files count in
    # the keys of the nodes that read the value.
    paths: tuple[str, ...] = ()

    def meta(self) -> dict[str, Any]:
        """What the cache index keeps of this reference (inline bytes go elsewhere)."""
        meta = {
            "serializer": self.serializer,
            "size": self.size,
            "checksum": self.checksum,
            "summary": self.summary,
            "file": self.file,
            "digest": self.digest,
        }
        if self.paths:
            meta["paths"] = list(self.paths)
        return meta

    @classmethod
    def from_meta(cls, meta: dict[str, Any], data: bytes | None = None) -> OutputRef:
        return cls(
            meta["serializer"],
            meta["size"],
            meta["checksum"],
            meta["summary"],
            meta.get("file"),
            data,
            meta.get("digest", ""),
            tuple(meta.get("paths", ())),
        )


def _crc(data: bytes, value: int = 0) -> int:
    return zlib.crc32(data, value)


def file_checksum(path: Path) -> str:
    value = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            value = _crc(chunk, value)
    return f"{value:08x}"


# -- the store ------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """Where a serializer writes: memory up to the inline limit, then a private temporary file.

    Size, CRC and content digest are taken as the bytes pass, so a large value
    is neither copied into a buffer first nor read again to be hashed.
    """

    def __init__(self, limit: int, file_path: Path) -> None:
        super().__init__()
        self.limit = limit
        self.file_path = file_path
        self.memory = io.BytesIO()
        self.file: Any = None
        self.size = 0
        self.crc = 0
        self.hash = hashlib.blake2b(digest_size=20)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.crc = _crc(view, self.crc)
        self.hash.update(view)
        self.size += len(view)
        if self.file is None and self.size > self.limit:
            private_dir(self.file_path.parent)
            self.file = open_private(self.file_path)
            self.file.write(self.memory.getbuffer())
            self.memory = io.BytesIO()
        (self.file or self.memory).write(view)
        return len(view)

    def close(self) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()
        super().close()

    def discard(self) -> None:
        self.close()
        if self.file is not None:
            self.file_path.unlink(missing_ok=True)


class PickleRefused(Exception):
    """A pickled value of a workspace that is not trusted: reading it could run any code."""


class ResultStore:
    """Reads and writes result blobs under a workspace's cache folder."""

    def __init__(self, folder: str | os.PathLike[str], inline_limit: int = INLINE_LIMIT) -> None:
        self.folder = Path(folder)
        self.inline_limit = inline_limit
        # Unpickling runs code named by the bytes: off for a workspace that is not trusted.
        self.allow_pickle = True

    def path(self, ref: OutputRef) -> Path:
        assert ref.file is not None
        return self.folder / ref.file

    def write(self, key: str, port: str, value: Any, folder: str | None = None) -> OutputRef:
        """Store one output value and return its reference.

        `folder` is where relative paths in the value are looked for (the workspace).
        """
        serializer = serializer_for(value)
        summary = summarize(value)
        relative = f"{key[:2]}/{key}-{port}"
        try:
            sink = self._dump(serializer, value, relative)
        except Exception:
            if serializer.name == "pickle":
                raise
            serializer = _BY_NAME["pickle"]
            sink = self._dump(serializer, value, relative)
        checksum = f"{sink.crc:08x}"
        digest = f"{serializer.name}:{sink.hash.hexdigest()}"
        paths = (
            tuple(existing(value, folder)) if isinstance(value, (str, PurePath, list, tuple, dict)) else ()
        )
        size = sink.size
        if sink.file is None:
            return OutputRef(
                serializer.name,
                size,
                checksum,
                summary,
                data=sink.memory.getvalue(),
                digest=digest,
                paths=paths,
            )
        relative += serializer.extension
        os.replace(sink.file_path, self.folder / relative)
        return OutputRef(serializer.name, size, checksum, summary, file=relative, digest=digest, paths=paths)

    def _dump(self, serializer: Serializer, value: Any, relative: str) -> _Sink:
        """Serialize straight to a temporary file (in memory while small), hashing as it goes."""
        target = self.folder / f"{relative}{serializer.extension}"
        sink = _Sink(self.inline_limit, target.with_name(f".{target.name}.{os.getpid()}.tmp"))
        try:
            serializer.dump(value, sink)
        except BaseException:
            sink.discard()
            raise
        sink.close()
        return sink

    def read(self, ref: OutputRef) -> Any:
        """Load a value, refusing one whose bytes do not match their checksum."""
        serializer = _BY_NAME.get(ref.serializer)
        if serializer is None:
            raise CorruptResult(f"no serializer '{ref.serializer}' is registered")
        if serializer.name == "pickle" and not self.allow_pickle:
            raise PickleRefused(
                "the value is a pickle, and reading it would run code of a workspace that is "
                "not trusted: trust the workspace to read it"
            )
        if ref.data is None and serializer.name == "npy" and ref.size >= MAP_LIMIT:
            return self._map_array(ref)
        if ref.data is not None:
            data = ref.data
        else:
            try:
                data = self.path(ref).read_bytes()
            except OSError as exc:
                raise CorruptResult(f"result file {ref.file} cannot be read: {exc}") from None
        # Every read is checked, not only the cache's size check: a flipped byte keeps
        # the size. CRC-32 costs about 40 ms per 100 MB, a fraction of loading them.
        if len(data) != ref.size or f"{_crc(data):08x}" != ref.checksum:
            where = f"result file {ref.file}" if ref.file else "stored result"
            raise CorruptResult(f"the {where} is damaged: its bytes do not match their checksum")
        return serializer.load(io.BytesIO(data))

    def _map_array(self, ref: OutputRef) -> Any:
        """A large array, memory-mapped copy-on-write: consumers share the page cache, not copies.

        The file is checked against its checksum first (read in chunks, from the page
        cache when another consumer just read it); writing to the array changes the
        consumer's own pages only, never the file.
        """
        import numpy

        path = self.path(ref)
        try:
            if path.stat().st_size != ref.size or file_checksum(path) != ref.checksum:
                raise CorruptResult(
                    f"the result file {ref.file} is damaged: its bytes do not match their checksum"
                )
            return numpy.asarray(numpy.load(path, mmap_mode="c", allow_pickle=False))
        except OSError as exc:
            raise CorruptResult(f"result file {ref.file} cannot be read: {exc}") from None

    def exists(self, ref: OutputRef) -> bool:
        """Cheap check: inline, or a file of the right size."""
        if ref.data is not None or ref.file is None:
            return True
        try:
            return self.path(ref).stat().st_size == ref.size
        except OSError:
            return False

    def verify(self, ref: OutputRef) -> bool:
        """Full check of a stored file against its checksum (reads it in chunks)."""
        if ref.file is None:
            return ref.data is None or f"{_crc(ref.data):08x}" == ref.checksum
        try:
            return self.exists(ref) and file_checksum(self.path(ref)) == ref.checksum
        except OSError:
            return False

    def delete(self, ref: OutputRef) -> None:
        if ref.file is not None:
            try:
                self.path(ref).unlink()
            except FileNotFoundError:
                pass
