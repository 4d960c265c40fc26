"""The scheduler: run a flow's nodes as their inputs become ready, and stream events.

It is asyncio code: the window drives it on the qasync loop, the command
line with `asyncio.run`. Independent branches run at once up to the
executor's slots; a failed node skips its downstream cone while the other
branches go on; every event goes to the run's recorder first and then to
every subscriber.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from plait.runtime.engine import events as ev
from plait.runtime.engine.ahead import Ahead
from plait.runtime.engine.executors import make_executor
from plait.runtime.engine.plan import Plan, RunRefused, call_layout, coercion, make_plan
from plait.runtime.engine.recorder import RunRecorder
from plait.runtime.engine.subflows import execute_subflow, is_subflow
from plait.runtime.engine.worker import Outcome, Task
from plait.runtime.flow.model import Flow
from plait.runtime.nodes.context import using_workspace
from plait.runtime.nodes.splitting import key_ports
from plait.runtime.results.blobs import OutputRef
from plait.runtime.results.cache import ResultCache, verify_after_crash
from plait.runtime.workspace.store import Workspace

MAX_REPAIRS = 3  # times a damaged cached input is recomputed before giving up
LOG_LINES_PER_NODE = 10_000  # log lines kept per node and run unless the workspace says otherwise


@dataclass
class RunOptions:
    executor: str = "local"
    max_workers: int | None = None
    address: str | None = None  # a Dask scheduler, for the dask executor
    use_cache: bool = True  # False: run every node, still storing results
    stop_on_failure: bool = False
    only: str | None = None  # run this node and its ancestors only
    force: tuple[str, ...] = ()  # recompute these nodes and their descendants
    log_limit: int | None = None  # log lines kept per node (workspace setting otherwise)
    parent_run: str | None = None
    parent_node: str | None = None


@dataclass
class NodeResult:
    node_id: str
    title: str
    state: str = ev.PENDING
    attempts: int = 0
    duration: float = 0.0
    started: float | None = None
    outputs: dict[str, OutputRef] = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunResult:
    run_id: str
    flow: str
    state: str
    duration: float
    nodes: dict[str, NodeResult]
    error: str | None = None  # why the run as a whole failed, when it did

    @property
    def ok(self) -> bool:
        return self.state == ev.RUN_COMPLETED


def held_setting(workspace: Workspace) -> tuple[int | None, str | None]:
    """What each local worker may keep of large outputs (None: the default), or what is wrong with it."""
    held = workspace.get_setting("held_values_bytes")
    if held is None or (isinstance(held, int) and not isinstance(held, bool) and held >= 0):
        return held, None
    return None, (
        f"the workspace setting held_values_bytes is {held!r}, not a number of bytes: set it with "
        "'plait settings held_values_bytes 2000000000' (0 keeps nothing in memory)"
    )


class Engine:
    """Runs flows of one workspace; keeps executors (and their workers) between runs."""

    def __init__(
        self, workspace: Workspace, catalog: Any = None, executor: Any = None, dashboard: bool = False
    ) -> None:
        """`executor`, when given, runs every run (tests share one pool this way).

        `dashboard` gives a local Dask cluster its dashboard (off by default).
        """
        self.workspace = workspace
        self.dashboard = dashboard
        self._fixed_executor = executor
        self.catalog = catalog
        self.cache = ResultCache(workspace)
        verify_after_crash(workspace)
        self.recorder = RunRecorder(workspace, self.cache)
        self._executors: dict[tuple[str, int | None, str | None], Any] = {}
        self.runs: dict[str, Run] = {}
        # Cache entries of finished runs whose files a worker is still writing: a run ends
        # when its nodes do, and its large results join the cache once written.
        self._writing: set[asyncio.Task[None]] = set()

    def executor(
        self, name: str = "local", max_workers: int | None = None, address: str | None = None
    ) -> Any:
        if self._fixed_executor is not None:
            return self._fixed_executor
        key = (name, max_workers, address)
        if key not in self._executors:
            shared = self.workspace.get_setting("dask_shared_store", True)
            held, _ = held_setting(self.workspace)
            self._executors[key] = make_executor(
                name,
                max_workers,
                str(self.workspace.folder),
                address=address,
                shared_store=shared,
                dashboard=self.dashboard,
                held_bytes=held,
            )
        return self._executors[key]

    async def warm_up(
        self,
        name: str = "local",
        max_workers: int | None = None,
        address: str | None = None,
        preload: list[str] | None = None,
    ) -> None:
        """Start an executor's workers ahead of the first run.

        `preload`: spec keys of the nodes about to run, which worker processes then
        import while this process loads and plans the flow.
        """
        executor = self.executor(name, max_workers, address)
        try:
            await executor.start()
        except Exception:  # noqa: BLE001 - the run itself reports what went wrong
            return
        if preload and hasattr(executor, "preload"):
            executor.preload(str(self.workspace.folder), preload)

    def start(
        self,
        flow: Flow,
        parameters: dict[str, Any] | None = None,
        options: RunOptions | None = None,
        *,
        from_text: Any = False,
        refs: dict[str, tuple[str, OutputRef]] | None = None,
    ) -> Run:
        """Check and plan a run, then start it on the running loop; raises RunRefused.

        `refs` hands parameters over by reference (cache key, stored value), as a
        parent flow does to its subflows.
        """
        options = options or RunOptions()
        if flow.catalog is None:
            flow.catalog = self.catalog
        run_id = uuid.uuid4().hex
        # Cache-key functions (a reader's file fingerprint) see the workspace's paths.
        with using_workspace(self.workspace.folder):
            plan = make_plan(
                flow,
                parameters,
                from_text=from_text,
                only=options.only,
                force=options.force,
                run_id=run_id,
                refs=refs,
                folder=str(self.workspace.folder),
            )
        _, wrong = held_setting(self.workspace)
        if wrong is not None and self._fixed_executor is None and options.executor == "local":
            raise RunRefused(flow.name, [wrong])
        run = Run(self, run_id, plan, options)
        self.runs[run_id] = run
        run.task = asyncio.get_running_loop().create_task(run._main())
        return run

    async def run(
        self,
        flow: Flow,
        parameters: dict[str, Any] | None = None,
        options: RunOptions | None = None,
        **kwargs: Any,
    ) -> RunResult:
        return await self.start(flow, parameters, options, **kwargs).wait()

    def forget_functions(self) -> None:
        """After a library changes: workers import node functions afresh."""
        for executor in self._executors.values():
            executor.forget_functions()
        if self._fixed_executor is not None:
            self._fixed_executor.forget_functions()

    @property
    def writing(self) -> int:
        """How many results of finished runs are still being written to the cache."""
        return len(self._writing)

    async def written(self) -> None:
        """Wait until every finished run's results still being written are in the cache (or
        refused, with a line in the node's log): a run's lookups start from here."""
        while self._writing:
            await asyncio.gather(*list(self._writing), return_exceptions=True)
        self.recorder.flush()

    def _keep_writing(self, tasks: set[asyncio.Task[None]]) -> None:
        for task in tasks:
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def close(self) -> None:
        for run in list(self.runs.values()):
            run.cancel()
            await run.wait()
        await self.written()  # before the workers writing them stop
        for executor in self._executors.values():
            await executor.close()
        self._executors.clear()
        self.recorder.flush()


class Run:
    """One run of a flow: its state, its event stream, and a way to stop it."""

    def __init__(self, engine: Engine, run_id: str, plan: Plan, options: RunOptions) -> None:
        self.engine = engine
        self.id = run_id
        self.plan = plan
        self.flow = plan.flow
        self.options = options
        self.executor = engine.executor(options.executor, options.max_workers, options.address)
        self.nodes = {n: NodeResult(n, self.flow.nodes[n].title) for n in plan.order}
        self.task: asyncio.Task[RunResult] | None = None
        self._subscribers: list[asyncio.Queue[object]] = []
        # What a subscriber that joins late is given first: every event but log lines (the
        # recorder writes those to the run history as they come, so a million lines are not
        # held here) and progress reports (only each running node's latest).
        self._history: list[object] = []
        self._progress: dict[str, ev.NodeProgress] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._ends: asyncio.Queue[str] = asyncio.Queue()  # nodes whose task just ended
        self._remaining: dict[str, int] = {}  # node -> inputs not yet there
        self._began: dict[str, float] = {}  # node -> when its first attempt started (perf_counter)
        self.ahead = Ahead(self)  # nodes sent to the cluster ahead of their inputs
        self._blobs: dict[str, bytes] = {}  # node type -> its pickled function (lambdas, local ones)
        self._cancelled = False
        self._started = time.time()
        self._repairs = 0
        self._indexing: set[asyncio.Task[None]] = set()  # entries waiting for their files
        self.unwritten: list[str] = []  # nodes whose results could not be written to the cache
        self._started_this_turn = 0  # nodes started in this turn of the loop (`_start`)
        setting = engine.workspace.get_setting("log_lines_per_node")  # null: the default
        self.log_limit = options.log_limit or int(setting if setting is not None else LOG_LINES_PER_NODE)

    # -- events -----------------------------------------------------------

    def _emit(self, event: object) -> None:
        self.engine.recorder.handle(event)
        if isinstance(event, ev.NodeProgress):
            self._progress[event.node_id] = event
        elif not isinstance(event, ev.NodeLog):
            if isinstance(event, ev.NodeFinished):
                self._progress.pop(event.node_id, None)
            self._history.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)

    async def events(self) -> AsyncIterator[object]:
        """The run's events: those so far, then live ones until it finishes.

        A subscriber from the start (as the window, the command line and a parent
        run are) sees every event. One that joins later is first given every event
        so far but the log lines, which the run history has (`RunHistory.log_lines`),
        and of the progress reports only each running node's latest.
        """
        queue: asyncio.Queue[object] = asyncio.Queue()
        for event in [*self._history, *self._progress.values()]:
            queue.put_nowait(event)
        self._subscribers.append(queue)
        try:
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, ev.RunFinished):
                    return
        finally:
            self._subscribers.remove(queue)

    # -- control ----------------------------------------------------------

    def cancel(self) -> None:
        """Stop the run: running nodes are killed, the rest marked cancelled."""
        if self._cancelled:
            return
        self._cancelled = True
        for task in list(self._running.values()):
            task.cancel()

    async def wait(self) -> RunResult:
        assert self.task is not None
        return await asyncio.shield(self.task)

    # -- the run ----------------------------------------------------------

    async def _main(self) -> RunResult:
        plan, flow = self.plan, self.flow
        self._emit(
            ev.RunStarted(
                self.id,
                flow.id,
                flow.name,
                flow.version,
                plan.plain,
                {n: r.title for n, r in self.nodes.items()},
                self.executor.name,
                self._started,
                self.options.parent_run,
                self.options.parent_node,
            )
        )
        error = None
        try:
            await self.engine.written()  # what runs before this one stored, it finds
            await self.executor.start()
            await self._schedule()
            # Results still being written join the cache once written: the run has ended.
            self.engine._keep_writing(self._indexing)
        except Exception as exc:  # noqa: BLE001 - a bug must still end the run's records
            import traceback

            from plait.runtime.engine.dask_executor import ExecutorUnavailable

            error = str(exc) if isinstance(exc, ExecutorUnavailable) else f"{type(exc).__name__}: {exc}"
            self._cancelled = True
            for task in list(self._running.values()):
                task.cancel()
            for node in self.nodes.values():
                if node.state not in ev.FINAL_STATES:
                    self._finish(
                        node.node_id,
                        ev.CANCELLED,
                        error_type=type(exc).__name__,
                        error_message="the run stopped: see the run's error",
                        traceback=traceback.format_exc(),
                    )
            await self._indexed()
        self._release_all()
        return self._conclude(error)

    async def _indexed(self) -> None:
        """Wait for the entries whose files are still being written to be indexed (or refused)."""
        while self._indexing:
            await asyncio.gather(*self._indexing, return_exceptions=True)

    def _conclude(self, error: str | None) -> RunResult:
        counts: dict[str, int] = {}
        for node in self.nodes.values():
            counts[node.state] = counts.get(node.state, 0) + 1
        if error is not None:
            state = ev.RUN_FAILED
        elif self._cancelled:
            state = ev.RUN_CANCELLED
        elif all(n.state in ev.SUCCESS_STATES for n in self.nodes.values()):
            state = ev.RUN_COMPLETED
        else:
            state = ev.RUN_FAILED
        ended = time.time()
        self._emit(ev.RunFinished(self.id, state, ended, ended - self._started, counts, error))
        self.engine.runs.pop(self.id, None)
        self.engine.recorder.flush()
        try:
            self.engine.cache.evict()
        except Exception as exc:  # noqa: BLE001 - eviction must never fail a finished run
            import logging

            logging.getLogger(__name__).warning("cache eviction failed: %s", exc)
        return RunResult(self.id, self.flow.name, state, ended - self._started, self.nodes, error)

    async def _schedule(self) -> None:
        plan = self.plan
        param_hits = self.engine.cache.lookup(
            [plan.keys[n] for n in plan.order if self.flow.nodes[n].is_parameter]
        )
        for node_id in plan.order:
            if self.flow.nodes[node_id].is_parameter:
                self._resolve_parameter(node_id, param_hits.get(plan.keys[node_id]))
        self._remaining = {
            n: sum(1 for u in plan.upstream[n] if self.nodes[u].state not in ev.SUCCESS_STATES)
            for n in plan.order
        }
        # Everything the cache answers is settled before anything starts.
        ready = self._settle(
            [n for n in plan.order if self._remaining[n] == 0 and self.nodes[n].state == ev.PENDING]
        )

        # An executor that queues tasks itself (Dask) is given everything ready at once; one
        # whose workers each take `waits` tasks behind their current one, that many more.
        queues = getattr(self.executor, "queues", False)
        room = self.executor.slots * (1 + getattr(self.executor, "waits", 0))
        succeeded: list[str] = []
        while (ready or self._running) and not self._cancelled:
            started, succeeded = succeeded, []
            while ready and not self._cancelled and (queues or self._busy() < room):
                node_id = ready.pop(0)
                self._start(node_id)
                started.append(node_id)
            self.ahead.send(started)
            if not self._running:
                break
            # Nodes that ended, in the order they did (a queue: a run may have thousands
            # of nodes on a cluster at once, and waiting on all of them each time costs).
            ended = [await self._ends.get()]
            while not self._ends.empty():
                ended.append(self._ends.get_nowait())
            for node_id in ended:
                task = self._running.pop(node_id)
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
                state = self.nodes[node_id].state
                if state in ev.SUCCESS_STATES:
                    ready += self._settle(self._unblocked(node_id))
                    succeeded.append(node_id)
                elif not self._cancelled:
                    self._skip_cone(node_id)
                    if self.options.stop_on_failure:
                        self.cancel()
                self._release_inputs(node_id)
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            self._running.clear()
        for node in self.nodes.values():
            if node.state not in ev.FINAL_STATES:
                self._finish(
                    node.node_id,
                    ev.CANCELLED,
                    error_message="the run was cancelled" if self._cancelled else None,
                )

    def _start(self, node_id: str) -> None:
        """Run a node in a task of its own; the main loop hears when it ends.

        An executor that takes tasks in batches (Dask) gets the nodes started in one
        turn a batch per turn of the loop: the first batch goes to the cluster while
        the next is made, instead of all of them after the last is made.
        """
        batch = getattr(self.executor, "batch", None)
        turns = 0
        if batch:
            turns = self._started_this_turn // batch
            self._started_this_turn += 1
            if self._started_this_turn == 1:
                asyncio.get_running_loop().call_soon(self._new_turn)
        task = asyncio.create_task(self._execute(node_id, turns))
        self._running[node_id] = task
        task.add_done_callback(lambda _: self._ends.put_nowait(node_id))

    def _new_turn(self) -> None:
        self._started_this_turn = 0

    def _unblocked(self, node_id: str) -> list[str]:
        """Children of a node that just succeeded whose inputs are now all there."""
        found = []
        for child in sorted(self.plan.downstream[node_id]):
            self._remaining[child] -= 1
            if (
                self._remaining[child] == 0
                and self.nodes[child].state == ev.PENDING
                and child not in self._running  # sent ahead of its inputs
            ):
                found.append(child)
        return found

    def _cacheable(self, node_id: str) -> bool:
        node = self.flow.nodes[node_id]
        return (
            self.options.use_cache
            and node_id not in self.plan.forced
            and not node.is_output
            and not is_subflow(node.spec_key)
        )

    def _settle(self, candidates: list[str]) -> list[str]:
        """Key the nodes whose inputs are known; serve hits from the cache; return the rest.

        A node's key needs its inputs' values, so a cached node's children are
        keyed in the next round, until the cache answers no more.
        """
        to_run: list[str] = []
        while candidates:
            keys = {n: self.plan.resolve(n, self._outputs_of) for n in candidates}
            wanted = [k for n, k in keys.items() if self._cacheable(n)]
            hits = self.engine.cache.lookup(wanted) if wanted else {}
            unblocked: list[str] = []
            for node_id in candidates:
                hit = hits.get(keys[node_id]) if self._cacheable(node_id) else None
                if hit is None:
                    to_run.append(node_id)
                    continue
                self.engine.recorder.touch(keys[node_id])
                self._finish(node_id, ev.CACHED, outputs=hit.outputs)
                unblocked += self._unblocked(node_id)
            candidates = unblocked
        return to_run

    def _outputs_of(self, node_id: str) -> dict[str, OutputRef]:
        return self.nodes[node_id].outputs

    def _release_inputs(self, node_id: str) -> None:
        """Let an executor that holds values in memory drop those no one needs any more.

        An upstream value is released once every node that consumes it has
        finished; what nothing consumes (the flow's results) is kept.
        """
        release = getattr(self.executor, "release", None)
        if release is None:
            return
        for upstream in self.plan.upstream[node_id]:
            if all(self.nodes[c].state in ev.FINAL_STATES for c in self.plan.downstream[upstream]):
                for ref in self.nodes[upstream].outputs.values():
                    release(ref)

    def _release_all(self) -> None:
        """At the end of the run, values kept for consumers that did not run (skipped, cancelled)."""
        release = getattr(self.executor, "release", None)
        if release is None:
            return
        for node_id in self.plan.order:
            if self.plan.downstream[node_id]:
                for ref in self.nodes[node_id].outputs.values():
                    release(ref)

    def _busy(self) -> int:
        """Running nodes that hold a worker (a subflow node only waits for its child run)."""
        return sum(1 for n in self._running if not is_subflow(self.flow.nodes[n].spec_key))

    def _resolve_parameter(self, node_id: str, hit: Any) -> None:
        node = self.flow.nodes[node_id]
        handed = self.plan.refs.get(node.values["name"])
        if handed is not None:
            self._finish(node_id, ev.COMPLETED, outputs={"value": handed[1]})
            return
        if hit is not None:
            self._finish(node_id, ev.CACHED, outputs=hit.outputs)
            return
        value = self.plan.values[node.values["name"]]
        ref = self.engine.cache.store.write(self.plan.keys[node_id], "value", value)
        self.engine.recorder.add_cache_entry(self.plan.keys[node_id], node.spec_key, {"value": ref}, None)
        self._finish(node_id, ev.COMPLETED, outputs={"value": ref})

    def _skip_cone(self, node_id: str) -> None:
        for child in sorted(self.plan.cone(node_id)):
            self._skip(child, node_id)

    def _skip(self, node_id: str, because: str) -> None:
        """Skip a node an upstream node of which did not complete (stopping it if sent ahead)."""
        if self.nodes[node_id].state in ev.FINAL_STATES:
            return
        title = self.nodes[because].title
        self._finish(node_id, ev.SKIPPED, error_message=f"upstream node '{title}' did not complete")
        ahead = self._running.get(node_id)
        if ahead is not None and ahead is not asyncio.current_task():
            ahead.cancel()

    def _finish(self, node_id: str, state: str, **fields: Any) -> None:
        node = self.nodes[node_id]
        node.state = state
        node.outputs = fields.get("outputs") or node.outputs
        node.error = fields.get("error_message") or node.error
        if "duration" in fields:
            node.duration = fields["duration"]
        if "attempts" in fields:
            node.attempts = fields["attempts"]
        if state in ev.FINAL_STATES:
            self.ahead.ended(node_id)
        self._emit(
            ev.NodeFinished(
                self.id,
                node_id,
                state,
                time.time(),
                cache_key=self.plan.keys.get(node_id),
                started=node.started,
                duration=node.duration,
                attempts=node.attempts,
                outputs=node.outputs,
                error_type=fields.get("error_type"),
                error_message=fields.get("error_message"),
                traceback=fields.get("traceback"),
                key_parts=self.plan.key_parts.get(node_id),
            )
        )

    def _task(
        self,
        node_id: str,
        attempt: int,
        override: dict[str, Any] | None = None,
        key: str | None = None,
        context: dict[str, Any] | None = None,
        hold: bool | None = None,
    ) -> Task:
        """The task of one attempt; `hold`: whether its outputs have readers to come (its
        downstream nodes, unless said otherwise)."""
        flow, plan = self.flow, self.plan
        node = flow.nodes[node_id]
        spec = flow.spec(node)
        options = flow.options(node)
        assert spec is not None
        inputs: dict[str, tuple[str, Any]] = {}
        pending: set[str] = set()
        for edge in flow.edges_into(node_id):
            source = self.nodes[edge.source]
            if source.state in ev.SUCCESS_STATES:
                inputs[edge.target_port] = ("ref", source.outputs[edge.source_port])
            else:  # sent ahead: the cluster hands it the value of the source's task
                inputs[edge.target_port] = ("after", (edge.source, edge.source_port))
                pending.add(edge.source)
        for port in spec.inputs:
            if port.name not in inputs and port.name in node.values and port.wireable:
                inputs[port.name] = ("value", node.values[port.name])
        positional, fill = call_layout(spec, set(inputs))
        for name, value in fill.items():
            inputs[name] = ("value", value)
        inputs.update(override or {})
        coerce = {p.name: c for p in spec.inputs if p.name in inputs for c in [coercion(p)] if c is not None}
        blob = None
        if "<" in spec.key and spec.func is not None:  # lambdas and local functions
            blob = self._blobs.get(spec.key)
            if blob is None:  # once per run: a mapped node's thousand items share it
                import cloudpickle

                blob = self._blobs[spec.key] = cloudpickle.dumps(spec.func)
        recipe = None
        if key is None:
            if pending:
                recipe = plan.recipe(node_id, self._outputs_of, pending)
                self.ahead.sent.add(node_id)
            else:
                key = plan.resolve(node_id, self._outputs_of)
        return Task(
            id=f"{self.id}:{node_id}:{attempt}:{key or ''}",
            run_id=self.id,
            node_id=node_id,
            title=node.title,
            spec_key=spec.key,
            key=key or "",
            cache_folder=str(self.engine.cache.store.folder),
            workspace=str(self.engine.workspace.folder),
            inputs=inputs,
            positional=positional,
            outputs=tuple(p.name for p in spec.outputs),
            output_style=spec.output_style,
            keys=tuple(key_ports([p.name for p in spec.outputs], options.split)),
            func_blob=blob,
            log_limit=self.log_limit,
            attempt=attempt,
            coerce=coerce,
            fingerprint=spec.fingerprint if blob is None and not spec.builtin else "",
            recipe=recipe,
            hold=bool(plan.downstream[node_id]) if hold is None else hold,
            save_to=options.save_to,
            save_mode=options.save_mode,
            context={
                "flow": flow.name,
                "node": node.title,
                "node_id": node_id,
                "run_id": self.id,
                **self.plan.plain,
                **(context or {}),
            }
            if options.save_to
            else {},
        )

    def _report(self, node_id: str, message: tuple) -> None:
        kind = message[0]
        if kind == "log":
            lines = tuple(ev.LogLine(*line) for line in message[2])
            self._emit(ev.NodeLog(self.id, node_id, lines))
        elif kind == "progress":
            self._emit(ev.NodeProgress(self.id, node_id, message[2], message[3], message[4], time.time()))

    async def _execute(self, node_id: str, turns: int = 0) -> None:
        """Run one node, with its retries and timeout, until it ends one way or another
        (after `turns` turns of the loop)."""
        for _ in range(turns):
            await asyncio.sleep(0)
        node = self.nodes[node_id]
        options = self.flow.options(node_id)
        spec = self.flow.spec(node_id)
        assert spec is not None
        node.started = time.time()
        began = self._began[node_id] = time.perf_counter()
        if self.flow.nodes[node_id].is_output:
            edge = self.flow.edge_into(node_id, "value")
            upstream = self.nodes[edge.source] if edge else None
            self._finish(
                node_id,
                ev.CACHED if upstream and upstream.state == ev.CACHED else ev.COMPLETED,
                outputs={"value": upstream.outputs[edge.source_port]} if upstream else {},
            )
            return
        try:
            if is_subflow(spec.key):
                await execute_subflow(self, node_id, options)
                return
            if options.map_over:
                from plait.runtime.engine.mapping import execute_mapped

                await execute_mapped(self, node_id, options)
                return
            outcome, timed_out = await self.attempts(
                node_id, lambda attempt: self._task(node_id, attempt), options, announce=True
            )
            if node.state in ev.FINAL_STATES:  # skipped: sent ahead, an input failed
                return
            if node_id in self.ahead.sent and not await self.ahead.keyed(node_id, outcome):
                return
        except asyncio.CancelledError:
            if node.state in ev.FINAL_STATES:  # skipped while sent ahead of an input that failed
                return
            node.duration = time.perf_counter() - self._began.get(node_id, began)
            self._finish(node_id, ev.CANCELLED, duration=node.duration, error_message="the run was cancelled")
            return
        node.duration = time.perf_counter() - self._began.get(node_id, began)
        if not outcome.ok:
            self._finish(
                node_id,
                ev.TIMED_OUT if timed_out else ev.FAILED,
                duration=node.duration,
                error_type=outcome.error_type,
                error_message=outcome.error_message,
                traceback=outcome.traceback,
            )
            return
        if outcome.key is not None:
            self.plan.keys[node_id] = outcome.key
            self.log(
                node_id,
                "[plait] this node's code changed while the run was going: it ran "
                "the newer code, and its result is kept for that code",
                "WARNING",
            )
        self.store_entry(node_id, self.plan.keys[node_id], outcome.outputs, options)
        if outcome.saved_to:
            verb = "read from" if outcome.checkpoint else "saved to"
            self.log(node_id, f"[plait] output {verb} {outcome.saved_to}")
        self._finish(
            node_id,
            ev.CHECKPOINT if outcome.checkpoint else ev.COMPLETED,
            outputs=outcome.outputs,
            duration=node.duration,
        )

    def store_entry(self, node_id: str, key: str, outputs: dict[str, OutputRef], options: Any) -> None:
        """Index a computed result in the cache (with its expiry), once its files are complete.

        A worker writes large outputs in the background: the entry waits for the
        files, and one whose file could not be written is not indexed at all.
        """
        expires = time.time() + options.cache_expiration if options.cache_expiration else None
        spec_key = self.flow.nodes[node_id].spec_key
        stored = getattr(self.executor, "stored", None)
        writing = stored(outputs) if stored is not None else None
        if writing is None:
            self.engine.recorder.add_cache_entry(key, spec_key, outputs, expires)
            return

        async def index() -> None:
            error = await writing
            if error is None:
                self.engine.recorder.add_cache_entry(key, spec_key, outputs, expires)
            else:
                self.unwritten.append(node_id)
                self.log(
                    node_id,
                    f"[plait] its result is not kept in the cache: {error}; the next run computes it again",
                    "WARNING",
                )
            if self.id not in self.engine.runs:  # the run has ended: no flush of its to wait for
                self.engine.recorder.flush()

        task = asyncio.ensure_future(index())
        self._indexing.add(task)
        task.add_done_callback(self._indexing.discard)

    def log(self, node_id: str, message: str, level: str = "INFO") -> None:
        """A line from Plait itself in a node's log."""
        self._emit(ev.NodeLog(self.id, node_id, (ev.LogLine(time.time(), "plait", level, message),)))

    async def attempts(
        self, node_id: str, make_task: Any, options: Any, announce: bool = False
    ) -> tuple[Outcome, bool]:
        """Run a task until it succeeds or its retries run out: (outcome, timed out)."""
        node = self.nodes[node_id]
        attempt = 1
        while True:

            def started(key: str | None = None, attempt: int = attempt) -> None:
                if not announce:
                    return
                node.attempts = attempt
                if attempt == 1:
                    node.started = time.time()
                    self._began[node_id] = time.perf_counter()
                key = self.plan.keys.get(node_id) or key or ""  # sent ahead: its worker's
                self.ahead.announce(node_id, ev.NodeStarted(self.id, node_id, attempt, time.time(), key))

            task = make_task(attempt)
            timed_out = False
            try:
                outcome = await self._attempt(node_id, task, options.timeout, started)
                await self.ahead.announced(node_id)
            except asyncio.TimeoutError:
                timed_out = True
                stopped = (
                    "was stopped"
                    if getattr(self.executor, "kills", True)
                    else "was abandoned (an inline node cannot be killed)"
                )
                outcome = Outcome(
                    False,
                    error_type="TimeoutError",
                    error_message=f"node '{node.title}' ran longer than its "
                    f"timeout of {options.timeout:g} s and {stopped}",
                )
            if outcome.ok:
                return outcome, False
            if outcome.waits_for is not None:
                # Sent ahead of its inputs, it did not get one: it goes again once they are
                # done, as the same attempt; skipped if one of them failed.
                failed = await self.ahead.failed_input(node_id)
                if failed is None:
                    continue
                self._skip(node_id, failed)
                return outcome, False
            if outcome.corrupt_input and await self.repair(node_id, outcome.corrupt_input):
                continue
            if attempt > options.retries or self._cancelled:
                return outcome, timed_out
            delay = _retry_delay(options.retry_delay, options.retry_backoff, attempt)
            self._emit(
                ev.NodeRetrying(
                    self.id,
                    node_id,
                    attempt,
                    delay,
                    f"{outcome.error_type}: {outcome.error_message}",
                    time.time(),
                )
            )
            node.state = ev.RETRYING
            await asyncio.sleep(delay)
            attempt += 1

    async def _attempt(self, node_id: str, task: Task, timeout: float | None, started: Any) -> Outcome:
        """One try on the executor; its timeout counts from when a worker starts it.

        An executor that queues tasks (Dask, or the local one with tasks waiting
        behind others) says when a worker begins one with a ("started", task id)
        message; until then the node waits in the queue, neither started nor timing.
        """
        if not (getattr(self.executor, "queues", False) or getattr(self.executor, "waits", 0)):
            started()
            coro = self.executor.run(task, lambda m: self._report(node_id, m))
            return await (asyncio.wait_for(coro, timeout) if timeout else coro)
        begun = asyncio.get_running_loop().create_future()

        def report(message: tuple) -> None:
            if message[0] != "started":
                self._report(node_id, message)
            elif not begun.done():
                started(message[2] if len(message) > 2 else None)
                begun.set_result(None)

        if not timeout:  # nothing counts from the start: the outcome is all to wait for
            outcome = await self.executor.run(task, report)
            if not begun.done() and outcome.waits_for is None:  # it ended without starting
                started()
            return outcome
        running = asyncio.ensure_future(self.executor.run(task, report))
        try:
            await asyncio.wait([running, begun], return_when=asyncio.FIRST_COMPLETED)
            if not begun.done():
                outcome = await running
                if outcome.waits_for is None:  # it ended without starting (a lost input, a dead worker)
                    started()
                return outcome
            if running.done():
                return await running
            return await asyncio.wait_for(running, timeout)
        finally:
            running.cancel()

    async def repair(self, node_id: str, port: str) -> bool:
        """A cached input was damaged: forget it and recompute the node that made it."""
        edge = self.flow.edge_into(node_id, port)
        if edge is None or self._repairs >= MAX_REPAIRS:
            return False
        self._repairs += 1
        source = edge.source
        self.engine.cache.delete([self.plan.keys[source]])
        self.log(
            node_id,
            f"[plait] the stored result of '{self.nodes[source].title}' was damaged; recomputing it",
            "WARNING",
        )
        self.nodes[source].state = ev.PENDING
        if self.flow.nodes[source].is_parameter:
            self._resolve_parameter(source, None)
        else:
            await self._execute(source)
        return self.nodes[source].state in ev.SUCCESS_STATES


def _retry_delay(delay: Any, backoff: float, attempt: int) -> float:
    if isinstance(delay, (list, tuple)):
        return float(delay[min(attempt - 1, len(delay) - 1)]) if delay else 0.0
    return float(delay or 0.0) * (backoff ** (attempt - 1))


async def run_flow(
    workspace: Workspace,
    flow: Flow,
    parameters: dict[str, Any] | None = None,
    options: RunOptions | None = None,
    catalog: Any = None,
) -> RunResult:
    """Run a flow once and close the engine: the simplest way in from scripts and tests."""
    engine = Engine(workspace, catalog or flow.catalog)
    try:
        return await engine.run(flow, parameters, options)
    finally:
        await engine.close()
