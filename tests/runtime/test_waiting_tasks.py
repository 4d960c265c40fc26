"""The local executor's tasks that wait in a busy worker's pipe, behind the task it runs.

One worker here, so a second ready node always waits behind the first: it
starts, times and is cancelled from when the worker goes on to it, and a
worker that dies before it does hands it to its replacement.
"""

import asyncio
import time

import pytest

from plait.runtime.engine import events as ev
from plait.runtime.engine.executors import LocalExecutor
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.engine.worker import Task
from plait.runtime.flow.model import Flow
from tests.runtime.running import run
from tests.runtime.test_engine import node, states


@pytest.fixture(scope="module")
def one_worker(loop):
    executor = LocalExecutor(1)
    loop.run_until_complete(executor.start())
    yield executor
    loop.run_until_complete(executor.close())


@pytest.fixture
def engine(workspace, catalog, one_worker):
    return Engine(workspace, catalog, executor=one_worker)


@pytest.fixture
def flow(catalog):
    return Flow("waiting", catalog=catalog)


def events_of(seen, kind, node_id):
    return [e for e in seen if isinstance(e, kind) and e.node_id == node_id]


def test_a_task_waiting_behind_another_starts_and_times_from_when_its_worker_goes_on_to_it(
    loop, engine, flow
):
    first = node(flow, "nap", seconds=0.8)
    behind = node(flow, "sleepy", seconds=0.2)  # @node(timeout=0.5): shorter than the wait
    result, seen = run(loop, engine, flow)
    assert states(result) == {first.id: ev.COMPLETED, behind.id: ev.COMPLETED}
    (first_end,) = events_of(seen, ev.NodeFinished, first.id)
    (behind_start,) = events_of(seen, ev.NodeStarted, behind.id)
    assert behind_start.time >= first_end.time - 0.05  # it waited: told when it began
    assert result.nodes[behind.id].duration < 0.6


def test_a_task_whose_worker_died_before_it_began_runs_on_the_worker_that_replaces_it(loop, engine, flow):
    dies = node(flow, "exit_hard")
    behind = node(flow, "number", value=4.0)
    result, _ = run(loop, engine, flow)
    assert result.nodes[dies.id].state == ev.FAILED
    assert "worker process exited" in (result.nodes[dies.id].error or "")
    assert result.nodes[behind.id].state == ev.COMPLETED


def test_cancelling_a_run_with_a_task_waiting_stops_both_and_the_next_run_goes(loop, engine, flow):
    long = node(flow, "nap", seconds=60.0)
    behind = node(flow, "number", value=2.0)

    async def go():
        handle = engine.start(flow, None, RunOptions())
        async for event in handle.events():
            if isinstance(event, ev.NodeStarted):
                break
        await asyncio.sleep(0.2)
        handle.cancel()
        return await handle.wait()

    started = time.perf_counter()
    result = loop.run_until_complete(go())
    assert time.perf_counter() - started < 30
    assert result.state == ev.RUN_CANCELLED
    assert states(result) == {long.id: ev.CANCELLED, behind.id: ev.CANCELLED}
    flow.set_value(long.id, "seconds", 0.01)
    again, _ = run(loop, engine, flow)
    assert states(again) == {long.id: ev.COMPLETED, behind.id: ev.COMPLETED}


def nap_task(name, seconds, folder):
    return Task(
        f"t-{name}",
        "r",
        name,
        name,
        "tests.runtime.nodes:nap",
        f"k-{name}",
        str(folder),
        inputs={"seconds": ("value", seconds)},
    )


def test_a_waiting_task_cancelled_leaves_the_one_ahead_to_finish_then_its_worker_is_replaced(
    loop, one_worker, tmp_path
):
    async def go():
        ahead = asyncio.ensure_future(one_worker.run(nap_task("ahead", 0.5, tmp_path), lambda m: None))
        await asyncio.sleep(0.05)
        behind = asyncio.ensure_future(one_worker.run(nap_task("behind", 30.0, tmp_path), lambda m: None))
        await asyncio.sleep(0.05)
        (worker,) = one_worker._workers
        assert worker.next is not None  # it waits in the busy worker's pipe
        behind.cancel()
        outcome = await ahead
        with pytest.raises(asyncio.CancelledError):
            await behind
        # The worker went on to the cancelled task: it is stopped, and a new one takes the next.
        after = await asyncio.wait_for(one_worker.run(nap_task("after", 0.01, tmp_path), lambda m: None), 30)
        return outcome, worker, after

    outcome, worker, after = loop.run_until_complete(go())
    assert outcome.ok
    assert worker.dead and worker not in one_worker._workers
    assert after.ok
