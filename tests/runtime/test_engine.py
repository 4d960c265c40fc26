import json

import pytest

from plait.runtime.engine import events as ev
from plait.runtime.engine.plan import ParameterError, RunRefused
from plait.runtime.engine.scheduler import RunOptions
from plait.runtime.flow.model import Flow
from tests.runtime.running import run

K = "tests.runtime.nodes:"


def node(flow, name, **values):
    n = flow.create_node(flow.catalog.get(K + name))
    for port, value in values.items():
        flow.set_value(n.id, port, value)
    return n


def wire(flow, a, b, port, out="result"):
    flow.connect(a.id, "value" if a.is_parameter else out, b.id, port)


def value(engine, result, node_id, port="result"):
    return engine.cache.store.read(result.nodes[node_id].outputs[port])


def states(result):
    return {n: r.state for n, r in result.nodes.items()}


@pytest.fixture
def flow(catalog):
    return Flow("test", catalog=catalog)


def test_a_flow_runs_in_workers_and_passes_results_by_reference(loop, engine, flow):
    x = flow.add_parameter("x", "float", 2.0)
    a = node(flow, "add", b=1.0)
    wire(flow, x, a, "a")
    lo_hi = node(flow, "split")
    wire(flow, a, lo_hi, "x")
    s = node(flow, "add")
    wire(flow, lo_hi, s, "a", out="low")
    wire(flow, lo_hi, s, "b", out="high")
    result, seen = run(loop, engine, flow, {"x": 5})
    assert result.ok, states(result)
    assert value(engine, result, a.id) == 6.0
    assert value(engine, result, lo_hi.id, "low") == 5.0
    assert value(engine, result, s.id) == 12.0
    assert isinstance(seen[0], ev.RunStarted) and isinstance(seen[-1], ev.RunFinished)
    assert seen[0].parameters == {"x": 5.0}
    finished = [e for e in seen if isinstance(e, ev.NodeFinished)]
    assert finished[-1].summaries == {"result": {"type": "float", "preview": "12.0"}}


def test_a_second_run_is_entirely_cached_and_a_parameter_change_reruns_its_cone(loop, engine, flow):
    x = flow.add_parameter("x", "float", 2.0)
    y = flow.add_parameter("y", "float", 1.0)
    a, b = node(flow, "add"), node(flow, "add")
    wire(flow, x, a, "a")
    wire(flow, y, b, "a")
    c = node(flow, "add")
    wire(flow, a, c, "a")
    wire(flow, b, c, "b")
    first, _ = run(loop, engine, flow)
    assert set(states(first).values()) == {ev.COMPLETED}
    second, _ = run(loop, engine, flow)
    assert set(states(second).values()) == {ev.CACHED}
    third, _ = run(loop, engine, flow, {"y": 10})
    assert {n for n, s in states(third).items() if s == ev.COMPLETED} == {y.id, b.id, c.id}
    assert value(engine, third, c.id) == 12.0


def test_logs_prints_stderr_and_logging_are_captured_per_node(loop, engine, flow, workspace):
    c = node(flow, "chatty", x=1.5, lines=3)
    result, seen = run(loop, engine, flow)
    assert result.ok
    lines = [(line.stream, line.message) for e in seen if isinstance(e, ev.NodeLog) for line in e.lines]
    assert ("stdout", "line 2 of 1.5") in lines
    assert ("stderr", "to stderr") in lines
    assert ("logging", "chatty: careful with 1.5") in lines
    stored = workspace.conn.execute(
        "select stream, level, message from logs where node_id=?", (c.id,)
    ).fetchall()
    assert ("logging", "WARNING", "chatty: careful with 1.5") in stored
    assert len(stored) == 5


def test_log_lines_past_the_limit_are_counted_and_dropped(loop, engine, flow, workspace):
    node(flow, "chatty", x=1.0, lines=500)
    result, _ = run(loop, engine, flow, log_limit=100)
    assert result.ok
    messages = [r[0] for r in workspace.conn.execute("select message from logs order by id")]
    assert len(messages) == 101
    assert messages[-1] == "[plait] 402 more lines were dropped (the limit is 100 lines per node)"


def test_progress_from_node_code_streams_as_events(loop, engine, flow):
    node(flow, "steps", n=5)
    _, seen = run(loop, engine, flow)
    progress = [e for e in seen if isinstance(e, ev.NodeProgress)]
    assert progress and progress[-1].done == 5 and progress[-1].total == 5
    assert progress[-1].message == "step 5"


def test_a_failed_node_skips_its_cone_while_an_independent_branch_completes(loop, engine, flow):
    bad = node(flow, "boom", x=1.0)
    after = node(flow, "add")
    wire(flow, bad, after, "a")
    good = node(flow, "add", a=1.0)
    result, seen = run(loop, engine, flow)
    assert states(result) == {bad.id: ev.FAILED, after.id: ev.SKIPPED, good.id: ev.COMPLETED}
    assert result.state == ev.RUN_FAILED
    failed = next(e for e in seen if isinstance(e, ev.NodeFinished) and e.node_id == bad.id)
    assert failed.error_type == "ValueError" and failed.error_message == "boom at 1.0"
    assert "raise ValueError" in failed.traceback


@pytest.mark.parametrize(
    "name, message",
    [
        ("exit_hard", "the worker process exited with code 1"),
        ("segfault", "the worker process was killed by SIGSEGV (segmentation fault)"),
        ("out_of_memory", "could not allocate 1 TB"),
        ("interrupt", "KeyboardInterrupt"),
    ],
)
def test_a_crashing_node_fails_alone_with_a_clear_message(loop, engine, flow, workspace, name, message):
    bad = node(flow, name)
    good = node(flow, "add", a=2.0)
    result, _ = run(loop, engine, flow)
    assert states(result) == {bad.id: ev.FAILED, good.id: ev.COMPLETED}
    assert result.nodes[bad.id].error == message
    row = workspace.conn.execute(
        "select state, error_message from node_runs where node_id=?", (bad.id,)
    ).fetchone()
    assert row == (ev.FAILED, message)
    # The pool replaced the dead worker: the next run has both slots.
    again, _ = run(loop, engine, flow, force=(good.id,))
    assert again.nodes[good.id].state == ev.COMPLETED


def test_a_timeout_kills_a_sleeping_node_and_the_run_goes_on(loop, engine, flow):
    slow = node(flow, "sleepy", seconds=60.0)  # @node(timeout=0.5)
    other = node(flow, "add", a=1.0)
    result, _ = run(loop, engine, flow)
    assert states(result) == {slow.id: ev.TIMED_OUT, other.id: ev.COMPLETED}
    assert "longer than its timeout of 0.5 s" in result.nodes[slow.id].error


def test_a_per_node_timeout_override_applies(loop, engine, flow):
    slow = node(flow, "nap", seconds=60.0)
    flow.set_option(slow.id, "timeout", 0.3)
    result, _ = run(loop, engine, flow)
    assert result.nodes[slow.id].state == ev.TIMED_OUT


def test_cancel_stops_running_nodes_and_kills_their_workers(loop, engine, flow, local_executor):
    a, b = node(flow, "nap", seconds=60.0), node(flow, "nap", seconds=61.0)
    after = node(flow, "add")
    wire(flow, a, after, "a")

    async def go():
        handle = engine.start(flow, None, RunOptions())
        async for _event in handle.events():
            started = [e for e in handle._history if isinstance(e, ev.NodeStarted)]
            if len(started) == 2:
                break
        pids = {w.process.pid for w in local_executor._workers}
        handle.cancel()
        return await handle.wait(), pids

    result, pids = loop.run_until_complete(go())
    assert result.state == ev.RUN_CANCELLED
    assert states(result) == {a.id: ev.CANCELLED, b.id: ev.CANCELLED, after.id: ev.CANCELLED}
    assert len(pids) == 2
    for pid in pids:
        _wait_until_gone(pid)


def _gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def _wait_until_gone(pid, polls=200):
    import time

    for _ in range(polls):
        if _gone(pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} still runs after the run was cancelled")


def test_retries_run_the_right_number_of_attempts_with_their_delays(loop, engine, flow, tmp_path):
    counter = tmp_path / "attempts.txt"
    f = node(flow, "flaky_decorated", counter=str(counter))  # retries=2, retry_delay=0.2
    result, seen = run(loop, engine, flow)
    assert result.nodes[f.id].state == ev.COMPLETED
    assert result.nodes[f.id].attempts == 3
    assert value(engine, result, f.id) == 3
    times = [float(t) for t in counter.read_text().split()]
    assert all(later - earlier >= 0.2 for earlier, later in zip(times, times[1:], strict=False))
    retrying = [e for e in seen if isinstance(e, ev.NodeRetrying)]
    assert [r.attempt for r in retrying] == [1, 2]
    assert retrying[0].error == "RuntimeError: attempt 1 fails"


def test_retries_give_up_after_the_last_attempt_with_backoff(loop, engine, flow, tmp_path):
    counter = tmp_path / "attempts.txt"
    f = node(flow, "flaky", counter=str(counter), fail_times=10)
    flow.set_option(f.id, "retries", 2)
    flow.set_option(f.id, "retry_delay", 0.1)
    flow.set_option(f.id, "retry_backoff", 2.0)
    result, seen = run(loop, engine, flow)
    assert result.nodes[f.id].state == ev.FAILED and result.nodes[f.id].attempts == 3
    assert [e.delay for e in seen if isinstance(e, ev.NodeRetrying)] == [0.1, 0.2]


def test_a_corrupt_cache_blob_is_recomputed(loop, engine, flow):
    big = node(flow, "big_array", n=100_000, seed=2.0)
    total = node(flow, "array_sum")
    wire(flow, big, total, "a")
    first, _ = run(loop, engine, flow)
    ref = first.nodes[big.id].outputs["result"]
    assert ref.file is not None  # large enough to live in a file
    path = engine.cache.store.path(ref)
    data = bytearray(path.read_bytes())
    data[-8:] = b"\xff" * 8  # torn write: same size, wrong bytes
    path.write_bytes(bytes(data))
    second, seen = run(loop, engine, flow, force=(total.id,))
    assert second.ok
    assert second.nodes[big.id].state == ev.COMPLETED  # recomputed, not loaded
    assert value(engine, second, total.id) == 200_000.0
    warnings = [line.message for e in seen if isinstance(e, ev.NodeLog) for line in e.lines]
    assert any("was damaged; recomputing it" in m for m in warnings)


def test_a_missing_cache_blob_is_a_miss(loop, engine, flow):
    big = node(flow, "big_array", n=100_000)
    first, _ = run(loop, engine, flow)
    engine.cache.store.path(first.nodes[big.id].outputs["result"]).unlink()
    second, _ = run(loop, engine, flow)
    assert second.nodes[big.id].state == ev.COMPLETED


def test_no_cache_and_never_policy_rerun(loop, engine, flow):
    a = node(flow, "add", a=1.0)
    b = node(flow, "add", a=2.0)
    flow.set_option(b.id, "cache", "never")
    run(loop, engine, flow)
    second, _ = run(loop, engine, flow)
    assert states(second) == {a.id: ev.CACHED, b.id: ev.COMPLETED}
    third, _ = run(loop, engine, flow, use_cache=False)
    assert set(states(third).values()) == {ev.COMPLETED}


def test_an_expired_entry_is_a_miss(loop, engine, flow):
    a = node(flow, "add", a=1.0)
    flow.set_option(a.id, "cache_expiration", 0.01)
    run(loop, engine, flow)
    import time

    time.sleep(0.05)
    second, _ = run(loop, engine, flow)
    assert second.nodes[a.id].state == ev.COMPLETED


def test_run_up_to_a_node_and_force_a_cone(loop, engine, flow):
    a = node(flow, "add", a=1.0)
    b = node(flow, "add")
    wire(flow, a, b, "a")
    # Not the same computation as b (add of 1.0), which would rightly be served from b's entry.
    c = node(flow, "add", b=3.0)
    wire(flow, b, c, "a")
    other = node(flow, "add", a=5.0)
    upto, _ = run(loop, engine, flow, only=b.id)
    assert set(upto.nodes) == {a.id, b.id}
    full, _ = run(loop, engine, flow)
    assert states(full) == {a.id: ev.CACHED, b.id: ev.CACHED, c.id: ev.COMPLETED, other.id: ev.COMPLETED}
    forced, _ = run(loop, engine, flow, force=(b.id,))
    assert states(forced) == {a.id: ev.CACHED, b.id: ev.COMPLETED, c.id: ev.COMPLETED, other.id: ev.CACHED}


def test_stop_at_first_failure_cancels_the_rest(loop, engine, flow):
    node(flow, "boom")
    slow = node(flow, "nap", seconds=30.0)
    result, _ = run(loop, engine, flow, stop_on_failure=True)
    assert result.nodes[slow.id].state == ev.CANCELLED
    assert result.state == ev.RUN_CANCELLED


def test_a_run_is_refused_with_every_problem_before_anything_starts(loop, engine, flow, workspace):
    node(flow, "add")  # 'a' unwired
    flow.add_parameter("n", "int")
    with pytest.raises(RunRefused, match="input 'a' of 'Add' needs a wire or a value"):
        run(loop, engine, flow)
    flow2 = Flow("params", catalog=flow.catalog)
    n = flow2.add_parameter("n", "int")
    a = node(flow2, "add")
    wire(flow2, n, a, "a")
    with pytest.raises(ParameterError) as refused:
        run(loop, engine, flow2, {"n": "many", "m": 1})
    assert refused.value.problems == [
        "flow 'params' has no parameter 'm' (parameters: n)",
        "parameter 'n' expects int, got 'many': Input should be a valid integer, "
        "unable to parse string as an integer",
    ]
    assert workspace.conn.execute("select count(*) from runs").fetchone()[0] == 0


def test_run_records_hold_every_node(loop, engine, flow, workspace):
    a = node(flow, "add", a=1.0)
    bad = node(flow, "boom")
    result, _ = run(loop, engine, flow)
    run_row = workspace.conn.execute(
        "select state, flow_name, parameters from runs where id=?", (result.run_id,)
    ).fetchone()
    assert run_row == (ev.RUN_FAILED, "test", "{}")
    rows = dict(
        workspace.conn.execute(
            "select node_id, state from node_runs where run_id=?", (result.run_id,)
        ).fetchall()
    )
    assert rows == {a.id: ev.COMPLETED, bad.id: ev.FAILED}
    tb = workspace.conn.execute(
        "select error_type, traceback from node_runs where node_id=?", (bad.id,)
    ).fetchone()
    assert tb[0] == "ValueError" and "boom at" in tb[1]
    ref = json.loads(
        workspace.conn.execute("select result_ref from node_runs where node_id=?", (a.id,)).fetchone()[0]
    )
    assert ref["result"]["serializer"] == "json"


def test_the_inline_executor_runs_the_same_flow(loop, inline_engine, flow):
    x = flow.add_parameter("x", "float", 2.0)
    a = node(flow, "chatty", lines=1)
    wire(flow, x, a, "x")
    result, seen = run(loop, inline_engine, flow)
    assert result.ok and value(inline_engine, result, a.id) == 2.0
    assert any(line.message == "line 0 of 2.0" for e in seen if isinstance(e, ev.NodeLog) for line in e.lines)


def test_a_2000_node_run_records_every_node_and_every_log_line(loop, engine, flow, workspace):
    for i in range(2000):
        node(flow, "chatty", x=float(i), lines=1)
    result, _ = run(loop, engine, flow)
    assert result.ok
    rows = workspace.conn.execute(
        "select count(*), count(distinct node_id) from node_runs where run_id=? and state='completed'",
        (result.run_id,),
    ).fetchone()
    assert rows == (2000, 2000)
    lines = workspace.conn.execute("select count(*) from logs where run_id=?", (result.run_id,)).fetchone()[0]
    assert lines == 2000 * 3  # one print, one stderr line, one logging record each
    assert (
        workspace.conn.execute(
            "select count(*) from logs where run_id=? and message='line 0 of 1999.0'", (result.run_id,)
        ).fetchone()[0]
        == 1
    )


def test_tqdm_bars_inside_nodes_report_progress(loop, engine, flow):
    node(flow, "with_tqdm", n=50)
    result, seen = run(loop, engine, flow)
    assert result.ok
    progress = [e for e in seen if isinstance(e, ev.NodeProgress)]
    assert progress and (progress[-1].done, progress[-1].total) == (50, 50)
    assert progress[-1].message == "crunching"
    # The bar's redraws are progress, not log lines.
    assert not [e for e in seen if isinstance(e, ev.NodeLog)]


def test_the_cache_evicts_least_recently_used_entries_past_its_limit(loop, engine, flow, workspace):
    a = node(flow, "big_array", n=100_000, seed=1.0)
    first, seen = run(loop, engine, flow)
    old_ref = first.nodes[a.id].outputs["result"]
    old_key = next(e.cache_key for e in seen if isinstance(e, ev.NodeFinished))
    workspace.set_setting("cache_limit_bytes", int(old_ref.size * 1.5))
    flow.set_value(a.id, "seed", 2.0)
    second, seen = run(loop, engine, flow)
    new_key = next(e.cache_key for e in seen if isinstance(e, ev.NodeFinished))
    assert engine.cache.total_size() == old_ref.size
    assert engine.cache.entry(old_key) is None and engine.cache.entry(new_key) is not None
    assert not engine.cache.store.path(old_ref).exists()


def test_a_custom_cache_key_reruns_a_reader_when_its_file_changes(loop, engine, flow, tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("one")
    path = flow.add_parameter("path", "str", str(data))
    reader = node(flow, "read_text")
    wire(flow, path, reader, "path")
    first, _ = run(loop, engine, flow)
    assert value(engine, first, reader.id) == "ONE"
    second, _ = run(loop, engine, flow)
    assert second.nodes[reader.id].state == ev.CACHED
    data.write_text("two")
    third, _ = run(loop, engine, flow)
    assert third.nodes[reader.id].state == ev.COMPLETED
    assert value(engine, third, reader.id) == "TWO"
