"""Running a saved flow from Python: the engine in a thread, progress and logs in the caller's.

The engine is asyncio code. A script has no event loop running, a Jupyter
kernel has one (it runs the cell), so the run always gets a loop of its own in
a thread, and the calling thread shows its events as they come: a tqdm bar
(the notebook's bar under Jupyter) and each node's log lines, under the cell.
"""

from __future__ import annotations

import asyncio
import importlib.util
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.runtime.engine import events as ev
from plait.runtime.engine.scheduler import Engine, NodeResult, RunOptions, RunResult
from plait.runtime.results.blobs import ResultStore
from plait.runtime.workspace.store import DATA_DIR, Workspace

FAILED_STATES = (ev.FAILED, ev.TIMED_OUT, ev.CRASHED)
_DONE = object()


class NodeFailed(Exception):
    """A node of a flow run from code failed; the message names it and holds its traceback."""

    def __init__(self, flow: str, node_id: str, title: str, finished: ev.NodeFinished, result: Any) -> None:
        self.flow, self.node_id, self.title = flow, node_id, title
        self.error_type = finished.error_type or "Error"
        self.error_message = (finished.error_message or "").strip()
        self.traceback = (finished.traceback or "").rstrip()
        self.result = result
        super().__init__(self._text(finished.state))

    def _text(self, state: str) -> str:
        how = {ev.TIMED_OUT: "timed out", ev.CRASHED: "crashed"}.get(state, "failed")
        text = f"node '{self.title}' ({self.node_id}) of flow '{self.flow}' {how}: "
        text += f"{self.error_type}: {self.error_message}"
        if self.traceback:
            text += f"\n\nThe node's traceback:\n{self.traceback}"
        return text


@dataclass
class FlowRunResult(RunResult):
    """A finished run, with its nodes' values and log lines at hand."""

    folder: Path | None = None
    log_lines: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, ev.NodeFinished] = field(default_factory=dict)

    def node(self, node: str) -> NodeResult:
        """A node of the run by id or title (case does not matter)."""
        if node in self.nodes:
            return self.nodes[node]
        wanted = node.casefold()
        for found in self.nodes.values():
            if wanted in (found.node_id.casefold(), found.title.casefold()):
                return found
        known = ", ".join(sorted(n.title for n in self.nodes.values()))
        raise KeyError(
            f"run {self.run_id[:8]} of flow '{self.flow}' has no node '{node}' (its nodes: {known})"
        )

    @property
    def states(self) -> dict[str, str]:
        """Each node's state, by title."""
        return {n.title: n.state for n in self.nodes.values()}

    def value(self, node: str, port: str = "result") -> Any:
        """The value a node gave on an output (its only one when it has one), loaded from the store."""
        found = self.node(node)
        if not found.outputs:
            raise LookupError(
                f"node '{found.title}' of flow '{self.flow}' has no stored value: it ended {found.state}"
            )
        ref = found.outputs.get(port)
        if ref is None and port == "result" and len(found.outputs) == 1:
            ref = next(iter(found.outputs.values()))
        if ref is None:
            raise KeyError(
                f"node '{found.title}' has no output '{port}'; its outputs are {', '.join(found.outputs)}"
            )
        assert self.folder is not None
        return ResultStore(self.folder / DATA_DIR / "cache").read(ref)

    def logs(self, node: str) -> list[str]:
        """The lines a node printed or logged in this run (none when it was cached)."""
        return list(self.log_lines.get(self.node(node).node_id, []))

    def first_failure(self) -> NodeFailed | None:
        for node_id, finished in self.failures.items():
            return NodeFailed(self.flow, node_id, self.nodes[node_id].title, finished, self)
        return None


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    try:
        return get is not None and get() is not None and "IPKernelApp" in get().config
    except Exception:  # noqa: BLE001 - any oddity of IPython: not a notebook
        return False


class _Display:
    """A progress bar of nodes done, and every log line under its node's title."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self.titles: dict[str, str] = {}
        self.bar: Any = None
        self.notebook = in_notebook()

    def handle(self, event: object) -> None:
        if not self.show:
            return
        if isinstance(event, ev.RunStarted):
            self.titles = dict(event.nodes)
            if self.notebook or sys.stderr.isatty():
                if self.notebook and importlib.util.find_spec("ipywidgets") is not None:
                    from tqdm.notebook import tqdm  # the notebook's own bar, drawn with ipywidgets
                else:
                    from tqdm import tqdm
                self.bar = tqdm(total=len(event.nodes), desc=event.flow_name, unit="node", leave=True)
        elif isinstance(event, ev.NodeFinished):
            if self.bar is not None:
                self.bar.update(1)
        elif isinstance(event, ev.NodeLog):
            title = self.titles.get(event.node_id, event.node_id)
            for line in event.lines:
                self._say(f"  {title} │ {line.message}")
        elif isinstance(event, ev.NodeRetrying):
            title = self.titles.get(event.node_id, event.node_id)
            first = event.error.splitlines()[0] if event.error else ""
            self._say(f"  {title} │ attempt {event.attempt} failed ({first}); retrying in {event.delay:g}s")

    def _say(self, text: str) -> None:
        if self.bar is not None and not self.notebook:
            self.bar.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


async def _run(
    folder: Path,
    flow_name: str,
    parameters: dict[str, Any],
    options: RunOptions,
    events: queue.Queue,
    control: dict[str, Callable[[], None]],
) -> FlowRunResult:
    workspace = Workspace(folder)
    engine = Engine(workspace)
    try:
        catalog = workspace.catalog()
        engine.catalog = catalog
        flow = workspace.load_flow(flow_name, catalog=catalog)
        used = {node.spec_key.rpartition(":")[0] for node in flow.nodes.values()}
        for library in catalog.libraries:
            if library.error and library.name in used:
                raise ImportError(
                    f"library {library.name} of flow '{flow.name}' failed to load:\n{library.error}"
                )
        run = engine.start(flow, parameters, options)
        loop = asyncio.get_running_loop()
        control["cancel"] = lambda: loop.call_soon_threadsafe(run.cancel)
        log_lines: dict[str, list[str]] = {}
        failures: dict[str, ev.NodeFinished] = {}
        async for event in run.events():
            events.put(event)
            if isinstance(event, ev.NodeLog):
                log_lines.setdefault(event.node_id, []).extend(line.message for line in event.lines)
            elif isinstance(event, ev.NodeFinished) and event.state in FAILED_STATES:
                failures[event.node_id] = event
        result = await run.wait()
        fields = {name: getattr(result, name) for name in RunResult.__dataclass_fields__}
        return FlowRunResult(**fields, folder=workspace.folder, log_lines=log_lines, failures=failures)
    finally:
        await engine.close()
        workspace.close()


def run_saved_flow(
    folder: Path, flow_name: str, parameters: dict[str, Any], options: RunOptions, show: bool = True
) -> FlowRunResult:
    """Run a saved flow on a loop of its own, showing its progress and logs here."""
    events: queue.Queue = queue.Queue()
    control: dict[str, Callable[[], None]] = {}
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = asyncio.run(_run(folder, flow_name, parameters, options, events, control))
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome["error"] = exc
        finally:
            events.put(_DONE)

    thread = threading.Thread(target=work, name=f"plait-flow-{flow_name}", daemon=True)
    display = _Display(show)
    thread.start()
    try:
        while True:
            event = events.get()
            if event is _DONE:
                break
            display.handle(event)
    except KeyboardInterrupt:
        cancel = control.get("cancel")
        if cancel is not None:
            cancel()
        thread.join()
        raise
    finally:
        display.close()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
