"""Cache keys in the cases ordinary code meets: values that hash alike but differ, names that
look alike, ports taken from module constants, and a library saved while a run is going."""

import asyncio
import functools
import math
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from plait.runtime.engine import events as ev
from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.plan import make_plan
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow
from plait.runtime.keys.values import value_digest, value_key
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.workspace.store import Workspace


def test_values_that_compare_or_print_alike_have_different_digests():
    assert value_digest(math.nan) != value_digest(None)
    assert value_digest([math.nan]) != value_digest([None])
    assert value_digest({"a": 1, "b": 2}) != value_digest({"b": 2, "a": 1})
    assert value_digest(1) != value_digest(1.0) != value_digest(True)
    assert value_digest((1, 2)) != value_digest([1, 2])
    assert value_digest(math.nan) == value_digest(float("nan"))


def test_sets_hash_the_same_in_any_order_and_any_process():
    assert value_digest({"x", "y", "z"}) == value_digest({"z", "y", "x"})
    code = "from plait.runtime.keys.values import value_digest; print(value_digest({'a','b','c'}))"
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1


def test_arrays_and_tables_hash_by_content_wherever_they_are():
    a = np.arange(1_000_000, dtype=float)
    b = a.copy()
    assert value_digest(a) == value_digest(b)
    b[-1] += 1
    assert value_digest(a) != value_digest(b)
    assert value_digest({"w": [a]}) != value_digest({"w": [b]})
    assert value_digest(a.astype(np.float32)) != value_digest(a)
    frame = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    assert value_digest(frame) == value_digest(frame.copy())
    assert value_digest(frame) != value_digest(frame.assign(y=["a", "c"]))
    one = functools.partial(np.dot, a)
    other = functools.partial(np.dot, b)
    assert value_key(one) != value_key(other)


LIBRARY = textwrap.dedent("""
    from plait.runtime import node

    OUTS = ("low", "high")
    T = str


    def split(text):
        return "unrelated helper, version 1"


    def words(s: str = "a b") -> int:
        return len(s.split())


    @node(outputs=OUTS)
    def bounds(x: float = 0.0):
        return x - 1, x + 1


    def label(x: T = "a") -> T:
        return x


    def total(values=None) -> float:
        return float(sum(values))
""")


def _specs(folder, source):
    (folder / "lib.py").write_text(source)
    catalog = Catalog(folder)
    catalog.load()
    return catalog


def _key(catalog, name):
    flow = Flow("k", catalog=catalog)
    flow.create_node(catalog.get(f"lib.py:{name}"))
    plan = make_plan(flow)
    return next(iter(plan.node_keys.values())).base


def test_a_method_call_does_not_depend_on_a_module_function_of_the_same_name(tmp_path):
    before = _key(_specs(tmp_path, LIBRARY), "words")
    after = _key(_specs(tmp_path, LIBRARY.replace("version 1", "version 2")), "words")
    assert before == after


def test_outputs_and_annotation_aliases_from_module_constants_count(tmp_path):
    catalog = _specs(tmp_path, LIBRARY)
    bounds, label = _key(catalog, "bounds"), _key(catalog, "label")
    catalog = _specs(tmp_path, LIBRARY.replace('OUTS = ("low", "high")', 'OUTS = ("lo", "hi")'))
    assert _key(catalog, "bounds") != bounds
    catalog = _specs(tmp_path, LIBRARY.replace("T = str", "T = int"))
    assert _key(catalog, "label") != label


def test_array_and_table_parameters_are_hashed_by_content_not_refused(tmp_path):
    catalog = _specs(tmp_path, LIBRARY)
    flow = Flow("p", catalog=catalog)
    values = flow.add_parameter("values", "any")
    node = flow.create_node(catalog.get("lib.py:total"))
    flow.connect(values.id, "value", node.id, "values")
    a, b = np.arange(10.0), np.arange(10.0)
    first = make_plan(flow, {"values": a}).keys[values.id]
    assert make_plan(flow, {"values": b}).keys[values.id] == first
    b[3] = 99
    assert make_plan(flow, {"values": b}).keys[values.id] != first
    table = pd.DataFrame({"v": [1.0, 2.0]})
    assert make_plan(flow, {"values": table}).keys[values.id] != first


SLOW = textwrap.dedent("""
    import os
    import time

    FLAG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go.flag")


    def wait(x: float = 0.0) -> float:
        while not os.path.exists(FLAG):
            time.sleep(0.01)
        return x


    def value(x: float = 0.0) -> float:
        return x + 1
""")


def test_a_library_saved_during_a_run_never_stores_under_the_planned_key(tmp_path, loop):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "slow.py").write_text(SLOW)
    catalog = Catalog(folder)
    catalog.load()
    with Workspace(folder) as ws:
        engine = Engine(ws, catalog, executor=InlineExecutor())
        flow = Flow("during", catalog=catalog)
        w = flow.create_node(catalog.get("slow.py:wait"))
        v = flow.create_node(catalog.get("slow.py:value"))
        flow.connect(w.id, "result", v.id, "x")

        async def edit_during_the_run():
            run = engine.start(flow, None, RunOptions())
            await asyncio.sleep(0.2)  # `wait` is running, planned with version 1
            (folder / "slow.py").write_text(SLOW.replace("x + 1", "x + 2"))
            (folder / "go.flag").write_text("")
            return await run.wait()

        first = loop.run_until_complete(edit_during_the_run())
        assert first.ok
        assert engine.cache.store.read(first.nodes[v.id].outputs["result"]) == 2.0  # version 2 ran
        logs = [
            m
            for (m,) in ws.conn.execute(
                "select message from logs where run_id=? and node_id=?", (first.run_id, v.id)
            )
        ]
        assert any("code changed while the run was going" in m for m in logs)

        # Back to version 1: its planned key must not find version 2's result.
        (folder / "slow.py").write_text(SLOW)
        catalog.reload()
        engine.forget_functions()
        again = loop.run_until_complete(engine.run(flow, None, RunOptions()))
        assert again.nodes[w.id].state == ev.CACHED
        assert again.nodes[v.id].state == ev.COMPLETED
        assert engine.cache.store.read(again.nodes[v.id].outputs["result"]) == 1.0


def test_a_generated_function_nesting_a_thousand_deep_is_fingerprinted(tmp_path):
    names = [f"x{i}" for i in range(1000)]
    source = (
        f"def gather({', '.join(n + ': int = 0' for n in names)}) -> int:\n    return {' + '.join(names)}\n"
    )
    catalog = _specs(tmp_path, source)
    assert not [lib.error for lib in catalog.libraries if lib.error]
    spec = catalog.get("lib.py:gather")
    assert spec is not None and spec.fingerprint
    changed = _specs(tmp_path, source.replace("x999\n", "x998\n"))
    assert changed.get("lib.py:gather").fingerprint != spec.fingerprint


def test_ints_and_strings_digest_as_the_walker_digests_them():
    from plait.runtime.keys import values

    def walked(value):
        digest = values._h()
        values._Hasher(digest.update, None).add(value, 0)
        return digest.hexdigest()

    for value in (0, 7, -12, 10**40, "", "iris.csv", "é", "\udc80"):
        assert values.value_digest(value) == walked(value), value
    assert values.value_digest(1) != values.value_digest("1") != values.value_digest(True)


def test_a_str_enum_is_neither_stored_nor_keyed_as_the_plain_string_it_equals():
    import enum

    from plait.runtime.results.serializers import serializer_for, stored_digest

    class Colour(str, enum.Enum):
        RED = "r"

    assert stored_digest("r") is not None and serializer_for("r").name == "json"
    assert stored_digest(Colour.RED) is None  # keyed by its walker digest, which names its class
    assert serializer_for(Colour.RED).name != "json"  # JSON would give back a plain "r"
