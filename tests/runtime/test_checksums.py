"""Stored results are checked whenever they are read: a damaged one is recomputed, never used."""

import socket
import subprocess
import sys
import time

import blake3
import numpy
import pytest

from plait.runtime.engine import events as ev
from plait.runtime.flow.model import Flow
from plait.runtime.results.blobs import CorruptResult, ResultStore
from plait.runtime.results.cache import ResultCache, verify_after_crash
from plait.runtime.workspace.store import Workspace
from tests.runtime.running import run

K = "tests.runtime.nodes:"


def flip_a_byte(path, at=None) -> None:
    """Same size, one byte wrong: what a size check cannot see."""
    data = bytearray(path.read_bytes())
    index = len(data) // 2 if at is None else at
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


def warnings(seen) -> list[str]:
    return [line.message for e in seen if isinstance(e, ev.NodeLog) for line in e.lines]


def test_a_same_size_byte_flip_in_a_blob_is_detected_when_read(tmp_path):
    store = ResultStore(tmp_path / "cache")
    ref = store.write("ab" * 32, "result", numpy.arange(100_000, dtype="float64"))
    assert ref.file is not None
    flip_a_byte(store.path(ref))
    assert store.exists(ref)  # the cheap check still sees the right size
    assert not store.verify(ref)
    with pytest.raises(CorruptResult, match="is damaged: its bytes do not match their checksum"):
        store.read(ref)


def test_a_damaged_inline_value_is_detected_when_read(tmp_path):
    store = ResultStore(tmp_path / "cache")
    ref = store.write("cd" * 32, "result", {"rows": [1, 2, 3]})
    assert ref.data is not None
    damaged = bytearray(ref.data)
    damaged[3] ^= 0x01
    with pytest.raises(CorruptResult, match="stored result is damaged"):
        store.read(type(ref).from_meta(ref.meta(), bytes(damaged)))


def test_a_run_recomputes_a_cached_input_with_one_flipped_byte(loop, engine, catalog):
    flow = Flow("flip", catalog=catalog)
    big = flow.create_node(catalog.get(K + "big_array"))
    flow.set_value(big.id, "n", 100_000)
    flow.set_value(big.id, "seed", 3.0)
    total = flow.create_node(catalog.get(K + "array_sum"))
    flow.connect(big.id, "result", total.id, "a")
    first, _ = run(loop, engine, flow)
    flip_a_byte(engine.cache.store.path(first.nodes[big.id].outputs["result"]))
    second, seen = run(loop, engine, flow, force=(total.id,))
    assert second.ok
    assert second.nodes[big.id].state == ev.COMPLETED  # recomputed, not loaded
    assert engine.cache.store.read(second.nodes[total.id].outputs["result"]) == 300_000.0
    assert any(f"'{big.title}' was damaged; recomputing it" in m for m in warnings(seen))


def keys_of(workspace, name: str) -> set[str]:
    """The cache keys stored for one kind of node (a mapped node's items among them)."""
    return {
        row[0]
        for row in workspace.conn.execute("select key from cache_entries where spec_key=?", (K + name,))
    }


def damage_inline(workspace, key: str, port: str = "result") -> None:
    (data,) = workspace.conn.execute(
        "select data from cache_values where key=? and port=?", (key, port)
    ).fetchone()
    damaged = bytearray(data)
    damaged[-1] ^= 0x01
    workspace.conn.execute(
        "update cache_values set data=? where key=? and port=?", (bytes(damaged), key, port)
    )


def mapped_flow(catalog, n=4):
    flow = Flow("map", catalog=catalog)
    count = flow.add_parameter("n", "int", n)
    source = flow.create_node(catalog.get(K + "numbers"))
    flow.connect(count.id, "value", source.id, "n")
    target = flow.create_node(catalog.get(K + "square"))
    flow.set_option(target.id, "map_over", "x")
    flow.connect(source.id, "result", target.id, "x")
    return flow, source, target


def test_a_damaged_list_that_a_mapped_node_splits_is_recomputed(loop, engine, catalog, workspace):
    flow, source, target = mapped_flow(catalog)
    run(loop, engine, flow)
    (numbers,) = keys_of(workspace, "numbers")
    damage_inline(workspace, numbers)
    second, seen = run(loop, engine, flow, force=(target.id,))
    assert second.ok, second.nodes[target.id].error
    assert second.nodes[source.id].state == ev.COMPLETED
    assert engine.cache.store.read(second.nodes[target.id].outputs["result"]) == [0, 1, 4, 9]
    assert any(f"'{source.title}' was damaged; recomputing it" in m for m in warnings(seen))


def test_a_damaged_cached_item_of_a_mapped_node_is_recomputed(loop, engine, catalog, workspace):
    flow, _, target = mapped_flow(catalog)
    run(loop, engine, flow)
    items = sorted(keys_of(workspace, "square"))  # four items and the node's own entry
    assert len(items) == 5
    for key in items:
        damage_inline(workspace, key)
    # One more item: the four cached ones are gathered with it, and found damaged.
    grown, seen = run(loop, engine, flow, {"n": 5})
    assert grown.ok, grown.nodes[target.id].error
    assert engine.cache.store.read(grown.nodes[target.id].outputs["result"]) == [0.0, 1.0, 4.0, 9.0, 16.0]
    assert any(
        m.startswith("[plait] the stored result of item") and "recomputing it" in m for m in warnings(seen)
    )


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_results_written_before_a_crash_are_checked_in_the_background(loop, engine, catalog, workspace):
    flow = Flow("crash", catalog=catalog)
    big = flow.create_node(catalog.get(K + "big_array"))
    flow.set_value(big.id, "n", 100_000)
    started = time.time()
    first, _ = run(loop, engine, flow)
    ref = first.nodes[big.id].outputs["result"]
    (key,) = keys_of(workspace, "big_array")
    flip_a_byte(engine.cache.store.path(ref))
    # A run left 'running' by a process that is gone: the workspace finds it crashed.
    workspace.conn.execute(
        "insert into runs(id, flow_id, flow_name, flow_version, state, started, pid, host)"
        " values ('crashed-run', ?, 'crash', 1, 'running', ?, ?, ?)",
        (flow.id, started - 1, _dead_pid(), socket.gethostname()),
    )
    with Workspace(workspace.folder) as reopened:
        assert reopened.crashed_since == started - 1
        assert key in ResultCache(reopened).lookup([key])  # the size check alone passes it
        check = verify_after_crash(reopened)
        assert check is not None
        check.join(30)
        assert ResultCache(reopened).lookup([key]) == {}
        assert not engine.cache.store.path(ref).exists()
        assert verify_after_crash(reopened) is None  # once per opening


def test_a_large_array_is_mapped_read_only_checked_and_hashed_as_its_bytes(tmp_path):
    import io
    import mmap

    from plait.runtime.results.blobs import MAP_LIMIT

    store = ResultStore(tmp_path)
    value = numpy.arange(MAP_LIMIT // 8 + 1000, dtype="float64")
    ref = store.write("a" * 40, "result", value)
    raw = store.path(ref).read_bytes()
    expected = io.BytesIO()
    numpy.save(expected, value, allow_pickle=False)
    assert raw == expected.getvalue()  # written straight from the array, the bytes numpy.save writes
    assert ref.digest == "npy:" + blake3.blake3(raw).hexdigest()  # of the bytes, however hashed
    assert ref.checksum == "blake3:" + blake3.blake3(raw).hexdigest()

    first, second = store.read(ref), store.read(ref)
    assert type(first) is numpy.ndarray and numpy.array_equal(first, value)
    assert isinstance(first.base.base if first.base.base is not None else first.base, mmap.mmap)
    with pytest.raises(ValueError, match="read-only"):
        first[0] = -1.0  # shared by every reader: nobody changes it for the others
    assert second[0] == 0.0 and store.read(ref)[0] == 0.0

    flip_a_byte(store.path(ref))
    with pytest.raises(CorruptResult, match="do not match their checksum"):
        store.read(ref)


def test_a_small_value_written_through_the_file_path_is_still_inline(tmp_path):
    store = ResultStore(tmp_path)
    ref = store.write("b" * 40, "result", list(range(10)))
    assert ref.data is not None and ref.file is None and store.read(ref) == list(range(10))
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_streamed_value_is_hashed_as_its_stored_bytes(tmp_path):
    store = ResultStore(tmp_path)
    value = {("a", 1): list(range(100_000))}  # a pickle, written as the serializer streams it
    ref = store.write("c" * 40, "result", value)
    assert ref.serializer == "pickle" and ref.file is not None
    raw = store.path(ref).read_bytes()
    assert ref.digest == "pickle:" + blake3.blake3(raw).hexdigest()
    assert ref.checksum == "blake3:" + blake3.blake3(raw).hexdigest()
    assert store.read(ref) == value


def test_an_entry_written_with_a_crc_before_is_still_checked_with_it(tmp_path):
    import dataclasses
    import zlib

    from plait.runtime.results.blobs import MAP_LIMIT

    store = ResultStore(tmp_path)
    value = numpy.arange(MAP_LIMIT // 8 + 10, dtype="float64")
    ref = store.write("d" * 40, "result", value)
    crc = f"{zlib.crc32(store.path(ref).read_bytes()):08x}"
    old = dataclasses.replace(ref, checksum=crc)
    assert numpy.array_equal(store.read(old), value) and store.verify(old)
    flip_a_byte(store.path(ref))
    assert not store.verify(old)
    with pytest.raises(CorruptResult, match="do not match their checksum"):
        store.read(old)


@pytest.mark.parametrize(
    "make",
    [
        lambda: numpy.arange(30_000, dtype="float32").reshape(100, 300),  # C order
        lambda: numpy.asfortranarray(numpy.arange(30_000, dtype="int64").reshape(100, 300)),
        lambda: numpy.arange(60_000, dtype="float64").reshape(200, 300)[::2, ::3],  # neither
        lambda: numpy.zeros(20_000, dtype=[("x", "f8"), ("n", "i4")]),
        lambda: numpy.arange(20_000).astype("datetime64[s]"),
        lambda: numpy.array(3.5),
    ],
)
def test_an_array_is_stored_as_the_bytes_numpy_save_writes(tmp_path, make):
    import io

    value = make()
    store = ResultStore(tmp_path)
    ref = store.write("e" * 40, "result", value)
    raw = ref.data if ref.data is not None else store.path(ref).read_bytes()
    expected = io.BytesIO()
    numpy.save(expected, value, allow_pickle=False)
    assert raw == expected.getvalue()
    back = store.read(ref)
    assert back.dtype == value.dtype and numpy.array_equal(back, value)
