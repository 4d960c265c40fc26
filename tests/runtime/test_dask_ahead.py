"""Nodes sent to a Dask cluster ahead of their inputs: a chain goes in one batch."""

import asyncio
import time

import pytest

from plait.runtime.engine import events as ev
from plait.runtime.engine.scheduler import RunOptions
from plait.runtime.flow.model import Flow

distributed = pytest.importorskip("distributed")

from tests.runtime.dask_support import K, keys, node_of, pipeline  # noqa: E402
from tests.runtime.running import run  # noqa: E402


def chain(catalog, first, length=4, **values):
    """`first` (a node type) with `values`, then `length` nodes adding 1 to what comes before."""
    flow = Flow("chain", catalog=catalog)
    head = flow.create_node(catalog.get(K + first))
    for name, value in values.items():
        flow.set_value(head.id, name, value)
    nodes = [head]
    for _ in range(length):
        node = flow.create_node(catalog.get(K + "add"))
        flow.set_value(node.id, "b", 1.0)
        flow.connect(nodes[-1].id, "result", node.id, "a")
        nodes.append(node)
    return flow, nodes


def go(loop, engine, flow, on_event=None, **options):
    """Run a flow; `on_event(handle, event)` sees each event as it comes."""

    async def main():
        handle = engine.start(flow, None, RunOptions(**options))
        seen = []
        async for event in handle.events():
            seen.append(event)
            if on_event is not None:
                on_event(handle, event)
        return await handle.wait(), seen

    return loop.run_until_complete(main())


def index(seen, kind, node_id):
    """Where the event of this kind for this node is in the run's events."""
    return next(i for i, e in enumerate(seen) if isinstance(e, kind) and e.node_id == node_id)


def started(seen):
    return [e.node_id for e in seen if isinstance(e, ev.NodeStarted)]


def test_a_whole_chain_is_on_the_cluster_before_its_first_node_ends(
    loop, dask_engine, engine, catalog, recorder
):
    flow, nodes = chain(catalog, "nap", seconds=0.3)
    in_cluster = []

    def look(handle, event):
        if isinstance(event, ev.NodeFinished) and not in_cluster:
            in_cluster.extend(node_of(k) for k in recorder.submitted())

    result, seen = go(loop, dask_engine, flow, look)
    assert result.ok, {n: r.error for n, r in result.nodes.items()}
    assert dask_engine.cache.store.read(result.nodes[nodes[-1].id].outputs["result"]) == 4.3
    # Every node went before the first one ended, each given the task before it.
    assert sorted(in_cluster) == sorted(n.id for n in nodes)
    depends = {node_of(k): {node_of(d) for d in deps} for k, deps in recorder.tasks.items()}
    assert depends == {n.id: ({nodes[i - 1].id} if i else set()) for i, n in enumerate(nodes)}
    # The events still tell each node starting after the one before it ended.
    for before, after in zip(nodes, nodes[1:], strict=False):
        assert index(seen, ev.NodeFinished, before.id) < index(seen, ev.NodeStarted, after.id)
    # The worker worked out each node's key as the local executor does.
    _, local = run(loop, engine, flow, use_cache=False)
    assert keys(seen) == keys(local)
    assert {e.node_id: e.cache_key for e in seen if isinstance(e, ev.NodeStarted)} == keys(local)


def test_only_nodes_the_cache_cannot_answer_for_go_ahead(loop, dask_engine, catalog, recorder):
    flow, talk, split = pipeline(catalog)
    result, _ = go(loop, dask_engine, flow)
    assert result.ok

    # Forced nodes cannot come from the cache: the forced cone goes in one batch.
    recorder.tasks.clear()
    numbers = next(n for n in flow.nodes if flow.nodes[n].spec_key.endswith(":numbers"))
    forced, _ = go(loop, dask_engine, flow, force=(numbers,))
    computed = [n for n in flow.nodes if not flow.nodes[n].is_parameter]
    assert {forced.nodes[n].state for n in computed} == {ev.COMPLETED}
    # Each went given the task of the node before it: ahead of its input.
    depends = {node_of(k): {node_of(d) for d in deps} for k, deps in recorder.tasks.items()}
    assert depends == {
        n: {e.source for e in flow.edges_into(n) if not flow.nodes[e.source].is_parameter} for n in computed
    }

    # A node whose type has stored results waits for its inputs: the value it gets may
    # be one it was run with before, and then it is served from the cache.
    recorder.tasks.clear()
    flow.set_value(talk.id, "lines", 1)
    again, _ = go(loop, dask_engine, flow)
    assert again.nodes[talk.id].state == ev.COMPLETED
    assert again.nodes[split.id].state == ev.CACHED
    assert [node_of(k) for k in recorder.submitted()] == [talk.id]


def test_a_failure_in_a_chain_skips_the_nodes_after_it_as_on_the_local_executor(
    loop, dask_engine, engine, catalog, recorder
):
    flow, nodes = chain(catalog, "add", length=1, a=1.0)
    bad = flow.create_node(catalog.get(K + "boom"))
    flow.connect(nodes[-1].id, "result", bad.id, "x")
    after = [flow.create_node(catalog.get(K + "add")) for _ in range(2)]
    flow.connect(bad.id, "result", after[0].id, "a")
    flow.connect(after[0].id, "result", after[1].id, "a")

    def summary(result, seen):
        finished = {e.node_id: e for e in seen if isinstance(e, ev.NodeFinished)}
        return result.state, {n: (r.state, finished[n].error_message) for n, r in result.nodes.items()}

    on_dask = go(loop, dask_engine, flow)
    assert summary(*on_dask) == summary(*run(loop, engine, flow, use_cache=False))
    state, nodes_seen = summary(*on_dask)
    assert state == ev.RUN_FAILED
    assert nodes_seen[bad.id] == (ev.FAILED, "boom at 2.0")
    for node in after:
        assert nodes_seen[node.id] == (ev.SKIPPED, f"upstream node '{bad.title}' did not complete")
    # They were on the cluster with the rest, and never ran.
    assert {node_of(k) for k in recorder.submitted()} >= {n.id for n in after}
    assert not set(started(on_dask[1])) & {n.id for n in after}


@pytest.mark.parametrize("shared", [True, False])
def test_a_retried_node_in_a_chain_feeds_the_nodes_sent_after_it(
    loop, cluster, workspace, catalog, tmp_path, shared
):
    from plait.runtime.engine.dask_executor import DaskExecutor
    from plait.runtime.engine.scheduler import Engine

    executor = DaskExecutor(cluster.scheduler_address, workspace=str(workspace.folder), shared_store=shared)
    engine = Engine(workspace, catalog, executor=executor)
    flow, nodes = chain(catalog, "flaky_decorated", length=2, counter=str(tmp_path / "count.txt"))
    try:
        result, seen = go(loop, engine, flow)
        assert result.ok, {n: r.error for n, r in result.nodes.items()}
        last = result.nodes[nodes[-1].id].outputs["result"]
        last = loop.run_until_complete(executor.materialize(last, engine.cache.store, "k", "result"))
        assert engine.cache.store.read(last) == 5.0
    finally:
        loop.run_until_complete(executor.close())
    assert [(e.node_id, e.attempt) for e in seen if isinstance(e, ev.NodeRetrying)] == [
        (nodes[0].id, 1),
        (nodes[0].id, 2),
    ]
    # The nodes after it ran once, with the value of its last attempt.
    assert [result.nodes[n.id].attempts for n in nodes] == [3, 1, 1]
    assert started(seen).count(nodes[1].id) == 1


def test_cancelling_a_chain_stops_the_nodes_sent_ahead_on_the_cluster(
    loop, dask_engine, catalog, recorder, cluster
):
    flow, nodes = chain(catalog, "nap", seconds=3.0)

    def cancel(handle, event):
        if isinstance(event, ev.NodeStarted):
            handle.cancel()

    result, seen = go(loop, dask_engine, flow, cancel)
    assert result.state == ev.RUN_CANCELLED
    assert {r.state for r in result.nodes.values()} == {ev.CANCELLED}
    assert started(seen) == [nodes[0].id]
    # None of the run's tasks stays on the cluster (while the loop runs, as the window's does).
    submitted = set(recorder.submitted())
    assert nodes[0].id in {node_of(k) for k in submitted}
    with distributed.Client(cluster) as client:
        deadline = time.monotonic() + 30
        while submitted & set(client.run_on_scheduler(_task_keys)) and time.monotonic() < deadline:
            loop.run_until_complete(asyncio.sleep(0.05))
        assert not submitted & set(client.run_on_scheduler(_task_keys))


def _task_keys(dask_scheduler):
    return list(dask_scheduler.tasks)


def test_a_timed_out_node_in_a_chain_skips_the_nodes_sent_after_it(loop, dask_engine, catalog):
    flow, nodes = chain(catalog, "sleepy", length=2, seconds=3.0)  # @node(timeout=0.5)
    result, seen = go(loop, dask_engine, flow)
    assert [result.nodes[n.id].state for n in nodes] == [ev.TIMED_OUT, ev.SKIPPED, ev.SKIPPED]
    assert started(seen) == [nodes[0].id]


def test_a_cluster_of_its_own_tells_starts_and_outcomes_from_its_workers_loop(
    loop, workspace, catalog, engine
):
    from plait.runtime.engine.dask_executor import DaskExecutor
    from plait.runtime.engine.dask_worker import NODE_EVENTS, topic_of
    from plait.runtime.engine.scheduler import Engine

    executor = DaskExecutor(slots=1, workspace=str(workspace.folder))
    heard = []
    event = executor._event
    executor._event = lambda e: (heard.append(tuple(e[1][:2])), event(e))
    try:
        # A node that naps past START_DELAY, then two that end at once.
        flow, nodes = chain(catalog, "nap", length=2, seconds=0.5)
        result, seen = run(loop, Engine(workspace, catalog, executor=executor), flow)
        assert result.ok, {n: r.error for n, r in result.nodes.items()}
        assert [result.nodes[n.id].state for n in nodes] == [ev.COMPLETED] * 3

        def has_plugin(dask_worker):
            return NODE_EVENTS in dask_worker.plugins

        assert list(loop.run_until_complete(executor.client.run(has_plugin)).values()) == [True]
        # Each outcome came once, from the plugin (the tasks send none themselves), and a
        # start only for the node still running past START_DELAY: a start names the task's
        # Dask key, an outcome its task id.
        assert sorted(kind for kind, _ in heard) == ["done"] * 3 + ["started"]
        started = [name for kind, name in heard if kind == "started"]
        assert topic_of(started[0]) == f"plait-{result.run_id}" and nodes[0].id in started[0]
        # Every node still has its start, with its key, as on the local executor.
        _, local = run(loop, engine, flow, use_cache=False)
        assert {e.node_id: e.cache_key for e in seen if isinstance(e, ev.NodeStarted)} == keys(local)
    finally:
        loop.run_until_complete(executor.close())


def test_a_chain_longer_than_a_batch_goes_ahead_across_batches(
    loop, dask_engine, catalog, recorder, monkeypatch
):
    from plait.runtime.engine import dask_executor

    monkeypatch.setattr(dask_executor, "BATCH", 3)  # the graph updates of a turn hold 3 tasks at most
    flow, nodes = chain(catalog, "nap", length=7, seconds=0.2)
    result, _ = go(loop, dask_engine, flow)
    assert result.ok, {n: r.error for n, r in result.nodes.items()}
    assert dask_engine.cache.store.read(result.nodes[nodes[-1].id].outputs["result"]) == 7.2
    depends = {node_of(k): {node_of(d) for d in deps} for k, deps in recorder.tasks.items()}
    assert depends == {n.id: ({nodes[i - 1].id} if i else set()) for i, n in enumerate(nodes)}


def test_a_subflow_on_the_cluster_sends_its_own_nodes_ahead(loop, cluster, workspace, catalog, recorder):
    from plait.runtime.engine.dask_executor import DaskExecutor
    from plait.runtime.engine.scheduler import Engine
    from plait.runtime.engine.subflows import FlowCatalog, subflow_key

    flows = FlowCatalog(catalog, workspace)
    child, inner = chain(flows, "nap", length=2, seconds=0.2)
    child.name = "naps"
    out = child.add_output("last")
    child.connect(inner[-1].id, "result", out.id, "value")
    workspace.save_flow(child)
    parent = Flow("parent", catalog=flows)
    sub = parent.create_node(flows.get(subflow_key(child.id)))
    after = parent.create_node(flows.get(K + "add"))
    parent.connect(sub.id, "last", after.id, "a")
    executor = DaskExecutor(cluster.scheduler_address, workspace=str(workspace.folder))
    engine = Engine(workspace, flows, executor=executor)
    try:
        result, _ = go(loop, engine, parent)
        assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}
        assert engine.cache.store.read(result.nodes[after.id].outputs["result"]) == 2.2
        # The child run's chain went at once; the node after the subflow waited for it.
        tasks = [(node_of(k), {node_of(d) for d in recorder.tasks[k]}) for k in recorder.submitted()]
        assert tasks == [
            *[(n.id, {inner[i - 1].id} if i else set()) for i, n in enumerate(inner)],
            (after.id, set()),
        ]
    finally:
        loop.run_until_complete(executor.close())
