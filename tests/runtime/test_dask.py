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
from tests.runtime.running import run  # noqa: E402

K = "tests.runtime.nodes:"


@pytest.fixture(scope="module")
def cluster():
    # The cluster runs on its own loop thread, like a real one elsewhere: the tests'
    # loop only runs while a test does.
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    yield cluster
    cluster.close()


@pytest.fixture
def dask_engine(loop, cluster, workspace, catalog):
    executor = DaskExecutor(cluster.scheduler_address, workspace=str(workspace.folder))
    yield Engine(workspace, catalog, executor=executor)
    loop.run_until_complete(executor.close())


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


def test_values_can_stay_in_the_cluster_when_the_store_is_not_shared(loop, cluster, workspace, catalog):
    executor = DaskExecutor(cluster.scheduler_address, workspace=str(workspace.folder), shared_store=False)
    engine = Engine(workspace, catalog, executor=executor)
    flow, _, split = pipeline(catalog)
    result, _ = run(loop, engine, flow)
    assert result.ok
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
