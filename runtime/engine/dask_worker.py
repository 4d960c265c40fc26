"""What a node's Dask task runs in its worker (the scheduling process's side is `dask_executor`).

The task runs the node as a local worker process would, and sends its
messages (its start, its logs and progress, its outcome) as Dask worker
events. It returns (outcome, outputs kept in memory, the key they were stored
under): when the store is not shared, the values stay in the cluster as that
result, and the next node's task is given it in place of its future.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

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
        from plait.runtime.results.blobs import summarize

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


def run_on_worker(
    task: Task, topic: str, shared: bool, upstream: dict[str, Any], ahead: dict[str, Any]
) -> tuple[Outcome, dict[str, Any], str]:
    """Runs inside a Dask worker: the node, with its messages sent as worker events.

    `upstream` and `ahead` hold what upstream tasks returned (Dask passes their
    results in place of their futures): by checksum, the values kept in memory;
    by node, those of the nodes this one was sent ahead of. Returns (outcome,
    outputs kept in memory, the key they were stored under); the outcome also
    goes out as an event, which is how the scheduling process learns it.
    """
    from distributed import get_worker

    worker = get_worker()

    def send(message: Message) -> None:
        worker.log_event(topic, list(message))

    if ahead:
        task, held, failed = after_inputs(task, ahead)
        if failed is not None:
            outcome = Outcome(
                False,
                error_type="UpstreamFailed",
                error_message="an upstream node did not complete",
                waits_for=failed,
            )
            send(("done", task.id, pickle.dumps(outcome)))
            return outcome, {}, ""
        upstream = {**upstream, **held}
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
    send(("done", task.id, pickle.dumps(outcome)))
    return outcome, kept, outcome.key or task.key


def after_inputs(task: Task, ahead: dict[str, Any]) -> tuple[Task, dict[str, Any], str | None]:
    """A task sent ahead of its inputs, given their tasks' results: its inputs' refs and its key.

    Returns (the task to run, the upstream results by the checksum of each value
    it reads, None), or (task, {}, the upstream node) when that node failed.
    """
    produced: dict[str, tuple[dict[str, OutputRef], str]] = {}
    for source, (outcome, _, key) in ahead.items():
        if not outcome.ok:
            return task, {}, source
        produced[source] = (outcome.outputs, key)
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
