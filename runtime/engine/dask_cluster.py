"""What Plait gives a Dask cluster: a plugin for its workers, and a LocalCluster of its own.

Imported only when the Dask executor runs, so it may import distributed.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

import dask
from distributed import LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

from plait.runtime.engine.dask_worker import NODE_EVENTS, NodeResult, topic_of

LOOPBACK = "127.0.0.1"
# How long messages between the scheduler and its workers may wait to go out
# together: none, past the turn of the event loop they were made in. Dask's own
# intervals (5 ms from the scheduler, 2 ms from a worker) suit many tiny tasks;
# a chain of nodes sent ahead pays them at every step, and node tasks are fewer
# and larger.
MESSAGE_INTERVAL = 0.001


# A node's start is told once it has run this long: one that ends sooner is told by its
# outcome alone. Each event goes through the Dask scheduler, which shares the scheduling
# process (and its GIL) with the run: a start event per node of a chain cost 1.2 ms a node.
START_DELAY = 0.05


class NodeEvents(WorkerPlugin):
    """Tells a node task's start and outcome from the worker's event loop.

    The task could send them itself, from its thread, but each message from
    there wakes the loop: this way they go with Dask's own messages that the
    task starts and is done. A start is told only for a node still running
    `START_DELAY` after it began.
    """

    name = NODE_EVENTS

    def setup(self, worker: Any) -> None:
        self.worker = worker
        self.starting: dict[Any, str] = {}  # key -> topic of a node whose start is not told yet

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish == "executing":
            topic = topic_of(key)
            if topic is not None:
                self.starting[key] = topic
                self.worker.loop.call_later(START_DELAY, self._tell_start, key)
        elif start == "executing":
            self.starting.pop(key, None)  # its outcome tells it began
            if finish == "memory":
                result = self.worker.data.get(key)
                if isinstance(result, NodeResult):
                    outcome = pickle.dumps(result.outcome)
                    self.worker.log_event(result.topic, ["done", result.task_id, outcome])

    def _tell_start(self, key: Any) -> None:
        topic = self.starting.pop(key, None)
        if topic is not None:
            self.worker.log_event(topic, ["started", key])


class QuickScheduler(SchedulerPlugin):
    """Shortens the scheduler's stream to each worker (`MESSAGE_INTERVAL`)."""

    name = "plait-quick-scheduler"

    def add_worker(self, scheduler: Any, worker: str) -> None:
        _shorten(getattr(scheduler, "stream_comms", {}).get(worker))


class QuickWorker(WorkerPlugin):
    """Shortens a worker's stream to the scheduler (`MESSAGE_INTERVAL`)."""

    name = "plait-quick-worker"

    def setup(self, worker: Any) -> None:
        _shorten(getattr(worker, "batched_stream", None))


def _shorten(stream: Any) -> None:
    # A Dask whose streams have no such interval is left as it is.
    if stream is not None and isinstance(getattr(stream, "interval", None), float):
        stream.interval = min(stream.interval, MESSAGE_INTERVAL)


def settings(dashboard: bool) -> dict[str, Any]:
    """Dask settings for a cluster of our own, tuned for many small node tasks.

    A node whose inputs are tasks goes to a worker as soon as they are done. Of
    a wide fan-out (Dask's root-ish tasks) each worker holds two per thread: the
    one running and the next, so it starts that without a round trip, and the
    rest wait on the Dask scheduler for whichever worker is free first (handed
    out at once, they went mostly to the worker holding their input, 532
    against 469 of a thousand). The workers' statistical profiler, which only
    the dashboard shows, is off unless the dashboard is.
    """
    found: dict[str, Any] = {"distributed.scheduler.worker-saturation": 2.0}
    if not dashboard:
        found["distributed.worker.profile.enabled"] = False
    return found


def local_cluster(workers: int, dashboard: bool) -> Any:
    """A LocalCluster of `workers` one-thread worker processes, on loopback only.

    Loopback only: the cluster runs this machine's code for anyone who reaches
    it, and its dashboard has no login. The scheduler's web server (health and
    metrics) always listens, so it gets a free loopback port; the dashboard
    pages on it are off unless asked for. Made on a thread of the caller's, the
    cluster's scheduler runs on a loop thread of its own, not on the caller's
    loop (the window's): it answers its workers while that loop handles the run.
    """
    with dask.config.set(settings(dashboard)):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            dashboard_address=f"{LOOPBACK}:0",
            scheduler_kwargs={"dashboard": dashboard, "plugins": [QuickScheduler()]},
            plugins=(QuickWorker(), NodeEvents()),
            worker_dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
