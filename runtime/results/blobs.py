"""Results by reference: blobs with checksums, read and written through the serializers.

The worker that computes a value writes it here and hands back an `OutputRef`;
downstream workers load the value from the reference. The scheduling process
(the window or the CLI) only ever sees references and summaries, so a flow of
gigabyte arrays does not grow it.

Small values travel inline (the bytes ride in the reference and are kept in
SQLite); larger ones are files under `.plait/cache/`, written to a temporary
name and renamed into place, with a checksum (see `checksums`) so a blob torn
by a crash is detected and recomputed rather than loaded.

Arrays and tables hold their stored bytes in memory already: they are hashed
where they lie, on every core, and written as they are (`Blob`), which a worker
does in the background (see `held`). From 16 MiB on they are read memory-mapped,
so consumers share the page cache instead of each holding a copy.
"""

from __future__ import annotations

import errno
import io
import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from plait.runtime.keys.files import existing
from plait.runtime.results import checksums
from plait.runtime.results.serializers import _BY_NAME, Serializer, serializer_for, summarize
from plait.runtime.workspace.private import FILE_MODE, open_private, private_dir

INLINE_LIMIT = 64 * 1024
MAP_LIMIT = 16 * 1024 * 1024  # arrays and tables from this size on are memory-mapped when read
_PIECE = 64 * 1024 * 1024  # a blob is written in pieces of this size
DIRECT_FROM = 64 * 1024 * 1024  # blobs this large are written past the page cache
_TEMPORARY = itertools.count()


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


# -- the store ------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """Where a serializer writes: memory up to the inline limit, then a private temporary file.

    Size and checksum are taken as the bytes pass, so a large value is neither
    copied into a buffer first nor read again to be hashed.
    """

    def __init__(self, limit: int, target: Callable[[], Path]) -> None:
        super().__init__()
        self.limit = limit
        self._target = target  # the file's path, made only if the bytes outgrow memory
        self.file_path: Path | None = None
        self.memory = io.BytesIO()
        self.file: Any = None
        self.hash = checksums.StreamHash()

    @property
    def size(self) -> int:
        return self.hash.size

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.hash.update(view)
        if self.file is None and self.size > self.limit:
            self.file_path = _temporary(self._target())
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
        if self.file_path is not None:
            self.file_path.unlink(missing_ok=True)


@dataclass(eq=False)
class Blob:
    """A large array or table on its way to its file: its stored bytes, as buffers in memory.

    Hashing them (`seal`) and writing them (`ResultStore.finish`) are apart, so
    the two can go on at once.
    """

    serializer: str
    file: str  # relative to the cache folder
    size: int
    parts: list[Any]  # the stored bytes in order, as buffers that keep their memory alive
    value: Any  # the value itself: what a consumer in the same process may share
    summary: dict[str, Any]
    paths: tuple[str, ...] = ()

    def seal(self) -> OutputRef:
        """Hash the bytes, on every core, and make the value's reference."""
        digest = checksums.hash_parts(self.parts)
        return OutputRef(
            self.serializer,
            self.size,
            checksums.checksum_of(digest),
            self.summary,
            file=self.file,
            digest=f"{self.serializer}:{digest}",
            paths=self.paths,
        )


def _write_piece(fh: Any, piece: Any) -> None:
    fh.write(piece)


_DIRECT_CHUNK = 8 * 1024 * 1024  # what a direct write copies its bytes through
_BLOCK = 4096  # direct writes go in whole blocks, from memory aligned to them


class _DirectFile:
    """A new file written past the page cache (O_DIRECT), readable by its owner only.

    A large result would otherwise be copied into the page cache as it is written:
    as much memory again as the value itself, taken from the machine just when
    the value is made, and pages the consumers on this worker never read (they
    share the value in memory). The bytes go through one block-aligned buffer.
    Where the file system refuses direct writes the file is written as usual.
    """

    def __init__(self, path: Path) -> None:
        import mmap

        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            self.fd = os.open(path, flags | os.O_DIRECT, FILE_MODE)
            self.direct = True
        except OSError:  # tmpfs and others take no direct writes
            self.fd = os.open(path, flags, FILE_MODE)
            self.direct = False
        if os.name == "posix":
            os.fchmod(self.fd, FILE_MODE)
        self._buffer = mmap.mmap(-1, _DIRECT_CHUNK)  # page-aligned
        self._view = memoryview(self._buffer)
        self._fill = 0
        self.size = 0

    def write(self, data: Any) -> int:
        data = memoryview(data).cast("B")
        pos = 0
        while pos < len(data):
            n = min(_DIRECT_CHUNK - self._fill, len(data) - pos)
            self._view[self._fill : self._fill + n] = data[pos : pos + n]
            self._fill += n
            pos += n
            if self._fill == _DIRECT_CHUNK:
                self._out(_DIRECT_CHUNK)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to do: a direct write is on disk once written; the rest waits for whole blocks."""

    def _out(self, length: int) -> None:
        done = 0
        while done < length:
            try:
                done += os.write(self.fd, self._view[done:length])
            except OSError as exc:
                if not self.direct or exc.errno != errno.EINVAL:
                    raise
                self._buffered()  # a device whose blocks are larger: go on as usual
        self._fill = 0

    def _buffered(self) -> None:
        import fcntl

        fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~os.O_DIRECT)
        self.direct = False

    def close(self) -> None:
        try:
            if self._fill:
                padded = -(-self._fill // _BLOCK) * _BLOCK if self.direct else self._fill
                self._view[self._fill : padded] = bytes(padded - self._fill)
                self._out(padded)
                os.ftruncate(self.fd, self.size)
        finally:
            os.close(self.fd)
            self._view.release()
            self._buffer.close()

    def __enter__(self) -> _DirectFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _temporary(target: Path) -> Path:
    """A name of its own for each write: a worker may write in the background and in front at once."""
    return target.with_name(f".{target.name}.{os.getpid()}.{next(_TEMPORARY)}.tmp")


def temporaries(target: Path, pid: int) -> list[Path]:
    """The temporary files a process left while writing `target` (it died mid-write)."""
    return list(target.parent.glob(f".{target.name}.{pid}.*.tmp"))


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
        found = self.prepare(key, port, value, folder)
        return found if isinstance(found, OutputRef) else self.write_blob(found)

    def write_blob(self, blob: Blob) -> OutputRef:
        """Write a blob's file while its bytes are hashed: the reference, once both are done."""
        failure: list[BaseException] = []

        def write() -> None:
            try:
                self.finish(blob)
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
                failure.append(exc)

        writer = threading.Thread(target=write, name="plait-write")
        writer.start()
        try:
            ref = blob.seal()
        finally:
            writer.join()
        if failure:
            raise failure[0]
        return ref

    def prepare(self, key: str, port: str, value: Any, folder: str | None = None) -> OutputRef | Blob:
        """The reference of a value, or for a large array or table the `Blob` to hash and write.

        Everything else (small values, JSON, pickles) is stored at once.
        """
        serializer = serializer_for(value)
        summary = summarize(value)
        relative = f"{key[:2]}/{key}-{port}"
        paths = (
            tuple(existing(value, folder)) if isinstance(value, (str, PurePath, list, tuple, dict)) else ()
        )
        parts = None
        if serializer.parts is not None:
            try:
                parts = serializer.parts(value)
            except Exception:  # noqa: BLE001 - a table Arrow cannot hold is pickled instead
                serializer, parts = _BY_NAME["pickle"], None
        if parts is not None:
            size = sum(memoryview(p).nbytes for p in parts)
            blob = Blob(serializer.name, relative + serializer.extension, size, parts, value, summary, paths)
            if size > self.inline_limit:
                return blob
            sealed = blob.seal()
            data = b"".join(bytes(p) for p in parts)
            return OutputRef(
                serializer.name, size, sealed.checksum, summary, data=data, digest=sealed.digest, paths=paths
            )
        try:
            sink = self._dump(serializer, value, relative)
        except Exception:
            if serializer.name == "pickle":
                raise
            serializer = _BY_NAME["pickle"]
            sink = self._dump(serializer, value, relative)
        digest = sink.hash.hexdigest()
        checksum, content = checksums.checksum_of(digest), f"{serializer.name}:{digest}"
        if sink.file is None:
            return OutputRef(
                serializer.name,
                sink.size,
                checksum,
                summary,
                data=sink.memory.getvalue(),
                digest=content,
                paths=paths,
            )
        relative += serializer.extension
        assert sink.file_path is not None
        os.replace(sink.file_path, self.folder / relative)
        return OutputRef(
            serializer.name, sink.size, checksum, summary, file=relative, digest=content, paths=paths
        )

    def finish(self, blob: Blob) -> None:
        """Write a blob's file: to a temporary name, renamed into place once complete.

        A process that dies on the way leaves only the temporary file, never a
        file under the blob's name; the cache index names the blob only after this returns.
        """
        target = self.folder / blob.file
        private_dir(target.parent)
        temporary = _temporary(target)
        try:
            direct = hasattr(os, "O_DIRECT") and blob.size >= DIRECT_FROM
            with _DirectFile(temporary) if direct else open_private(temporary) as fh:
                for part in blob.parts:
                    view = memoryview(part).cast("B")
                    for start in range(0, len(view), _PIECE):
                        _write_piece(fh, view[start : start + _PIECE])
            written = temporary.stat().st_size
            if written != blob.size:
                raise OSError(f"{written} bytes were written of {blob.size}")
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _dump(self, serializer: Serializer, value: Any, relative: str) -> _Sink:
        """Serialize straight to a temporary file (in memory while small), hashing as it goes."""
        sink = _Sink(self.inline_limit, lambda: self.folder / f"{relative}{serializer.extension}")
        try:
            serializer.dump(value, sink)
        except BaseException:
            sink.discard()
            raise
        sink.close()
        return sink

    def _serializer(self, ref: OutputRef) -> Serializer:
        serializer = _BY_NAME.get(ref.serializer)
        if serializer is None:
            raise CorruptResult(f"no serializer '{ref.serializer}' is registered")
        if serializer.name == "pickle" and not self.allow_pickle:
            raise PickleRefused(
                "the value is a pickle, and reading it would run code of a workspace that is "
                "not trusted: trust the workspace to read it"
            )
        return serializer

    def read(self, ref: OutputRef) -> Any:
        """Load a value, refusing one whose bytes do not match their checksum."""
        serializer = self._serializer(ref)
        if ref.data is None and serializer.mapped is not None and ref.size >= MAP_LIMIT:
            return self._map(serializer, ref)
        if ref.data is not None:
            data = ref.data
        else:
            try:
                data = self.path(ref).read_bytes()
            except OSError as exc:
                raise CorruptResult(f"result file {ref.file} cannot be read: {exc}") from None
        # Every read is checked, not only the cache's size check: a flipped byte keeps the size.
        if len(data) != ref.size or not checksums.bytes_match(data, ref.checksum):
            where = f"result file {ref.file}" if ref.file else "stored result"
            raise CorruptResult(f"the {where} is damaged: its bytes do not match their checksum")
        return serializer.load(io.BytesIO(data))

    def _map(self, serializer: Serializer, ref: OutputRef) -> Any:
        """A large array or table, memory-mapped: consumers share the page cache, not copies.

        The file is checked against its checksum first, through a map of its own (from
        the page cache when another consumer just read it). Arrays come read-only, as
        they do to a consumer sharing a worker's memory; tables copy a column before
        it is changed (pandas' copy-on-write).
        """
        assert serializer.mapped is not None
        path = self.path(ref)
        try:
            if path.stat().st_size != ref.size or not checksums.file_matches(path, ref.checksum):
                raise CorruptResult(
                    f"the result file {ref.file} is damaged: its bytes do not match their checksum"
                )
            return serializer.mapped(path)
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
        """Full check of a stored value against its checksum (a file is mapped, not read)."""
        if ref.file is None:
            return ref.data is None or checksums.bytes_match(ref.data, ref.checksum)
        try:
            return self.exists(ref) and checksums.file_matches(self.path(ref), ref.checksum)
        except OSError:
            return False

    def delete(self, ref: OutputRef) -> None:
        if ref.file is not None:
            try:
                self.path(ref).unlink()
            except FileNotFoundError:
                pass
