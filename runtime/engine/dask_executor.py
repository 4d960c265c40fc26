"""The Dask executor: nodes run as tasks on a dask.distributed cluster.

Plait's scheduler still decides what runs (the same Merkle keys, so a cached
node never reaches the cluster); Dask runs each node where it likes. A node is
one Dask task, the call itself. Everything ready at the same moment goes to
the cluster in one batch, and the cluster queues it: the scheduler does not
hold nodes back to the cluster's thread count. The nodes after those go in the
same batch, ahead of their inputs: each task is given its upstream nodes' tasks
as arguments, so Dask starts it on a worker as soon as they are done, with no
round trip through the scheduling process per node. Such a node's worker works
out its cache key from its inputs' digests, as the scheduler would. Logs,
progress, the moment a node starts and its outcome travel back as Dask worker
events on a topic per run, so the scheduling process never fetches a task's
result to learn how it went.

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
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plait.runtime.engine.dask_worker import IN_CLUSTER, run_on_worker, task_key
from plait.runtime.engine.worker import Message, Outcome, Task
from plait.runtime.results.blobs import OutputRef, ResultStore

CONNECT_TIMEOUT = 5.0
BATCH = 100  # tasks sent in one graph update at most: a big batch starts while the rest is made


class ExecutorUnavailable(Exception):
    """The executor cannot start (a cluster out of reach); the message says where."""


@dataclass(eq=False)
class _Submission:
    """A node's task on its way through the cluster."""

    task: Task
    report: Callable[[Message], None]
    upstream: dict[str, Any]  # checksum -> future of the upstream task holding it
    outcome: asyncio.Future[Outcome]
    future: Any = None  # the Dask future, once submitted
    # node -> the future (or, in the same batch, the submission) of each upstream
    # node this task is sent ahead of
    ahead: dict[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # those nodes, kept once the task has their futures
    key: str | None = None  # its Dask key, once sent


class DaskExecutor:
    """Runs node tasks on a Dask cluster: one at `address`, or a LocalCluster."""

    name = "dask"
    queues = True  # the cluster queues tasks: the scheduler submits every ready node at once
    ahead = True  # and the nodes after them, given their upstream nodes' tasks
    batch = BATCH  # tasks it sends in one graph update: the scheduler starts them a batch a turn

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
        self._by_key: dict[str, _Submission] = {}  # Dask key -> the submission sent under it
        self._calls: dict[tuple[str, str], _Submission] = {}  # (run, node) -> its latest call
        self._cancelling: list[Any] = []  # futures to cancel in this turn's batch
        self._queue: list[_Submission] = []  # waiting for this turn's batch
        self._flushing = False  # the end of this turn sends the queue
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
            from distributed import Client
        except ImportError:
            raise ExecutorUnavailable(
                "the Dask executor needs dask.distributed: pip install 'plait[dask]'"
            ) from None
        self._loop = asyncio.get_running_loop()
        if self.address is None:
            import os

            from plait.runtime.engine.dask_cluster import local_cluster

            workers = self._wanted_slots or max(1, os.cpu_count() or 1)
            self.cluster = await asyncio.to_thread(local_cluster, workers, self.dashboard)
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
        # A task's own messages name its task id; the workers' plugin names its Dask key.
        submission = self._routes.get(message[1]) or self._by_key.get(message[1])
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

        `report` also receives ("started", task id, key) when a worker begins it.
        An input ("after", (node, port)) is the output of that node's call,
        queued or running here: the task goes ahead of it.
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
        ahead: dict[str, Any] = {}
        for kind, payload in task.inputs.values():
            if kind != "after":
                continue
            source = self._calls.get((task.run_id, payload[0]))
            if source is None or source.outcome.cancelled():  # done meanwhile: the value is known
                return _waits_for(payload[0])
            ahead[payload[0]] = source.future if source.future is not None else source
        loop = asyncio.get_running_loop()
        outcome = loop.create_future()
        submission = _Submission(task, report, upstream, outcome, ahead=ahead, sources=tuple(ahead))
        self._routes[task.id] = submission
        call = (task.run_id, task.node_id)
        if task.kind == "call":
            self._calls[call] = submission
        self._queue.append(submission)
        if not self._flushing:
            self._flushing = True
            loop.call_soon(self._submit)  # after every node made ready this turn has queued
        elif len(self._queue) >= BATCH:
            self._send_queued()  # the cluster starts on these while the rest are made
        try:
            return await submission.outcome
        except asyncio.CancelledError:
            if submission.future is not None:
                self._cancel(submission.future)
            raise
        finally:
            self._routes.pop(task.id, None)
            if submission.key is not None:
                self._by_key.pop(submission.key, None)
            if self._calls.get(call) is submission:
                del self._calls[call]
            submission.future = None

    def _cancel(self, future: Any) -> None:
        """Cancel a task on the cluster, with the others cancelled this turn, without waiting."""
        self._cancelling.append(future)
        if len(self._cancelling) == 1:
            asyncio.get_running_loop().call_soon(self._cancel_batch)

    def _cancel_batch(self) -> None:
        futures, self._cancelling = self._cancelling, []
        if self.client is not None:
            self._keep(asyncio.ensure_future(self.client.cancel(futures)))

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    def _submit(self) -> None:
        """Send every queued task to the cluster (at the end of the turn that queued them)."""
        self._flushing = False
        self._send_queued()

    def _send_queued(self) -> None:
        """Send the queued tasks to the cluster in one graph update."""
        batch = [s for s in self._queue if not s.outcome.done()]  # some were cancelled meanwhile
        self._queue = []
        try:
            self._send(batch)
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave its nodes waiting for ever
            for s in batch:
                if s.future is None:
                    self._settle(s, _failure(exc))

    def _send(self, batch: list[_Submission]) -> None:
        """One graph of the batch's tasks: a task sent ahead names its upstream task in it.

        The upstream task is a key of the same graph or the future of one sent
        before, given as an argument of its own so Dask passes its result.
        """
        graph: dict[str, tuple] = {}
        sent: list[_Submission] = []
        keys: dict[int, str] = {}
        for s in batch:  # in the order they came: a task after those it goes ahead of
            refs: list[Any] = []
            for node, source in s.ahead.items():
                ref = source
                if isinstance(source, _Submission):  # in this graph, or sent just before
                    ref = keys.get(id(source)) or source.future
                if ref is None:  # its upstream task never went (cancelled meanwhile)
                    self._settle(s, _waits_for(node))
                    break
                refs.append(ref)
            else:
                key = s.key = keys[id(s)] = task_key(s.task)
                self._by_key[key] = s
                topic = self._topic(s.task.run_id)
                graph[key] = (run_on_worker, s.task, topic, self.shared, s.upstream, tuple(s.ahead), *refs)
                sent.append(s)
        if not sent:
            return
        try:
            futures = self.client.get(graph, [keys[id(s)] for s in sent], sync=False)
        except Exception as exc:  # noqa: BLE001 - a task that cannot be sent, a lost connection
            for s in sent:
                self._settle(s, Outcome(False, error_type=type(exc).__name__, error_message=str(exc)))
            return
        for s, future in zip(sent, futures, strict=True):
            s.future = future
            # The task has them now; held values are released by the scheduler.
            s.upstream, s.ahead = {}, {}
        self._keep(asyncio.ensure_future(self._watch(list(zip(sent, futures, strict=True)))))

    async def _watch(self, batch: list[tuple[_Submission, Any]]) -> None:
        """Report tasks that ended without sending their outcome: a worker died, a task was lost."""
        from distributed import as_completed

        by_key = {future.key: s for s, future in batch}
        # With a shared store a task's result is small: the batch's are let go of
        # together when the last is done, so the cluster frees them in one go
        # instead of one message per task while the others run.
        together = [future for _, future in batch] if self.shared else []
        async for future in as_completed([future for _, future in batch]):
            submission = by_key.pop(future.key)
            if submission.outcome.done():
                continue
            if future.status == "finished":  # the outcome event is late: read the task's result
                try:
                    outcome = (await future).outcome
                except Exception as exc:  # noqa: BLE001
                    outcome = _failure(exc)
            elif future.status == "cancelled":
                outcome = Outcome(
                    False, error_type="CancelledError", error_message="the cluster cancelled the task"
                )
            else:
                outcome = _failure(await future.exception())
            if submission.sources and future.status != "finished":
                # Sent ahead, it may have been lost with an upstream task (cancelled, or
                # failed outside its node): the node goes again once its inputs are done.
                outcome.waits_for = submission.sources[0]
            self._settle(submission, outcome)
        together.clear()

    async def materialize(self, ref: OutputRef, store: ResultStore, key: str, port: str) -> OutputRef:
        """Bring a value held in the cluster into the result store (when someone asks)."""
        if ref.serializer != IN_CLUSTER:
            return ref
        held = self._held.get(ref.checksum)
        if held is None:
            raise ExecutorUnavailable("the cluster no longer holds this value; run again")
        kept = (await held).kept
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


def _waits_for(node: str) -> Outcome:
    """The outcome of a task sent ahead of a node whose value it will not get from the cluster."""
    return Outcome(
        False,
        error_type="UpstreamGone",
        error_message="an upstream node's task is no longer in the cluster",
        waits_for=node,
    )


def _failure(exc: BaseException) -> Outcome:
    name = type(exc).__name__
    message = (
        f"the Dask worker running it died ({name}: {exc})" if name == "KilledWorker" else f"{name}: {exc}"
    )
    return Outcome(False, error_type=name, error_message=message)
