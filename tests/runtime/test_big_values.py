"""Large values: written in the background, read from memory or a mapped file, within a budget."""

import asyncio
import os
import signal
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy
import pytest

from plait.runtime.engine import events as ev
from plait.runtime.engine.executors import LocalExecutor
from plait.runtime.engine.placement import Placement
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.engine.worker import Task
from plait.runtime.flow.model import Flow
from plait.runtime.nodes.introspect import spec_from_callable
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.results.blobs import OutputRef
from plait.runtime.results.held import HeldResults
from tests.runtime import big_nodes
from tests.runtime.running import run

K = "tests.runtime.big_nodes:"
MB = 1024 * 1024
WAIT = 120  # seconds a test waits for a step before it fails


NODES = ["produce", "inspect", "inspect_three", "change_in_place", "table", "change_table", "read_table"]


@pytest.fixture
def flow():
    catalog = Catalog()
    for name in [*NODES, "arrays", "where_and_sum"]:
        catalog.add(spec_from_callable(getattr(big_nodes, name)))
    return Flow("big", catalog=catalog)


def node(flow, name, **values):
    n = flow.create_node(flow.catalog.get(K + name))
    for port, value in values.items():
        flow.set_value(n.id, port, value)
    return n


def value(engine, result, node_id, port="result"):
    return engine.cache.store.read(result.nodes[node_id].outputs[port])


def keys(seen) -> dict[str, str]:
    return {e.node_id: e.cache_key for e in seen if isinstance(e, ev.NodeFinished)}


def starts(seen, node_id) -> int:
    return sum(1 for e in seen if isinstance(e, ev.NodeStarted) and e.node_id == node_id)


def log_lines(seen) -> list[str]:
    return [line.message for e in seen if isinstance(e, ev.NodeLog) for line in e.lines]


async def until(condition, what: str) -> None:
    for _ in range(WAIT * 50):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"waited {WAIT} s for {what}")


def writer_pid(gate: Path) -> int:
    text = Path(f"{gate}.writing").read_text() if Path(f"{gate}.writing").exists() else ""
    return int(text) if text else 0


# -- through the engine, on worker processes -------------------------------------------------------


def test_a_consumer_runs_on_the_worker_holding_its_input_and_gets_it_from_memory(loop, engine, flow):
    make = node(flow, "produce", mb=20, seed=2.0)
    use = node(flow, "inspect")
    flow.connect(make.id, "a", use.id, "a")
    result, seen = run(loop, engine, flow, use_cache=False)
    assert result.ok
    how = value(engine, result, use.id)
    assert how["pid"] == value(engine, result, make.id, "pid")  # the producer's worker
    assert not how["mapped"] and not how["writeable"]  # its memory, shared read-only
    assert how["sum"] == 2.0 * 20 * MB / 8
    # The run ended with its nodes; the file is written and the entry indexed once it is complete.
    loop.run_until_complete(engine.written())
    ref = result.nodes[make.id].outputs["a"]
    assert engine.cache.store.verify(ref)
    assert keys(seen)[make.id] in engine.cache.lookup([keys(seen)[make.id]])
    # Its consumer has run: the worker no longer holds it.
    assert not any(str(engine.cache.store.path(ref)) in paths for paths in engine.executor().held().values())


def test_a_consumer_on_another_worker_waits_for_the_file_and_maps_it(loop, engine, flow, tmp_path):
    gate = tmp_path / "gate"
    make = node(flow, "produce", mb=20, seed=3.0, gate=str(gate))
    # Each waits for the other, so one holds the producer's worker while the other runs elsewhere.
    one = node(flow, "inspect", mark=str(tmp_path / "one"), wait_for=str(tmp_path / "two"))
    two = node(flow, "inspect", mark=str(tmp_path / "two"), wait_for=str(tmp_path / "one"))
    for use in (one, two):
        flow.connect(make.id, "a", use.id, "a")

    async def go():
        handle = engine.start(flow, None, RunOptions(use_cache=False))
        seen = []

        async def collect():
            async for event in handle.events():
                seen.append(event)

        collecting = asyncio.ensure_future(collect())
        await until(lambda: writer_pid(gate), "the producer's file to be half written")
        await until(lambda: (tmp_path / "one").exists() or (tmp_path / "two").exists(), "a consumer")
        # A consumer sent to the other worker before the file was complete would fail now.
        await asyncio.sleep(0.5)
        gate.touch()
        await asyncio.wait_for(collecting, WAIT)
        return await handle.wait(), seen

    result, seen = loop.run_until_complete(go())
    assert result.ok
    assert starts(seen, make.id) == 1 and not any("damaged" in line for line in log_lines(seen))
    producer = value(engine, result, make.id, "pid")
    hows = [value(engine, result, use.id) for use in (one, two)]
    near = [h for h in hows if h["pid"] == producer]
    far = [h for h in hows if h["pid"] != producer]
    assert len(near) == 1 and len(far) == 1
    assert not near[0]["mapped"] and far[0]["mapped"]  # memory beside it, the mapped file elsewhere
    assert not far[0]["writeable"]
    assert near[0]["sum"] == far[0]["sum"] == 3.0 * 20 * MB / 8


def test_a_worker_that_dies_mid_write_leaves_no_entry_that_looks_valid(loop, workspace, flow, tmp_path):
    executor = LocalExecutor(1)
    engine = Engine(workspace, flow.catalog, executor=executor)
    gate = tmp_path / "gate"
    make = node(flow, "produce", mb=20, gate=str(gate))

    async def go():
        handle = engine.start(flow, None, RunOptions())
        seen = []

        async def collect():
            async for event in handle.events():
                seen.append(event)

        collecting = asyncio.ensure_future(collect())
        await until(lambda: keys(seen) and writer_pid(gate), "the producer's end, its file half written")
        os.kill(writer_pid(gate), signal.SIGKILL)
        await collecting
        result = await handle.wait()
        await engine.written()  # the run ended with its node; its result's write ends here
        assert handle.unwritten == [make.id]  # what the window and plait run then say
        return result, seen

    try:
        result, seen = loop.run_until_complete(asyncio.wait_for(go(), WAIT))
        key = keys(seen)[make.id]
        ref = result.nodes[make.id].outputs["a"]
        assert result.nodes[make.id].state == ev.COMPLETED  # the value was made...
        told = [line[4] for line in workspace.history.log_lines(result.run_id, make.id)]
        assert any("not kept in the cache" in line for line in told)
        assert engine.cache.lookup([key]) == {}  # ...but nothing names its torn file
        assert not engine.cache.store.path(ref).exists()
        assert not list(engine.cache.store.folder.rglob("*.tmp"))  # the torn file is gone too

        gate.touch()  # the next write goes through (and, a file its input names, changes its key)
        again, seen = run(loop, engine, flow)
        assert again.nodes[make.id].state == ev.COMPLETED
        loop.run_until_complete(engine.written())
        key = keys(seen)[make.id]
        entry = engine.cache.lookup([key])[key]
        assert engine.cache.store.verify(entry.outputs["a"])
        assert numpy.array_equal(engine.cache.store.read(entry.outputs["a"])[:3], [1.0, 1.0, 1.0])
    finally:
        loop.run_until_complete(executor.close())


def test_a_worker_holds_outputs_within_its_budget_and_drops_them_once_read(loop, workspace, flow):
    executor = LocalExecutor(1, held_bytes=50 * MB)
    engine = Engine(workspace, flow.catalog, executor=executor)
    made = [node(flow, "produce", mb=20, seed=seed) for seed in (1.0, 2.0, 3.0)]
    use = node(flow, "inspect_three")
    for made_by, port in zip(made, "abc", strict=True):
        flow.connect(made_by.id, "a", use.id, port)
    try:
        result, seen = run(loop, engine, flow)
        assert result.ok
        order = [e.node_id for e in seen if isinstance(e, ev.NodeStarted) and e.node_id != use.id]
        how = value(engine, result, use.id)
        oldest = "abc"[[m.id for m in made].index(order[0])]
        # Three 20 MB values over a 50 MB budget: the oldest was dropped, its consumer mapped the file.
        assert {port for port in "abc" if how[port]["mapped"]} == {oldest}
        assert [how[port]["sum"] for port in "abc"] == [s * 20 * MB / 8 for s in (1.0, 2.0, 3.0)]

        # Its consumer has run: the worker drops the other two, as it says after its next task.
        lone = Flow("lone", catalog=flow.catalog)
        node(lone, "produce", mb=1)
        assert run(loop, engine, lone)[0].ok
        assert executor.held() == {}
    finally:
        loop.run_until_complete(executor.close())


def test_with_no_budget_outputs_are_written_before_the_node_ends_and_read_mapped(loop, workspace, flow):
    workspace.set_setting("held_values_bytes", 0)
    engine = Engine(workspace, flow.catalog)
    make = node(flow, "produce", mb=20, seed=4.0)
    use = node(flow, "inspect")
    flow.connect(make.id, "a", use.id, "a")
    try:
        result, _ = run(loop, engine, flow, max_workers=1)
        assert result.ok
        how = value(engine, result, use.id)
        assert how["mapped"] and how["sum"] == 4.0 * 20 * MB / 8
    finally:
        loop.run_until_complete(engine.close())


def test_changing_a_large_input_in_place_fails_with_a_way_out(loop, engine, flow):
    make = node(flow, "produce", mb=20)
    change = node(flow, "change_in_place")
    flow.connect(make.id, "a", change.id, "a")
    result, _ = run(loop, engine, flow, use_cache=False)
    assert result.nodes[change.id].state == ev.FAILED
    message = result.nodes[change.id].error
    assert "read-only" in message and "input 'a' is a large array shared" in message
    assert "a = a.copy()" in message


def test_a_table_shared_by_its_consumers_is_changed_by_one_without_the_others_seeing_it(
    loop, engine, flow, tmp_path
):
    pytest.importorskip("pyarrow")
    changed = tmp_path / "changed"
    make = node(flow, "table", mb=20)
    change = node(flow, "change_table", then=str(changed))
    read = node(flow, "read_table", after=str(changed))
    for use in (change, read):
        flow.connect(make.id, "result", use.id, "df")
    result, _ = run(loop, engine, flow, use_cache=False)
    assert result.ok
    assert value(engine, result, change.id)["first"] == -1.0
    seen = value(engine, result, read.id)  # after the other changed its own
    assert seen["first"] == 0.0 and seen["columns"] == ["x"]
    loop.run_until_complete(engine.written())  # the table's file, written once the run has ended
    stored = value(engine, result, make.id)
    assert stored.loc[0, "x"] == 0.0 and list(stored.columns) == ["x"]


def test_a_mapped_node_over_large_arrays_reads_each_item_and_lets_them_all_go(loop, engine, flow):
    made = node(flow, "arrays", n=3, mb=20)
    each = node(flow, "where_and_sum")
    flow.set_option(each.id, "map_over", "a")
    flow.connect(made.id, "result", each.id, "a")
    result, seen = run(loop, engine, flow, use_cache=False)
    assert result.ok
    hows = value(engine, result, each.id)
    assert [h["sum"] for h in hows] == [i * 20 * MB / 8 for i in range(3)]
    assert all(not h["writeable"] for h in hows)  # large items: shared read-only, in memory or mapped
    folder = str(engine.cache.store.folder)  # its items and their results are let go
    assert not any(path.startswith(folder) for paths in engine.executor().held().values() for path in paths)
    again, _ = run(loop, engine, flow)
    assert again.nodes[each.id].state == ev.CACHED


# -- the choice of a worker ------------------------------------------------------------------------


def ref(file: str, size: int = 20 * MB) -> OutputRef:
    return OutputRef("npy", size, "", {}, file=file)


def task_reading(*refs: OutputRef) -> Task:
    inputs = {f"x{i}": ("ref", r) for i, r in enumerate(refs)}
    return Task("t", "r", "n", "n", "k", "k", "/nowhere", inputs=inputs)


def test_a_task_goes_to_its_holder_or_waits_for_the_file_before_going_elsewhere(loop):
    async def go():
        placement = Placement()
        holder, other = SimpleNamespace(held={"/nowhere/ab/a.npy"}), SimpleNamespace(held=set())
        placement.begun(holder, [("1:1", "/nowhere/ab/a.npy")], "/nowhere")
        reading = task_reading(ref("ab/a.npy"))
        assert placement.choose(reading, [other, holder]) is holder
        assert placement.choose(reading, [other]) is None  # the holder is busy, the file not written
        waiting = placement.stored({"a": ref("ab/a.npy")})
        assert waiting is not None
        placement.written("1:1", None)
        assert await waiting is None
        assert placement.choose(reading, [other]) is other  # the file is complete: anyone may map it
        assert placement.stored({"a": ref("ab/a.npy")}) is None
        # Tasks reading no held value leave the holder free for those that do.
        assert placement.choose(task_reading(), [holder, other]) is other

    loop.run_until_complete(go())


def test_a_failed_write_is_reported_and_its_value_stays_with_its_holder(loop):
    async def go():
        placement = Placement()
        holder, other = SimpleNamespace(held={"/nowhere/ab/a.npy"}), SimpleNamespace(held=set())
        placement.written("1:1", "OSError: no space left on device")  # before the task's outcome
        placement.begun(holder, [("1:1", "/nowhere/ab/a.npy")], "/nowhere")
        assert "no space" in await placement.stored({"a": ref("ab/a.npy")})
        # Said once: the same file written again later (in front, by another run) is complete.
        assert placement.stored({"a": ref("ab/a.npy")}) is None
        reading = task_reading(ref("ab/a.npy"))
        assert placement.choose(reading, [other]) is None  # only its holder has the value
        placement.worker_gone(holder, None)
        assert placement.choose(reading, [other]) is other  # gone: the read fails, and is repaired

    loop.run_until_complete(go())


# -- a worker's store ------------------------------------------------------------------------------


class Messages:
    def __init__(self):
        self.seen = []
        self.arrived = threading.Event()

    def __call__(self, message):
        self.seen.append(message)
        self.arrived.set()


def test_a_held_array_is_shared_from_memory_while_its_file_is_written(tmp_path):
    messages = Messages()
    store = HeldResults(tmp_path / "cache", 100 * MB, messages)
    store.hold = True
    array = numpy.arange(20 * MB // 8, dtype="float64")
    out = store.write("ab" * 20, "result", array)
    ((write_id, file),) = store.take_writing()
    assert file == out.file and store.held() == [file]
    shared = store.read(out)
    assert numpy.shares_memory(shared, array) and not shared.flags.writeable
    assert messages.arrived.wait(WAIT) and messages.seen == [("written", write_id, None)]
    assert store.verify(out) and numpy.array_equal(store.read(out), array)
    store.release([file])
    assert store.held() == []
    mapped = store.read(out)  # from the file now
    assert not numpy.shares_memory(mapped, array) and numpy.array_equal(mapped, array)
    store.close()


def test_a_released_value_is_let_go_once_written(tmp_path):
    import gc
    import time
    import weakref

    messages = Messages()
    store = HeldResults(tmp_path / "cache", 100 * MB, messages)
    store.hold = True
    array = numpy.ones(20 * MB // 8)
    alive = weakref.ref(array)
    out = store.write("ab" * 20, "result", array)
    store.release([out.file])
    del array
    assert messages.arrived.wait(WAIT)
    for _ in range(200):  # the writer lets go of it right after saying it is written
        gc.collect()
        if alive() is None:
            break
        time.sleep(0.1)
    assert alive() is None and store.held() == []
    store.close()


def test_a_write_that_fails_is_told_and_leaves_no_file(tmp_path):
    messages = Messages()
    store = HeldResults(tmp_path / "cache", 100 * MB, messages)
    store.hold = True
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "ab").write_text("a file where the folder would go")
    out = store.write("ab" * 20, "result", numpy.ones(20 * MB // 8))
    assert messages.arrived.wait(WAIT)
    ((kind, _, error),) = messages.seen
    assert kind == "written" and error and "Error" in error
    assert numpy.array_equal(store.read(out)[:2], [1.0, 1.0])  # its holder still has it
    assert not store.exists(out)
    store.close()


# -- tables -----------------------------------------------------------------------------------------


def test_a_large_table_is_an_arrow_file_read_mapped_and_copied_only_where_changed(tmp_path):
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from plait.runtime.results.blobs import MAP_LIMIT, ResultStore

    rows = MAP_LIMIT // 8 + 100
    frame = pandas.DataFrame(
        {"x": numpy.arange(rows, dtype="float64"), "label": pandas.Categorical(["a", "b"] * (rows // 2))}
    )
    store = ResultStore(tmp_path)
    out = store.write("cd" * 20, "result", frame)
    assert out.serializer == "arrow" and out.file.endswith(".arrow") and out.size >= MAP_LIMIT
    first, second = store.read(out), store.read(out)
    assert first.equals(frame) and (first.dtypes == frame.dtypes).all()
    if os.path.exists("/proc/self/maps"):  # the columns are the file's pages, not a copy
        assert str(store.path(out)) in Path("/proc/self/maps").read_text()
    first.loc[0, "x"] = -1.0  # its own copy of that column; the file and other readers keep theirs
    assert second.loc[0, "x"] == 0.0 and store.read(out).loc[0, "x"] == 0.0
    assert first.loc[0, "x"] == -1.0


def test_a_small_table_is_stored_inline_as_arrow_and_old_parquet_entries_still_read(tmp_path):
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    import io
    import zlib

    from plait.runtime.results.blobs import ResultStore

    frame = pandas.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    store = ResultStore(tmp_path)
    out = store.write("ef" * 20, "result", frame)
    assert out.serializer == "arrow" and out.data is not None
    pandas.testing.assert_frame_equal(store.read(out), frame)

    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    data = parquet.getvalue()
    old = OutputRef("parquet", len(data), f"{zlib.crc32(data):08x}", {}, data=data)  # a CRC, as before
    pandas.testing.assert_frame_equal(store.read(old), frame)


def test_a_budget_that_is_not_a_number_of_bytes_refuses_the_run_and_says_how_to_set_it(workspace, flow):
    from plait.runtime.engine.plan import RunRefused

    workspace.set_setting("held_values_bytes", "2GB")
    node(flow, "produce", mb=1)
    engine = Engine(workspace, flow.catalog)

    async def go():
        engine.start(flow, None, RunOptions())

    with pytest.raises(RunRefused, match="held_values_bytes is '2GB'.*plait settings held_values_bytes"):
        asyncio.run(go())


# -- writing past the page cache -------------------------------------------------------------------


@pytest.fixture
def direct(monkeypatch):
    """Direct writes from 1 MB, through a 64 KiB buffer: a blob of a few MB takes many of them."""
    from plait.runtime.results import blobs

    monkeypatch.setattr(blobs, "DIRECT_FROM", MB)
    monkeypatch.setattr(blobs, "_DIRECT_CHUNK", 64 * 1024)
    opened = []
    original = blobs._DirectFile.__init__

    def init(self, path):
        original(self, path)
        opened.append(self)

    monkeypatch.setattr(blobs._DirectFile, "__init__", init)
    return opened


def _takes_direct_writes(folder) -> bool:
    try:
        os.close(os.open(folder / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600))
    except OSError:  # tmpfs, for one
        return False
    return True


def test_a_large_blob_is_written_past_the_page_cache_whole_and_private(tmp_path, direct):
    from plait.runtime.results.blobs import ResultStore

    store = ResultStore(tmp_path / "cache")
    array = numpy.arange(3 * MB // 8 + 5, dtype="float64")  # not a whole number of blocks
    out = store.write("cd" * 20, "result", array)
    assert [f.direct for f in direct] == [_takes_direct_writes(tmp_path)]
    path = store.path(out)
    assert path.stat().st_size == out.size and oct(path.stat().st_mode & 0o777) == "0o600"
    assert store.verify(out) and numpy.array_equal(store.read(out), array)
    assert not list(path.parent.glob("*.tmp"))


def test_where_direct_writes_are_refused_the_file_is_written_as_usual(tmp_path, direct, monkeypatch):
    import errno

    from plait.runtime.results import blobs
    from plait.runtime.results.blobs import ResultStore

    real_open, real_write = os.open, os.write
    refused = {"open": True}

    def open_(path, flags, *args):
        if flags & os.O_DIRECT and refused["open"]:
            raise OSError(errno.EINVAL, "no direct writes here")
        return real_open(path, flags, *args)

    def write(fd, data):  # a device whose blocks are larger than ours: refused mid-file
        if direct and direct[-1].direct and direct[-1].size > MB:
            raise OSError(errno.EINVAL, "misaligned")
        return real_write(fd, data)

    monkeypatch.setattr(blobs.os, "open", open_)
    store = ResultStore(tmp_path / "cache")
    array = numpy.arange(2 * MB // 8, dtype="float64")
    out = store.write("ef" * 20, "result", array)
    assert [f.direct for f in direct] == [False]
    assert store.verify(out) and numpy.array_equal(store.read(out), array)

    refused["open"] = False
    monkeypatch.setattr(blobs.os, "write", write)
    again = store.write("ab" * 20, "result", array + 1)
    assert not direct[-1].direct  # it went on without them
    assert store.verify(again) and numpy.array_equal(store.read(again), array + 1)
