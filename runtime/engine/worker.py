"""What runs a node: load its inputs, call its function, capture what it says, store its outputs.

The same `run_task` serves the worker processes of the local executor and
the inline executor. It imports little, so a fresh worker starts fast.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.runtime.engine.capture import Capture, Message, capture_whole_process
from plait.runtime.nodes.context import using_workspace
from plait.runtime.nodes.processes import exit_with_parent
from plait.runtime.nodes.spec import (
    OUTPUT_ATTRIBUTES,
    OUTPUT_MAPPING,
    OUTPUT_NONE,
    OUTPUT_SEQUENCE,
)
from plait.runtime.nodes.splitting import KeyPort, take_keys
from plait.runtime.results.blobs import CorruptResult, OutputRef, ResultStore


@dataclass
class Task:
    """One attempt at running one node, as sent to a worker."""

    id: str
    run_id: str
    node_id: str
    title: str
    spec_key: str
    key: str  # the node's cache key: results are stored under it
    cache_folder: str
    workspace: str | None = None
    # name -> ("value", plain value), ("ref", OutputRef) or, on a cluster that takes nodes
    # ahead of their inputs, ("after", (source node, source port))
    inputs: dict[str, tuple[str, Any]] = field(default_factory=dict)
    positional: tuple[str, ...] = ()  # inputs passed by position, in order
    outputs: tuple[str, ...] = ("result",)
    output_style: str = "single"
    keys: tuple[KeyPort, ...] = ()  # outputs split by key: each key's port, its output and key
    func_blob: bytes | None = None  # cloudpickled function when it has no importable key
    log_limit: int = 10_000
    attempt: int = 1
    coerce: dict[str, str] = field(default_factory=dict)  # input -> "path" | "enum:<mod>:<qn>"
    save_to: str | None = None  # path template of a persisted output
    save_mode: str = "write"  # or "checkpoint": an existing file is read instead of running
    context: dict[str, Any] = field(default_factory=dict)  # names the save-to template may use
    kind: str = "call"  # "split" a mapped input into items, or "gather" item results
    fingerprint: str = ""  # the code fingerprint the run was planned with
    recipe: Any = None  # sent ahead of its inputs: how to work out `key` (a merkle.KeyRecipe)
    # Whether nodes still to run read the outputs: a worker then keeps large ones in
    # memory for them (within its budget) while it writes their files.
    hold: bool = False

    def __dask_tokenize__(self) -> str:
        """What Dask hashes the task as when it is sent in a graph: its id, one per run, node and attempt.

        Dask tokenizes every graph it is given; walked field by field, a fan-out's
        tasks (inputs, recipes, context) took more of the scheduling process than
        the rest of sending them.
        """
        return self.id


@dataclass
class Outcome:
    """How a task ended."""

    ok: bool
    outputs: dict[str, OutputRef] = field(default_factory=dict)
    duration: float = 0.0
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    corrupt_input: str | None = None  # the input whose stored value was damaged
    checkpoint: bool = False  # the value was read from its saved file, not computed
    saved_to: str | None = None
    items: list[tuple[OutputRef, str]] | None = None  # a split: each item and its digest
    # The key the outputs were stored under, when it is not the planned one: the
    # code imported here is not the code the run was planned with (a file saved
    # during the run), so its result must never answer for the planned code.
    key: str | None = None
    # Sent ahead of its inputs: the key its worker worked out from them (`Task.recipe`).
    planned_key: str | None = None
    # Sent ahead of its inputs, it did not run: the value of this upstream node never
    # came (it failed, or was gone). The node goes again once that node is done.
    waits_for: str | None = None


_MEMO_LIMIT = 1024
_FUNCTIONS: dict[tuple[str, str | None], Callable[..., Any]] = {}


def _function(task: Task) -> Callable[..., Any]:
    if task.func_blob is not None:
        return pickle.loads(task.func_blob)
    cached = _FUNCTIONS.get((task.spec_key, task.workspace))
    # A function remembered from before the library changed is looked up again when the
    # run was planned with other code (the file is re-imported if it changed on disk).
    if cached is not None and (not task.fingerprint or _fingerprint_of(cached) == task.fingerprint):
        return cached
    from plait.runtime.nodes.libraries import resolve_callable

    fn = resolve_callable(task.spec_key, Path(task.workspace) if task.workspace else None)
    _remember(task.spec_key, task.workspace, fn)
    return fn


def _remember(spec_key: str, workspace: str | None, fn: Callable[..., Any]) -> None:
    if len(_FUNCTIONS) >= _MEMO_LIMIT:  # bounded: a long-lived worker sees many libraries
        _FUNCTIONS.pop(next(iter(_FUNCTIONS)))
    _FUNCTIONS[(spec_key, workspace)] = fn


def preload(workspace: str | None, spec_keys: list[str]) -> None:
    """Import the functions of nodes about to run, while the scheduling process plans them.

    They are imported as a task imports them, in the workspace folder. One that cannot
    be imported is left for its node's task, which reports why.
    """
    from plait.runtime.nodes.libraries import resolve_callable

    with in_folder(workspace), using_workspace(workspace):
        for key in spec_keys:
            if (key, workspace) in _FUNCTIONS:
                continue
            try:
                fn = resolve_callable(key, Path(workspace) if workspace else None)
                _fingerprint_of(fn)  # the task's check of its code is then a lookup
            except (Exception, SystemExit):  # noqa: BLE001 - its task reports it
                continue
            _remember(key, workspace, fn)


def forget_functions() -> None:
    """Drop resolved functions, so changed library files are imported afresh."""
    _FUNCTIONS.clear()
    _FINGERPRINTS.clear()


_FINGERPRINTS: dict[int, tuple[Any, str]] = {}


def _fingerprint_of(fn: Any) -> str:
    hit = _FINGERPRINTS.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    from plait.runtime.keys.fingerprint import code_fingerprint

    digest = code_fingerprint(fn)
    if len(_FINGERPRINTS) >= _MEMO_LIMIT:
        _FINGERPRINTS.pop(next(iter(_FINGERPRINTS)))
    _FINGERPRINTS[id(fn)] = (fn, digest)
    return digest


def stored_key(task: Task, fn: Any) -> str:
    """The key to store a result under: the planned one, unless other code was imported."""
    if not task.fingerprint or task.func_blob is not None:
        return task.key
    actual = _fingerprint_of(fn)
    if actual == task.fingerprint:
        return task.key
    import hashlib

    return hashlib.sha256(f"{task.key}:ran-with:{actual}".encode()).hexdigest()


def _coerce(value: Any, how: str) -> Any:
    if how == "path" and isinstance(value, str):
        return Path(value)
    if how.startswith("enum:"):
        import importlib

        _, module, qualname = how.split(":", 2)
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if not isinstance(value, cls):
            try:
                return cls(value)
            except ValueError:
                return cls[value]
    return value


def _nameable(value: Any) -> bool:
    """Values that may appear in a file name (not tables or arrays)."""
    import datetime

    return isinstance(value, (str, int, float, bool, Path, datetime.date)) and len(str(value)) <= 120


def _split_outputs(task: Task, value: Any) -> dict[str, Any]:
    """The value of each output port: the return value split by the node's style, then by key."""
    outputs = _by_style(task, value)
    return take_keys(task.title, outputs, task.keys) if task.keys else outputs


def _by_style(task: Task, value: Any) -> dict[str, Any]:
    names = task.outputs
    if task.output_style == OUTPUT_NONE:
        return {}
    if task.output_style == OUTPUT_SEQUENCE and not isinstance(value, Mapping):
        values = tuple(value)
        if len(values) != len(names):
            raise ValueError(
                f"node '{task.title}' returned {len(values)} values but has "
                f"{len(names)} outputs ({', '.join(names)})"
            )
        return dict(zip(names, values, strict=False))
    if task.output_style in (OUTPUT_MAPPING, OUTPUT_SEQUENCE):
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"node '{task.title}' returned no value for output(s) {', '.join(missing)}")
        return {n: value[n] for n in names}
    if task.output_style == OUTPUT_ATTRIBUTES:
        return {n: getattr(value, n) for n in names}
    return {names[0]: value} if names else {}


def _split(task: Task, store: ResultStore) -> Outcome:
    """Store each item of a mapped input on its own, with a digest of its content."""
    import hashlib

    started = time.perf_counter()
    ((name, (kind, payload)),) = task.inputs.items()
    try:
        value = store.read(payload) if kind == "ref" else payload
    except CorruptResult as exc:
        return _damaged_input(exc, name, started)
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping):
        raise TypeError(
            f"node '{task.title}' maps over input '{name}', which needs a list "
            f"(or another iterable of items), not a {type(value).__name__}"
        )
    items = []
    for index, item in enumerate(value):
        ref = store.write(f"{task.key}-{index}", "item", item)
        # The digest of the item's stored bytes (or, held in a cluster, of its value).
        items.append((ref, hashlib.sha256(ref.digest.encode()).hexdigest()))
    return Outcome(True, duration=time.perf_counter() - started, items=items)


def _gather(task: Task, store: ResultStore) -> Outcome:
    """Collect item results, in order, into one list per output."""
    started = time.perf_counter()
    values: dict[str, list[Any]] = {}
    for port, (_, refs) in task.inputs.items():
        values[port] = []
        for index, ref in enumerate(refs):
            try:
                values[port].append(store.read(ref))
            except CorruptResult as exc:
                # The item's cached result is damaged: the scheduler recomputes that item.
                return _damaged_input(exc, f"{port}#{index}", started)
    outputs = {port: store.write(task.key, port, items) for port, items in values.items()}
    return Outcome(True, outputs, time.perf_counter() - started)


def _damaged_input(error: CorruptResult, name: str, started: float) -> Outcome:
    """The outcome of a task whose input `name` failed its checksum: the scheduler recomputes it."""
    return Outcome(
        False,
        duration=time.perf_counter() - started,
        error_type="CorruptResult",
        error_message=str(error),
        corrupt_input=name,
    )


def run_task(task: Task, send: Callable[[Message], None], store: ResultStore | None = None) -> Outcome:
    """Run one task to its end, sending log and progress messages as it goes."""
    store = store or ResultStore(task.cache_folder)
    if task.workspace:
        from plait.runtime.nodes.loader import workspace_importer

        # The workspace's private module names import here: an input may be a pickled
        # value of one of its classes, read before (or without) importing its files.
        workspace_importer(task.workspace)
    if task.kind != "call":
        try:
            return (_split if task.kind == "split" else _gather)(task, store)
        except Exception as exc:  # noqa: BLE001 - reported like a node's own failure
            return Outcome(
                False,
                error_type=type(exc).__name__,
                error_message=str(exc),
                traceback="".join(traceback.format_exception(exc)),
            )
    with in_folder(task.workspace):
        return _call(task, send, store)


def _call(task: Task, send: Callable[[Message], None], store: ResultStore) -> Outcome:
    capture = Capture(send, task.id, task.log_limit)
    started = time.perf_counter()
    shared: list[str] = []  # inputs that are read-only arrays

    try:
        fn = _function(task)
        key = stored_key(task, fn)
        values: dict[str, Any] = {}
        for name, (kind, payload) in task.inputs.items():
            if kind == "ref":
                try:
                    value = store.read(payload)
                except CorruptResult as exc:
                    return _damaged_input(exc, name, started)
            else:
                value = payload
            values[name] = _coerce(value, task.coerce[name]) if name in task.coerce else value
        path = None
        if task.save_to:
            from plait.runtime.results import persist

            names = {**task.context, **{k: v for k, v in values.items() if _nameable(v)}}
            path = persist.render_path(task.save_to, names, task.title, task.workspace)
            if task.save_mode == "checkpoint" and path.exists():
                outputs = {
                    port: store.write(key, port, v, task.workspace)
                    for port, v in _split_outputs(task, persist.load(path)).items()
                }
                return Outcome(
                    True,
                    outputs,
                    time.perf_counter() - started,
                    checkpoint=True,
                    saved_to=str(path),
                    key=_changed(task, key),
                )
        shared = [name for name, v in values.items() if _read_only_array(v)]
        args = [values.pop(name) for name in task.positional if name in values]
        kwargs = values

        with capture, using_workspace(task.workspace):
            value = fn(*args, **kwargs)
            if hasattr(value, "__await__"):  # an `async def` node: run it to its end here
                import asyncio

                value = asyncio.run(_awaited(value))
        if path is not None:
            persist.save(value, path)
        outputs = {
            port: store.write(key, port, v, task.workspace) for port, v in _split_outputs(task, value).items()
        }
        return Outcome(
            True,
            outputs,
            time.perf_counter() - started,
            saved_to=str(path) if path else None,
            key=_changed(task, key),
        )
    except BaseException as exc:  # noqa: BLE001 - node code may raise anything, even SystemExit
        message = str(exc) or type(exc).__name__
        if isinstance(exc, ValueError) and "read-only" in message and shared:
            message += (
                f" (input {', '.join(repr(n) for n in shared)} is a large array shared read-only "
                "with the other nodes that read it: copy it before changing it, a = a.copy())"
            )
        return Outcome(
            False,
            duration=time.perf_counter() - started,
            error_type=type(exc).__name__,
            error_message=message,
            traceback="".join(traceback.format_exception(exc)),
        )
    finally:
        capture.finish()


def _read_only_array(value: Any) -> bool:
    cls = type(value)
    if cls.__name__ != "ndarray" or cls.__module__.split(".")[0] != "numpy":
        return False
    return not value.flags.writeable


_FOLDER_LOCK = threading.Lock()
_FOLDER_USERS = 0
_FOLDER_BEFORE: str | None = None


@contextlib.contextmanager
def in_folder(folder: str | None) -> Iterator[None]:
    """Make the workspace the working folder while a node runs, so its relative paths resolve there.

    Nodes running at once in one process (the inline executor, threads of a Dask
    worker) share the working folder; the one there before comes back when the last ends.
    A folder this machine does not have (a remote Dask worker's) is left alone.
    """
    global _FOLDER_USERS, _FOLDER_BEFORE
    if not folder or not os.path.isdir(folder):
        yield
        return
    with _FOLDER_LOCK:
        if _FOLDER_USERS == 0:
            try:
                _FOLDER_BEFORE = os.getcwd()
            except OSError:  # the folder it was in was removed
                _FOLDER_BEFORE = None
        _FOLDER_USERS += 1
        os.chdir(folder)
    try:
        yield
    finally:
        with _FOLDER_LOCK:
            _FOLDER_USERS -= 1
            if _FOLDER_USERS == 0 and _FOLDER_BEFORE is not None:
                try:
                    os.chdir(_FOLDER_BEFORE)
                except OSError:
                    pass


_RUNTIME_FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_traceback(text: str) -> str:
    """A traceback from the first frame outside Plait's runtime: where the node's own code begins.

    The worker's frames before it say nothing to the person who wrote the node; when every
    frame is Plait's (a built-in node), the last one is kept.
    """
    out: list[str] = []
    held: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if line.startswith("Traceback (most recent call last)"):
            out.append(line)
            skipping, held = True, []
        elif skipping and line.startswith('  File "'):
            if line[8:].startswith(_RUNTIME_FOLDER + os.sep):
                held = [line]
            else:
                skipping = False
                out.append(line)
        elif skipping and line.startswith("    "):
            held.append(line)
        else:
            if skipping:
                out.extend(held)
                skipping = False
            out.append(line)
    return "".join(out)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _yield_to_the_window() -> None:
    if hasattr(os, "nice"):  # not on Windows
        try:
            os.nice(WORKER_NICENESS)
        except OSError:  # a sandbox that forbids it: run at the same priority
            pass


def _changed(task: Task, key: str) -> str | None:
    return key if key != task.key else None


# How much lower than the window's a worker's CPU priority is (Unix niceness, 0-19). With
# every core busy with nodes, the window and the scheduler would otherwise wait their turn:
# 100-300 ms stalls of the window on two cores while twenty workers start their nodes. Only
# the share of a busy CPU changes: on an idle core a node runs as fast.
WORKER_NICENESS = 10


class _Drops:
    """Tasks that waited behind another, asked back on a pipe of their own while a task runs.

    A task sent while the worker runs another comes as ("behind", number,
    pickled task), the number unique in the scheduling process. Until the worker
    begins it, ("drop", number) on the control pipe asks it back: the answer is
    ("dropped", number) at once, and the task is skipped when the worker gets to
    it; or ("began", number), said when the worker begins it first. Both are said
    under one lock, so exactly one of them is.
    """

    def __init__(self, control: Any, send: Callable[[Message], None]) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._asked: set[int] = set()
        self._begun: collections.deque[int] = collections.deque(maxlen=16)
        threading.Thread(target=self._listen, args=(control,), daemon=True, name="plait-drops").start()

    def _listen(self, control: Any) -> None:
        while True:
            try:
                number = control.recv()[1]
            except (EOFError, OSError):
                return
            with self._lock:
                if number not in self._begun:  # else too late: it said it began
                    self._asked.add(number)
                    self._say("dropped", number)

    def begin(self, number: int) -> bool:
        """Whether to run a task that waited: False when it was asked back."""
        with self._lock:
            if number in self._asked:
                self._asked.discard(number)
                return False
            self._begun.append(number)
            self._say("began", number)
            return True

    def _say(self, what: str, number: int) -> None:
        try:
            self._send((what, number))
        except (OSError, ValueError):
            pass  # the scheduling process is gone


def worker_main(conn: Any, settings: dict[str, Any], control: Any) -> None:
    """The loop of a worker process: run tasks until told to stop.

    Besides tasks it is sent ("release", [file in a cache folder]) when the
    consumers of values it holds have run, and ("preload", workspace, [spec key])
    when a run's nodes are about to come (`preload`). With each task's outcome it says
    which files the task's outputs are being written to in the background and
    whose values it now holds: ("done", task id, outcome, [(write id, path)], [path]).
    Tasks sent while it runs another may be asked back on `control` (`_Drops`).
    """
    from plait.runtime.results.held import HeldResults

    _yield_to_the_window()
    capture_whole_process()
    exit_with_parent()
    if settings.get("workspace"):
        sys.path.insert(0, settings["workspace"])
        if os.path.isdir(settings["workspace"]):
            os.chdir(settings["workspace"])  # a worker starts in its workspace, as nodes expect
    logging.getLogger().setLevel(logging.INFO)
    lock = threading.Lock()  # the node's threads, the writer and the drops thread send too

    def send(message: Any) -> None:
        with lock:
            conn.send(message)

    stores: dict[str, HeldResults] = {}
    os.environ.setdefault("PLAIT_WORKER", "1")
    drops = _Drops(control, send)
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError, KeyboardInterrupt):
                return
            if message is None:
                return
            if message == "forget":
                forget_functions()
                continue
            if isinstance(message, tuple) and message[0] == "preload":
                preload(message[1], message[2])
                continue
            if isinstance(message, tuple) and message[0] == "release":
                for store in stores.values():
                    store.release(message[1])
                continue
            if isinstance(message, tuple) and message[0] == "behind":
                if not drops.begin(message[1]):
                    continue  # asked back, and answered, while it waited
                message = pickle.loads(message[2])
            task: Task = message
            store = stores.get(task.cache_folder)
            if store is None:
                budget = int(settings.get("held_bytes") or 0)
                store = stores[task.cache_folder] = HeldResults(task.cache_folder, budget, send)
            store.hold = task.hold
            outcome = run_task(task, send, store)
            # Paths, not names in a cache folder: one worker may serve several workspaces.
            held = [os.path.join(folder, file) for folder, s in stores.items() for file in s.held()]
            writing = [(i, os.path.join(task.cache_folder, file)) for i, file in store.take_writing()]
            try:
                send(("done", task.id, outcome, writing, held))
            except (OSError, ValueError):
                return
    finally:
        for store in stores.values():  # a clean stop lets the files under way be finished
            store.close()
