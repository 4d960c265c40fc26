"""What the Dask tests share besides their fixtures (in conftest): flows, and a record of the tasks."""

import distributed

from plait.runtime.engine import events as ev
from plait.runtime.flow.model import Flow

K = "tests.runtime.nodes:"


def warm_up():
    """In a worker: import the test nodes and work out their code fingerprints once.

    A worker's first node otherwise spends seconds on them, which would count
    against a short timeout.
    """
    from plait.runtime.engine.worker import _fingerprint_of
    from tests.runtime import nodes

    for name in ("sleepy", "nap", "boom", "add", "flaky_decorated", "numbers", "total", "chatty", "split"):
        _fingerprint_of(getattr(nodes, name))


def pipeline(catalog):
    flow = Flow("pipe", catalog=catalog)
    n = flow.add_parameter("n", "int", 4)
    numbers = flow.create_node(catalog.get(K + "numbers"))
    flow.connect(n.id, "value", numbers.id, "n")
    total = flow.create_node(catalog.get(K + "total"))
    flow.connect(numbers.id, "result", total.id, "items")
    talk = flow.create_node(catalog.get(K + "chatty"))
    flow.connect(total.id, "result", talk.id, "x")
    split = flow.create_node(catalog.get(K + "split"))
    flow.connect(talk.id, "result", split.id, "x")
    return flow, talk, split


def keys(seen):
    return {e.node_id: e.cache_key for e in seen if isinstance(e, ev.NodeFinished)}


class TaskRecorder(distributed.diagnostics.plugin.SchedulerPlugin):
    """What the Dask scheduler is given: each task's key and the keys it depends on."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.tasks = {}  # key -> keys it depends on, in order of arrival

    def transition(self, key, start, finish, *args, **kwargs):
        # A new task leaves "released"; a task of an earlier run the client let go of
        # passes through it on its way to "forgotten", which is no submission.
        if start == "released" and finish != "forgotten" and key not in self.tasks:
            self.tasks[key] = {d.key for d in self.scheduler.tasks[key].dependencies}

    def submitted(self):
        """Every task key, in order of submission."""
        return list(self.tasks)


def node_of(key):
    """The node a task key belongs to ('<function>-<unique>-plait<run id>-<node id>')."""
    return key.split("-", 3)[3]
