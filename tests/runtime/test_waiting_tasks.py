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


def test_a_task_waiting_behind_one_that_times_out_runs_on_the_worker_that_replaces_it(loop, engine, flow):
    slow = node(flow, "nap", seconds=60.0)
    flow.set_option(slow.id, "timeout", 0.5)
    behind = node(flow, "number", value=2.0)
    result, _ = run(loop, engine, flow)
    assert states(result) == {slow.id: ev.TIMED_OUT, behind.id: ev.COMPLETED}


def call(name, folder, function="nap", **inputs):
    return Task(
        f"t-{name}",
        "r",
        name,
        name,
        f"tests.runtime.nodes:{function}",
        f"k-{name}",
        str(folder),
        inputs={port: ("value", value) for port, value in inputs.items()},
    )


def sent(executor, task):
    return asyncio.ensure_future(executor.run(task, lambda m: None))


class FakeWorker:
    """The executor's view of a worker, without its process."""

    from plait.runtime.engine.executors import _Worker

    settled = _Worker.settled
    take = _Worker.take

    def __init__(self, **fields):
        self.task = self.report = self.future = self.next = self.moved_up = self.asked = None
        self.reserved = self.stopping = self.dead = False
        self.held = set()
        self.killed = False
        self.__dict__.update(fields)

    def kill(self):
        self.killed = self.dead = True


def noting_ends(executor, ended):
    """A way to run tasks on `executor` that notes each one's node as it ends."""

    async def timed(task):
        outcome = await executor.run(task, lambda m: None)
        ended.append(task.node_id)
        return outcome

    return timed


def test_a_waiting_task_cancelled_is_skipped_and_its_worker_goes_on(loop, one_worker, tmp_path):
    marker = tmp_path / "ran"

    async def go():
        ahead = sent(one_worker, call("ahead", tmp_path, seconds=0.5))
        await asyncio.sleep(0.1)
        behind = sent(one_worker, call("behind", tmp_path, "touch", x=1.0, path=str(marker)))
        await asyncio.sleep(0.05)
        (worker,) = one_worker._workers
        assert worker.next is not None and worker.next.task.node_id == "behind"  # in the busy worker's pipe
        behind.cancel()
        outcome = await ahead
        with pytest.raises(asyncio.CancelledError):
            await behind
        after = await asyncio.wait_for(
            one_worker.run(call("after", tmp_path, seconds=0.01), lambda m: None), 30
        )
        return outcome, worker, after

    outcome, worker, after = loop.run_until_complete(go())
    assert outcome.ok and after.ok
    assert not marker.exists()  # it never ran
    assert not worker.dead and worker in one_worker._workers  # nor was its worker stopped


def test_a_cancelled_task_its_worker_had_begun_stops_the_worker_once_its_files_are_written(loop):
    from plait.runtime.engine.executors import LocalExecutor, _Waiting

    async def go():
        executor = LocalExecutor(1)
        future = asyncio.get_running_loop().create_future()
        # Asked back when it was cancelled; the worker had gone on to it already.
        asked = _Waiting(call("behind", "/nowhere"), lambda m: None, future, b"", 7, cancelled=True)
        worker = FakeWorker(asked=asked)
        executor._message(worker, ("began", 7))
        return worker

    worker = loop.run_until_complete(go())
    assert worker.killed and worker.stopping and worker.asked is None


def test_the_outcome_of_a_task_whose_worker_was_just_killed_leaves_the_one_behind_to_go_elsewhere(loop):
    from plait.runtime.engine.executors import LocalExecutor, _Waiting
    from plait.runtime.engine.worker import Outcome

    async def go():
        executor = LocalExecutor(1)
        made = asyncio.get_running_loop().create_future
        waiting = _Waiting(call("behind", "/nowhere"), lambda m: None, made(), b"", 1)
        # Killed for its timeout while its outcome was on the way.
        worker = FakeWorker(task=call("ahead", "/nowhere"), future=made(), next=waiting, dead=True)
        executor._message(worker, ("done", "t-ahead", Outcome(True)))
        return worker, waiting

    worker, waiting = loop.run_until_complete(go())
    assert worker.task is None and worker.next is waiting  # not moved up: the worker's end reroutes it


def test_a_waiting_task_goes_to_the_worker_that_falls_idle_first(loop, local_executor, tmp_path):
    async def go():
        ended = []
        timed = noting_ends(local_executor, ended)

        long = asyncio.ensure_future(timed(call("long", tmp_path, seconds=3.0)))
        short_task = call("short", tmp_path, seconds=0.3)
        short_task.hold = True  # so the waiting task goes behind the long one, not this
        short = asyncio.ensure_future(timed(short_task))
        await asyncio.sleep(0.1)
        waiting = asyncio.ensure_future(timed(call("waiting", tmp_path, seconds=0.05)))
        await asyncio.gather(long, short, waiting)
        return ended

    # Asked back from behind the long one, it runs where the short one was.
    assert loop.run_until_complete(go()) == ["short", "waiting", "long"]


def test_a_task_too_big_to_wait_in_a_pipe_waits_for_a_free_worker(loop, one_worker, tmp_path):
    async def go():
        ahead = sent(one_worker, call("ahead", tmp_path, seconds=0.5))
        await asyncio.sleep(0.1)
        big = call("big", tmp_path, seconds=0.01)
        big.context = {"padding": "x" * 300_000}
        behind = sent(one_worker, big)
        await asyncio.sleep(0.05)
        (worker,) = one_worker._workers
        queued = worker.next
        return queued, await ahead, await behind

    queued, ahead, behind = loop.run_until_complete(go())
    assert queued is None  # not in the pipe, where it would block the loop until the worker read it
    assert ahead.ok and behind.ok


def test_a_task_sent_behind_a_worker_that_has_just_died_goes_to_its_replacement(loop, one_worker, tmp_path):
    import os
    import signal

    async def go():
        ahead = sent(one_worker, call("ahead", tmp_path, seconds=30.0))
        await asyncio.sleep(0.2)
        (worker,) = one_worker._workers
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.join(10)  # dead, and its end not yet handled: it still looks busy
        behind = await asyncio.wait_for(
            one_worker.run(call("behind", tmp_path, seconds=0.01), lambda m: None), 30
        )
        return await ahead, behind

    ahead, behind = loop.run_until_complete(go())
    assert ahead.error_type == "WorkerDied"
    assert behind.ok


def test_many_tasks_through_two_busy_workers_each_run_once_and_get_their_own_result(
    loop, local_executor, tmp_path
):
    """More tasks than the workers hold at once, some longer, so waiting ones are asked back."""
    from collections import Counter

    from plait.runtime.results.blobs import ResultStore

    log = tmp_path / "runs.log"
    count = 400

    async def go():
        results = {}
        room = asyncio.Semaphore(4)  # as the scheduler gives two workers

        async def one(task):
            try:
                results[task.node_id] = await local_executor.run(task, lambda m: None)
            finally:
                room.release()

        tasks = []
        for i in range(-1, count):
            await room.acquire()
            if i == -1:
                task = call("long", tmp_path, seconds=0.3)
            elif i % 25 == 0:
                task = call(f"n{i}", tmp_path, seconds=0.02 * (i % 3))
            else:
                task = call(f"t{i}", tmp_path, "touch", x=float(i), path=str(log))
            tasks.append(asyncio.ensure_future(one(task)))
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        return results

    results = loop.run_until_complete(go())
    touched = [i for i in range(count) if i % 25]
    assert Counter(log.read_text().split()) == Counter({f"{float(i)}": 1 for i in touched})  # each once
    store = ResultStore(str(tmp_path))
    for i in touched:
        assert store.read(results[f"t{i}"].outputs["result"]) == float(i)  # its own result
    assert all(outcome.ok for outcome in results.values())


def test_a_task_no_longer_wanted_that_ends_before_it_is_stopped_lets_the_one_behind_it_go_on(loop):
    from plait.runtime.engine.executors import LocalExecutor, _Waiting
    from plait.runtime.engine.worker import Outcome

    async def go():
        executor = LocalExecutor(1)
        made = asyncio.get_running_loop().create_future
        started = []
        behind = _Waiting(call("behind", "/nowhere"), started.append, made(), b"", 3)
        # Cancelled while the files of the task before it were written: to be stopped after.
        worker = FakeWorker(task=call("ahead", "/nowhere"), future=made(), next=behind, stopping=True)
        executor._message(worker, ("done", "t-ahead", Outcome(True)))
        moved_up = worker.task
        executor._message(worker, ("began", 3))
        return worker, moved_up, started

    worker, moved_up, started = loop.run_until_complete(go())
    assert not worker.stopping and not worker.killed
    assert moved_up.node_id == "behind" and started == [("started", "t-behind")]


def test_closing_the_executor_tells_waiting_tasks_they_did_not_run(loop, tmp_path):
    from plait.runtime.engine.executors import LocalExecutor

    marker = tmp_path / "ran"

    async def go():
        executor = LocalExecutor(1)
        await executor.start()
        ahead = sent(executor, call("ahead", tmp_path, seconds=0.5))
        await asyncio.sleep(0.2)
        behind = sent(executor, call("behind", tmp_path, "touch", x=1.0, path=str(marker)))
        later = sent(executor, call("later", tmp_path, "touch", x=2.0, path=str(marker)))
        await asyncio.sleep(0.05)
        await executor.close()
        return await asyncio.wait_for(asyncio.gather(ahead, behind, later), 30)

    ahead, behind, later = loop.run_until_complete(go())
    assert ahead.ok
    for outcome in (behind, later):
        assert not outcome.ok and "closed before it ran" in outcome.error_message
    assert not marker.exists()


def test_a_worker_started_in_place_of_a_dead_one_takes_a_task_waiting_behind_another(
    loop, local_executor, tmp_path
):
    import os
    import signal

    async def go():
        ended = []
        timed = noting_ends(local_executor, ended)

        doomed = call("doomed", tmp_path, seconds=30.0)
        doomed.hold = True  # so the waiting task goes behind the long one, not this
        dies = asyncio.ensure_future(timed(doomed))
        long = asyncio.ensure_future(timed(call("long", tmp_path, seconds=4.0)))
        await asyncio.sleep(0.3)
        waiting = asyncio.ensure_future(timed(call("waiting", tmp_path, seconds=0.01)))
        await asyncio.sleep(0.1)
        (victim,) = [w for w in local_executor._workers if w.task is not None and w.task.node_id == "doomed"]
        os.kill(victim.process.pid, signal.SIGKILL)
        await asyncio.gather(dies, long, waiting)
        return ended

    assert loop.run_until_complete(go()) == ["doomed", "waiting", "long"]
