"""The library process: node libraries imported outside the process that asked for them.

The window must survive the code it shows. Importing a workspace file runs its
top-level code, which may raise, hang, call `os._exit` or crash the interpreter
(a C extension's segmentation fault). `HostLoader` imports each library in one
long-lived child process (started with spawn, like the engine's workers) and
gets back plain spec data: ports, options, docstring, fingerprint — no
function objects. A library that fails, hangs past the timeout, or kills the
process becomes a library in error, naming the file, the line (from the
process's fault handler) and how it failed; the process is started again for
the next one. Edits reload in the same process, so a save shows in the palette
in a fraction of a second.

What crosses back is pickled by a pickler that replaces everything of the
user's own code (workspace modules, `__main__`, the modules the workspace
lists) by stand-ins: a class becomes a forward reference to its name, an
instance its repr. The receiving side unpickles with an unpickler that refuses
those modules, so reading a spec never imports the user's code here.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import io
import multiprocessing
import os
import pickle
import re
import sys
import tempfile
import threading
import time
import traceback
import typing
from pathlib import Path
from typing import Any

from plait.runtime.nodes.loader import SIGNATURE_ATTRIBUTE, WORKSPACE_MODULE_PREFIX
from plait.runtime.nodes.processes import describe_exit, exit_with_parent, plain_main
from plait.runtime.nodes.spec import ForeignValue, KeyDigest, NodeSpec, Port

DEFAULT_TIMEOUT = 20.0  # seconds one library may take to import (workspace setting `library_timeout`)


class HostFailure(RuntimeError):
    """The library process failed a request: it hung past the timeout or died."""


def _user_module(name: str, user_packages: frozenset[str]) -> bool:
    if not name:
        return False
    if name == "__main__" or name.startswith(WORKSPACE_MODULE_PREFIX):
        return True
    if name.split(".")[0] in user_packages:
        return True
    module = sys.modules.get(name)
    return module is not None and hasattr(module, SIGNATURE_ATTRIBUTE)  # imported by the loader


class _PlainPickler(pickle.Pickler):
    """Pickles spec data with the user's classes, functions and objects replaced by stand-ins."""

    def __init__(self, file: Any, user_packages: frozenset[str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.user_packages = user_packages

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__"):
            if _user_module(getattr(obj, "__module__", "") or "", self.user_packages):
                return typing.ForwardRef, (getattr(obj, "__qualname__", repr(obj)),)
            return NotImplemented
        if _user_module(getattr(type(obj), "__module__", "") or "", self.user_packages):
            return ForeignValue, (_short_repr(obj),)
        return NotImplemented


def _short_repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception:  # noqa: BLE001 - a repr that raises still needs a label
        text = f"<{type(obj).__qualname__}>"
    return text if len(text) <= 200 else text[:197] + "..."


class _PlainUnpickler(pickle.Unpickler):
    """Reads what the library process sent, refusing anything that would import user code."""

    def __init__(self, file: Any, user_packages: frozenset[str]) -> None:
        super().__init__(file)
        self.user_packages = user_packages

    def find_class(self, module: str, name: str) -> Any:
        if _user_module(module, self.user_packages):
            raise pickle.UnpicklingError(f"refusing to import {module}.{name} in this process")
        return super().find_class(module, name)


def dumps_plain(obj: Any, user_packages: frozenset[str] = frozenset()) -> bytes:
    buffer = io.BytesIO()
    _PlainPickler(buffer, user_packages).dump(obj)
    return buffer.getvalue()


def loads_plain(data: bytes, user_packages: frozenset[str] = frozenset()) -> Any:
    return _PlainUnpickler(io.BytesIO(data), user_packages).load()


def _plain_spec(spec: NodeSpec) -> NodeSpec:
    return dataclasses.replace(
        spec, func=None, cache_key=RemoteKey(spec.key) if spec.cache_key is not None else None
    )


def _flattened_port(port: Port) -> Port:
    from plait.runtime.nodes.port_types import type_name
    from plait.runtime.nodes.spec import REQUIRED

    default = port.default if port.default is REQUIRED else ForeignValue(_short_repr(port.default))
    choices = tuple(ForeignValue(_short_repr(c)) for c in port.choices) if port.choices else port.choices
    return dataclasses.replace(
        port, annotation=typing.ForwardRef(type_name(port.annotation)), default=default, choices=choices
    )


def _pack_library(library: Any, user_packages: frozenset[str]) -> bytes:
    """A library as plain bytes; a spec whose ports will not pickle is sent with flattened ports."""
    specs = [_plain_spec(spec) for spec in library.specs]
    plain = dataclasses.replace(library, specs=specs)
    try:
        return dumps_plain(plain, user_packages)
    except Exception:  # noqa: BLE001 - fall back spec by spec
        kept = []
        for spec in specs:
            try:
                dumps_plain(spec, user_packages)
                kept.append(spec)
            except Exception:  # noqa: BLE001 - ports with values that cannot travel
                kept.append(
                    dataclasses.replace(
                        spec,
                        inputs=tuple(_flattened_port(p) for p in spec.inputs),
                        outputs=tuple(_flattened_port(p) for p in spec.outputs),
                    )
                )
        return dumps_plain(dataclasses.replace(library, specs=kept), user_packages)


@dataclasses.dataclass(frozen=True)
class RemoteKey:
    """A node's `@node(cache_key=...)` function, called in the library process.

    Calling it gives a `KeyDigest`: the digest of what the function returned,
    hashed there as the engine would hash it here.
    """

    spec_key: str
    host: Any = dataclasses.field(default=None, compare=False, repr=False)

    def __call__(self, values: dict[str, Any]) -> KeyDigest:
        if self.host is None:
            raise HostFailure(
                f"node {self.spec_key}: its cache_key function is in a library process that is gone"
            )
        return self.host.custom_key(self.spec_key, values)

    def __reduce__(self) -> Any:
        return RemoteKey, (self.spec_key,)


# -- the child process --------------------------------------------------------


def _serve(
    conn: Any, folder: str | None, user_packages: frozenset[str], fault_path: str, timeout: float
) -> None:
    from plait.runtime.nodes import libraries
    from plait.runtime.nodes.decorator import node_metadata

    exit_with_parent()
    fault_file = open(fault_path, "w", encoding="utf-8")  # noqa: SIM115 - open for the process's life
    faulthandler.enable(file=fault_file, all_threads=False)
    workspace = Path(folder) if folder else None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if request is None:
            return
        kind, *args = request
        fault_file.seek(0)
        fault_file.truncate()
        # Where a hang is stuck, written just before the caller gives up.
        faulthandler.dump_traceback_later(max(timeout - 0.3, 0.05), exit=False, file=fault_file)
        try:
            if kind == "file":
                reply: Any = (
                    "ok",
                    _pack_library(libraries.load_file_library(Path(args[0]), workspace), user_packages),
                )
            elif kind == "module":
                library = libraries.load_module_library(args[0], reload=args[1], folder=workspace)
                reply = ("ok", _pack_library(library, user_packages))
            elif kind == "forget":
                libraries.forget_workspace(Path(args[0]))
                reply = ("ok", b"")
            elif kind == "cache_key":
                from plait.runtime.keys.values import value_key

                fn = libraries.resolve_callable(args[0], workspace)
                custom = node_metadata(fn).get("cache_key")
                reply = ("ok", dumps_plain(KeyDigest(value_key(custom(args[1])))))
            else:
                reply = ("error", f"unknown request {kind!r}")
        except BaseException:  # noqa: BLE001 - reported to the caller, the process lives on
            reply = ("error", traceback.format_exc())
        finally:
            faulthandler.cancel_dump_traceback_later()
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


# -- the caller's side ----------------------------------------------------------


class HostLoader:
    """Loads a workspace's libraries in a child process; a `Catalog` loader (see libraries.py)."""

    def __init__(
        self, folder: Path | None, *, timeout: float = DEFAULT_TIMEOUT, user_packages: tuple[str, ...] = ()
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.timeout = float(timeout)
        self.user_packages = frozenset(name.split(".")[0] for name in user_packages)
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()
        handle, self._fault_path = tempfile.mkstemp(prefix="plait-libraries-", suffix=".txt")
        os.close(handle)

    # the Catalog loader interface

    def load_file(self, path: Path, folder: Path | None) -> Any:
        from plait.runtime.nodes.libraries import Library, file_signature, workspace_module_name

        path = Path(path)
        name = path.relative_to(folder).as_posix() if folder else path.name
        try:
            return self._library(self._call(("file", str(path)), path))
        except HostFailure as failure:
            library = Library(name, path, workspace_module_name(path), signature=file_signature(path))
            library.error = f"Importing {name} failed: {failure}. Fix the file and save it to load it again."
            library.crashed = True
            return library

    def load_module(self, name: str, reload: bool, folder: Path | None = None) -> Any:
        from plait.runtime.nodes.libraries import Library, load_module_library

        if name.split(".")[0] == "plait":
            return load_module_library(name, reload=reload)  # Plait's own nodes: safe here
        try:
            return self._library(self._call(("module", name, reload), None))
        except HostFailure as failure:
            library = Library(name, None, name)
            library.error = f"Importing {name} failed: {failure}"
            return library

    def forget(self, folder: Path) -> None:
        if self._process is not None and self._process.is_alive():
            try:
                self._call(("forget", str(folder)), None)
            except HostFailure:
                pass  # a dead process has forgotten everything anyway

    def custom_key(self, spec_key: str, values: dict[str, Any]) -> KeyDigest:
        reply = self._call(("cache_key", spec_key, values), None)
        return loads_plain(reply, self.user_packages)

    def close(self) -> None:
        with self._lock:
            self._stop()
        try:
            os.unlink(self._fault_path)
        except OSError:
            pass

    @property
    def pid(self) -> int | None:
        """The library process's id, while it runs."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    # the process

    def _library(self, data: bytes) -> Any:
        library = loads_plain(data, self.user_packages)
        library.specs = [
            dataclasses.replace(spec, cache_key=RemoteKey(spec.key, self))
            if isinstance(spec.cache_key, RemoteKey)
            else spec
            for spec in library.specs
        ]
        return library

    def _start(self) -> None:
        from plait.runtime.nodes import host

        self._conn, child = self._context.Pipe()
        self._process = self._context.Process(
            target=host._serve,
            args=(
                child,
                str(self.folder) if self.folder else None,
                self.user_packages,
                self._fault_path,
                self.timeout,
            ),
            daemon=True,
            name="plait-libraries",
        )
        with plain_main():
            self._process.start()
        child.close()

    def _stop(self) -> None:
        if self._process is None:
            return
        try:
            self._conn.send(None)
        except (OSError, ValueError):
            pass
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=2)
        self._conn.close()
        self._process = self._conn = None

    def _call(self, request: tuple[Any, ...], path: Path | None) -> Any:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                if self._process is not None:
                    self._stop()
                self._start()
            self._conn.send(request)
            deadline = time.monotonic() + self.timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    time.sleep(0.4)  # the fault handler writes where it hangs just before the deadline
                    self._process.kill()
                    self._stop()
                    raise HostFailure(f"it did not finish within {self.timeout:g} s{self._where(path)}")
                try:
                    ready = self._conn.poll(min(remaining, 0.05))
                except (OSError, EOFError):
                    ready = False
                if ready:
                    try:
                        status, payload = self._conn.recv()
                    except (EOFError, OSError):
                        break  # the process died while answering
                    if status == "ok":
                        return payload
                    raise HostFailure(payload)
                if not self._process.is_alive():
                    break
            self._process.join(timeout=2)
            code = self._process.exitcode
            self._stop()
            raise HostFailure(describe_exit(code, "the process loading it") + self._where(path))

    def _where(self, path: Path | None) -> str:
        """`, at pipeline.py line 3`: the deepest frame in `path` the fault handler wrote."""
        try:
            text = Path(self._fault_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        frames = re.findall(r'File "(.+?)", line (\d+)', text)
        if path is not None:
            mine = [line for file, line in frames if Path(file).resolve() == Path(path).resolve()]
            if mine:
                return f", at {Path(path).name} line {mine[0]}"  # faulthandler lists the deepest first
        return ""
