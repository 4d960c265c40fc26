"""What a node's Dask task runs in its worker (the scheduling process's side is `dask_executor`).

The task runs the node as a local worker process would, and sends its
messages (its start, its logs and progress, its outcome) as Dask worker
events. It returns a `NodeResult`: when the store is not shared, the values
stay in the cluster in it, and the next node's task is given it in place of
its future.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import pickle
import re
from typing import Any, NamedTuple

from plait.runtime.engine.worker import Message, Outcome, Task, run_task
from plait.runtime.results.blobs import OutputRef, ResultStore

IN_CLUSTER = "dask"  # serializer name of a value held in cluster memory


class MemoryStore(ResultStore):
    """Keeps a node's outputs in the worker for Dask to hold, with their summaries."""

    def __init__(self, base: ResultStore, upstream: dict[str, Any]) -> None:
        super().__init__(base.folder, base.inline_limit)
        self.kept: dict[str, Any] = {}  # checksum ("<key>/<port>") -> value
        self.upstream = upstream  # checksum -> what the upstream task holding it returned

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
            return self.upstream[ref.checksum].kept[ref.checksum]
        return super().read(ref)


_STORES: dict[str, ResultStore] = {}  # per worker process: one store per cache folder
NODE_EVENTS = "plait-node-events"  # the worker plugin that tells starts and outcomes (`dask_cluster`)
_KEY = re.compile(r"[A-Za-z][0-9A-Za-z_]*-[0-9a-f]{8}-plait([0-9a-f]{32})-")


def task_key(task: Task) -> str:
    """A Dask key for a node's task: '<function>-<serial>-plait<run id>-<node id>'.

    Dask groups tasks by the first word (its task prefix) to learn how long
    they take, which it balances work between workers by, and the dashboard
    shows them by it; the run in it names the topic of the run's events. The
    serial, counted in this process, tells a node's calls in one run apart (its
    retries, a call sent again): the run id is unique already.
    """
    return f"{_prefix(task.spec_key)}-{next(_SERIAL) & 0xFFFFFFFF:08x}-plait{task.run_id}-{task.node_id}"


_SERIAL = itertools.count()


@functools.lru_cache(maxsize=1024)
def _prefix(spec_key: str) -> str:
    name = spec_key.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    name = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return name if name[:1].isalpha() else "node" + name


def topic_of(key: Any) -> str | None:
    """The topic of the run a task key belongs to; None for a key not made by `task_key`."""
    found = _KEY.match(key) if isinstance(key, str) else None
    return f"plait-{found.group(1)}" if found else None


class NodeResult(NamedTuple):
    """What a node's task returns: Dask holds it until no task or future needs it."""

    outcome: Outcome
    kept: dict[str, Any]  # checksum -> output value, when the store is not shared
    key: str  # the key the outputs were stored under
    topic: str  # of the run's events
    task_id: str


def run_on_worker(
    task: Task, topic: str, shared: bool, upstream: dict[str, Any], sources: tuple[str, ...], *results: Any
) -> NodeResult:
    """Runs inside a Dask worker: the node, with its messages sent as worker events.

    `upstream` and `results` hold what upstream tasks returned (Dask passes
    their results in place of their futures): by checksum, the values kept in
    memory; in the order of `sources`, those of the nodes this one was sent
    ahead of. Its start and outcome go out as events, which is how the
    scheduling process learns them: from the worker's event loop as the task
    starts and ends, by the plugin Plait gives its workers, or else from here.
    """
    from distributed import get_worker

    worker = get_worker()

    def send(message: Message) -> None:
        worker.log_event(topic, list(message))

    told = NODE_EVENTS in worker.plugins  # the plugin tells the start and the outcome

    def done(outcome: Outcome, kept: dict[str, Any], key: str) -> NodeResult:
        if not told:
            send(("done", task.id, pickle.dumps(outcome)))
        return NodeResult(outcome, kept, key, topic, task.id)

    if sources:
        task, held, failed = after_inputs(task, dict(zip(sources, results, strict=True)))
        if failed is not None:
            outcome = Outcome(
                False,
                error_type="UpstreamFailed",
                error_message="an upstream node did not complete",
                waits_for=failed,
            )
            return done(outcome, {}, "")
        upstream = {**upstream, **held}
    if not told:
        send(("started", task.id, task.key))
    store = _STORES.get(task.cache_folder)
    if store is None:
        store = _STORES[task.cache_folder] = ResultStore(task.cache_folder)
    kept: dict[str, Any] = {}
    if shared:
        outcome = run_task(task, send, store)
    else:
        memory = MemoryStore(store, upstream)
        outcome = run_task(task, send, memory)
        kept = memory.kept
    if task.recipe is not None:
        outcome.planned_key = task.key
    return done(outcome, kept, outcome.key or task.key)


def after_inputs(task: Task, ahead: dict[str, Any]) -> tuple[Task, dict[str, Any], str | None]:
    """A task sent ahead of its inputs, given their tasks' results: its inputs' refs and its key.

    Returns (the task to run, the upstream results by the checksum of each value
    it reads, None), or (task, {}, the upstream node) when that node failed.
    """
    produced: dict[str, tuple[dict[str, OutputRef], str]] = {}
    for source, result in ahead.items():
        if not result.outcome.ok:
            return task, {}, source
        produced[source] = (result.outcome.outputs, result.key)
    inputs = dict(task.inputs)
    held: dict[str, Any] = {}
    for name, (kind, payload) in task.inputs.items():
        if kind == "after":
            source, port = payload
            ref = produced[source][0][port]
            inputs[name] = ("ref", ref)
            held[ref.checksum] = ahead[source]
    key = task.recipe.key(produced)
    return dataclasses.replace(task, inputs=inputs, key=key), held, None
