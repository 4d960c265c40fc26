"""The Dask executor: nodes run as tasks on a dask.distributed cluster.

Plait's scheduler still decides what runs (the same Merkle keys, so a cached
node never reaches the cluster); Dask runs each node where it likes. A node is
one Dask task, the call itself. Everything ready at the same moment goes to
the cluster in one batch, and the cluster queues it: the scheduler does not
hold nodes back to the cluster's thread count. Logs, progress, the moment a
node starts and its outcome travel back as Dask worker events on a topic per
run, so the scheduling process never fetches a task's result to learn how it
went.

Two ways to hand results on:
- shared store (default, and always for a LocalCluster): the worker writes the
  result to the workspace's result store, as the local executor does;
- not shared: the value stays in the cluster's memory, as the result of the
  node's task. The next node gets that task's future as an argument, so Dask
  moves the value worker to worker; the scheduling process gets only a
  summary, and a cache entry is written when someone asks for the value.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import uuid
from collections.abc import Callable
from dataclasses import dataclass
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
        self.kept: dict[str, Any] = {}  # checksum ("<key>/<port>") -> value
        self.upstream = upstream  # checksum -> the (outcome, kept) an upstream task returned

    def write(self, key: str, port: str, value: Any, folder: str | None = None) -> OutputRef:
        from plait.runtime.keys.files import existing
        from plait.runtime.keys.values import value_key
        from plait.runtime.results.serializers import summarize

        self.kept[f"{key}/{port}"] = value  # a mapped input's items share a port, not a key
        paths = tuple(existing(value, folder)) if isinstance(value, (str, list, tuple, dict)) else ()
        return OutputRef(
            IN_CLUSTER, 0, f"{key}/{port}", summarize(value), digest="value:" + value_key(value), paths=paths
        )

    def read(self, ref: OutputRef) -> Any:
        if ref.serializer == IN_CLUSTER:
            return self.upstream[ref.checksum][1][ref.checksum]
        return super().read(ref)


_STORES: dict[str, ResultStore] = {}  # per worker process: one store per cache folder


def _run_on_worker(task: Task, topic: str, shared: bool, upstream: dict[str, Any]) -> Any:
    """Runs inside a Dask worker: the node, with its messages sent as worker events.

    Returns (outcome, outputs kept in memory); the outcome also goes out as an
    event, which is how the scheduling process learns it.
    """
    from distributed import get_worker

    worker = get_worker()

    def send(message: Message) -> None:
        worker.log_event(topic, list(message))

    send(("started", task.id))
    store = _STORES.get(task.cache_folder)
    if store is None:
        store = _STORES[task.cache_folder] = ResultStore(task.cache_folder)
    kept: dict[str, Any] = {}
    if shared:
        outcome = run_task(task, send, store)
    else:
        memory = _MemoryStore(store, upstream)
        outcome = run_task(task, send, memory)
        kept = memory.kept
    send(("done", task.id, pickle.dumps(outcome)))
    return outcome, kept


@dataclass(eq=False)
class _Submission:
    """A node's task on its way through the cluster."""

    task: Task
    report: Callable[[Message], None]
    upstream: dict[str, Any]  # checksum -> future of the upstream task holding it
    outcome: asyncio.Future[Outcome]
    future: Any = None  # the Dask future, once submitted


class DaskExecutor:
    """Runs node tasks on a Dask cluster: one at `address`, or a LocalCluster."""

    name = "dask"
    queues = True  # the cluster queues tasks: the scheduler submits every ready node at once

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
        self._routes: dict[str, _Submission] = {}  # task id -> its submission
        self._queue: list[_Submission] = []  # waiting for this turn's batch
        self._watchers: set[asyncio.Task[None]] = set()
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
            import dask
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
            # The cluster's scheduler runs on a loop thread of its own, not on this loop
            # (the window's): it answers its workers while this loop handles the run.
            def make_cluster() -> Any:
                with dask.config.set(self._local_settings()):
                    return LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        host=LOOPBACK,
                        dashboard_address=f"{LOOPBACK}:0",
                        scheduler_kwargs={"dashboard": self.dashboard},
                        worker_dashboard_address=None,
                        silence_logs=logging.CRITICAL,
                    )

            self.cluster = await asyncio.to_thread(make_cluster)
            self.client = await Client(self.cluster.scheduler_address, asynchronous=True)
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

    def _local_settings(self) -> dict[str, Any]:
        """Dask settings for a cluster of our own, tuned for many small node tasks.

        Every task goes to a worker as soon as it is submitted (no queue on the
        Dask scheduler), so a worker starts its next node without a round trip;
        the workers' statistical profiler, which only the dashboard shows, is off
        unless the dashboard is.
        """
        settings: dict[str, Any] = {"distributed.scheduler.worker-saturation": float("inf")}
        if not self.dashboard:
            settings["distributed.worker.profile.enabled"] = False
        return settings

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
        submission = self._routes.get(message[1])
        if submission is None:
            return
        if message[0] == "done":
            self._settle(submission, pickle.loads(message[2]))
        else:
            submission.report(tuple(message))

    def _settle(self, submission: _Submission, outcome: Outcome) -> None:
        if submission.outcome.done():
            return
        if outcome.ok and not self.shared:
            refs = [*outcome.outputs.values(), *(ref for ref, _ in outcome.items or ())]
            for ref in refs:
                self._held[ref.checksum] = submission.future  # its result holds the value
        submission.outcome.set_result(outcome)

    def _inputs_held(self, task: Task) -> tuple[dict[str, Any], str | None]:
        """The futures holding a task's inputs in the cluster, or the name of one lost."""
        upstream: dict[str, Any] = {}
        for name, (kind, payload) in task.inputs.items():
            refs = [payload] if kind == "ref" else payload if kind == "refs" else []
            for ref in refs:
                if isinstance(ref, OutputRef) and ref.serializer == IN_CLUSTER:
                    held = self._held.get(ref.checksum)
                    if held is None:
                        return {}, name
                    upstream[ref.checksum] = held
        return upstream, None

    async def run(self, task: Task, report: Callable[[Message], None]) -> Outcome:
        """Queue the task for the next batch and wait for its outcome.

        `report` also receives ("started", task id) when a worker begins it.
        """
        await self.start()
        upstream, lost = self._inputs_held(task)
        if lost is not None:
            return Outcome(
                False,
                error_type="ResultLost",
                error_message=f"the value of input '{lost}' is no longer "
                "held by the cluster; run the flow again",
            )
        loop = asyncio.get_running_loop()
        submission = _Submission(task, report, upstream, loop.create_future())
        self._routes[task.id] = submission
        self._queue.append(submission)
        if len(self._queue) == 1:
            loop.call_soon(self._submit)  # after every node made ready this turn has queued
        try:
            return await submission.outcome
        except asyncio.CancelledError:
            if submission.future is not None:
                # Fire and forget: this coroutine is being cancelled and must not wait.
                asyncio.ensure_future(self.client.cancel([submission.future]))
            raise
        finally:
            self._routes.pop(task.id, None)
            submission.future = None

    def _submit(self) -> None:
        """Send every queued task to the cluster in one graph update."""
        batch = [s for s in self._queue if not s.outcome.done()]  # some were cancelled meanwhile
        self._queue = []
        if not batch:
            return
        try:
            futures = self.client.map(
                _run_on_worker,
                [s.task for s in batch],
                [self._topic(s.task.run_id) for s in batch],
                [self.shared] * len(batch),
                [s.upstream for s in batch],
                key=[f"plait-{s.task.node_id}-{uuid.uuid4().hex[:8]}" for s in batch],
                pure=False,
            )
        except Exception as exc:  # noqa: BLE001 - a task that cannot be sent, a lost connection
            for s in batch:
                self._settle(s, Outcome(False, error_type=type(exc).__name__, error_message=str(exc)))
            return
        for s, future in zip(batch, futures, strict=True):
            s.future = future
            s.upstream = {}  # the task has them now; held values are released by the scheduler
        watcher = asyncio.ensure_future(self._watch(batch))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)

    async def _watch(self, batch: list[_Submission]) -> None:
        """Report tasks that ended without sending their outcome: a worker died, a task was lost."""
        from distributed import as_completed

        by_key = {s.future.key: s for s in batch}
        async for future in as_completed([s.future for s in batch]):
            submission = by_key.pop(future.key)
            if submission.outcome.done():
                continue
            if future.status == "finished":  # the outcome event is late: read the task's result
                try:
                    outcome, _ = await future
                except Exception as exc:  # noqa: BLE001
                    outcome = _failure(exc)
            elif future.status == "cancelled":
                outcome = Outcome(
                    False, error_type="CancelledError", error_message="the cluster cancelled the task"
                )
            else:
                outcome = _failure(await future.exception())
            self._settle(submission, outcome)

    async def materialize(self, ref: OutputRef, store: ResultStore, key: str, port: str) -> OutputRef:
        """Bring a value held in the cluster into the result store (when someone asks)."""
        if ref.serializer != IN_CLUSTER:
            return ref
        held = self._held.get(ref.checksum)
        if held is None:
            raise ExecutorUnavailable("the cluster no longer holds this value; run again")
        _, kept = await held
        return store.write(key, port, kept[ref.checksum])

    def release(self, ref: OutputRef) -> None:
        """Drop the cluster's copy of a value no node needs any more."""
        if ref.serializer == IN_CLUSTER:
            self._held.pop(ref.checksum, None)

    def forget_functions(self) -> None:
        pass

    async def close(self) -> None:
        self._held.clear()
        for watcher in list(self._watchers):
            watcher.cancel()
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.close)
            self.cluster = None


def _failure(exc: BaseException) -> Outcome:
    name = type(exc).__name__
    message = (
        f"the Dask worker running it died ({name}: {exc})" if name == "KilledWorker" else f"{name}: {exc}"
    )
    return Outcome(False, error_type=name, error_message=message)
