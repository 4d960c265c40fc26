"""`@flow`: a Python function whose body calls node functions, as a Plait flow.

    @flow
    def iris(test_data_ratio: float = 0.2):
        parts = split_data(encode(read_table("iris.csv")), test_data_ratio)
        ...
        return accuracy(predictions, parts.y_test)

    iris(test_data_ratio=0.3)   # saves the flow when it changed, runs it, returns the accuracy

The body is traced into a flow (see `tracing` for what becomes a node), saved
in the workspace (default: the current folder) as a new version when its graph
changed, and run by the engine with the cache, as `plait run` and the window
run it. Functions a script or notebook defines are saved into the workspace
with the flow (see `sources`), so the flow keeps running after the script ends.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, overload

from plait.runtime.code.layout import lay_out
from plait.runtime.code.runs import FlowRunResult, run_saved_flow
from plait.runtime.code.sources import Keys, write_module
from plait.runtime.code.tracing import Traced, fill, trace
from plait.runtime.engine.scheduler import RunOptions
from plait.runtime.flow.model import Flow
from plait.runtime.nodes.libraries import library_modules
from plait.runtime.nodes.loader import WORKSPACE_MODULE_PREFIX
from plait.runtime.workspace import trust
from plait.runtime.workspace.store import FlowNotFound, Workspace

EXECUTORS = ("local", "inline", "dask")


class CodeFlow:
    """A flow defined by a Python function; call it to run it and get what it returns."""

    __plait_flow__ = True

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        workspace: str | os.PathLike[str] | None = None,
        executor: str = "local",
    ) -> None:
        if not inspect.isfunction(fn):
            raise TypeError(f"@flow decorates a function, not {fn!r}")
        if executor not in EXECUTORS:
            raise ValueError(f"@flow(executor=...) must be one of {', '.join(EXECUTORS)}, got {executor!r}")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"@flow(name=...) must be a non-empty text, got {name!r}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = (name or fn.__name__).strip()
        self.workspace = workspace
        self.executor = executor
        self._traced: Traced | None = None

    def __repr__(self) -> str:
        return f"<flow {self.name!r} of function {self.fn.__qualname__}>"

    @property
    def folder(self) -> Path:
        """The workspace folder: the one given, else the current folder."""
        return Path(self.workspace if self.workspace is not None else os.getcwd()).expanduser().resolve()

    def _imported_as_library(self) -> bool:
        # Plait imports workspace files to find node functions (as its worker processes
        # import a script's main module); a flow called at the top of such a file must
        # not run there, only when the file is run as a script.
        module = self.fn.__module__
        return module == "__mp_main__" or module.startswith(WORKSPACE_MODULE_PREFIX)

    def build(self) -> Flow:
        """The flow the function's body makes, traced now, without saving it."""
        return self._trace(Keys(self.folder, self.name)).flow

    def _trace(self, keys: Keys) -> Traced:
        return trace(self.fn, self.name, keys)

    def save(self) -> Flow:
        """Trace the function and save the flow (and its script functions) in the workspace.

        A flow whose graph did not change keeps its version.
        """
        folder = self.folder
        keys = Keys(folder, self.name)
        traced = self._trace(keys)
        flow = traced.flow
        flow.description = inspect.getdoc(self.fn) or ""
        with Workspace(folder) as workspace:
            write_module(folder, self.name, keys.generated)
            listed = workspace.get_setting("libraries", []) or []
            missing = sorted(m for m in keys.modules if m not in library_modules(listed))
            if missing:
                workspace.set_setting("libraries", [*listed, *missing])
            try:
                before = workspace.load_flow(self.name)
            except FlowNotFound:
                before = None
            if before is not None:
                flow.id = before.id
            lay_out(flow, keep=before)
            flow.catalog = None
            workspace.save_flow(flow)
        # The person ran this code themselves; the window may run what it saved.
        try:
            trust.trust(folder, reason="its @flow code was run on this computer")
        except OSError:
            pass  # an unwritable config folder: the window asks instead
        self._traced = traced
        return flow

    def _parameters(self, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            bound = inspect.signature(self.fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"flow {self.name!r}: {exc}") from None
        return dict(bound.arguments)

    def run(self, *args: Any, **parameters: Any) -> FlowRunResult:
        """Save the flow when it changed and run it; the run's result, failed nodes and all."""
        values = self._parameters(args, parameters)
        self.save()
        return run_saved_flow(self.folder, self.name, values, RunOptions(executor=self.executor))

    def __call__(self, *args: Any, **parameters: Any) -> Any:
        """Run the flow and return what the function returns, with real values.

        A failed node raises `NodeFailed`, naming the node, with its traceback.
        """
        if self._imported_as_library():
            return None
        result = self.run(*args, **parameters)
        failure = result.first_failure()
        if failure is not None:
            raise failure
        if not result.ok:
            raise RuntimeError(
                f"the run of flow {self.name!r} {result.state}: {result.error or 'see its nodes'}"
            )
        assert self._traced is not None
        return fill(self._traced.template, lambda node_id: result.value(node_id, "value"))

    def open(self) -> subprocess.Popen:
        """Save the flow and show it in Plait's window (a process of its own)."""
        self.save()
        plait = shutil.which("plait")
        command = [plait] if plait else [sys.executable, "-m", "plait.app.cli"]
        return subprocess.Popen([*command, str(self.folder), self.name])


@overload
def flow(fn: Callable[..., Any], /) -> CodeFlow: ...


@overload
def flow(
    *, name: str | None = None, workspace: str | os.PathLike[str] | None = None, executor: str = "local"
) -> Callable[[Callable[..., Any]], CodeFlow]: ...


def flow(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    workspace: str | os.PathLike[str] | None = None,
    executor: str = "local",
) -> Any:
    """Make a function whose body calls node functions a Plait flow.

    Use as `@flow` or `@flow(name="iris", workspace="my-workspace", executor="local")`.
    Calling it saves and runs the flow and returns the function's return value;
    `.run(...)` returns the run's result, `.save()` saves without running and
    `.open()` shows the flow in the window.
    """
    if fn is not None:
        return CodeFlow(fn, name=name, workspace=workspace, executor=executor)
    return lambda target: CodeFlow(target, name=name, workspace=workspace, executor=executor)
