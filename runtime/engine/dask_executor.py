"""The Dask executor: nodes run as tasks on a dask.distributed cluster.

Plait's scheduler still decides what runs (the same Merkle keys, so a cached
node never reaches the cluster); Dask runs each node where it likes. Logs and
progress travel back as Dask worker events on a topic per run.

Two ways to hand results on:
- shared store (default, and always for a LocalCluster): the worker writes the
  result to the workspace's result store, as the local executor does;
- not shared: the value stays in the cluster's memory. The next node gets it
  as a Dask dependency (worker to worker), the scheduling process gets only a
  summary, and a cache entry is written when someone asks for the value.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import uuid
from collections.abc import Callable
from typing import Any

from plait.runtime.engine.worker import Message, Outcome, Task, run_task
from plait.runtime.results.blobs import OutputRef, ResultStore

IN_CLUSTER = "dask"  # serializer name of a value held in cluster memory
LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT = 5.0


class ExecutorUnavailable(Exception):
    """The executor cannot start (a cluster out of reach); the message says where."""


class _MemoryStore(ResultStore):
    """Keeps a node's outputs in the worker for Dask to hold, with their summaries."""

    def __init__(self, base: ResultStore, upstream: dict[str, Any]) -> None:
        super().__init__(base.folder, base.inline_limit)
        self.kept: dict[str, Any] = {}
        self.upstream = upstream

    def write(self, key: str, port: str, value: Any, folder: str | None = None) -> OutputRef:
        from plait.runtime.keys.files import existing
        from plait.runtime.keys.values import value_key
        from plait.runtime.results.blobs import summarize

        self.kept[port] = value
        paths = tuple(existing(value, folder)) if isinstance(value, (str, list, tuple, dict)) else ()
        return OutputRef(
            IN_CLUSTER, 0, f"{key}/{port}", summarize(value), digest="value:" + value_key(value), paths=paths
        )

    def read(self, ref: OutputRef) -> Any:
        if ref.serializer == IN_CLUSTER:
            return self.upstream[ref.checksum]
        return super().read(ref)


def _run_on_worker(task: Task, topic: str, shared: bool, upstream: dict[str, Any]) -> Any:
    """Runs inside a Dask worker: the node, with its messages sent as worker events."""
    from distributed import get_worker

    worker = get_worker()

    def send(message: Message) -> None:
        worker.log_event(topic, list(message))

    store = ResultStore(task.cache_folder)
    if shared:
        return run_task(task, send, store), {}
    memory = _MemoryStore(store, upstream)
    outcome = run_task(task, send, memory)
    return outcome, memory.kept


class DaskExecutor:
    """Runs node tasks on a Dask cluster: one at `address`, or a LocalCluster."""

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        slots: int | None = None,
        workspace: str | None = None,
        shared_store: bool | None = None,
        dashboard: bool = False,
    ) -> None:
        """`dashboard` serves a LocalCluster's dashboard (on 127.0.0.1, as all of it is)."""
        self.address = address
        self.dashboard = dashboard
        self.workspace = workspace
        self.shared = True if address is None else bool(shared_store if shared_store is not None else True)
        self._wanted_slots = slots
        self.slots = slots or 1
        self.client: Any = None
        self.cluster: Any = None
        self._topics: set[str] = set()
        self._routes: dict[str, Callable[[Message], None]] = {}  # task id -> its reporter
        self._held: dict[str, Any] = {}  # token -> future of a value kept in the cluster
        self._loop: asyncio.AbstractEventLoop | None = None
        self._starting: asyncio.Lock | None = None
        self._failure: str | None = None

    async def start(self) -> None:
        if self._starting is None or self._loop is not asyncio.get_running_loop():
            self._starting = asyncio.Lock()
            self._failure = None
            self._loop = asyncio.get_running_loop()
        async with self._starting:  # a warm-up and the first run may both ask
            if self._failure is not None:
                raise ExecutorUnavailable(self._failure)
            try:
                await self._start()
            except ExecutorUnavailable as exc:
                self._failure = str(exc)  # asked again by the same run: answer at once
                raise

    async def _start(self) -> None:
        if self.client is not None:
            return
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorUnavailable(
                "the Dask executor needs dask.distributed: pip install 'plait[dask]'"
            ) from None
        self._loop = asyncio.get_running_loop()
        if self.address is None:
            import os

            workers = self._wanted_slots or max(1, os.cpu_count() or 1)
            # Loopback only: the cluster runs this machine's code for anyone who reaches
            # it, and its dashboard has no login. The scheduler's web server (health and
            # metrics) always listens, so it gets a free loopback port; the dashboard
            # pages on it are off unless asked for.
            self.cluster = await LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                asynchronous=True,
                host=LOOPBACK,
                dashboard_address=f"{LOOPBACK}:0",
                scheduler_kwargs={"dashboard": self.dashboard},
                worker_dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
            self.client = await Client(self.cluster, asynchronous=True)
        else:
            try:
                self.client = await asyncio.wait_for(
                    Client(self.address, asynchronous=True, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT + 2
                )
            except (OSError, asyncio.TimeoutError) as exc:
                self.client = None
                raise ExecutorUnavailable(
                    f"cannot reach the Dask scheduler at {self.address} ({exc}); check the "
                    "address and that the scheduler is running"
                ) from None
        info = self.client.scheduler_info()
        self.slots = max(1, sum(w.get("nthreads", 1) for w in info["workers"].values()))

    @property
    def dashboard_link(self) -> str | None:
        """Where the cluster's dashboard is served, once started (None when it has none)."""
        if self.client is None:
            return None
        if self.cluster is not None and not self.dashboard:
            return None
        try:
            return self.client.dashboard_link
        except (KeyError, AttributeError):
            return None

    def _topic(self, run_id: str) -> str:
        topic = f"plait-{run_id}"
        if topic not in self._topics:
            self._topics.add(topic)
            self.client.subscribe_topic(topic, self._event)
        return topic

    def _event(self, event: Any) -> None:
        _, message = event
        handler = self._routes.get(message[1])
        if handler is not None:
            handler(tuple(message))

    async def run(self, task: Task, report: Callable[[Message], None]) -> Outcome:
        await self.start()
        self._routes[task.id] = report
        upstream = {}
        for name, (kind, payload) in task.inputs.items():
            if kind == "ref" and payload.serializer == IN_CLUSTER:
                held = self._held.get(payload.checksum)
                if held is None:
                    return Outcome(
                        False,
                        error_type="ResultLost",
                        error_message=f"the value of input '{name}' is no longer "
                        "held by the cluster; run the flow again",
                    )
                upstream[payload.checksum] = held
        future = self.client.submit(
            _run_on_worker,
            task,
            self._topic(task.run_id),
            self.shared,
            upstream,
            key=f"plait-{task.node_id}-{uuid.uuid4().hex[:8]}",
            pure=False,
        )
        try:
            outcome_future = self.client.submit(operator.getitem, future, 0, pure=False)
            outcome: Outcome = await outcome_future
            if outcome.ok and not self.shared:
                for port, ref in outcome.outputs.items():
                    held = self.client.submit(_pick, future, port, pure=False)
                    self._held[ref.checksum] = held
            return outcome
        except asyncio.CancelledError:
            # Fire and forget: this coroutine is being cancelled and must not wait.
            asyncio.ensure_future(self.client.cancel([future]))
            raise
        except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connections ...
            name = type(exc).__name__
            message = (
                f"the Dask worker running it died ({name}: {exc})"
                if name == "KilledWorker"
                else f"{name}: {exc}"
            )
            return Outcome(False, error_type=name, error_message=message)
        finally:
            self._routes.pop(task.id, None)

    async def materialize(self, ref: OutputRef, store: ResultStore, key: str, port: str) -> OutputRef:
        """Bring a value held in the cluster into the result store (when someone asks)."""
        if ref.serializer != IN_CLUSTER:
            return ref
        held = self._held.get(ref.checksum)
        if held is None:
            raise ExecutorUnavailable("the cluster no longer holds this value; run again")
        value = await held
        return store.write(key, port, value)

    def release(self, ref: OutputRef) -> None:
        """Drop the cluster's copy of a value no node needs any more."""
        if ref.serializer == IN_CLUSTER:
            self._held.pop(ref.checksum, None)

    def forget_functions(self) -> None:
        pass

    async def close(self) -> None:
        self._held.clear()
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.cluster is not None:
            await self.cluster.close()
            self.cluster = None


def _pick(result: Any, port: str) -> Any:
    return result[1][port]
