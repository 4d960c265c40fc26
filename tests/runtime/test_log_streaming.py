"""Log lines stream from the node to the run history in bounded batches, never held for the run."""

import asyncio
import threading
import time

from plait.runtime.engine import events as ev
from plait.runtime.engine.capture import LOG_FLUSH_LINES
from plait.runtime.engine.executors import IN_FLIGHT, InlineExecutor, _Handoff
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow

K = "tests.runtime.nodes:"


def talker(catalog, flag, lines=0, timeout=None):
    flow = Flow("talk", catalog=catalog)
    node = flow.create_node(catalog.get(K + "talk_until"))
    flow.set_value(node.id, "flag", str(flag))
    flow.set_value(node.id, "lines", lines)
    if timeout:
        flow.set_option(node.id, "timeout", timeout)
    return flow, node


async def until(condition, what, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


def test_lines_are_in_the_run_history_while_the_node_is_still_printing(loop, engine, workspace, tmp_path):
    flag = tmp_path / "enough"
    flow, node = talker(engine.catalog, flag, lines=5000)

    async def go():
        run = engine.start(flow, None, RunOptions(log_limit=100_000))
        kept = lambda: len(workspace.history.log_lines(run.id, node.id))  # noqa: E731
        await until(lambda: kept() >= 5000, "5,000 lines recorded")
        (recorded,) = workspace.history.node_runs(run.id)
        still_running = recorded["state"]
        flag.touch()
        return await run.wait(), still_running

    result, still_running = loop.run_until_complete(go())
    assert result.ok and still_running == ev.RUNNING
    messages = [line[4] for line in workspace.history.log_lines(result.run_id, node.id)]
    assert messages[:2] == ["line 0", "line 1"] and messages[4999] == "line 4999"
    assert messages[-1] == "the last line"


def test_lines_come_in_bounded_batches_and_are_not_replayed_to_a_late_subscriber(
    loop, engine, workspace, tmp_path
):
    flag = tmp_path / "enough"
    flag.touch()
    flow, node = talker(engine.catalog, flag, lines=3000)

    async def go():
        run = engine.start(flow, None, RunOptions(log_limit=100_000))
        live = [event async for event in run.events()]
        await run.wait()
        late = [event async for event in run.events()]
        return run, live, late

    run, live, late = loop.run_until_complete(go())
    batches = [len(e.lines) for e in live if isinstance(e, ev.NodeLog)]
    assert (
        sum(batches) == 3001 and max(batches) <= LOG_FLUSH_LINES and len(batches) >= 3000 // LOG_FLUSH_LINES
    )
    # Joining after the lines went by, a subscriber gets every other event; the lines
    # themselves are read from the run history.
    assert not [e for e in late if isinstance(e, ev.NodeLog)]
    assert [type(e) for e in late] == [
        type(e) for e in live if not isinstance(e, (ev.NodeLog, ev.NodeProgress))
    ]
    assert len(workspace.history.log_lines(run.id, node.id)) == 3001


def test_a_thread_hands_the_loop_only_a_bounded_number_of_messages_at_once():
    loop = asyncio.new_event_loop()
    received, sent = [], []
    handoff = _Handoff(loop, received.append)

    def produce():
        for i in range(IN_FLIGHT * 4):
            handoff.put(i)
            sent.append(i)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(sent) < IN_FLIGHT and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        # The loop has not run: the thread waits for it with IN_FLIGHT messages handed over.
        assert len(sent) == IN_FLIGHT and thread.is_alive() and received == []
        loop.run_until_complete(until(lambda: len(received) == IN_FLIGHT * 4, "every message"))
        assert received == list(range(IN_FLIGHT * 4))
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        handoff.close()
        loop.close()


def test_an_inline_node_abandoned_past_its_timeout_is_unheard_from_then_on(
    loop, workspace, catalog, tmp_path
):
    executor = InlineExecutor()
    engine = Engine(workspace, catalog, executor=executor)
    flag = tmp_path / "enough"
    flow, node = talker(catalog, flag, timeout=0.5)

    async def go():
        result = await engine.run(flow, None, RunOptions(log_limit=100_000))
        stuck = executor.stuck()
        flag.touch()  # the abandoned thread prints its last line and ends
        await until(lambda: not executor.stuck(), "the abandoned thread to end")
        engine.recorder.flush()
        return result, stuck

    result, stuck = loop.run_until_complete(go())
    assert result.nodes[node.id].state == ev.TIMED_OUT
    assert "was abandoned (an inline node cannot be killed)" in result.nodes[node.id].error
    assert stuck == ["Talk until"]
    messages = [line[4] for line in workspace.history.log_lines(result.run_id, node.id)]
    assert messages and "the last line" not in messages
    ended = workspace.history.find_run(result.run_id)
    assert ended["state"] == ev.RUN_FAILED and ended["ended"] is not None
