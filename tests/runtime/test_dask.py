"""The Dask executor on a LocalCluster of two worker processes."""

import asyncio
import urllib.error
import urllib.request

import pytest

from plait.runtime.engine import events as ev
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow

distributed = pytest.importorskip("distributed")

from plait.runtime.engine.dask_executor import DaskExecutor  # noqa: E402
from tests.runtime.dask_support import K, keys, node_of, pipeline  # noqa: E402
from tests.runtime.running import run  # noqa: E402


def test_dask_gives_the_same_outputs_and_keys_as_the_local_executor(
    loop, dask_engine, engine, catalog, tmp_path
):
    flow, talk, split = pipeline(catalog)
    on_dask, dask_events = run(loop, dask_engine, flow)
    assert on_dask.ok, {n: r.error for n, r in on_dask.nodes.items()}
    read = dask_engine.cache.store.read
    assert read(on_dask.nodes[split.id].outputs["high"]) == 7.0
    lines = [line.message for e in dask_events if isinstance(e, ev.NodeLog) for line in e.lines]
    assert "line 0 of 6.0" in lines  # a node's print reached the run's logs
    local, local_events = run(loop, engine, flow, use_cache=False)
    assert keys(local_events) == keys(dask_events)
    assert read(local.nodes[split.id].outputs["high"]) == 7.0


def test_a_second_run_is_fully_cached_without_the_cluster(loop, dask_engine, catalog, cluster):
    flow, _, _ = pipeline(catalog)
    run(loop, dask_engine, flow)
    again, seen = run(loop, dask_engine, flow)
    assert {r.state for r in again.nodes.values()} == {ev.CACHED}
    assert not [e for e in seen if isinstance(e, ev.NodeStarted)]


def test_each_node_is_one_dask_task_and_cached_nodes_are_never_submitted(
    loop, dask_engine, catalog, recorder
):
    flow, talk, _ = pipeline(catalog)
    result, _ = run(loop, dask_engine, flow)
    assert result.ok
    computed = [n for n in flow.nodes if not flow.nodes[n].is_parameter]
    assert sorted(node_of(k) for k in recorder.submitted()) == sorted(computed)

    # Only the node whose input changed reaches the cluster; the rest come from the cache
    # (its value came out the same, so the node after it stays cached too).
    recorder.tasks.clear()
    flow.set_value(talk.id, "lines", 2)
    again, _ = run(loop, dask_engine, flow)
    assert again.ok
    assert {n: r.state for n, r in again.nodes.items() if r.state != ev.CACHED} == {talk.id: ev.COMPLETED}
    assert [node_of(k) for k in recorder.submitted()] == [talk.id]


def test_every_ready_node_goes_to_the_cluster_at_once_and_times_out_only_once_started(
    loop, dask_engine, catalog, recorder
):
    # Twenty nodes with a timeout of 0.5 s that each sleep 0.06 s, on two one-thread
    # workers: the last ones wait in the cluster's queue for longer than their timeout.
    flow = Flow("many", catalog=catalog)
    sleepers = [flow.create_node(catalog.get(K + "sleepy")) for _ in range(20)]
    for i, node in enumerate(sleepers):
        flow.set_value(node.id, "seconds", 0.06 + i / 10_000)  # each its own key
    seen_at_first_start = []

    async def go():
        handle = dask_engine.start(flow, None, RunOptions())
        events = []
        async for event in handle.events():
            events.append(event)
            if isinstance(event, ev.NodeStarted) and not seen_at_first_start:
                seen_at_first_start.extend(recorder.submitted())
        return await handle.wait(), events

    result, events = loop.run_until_complete(go())
    assert {r.state for r in result.nodes.values()} == {ev.COMPLETED}
    # All twenty were in the cluster before the first one started: one batch.
    assert sorted(node_of(k) for k in seen_at_first_start) == sorted(n.id for n in sleepers)
    # A node is started when a worker takes it, not when it is queued: before the first
    # one finished, two had started (one per worker), or a worker's next one as well.
    first_end = next(i for i, e in enumerate(events) if isinstance(e, ev.NodeFinished))
    assert 2 <= sum(isinstance(e, ev.NodeStarted) for e in events[:first_end]) <= 4
    assert all(r.duration < 0.5 for r in result.nodes.values())


def test_retries_and_errors_are_reported_as_with_the_local_executor(
    loop, dask_engine, engine, catalog, tmp_path
):
    def flow_with_faults(counter):
        flow = Flow("faults", catalog=catalog)
        bad = flow.create_node(catalog.get(K + "boom"))
        flow.set_value(bad.id, "x", 1.0)
        after = flow.create_node(catalog.get(K + "add"))
        flow.connect(bad.id, "result", after.id, "a")
        flaky = flow.create_node(catalog.get(K + "flaky_decorated"))  # retries=2
        flow.set_value(flaky.id, "counter", str(counter))
        return flow

    def summary(result, seen):
        finished = {e.node_id: e for e in seen if isinstance(e, ev.NodeFinished)}
        retried = [(e.node_id, e.attempt, e.error) for e in seen if isinstance(e, ev.NodeRetrying)]
        nodes = {
            n: (r.state, r.attempts, finished[n].error_type, finished[n].error_message)
            for n, r in result.nodes.items()
        }
        return result.state, nodes, retried

    on_dask = run(loop, dask_engine, flow_with_faults(tmp_path / "dask.txt"))
    local = run(loop, engine, flow_with_faults(tmp_path / "local.txt"), use_cache=False)
    assert summary(*on_dask) == summary(*local)
    state, nodes, retried = summary(*on_dask)
    assert state == ev.RUN_FAILED
    assert sorted(s for s, *_ in nodes.values()) == sorted([ev.FAILED, ev.SKIPPED, ev.COMPLETED])
    assert [attempt for _, attempt, _ in retried] == [1, 2]
    failed = next(e for e in on_dask[1] if isinstance(e, ev.NodeFinished) and e.state == ev.FAILED)
    assert failed.error_message == "boom at 1.0" and "raise ValueError" in failed.traceback


def test_timeout_and_cancel_on_dask(loop, dask_engine, catalog):
    flow = Flow("slow", catalog=catalog)
    slow = flow.create_node(catalog.get(K + "sleepy"))  # @node(timeout=0.5)
    flow.set_value(slow.id, "seconds", 3.0)
    result, _ = run(loop, dask_engine, flow)
    assert result.nodes[slow.id].state == ev.TIMED_OUT

    nap_flow = Flow("nap", catalog=catalog)
    nap = nap_flow.create_node(catalog.get(K + "nap"))
    nap_flow.set_value(nap.id, "seconds", 3.0)

    async def cancel_soon():
        handle = dask_engine.start(nap_flow, None, RunOptions())
        async for event in handle.events():
            if isinstance(event, ev.NodeStarted):
                handle.cancel()
        return await handle.wait()

    cancelled = loop.run_until_complete(cancel_soon())
    assert cancelled.state == ev.RUN_CANCELLED
    assert cancelled.nodes[nap.id].state == ev.CANCELLED


def test_values_can_stay_in_the_cluster_when_the_store_is_not_shared(
    loop, cluster, workspace, catalog, recorder
):
    executor = DaskExecutor(cluster.scheduler_address, workspace=str(workspace.folder), shared_store=False)
    engine = Engine(workspace, catalog, executor=executor)
    flow, _, split = pipeline(catalog)
    result, _ = run(loop, engine, flow)
    assert result.ok
    # One task per node, each given its upstream node's task as a Dask dependency.
    tasks = {node_of(k): {node_of(d) for d in deps} for k, deps in recorder.tasks.items()}
    assert tasks == {
        n: {e.source for e in flow.edges_into(n) if not flow.nodes[e.source].is_parameter}
        for n in flow.nodes
        if not flow.nodes[n].is_parameter
    }
    ref = result.nodes[split.id].outputs["high"]
    assert ref.serializer == "dask" and ref.summary["preview"] == "7.0"
    assert not any((workspace.data_dir / "cache").rglob("*.pkl"))
    # Values are released once their consumers finished: only the results nothing
    # consumes are still held.
    assert set(executor._held) == {ref.checksum for ref in result.nodes[split.id].outputs.values()}
    stored = loop.run_until_complete(executor.materialize(ref, engine.cache.store, "k", "high"))
    assert engine.cache.store.read(stored) == 7.0
    loop.run_until_complete(executor.close())


def test_an_unreachable_scheduler_fails_the_run_at_once_naming_the_address(loop, workspace, catalog):
    executor = DaskExecutor("tcp://127.0.0.1:9", workspace=str(workspace.folder))
    engine = Engine(workspace, catalog, executor=executor)
    flow, _, _ = pipeline(catalog)
    result, seen = run(loop, engine, flow)
    assert result.state == ev.RUN_FAILED
    finished = seen[-1]
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in finished.error
    assert {r.state for r in result.nodes.values()} == {ev.CANCELLED}


def _listening(process) -> list:
    """The listening inet sockets of a process and all its children."""
    import psutil

    found = []
    for proc in [process, *process.children(recursive=True)]:
        try:
            found += [c for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.mark.parametrize("dashboard", [False, True])
def test_a_local_cluster_listens_on_loopback_only(loop, dashboard):
    import psutil

    executor = DaskExecutor(slots=1, dashboard=dashboard)
    loop.run_until_complete(executor.start())
    try:
        assert executor.cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        listening = _listening(psutil.Process())
        assert listening  # the scheduler and its worker do listen, on loopback
        assert {c.laddr.ip for c in listening} <= {"127.0.0.1", "::1"}, listening
        # The scheduler's web server: its dashboard pages are there only when asked for.
        web = executor.cluster.scheduler.http_server
        (port,) = {s.getsockname()[1] for s in web._sockets.values()}
        assert port in {c.laddr.port for c in listening}

        def fetch() -> int:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10).status
            except urllib.error.HTTPError as exc:
                return exc.code

        status = loop.run_until_complete(asyncio.to_thread(fetch))  # the cluster's loop runs
        link = executor.dashboard_link
        if dashboard:
            assert status == 200
            assert link == f"http://127.0.0.1:{port}/status"
        else:
            assert status == 404
            assert link is None
    finally:
        loop.run_until_complete(executor.close())


@pytest.mark.parametrize("shared", [True, False])
def test_a_mapped_node_runs_its_items_on_the_cluster(loop, cluster, workspace, catalog, shared):
    executor = DaskExecutor(cluster.scheduler_address, workspace=str(workspace.folder), shared_store=shared)
    engine = Engine(workspace, catalog, executor=executor)
    flow = Flow("multi", catalog=catalog)
    source = flow.create_node(catalog.get(K + "numbers"))
    flow.set_value(source.id, "n", 3)
    target = flow.create_node(catalog.get(K + "double_and_half"))  # @node(map_over="x")
    flow.connect(source.id, "result", target.id, "x")
    try:
        result, seen = run(loop, engine, flow)
        assert result.ok, [e for e in seen if isinstance(e, (ev.NodeFinished, ev.RunFinished))]
        outputs = result.nodes[target.id].outputs
        values = {}
        for port, ref in outputs.items():
            stored = loop.run_until_complete(executor.materialize(ref, engine.cache.store, "k", port))
            values[port] = engine.cache.store.read(stored)
        assert values == {"double": [0.0, 2.0, 4.0], "half": [0.0, 0.5, 1.0]}
    finally:
        loop.run_until_complete(executor.close())
