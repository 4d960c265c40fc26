"""A `tuple[A, B]` return gives one output per item: introspected, read, run, traced, migrated."""

from __future__ import annotations

import json
import textwrap
import typing
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from plait.runtime import flow
from plait.runtime.code.tracing import GET_ITEM_KEY
from plait.runtime.engine.plan import RunRefused, make_plan
from plait.runtime.engine.scheduler import Engine
from plait.runtime.flow.model import Flow
from plait.runtime.flow.validation import UNKNOWN_PORT
from plait.runtime.nodes.introspect import spec_from_callable
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.nodes.reading import read_file_specs
from plait.runtime.nodes.spec import OUTPUT_ATTRIBUTES, OUTPUT_SEQUENCE, OUTPUT_SINGLE
from plait.runtime.workspace.documents import DocumentError, export_flow, import_flow
from plait.runtime.workspace.store import Workspace
from tests.runtime.running import run

HERE = "tests.runtime.test_tuple_ports:"


def low_high(x: float) -> tuple[float, str]:
    """Split a number.

    Returns
    -------
    float
        The number less one.
    str
        Its label.
    """
    return x - 1, f"x={x}"


def double(x: float) -> float:
    return x * 2


def shout(text: str) -> str:
    return text.upper()


def three_of_two(x: float) -> tuple[float, float]:
    return x, x, x  # type: ignore[return-value] - a function that breaks its own promise


def many(x: float) -> tuple[float, ...]:
    return (x, x)


class Pair(NamedTuple):
    low: float
    high: float


def named(x: float) -> Pair:
    return Pair(x - 1, x + 1)


# -- which ports ---------------------------------------------------------------


def test_a_fixed_length_tuple_return_gives_one_typed_port_per_item_described_in_order():
    spec = spec_from_callable(low_high)
    assert spec.output_style == OUTPUT_SEQUENCE
    assert [(p.name, p.annotation) for p in spec.outputs] == [("result_0", float), ("result_1", str)]
    assert [p.description for p in spec.outputs] == ["The number less one.", "Its label."]


def test_typing_tuple_and_a_one_item_tuple_count_too():
    def old_style() -> typing.Tuple[int, str]:  # noqa: UP006 - the spelling under test
        return 1, "a"

    def single() -> tuple[int]:
        return (1,)

    assert [p.name for p in spec_from_callable(old_style).outputs] == ["result_0", "result_1"]
    assert [(p.name, p.annotation) for p in spec_from_callable(single).outputs] == [("result_0", int)]


@pytest.mark.parametrize(
    "annotation",
    [tuple, tuple[int, ...], tuple[()], typing.Optional[tuple[int, int]], list[int], Any],  # noqa: UP007
)
def test_a_tuple_of_any_length_or_no_tuple_stays_one_result(annotation):
    def fn():
        return ()

    fn.__annotations__["return"] = annotation
    spec = spec_from_callable(fn)
    assert spec.output_style == OUTPUT_SINGLE
    assert [p.name for p in spec.outputs] == ["result"]


def test_a_namedtuple_keeps_its_field_names_and_declared_outputs_win():
    assert [p.name for p in spec_from_callable(named).outputs] == ["low", "high"]
    assert spec_from_callable(named).output_style == OUTPUT_ATTRIBUTES
    from plait.runtime.nodes.decorator import node

    @node(outputs="pair")
    def whole() -> tuple[int, int]:
        return 1, 2

    assert [(p.name, p.annotation) for p in spec_from_callable(whole).outputs] == [("pair", tuple[int, int])]


def test_a_restricted_workspace_reads_the_same_ports_from_source(tmp_path):
    path = tmp_path / "pairs.py"
    path.write_text(
        textwrap.dedent("""
        import typing
        import pandas as pd

        def split(x: float) -> tuple[pd.DataFrame, dict]: ...
        def legacy(x) -> typing.Tuple[int, str]: ...
        def quoted(x) -> "tuple[float, float]": ...
        def rows(x) -> tuple[int, ...]: ...
        def whole(x) -> tuple: ...
        """)
    )
    specs, problems = read_file_specs(path, prefix="pairs.py", group="pairs")
    assert problems == []
    ports = {s.key.split(":")[1]: [(p.name, p.type_name) for p in s.outputs] for s in specs}
    assert ports["split"] == [("result_0", "pd.DataFrame"), ("result_1", "dict")]
    assert ports["legacy"] == [("result_0", "int"), ("result_1", "str")]
    assert ports["quoted"] == [("result_0", "float"), ("result_1", "float")]
    assert [name for name, _ in ports["rows"]] == ["result"]
    assert [name for name, _ in ports["whole"]] == ["result"]
    assert next(s for s in specs if s.key.endswith(":split")).output_style == OUTPUT_SEQUENCE


# -- running -----------------------------------------------------------------------


@pytest.fixture
def pairs_catalog():
    catalog = Catalog()
    for fn in (low_high, double, shout, three_of_two):
        catalog.add(spec_from_callable(fn))
    return catalog


def test_each_item_feeds_its_own_node_in_a_run(loop, workspace, pairs_catalog, local_executor):
    engine = Engine(workspace, pairs_catalog, executor=local_executor)
    f = Flow("pairs", catalog=pairs_catalog)
    split = f.create_node(pairs_catalog.get(HERE + "low_high"))
    f.set_value(split.id, "x", 5.0)
    twice = f.create_node(pairs_catalog.get(HERE + "double"))
    loud = f.create_node(pairs_catalog.get(HERE + "shout"))
    f.connect(split.id, "result_0", twice.id, "x")
    f.connect(split.id, "result_1", loud.id, "text")
    result, _ = run(loop, engine, f)
    assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}
    read = engine.cache.store.read
    assert read(result.nodes[twice.id].outputs["result"]) == 8.0
    assert read(result.nodes[loud.id].outputs["result"]) == "X=5.0"
    assert read(result.nodes[split.id].outputs["result_1"]) == "x=5.0"


def test_a_function_returning_more_items_than_its_annotation_fails_naming_the_node(
    loop, workspace, pairs_catalog
):
    from plait.runtime.engine.executors import InlineExecutor

    engine = Engine(workspace, pairs_catalog, executor=InlineExecutor())
    f = Flow("pairs", catalog=pairs_catalog)
    wrong = f.create_node(pairs_catalog.get(HERE + "three_of_two"))
    f.set_value(wrong.id, "x", 1.0)
    result, _ = run(loop, engine, f)
    failed = result.nodes[wrong.id]
    assert failed.state == "failed"
    assert "node 'Three of two' returned 3 values but has 2 outputs (result_0, result_1)" in failed.error


# -- tracing -------------------------------------------------------------------------


def test_indexing_unpacking_and_attributes_of_a_tuple_result_wire_its_item_ports(tmp_path):
    @flow(workspace=tmp_path)
    def picks(x: float = 5.0):
        pair = low_high(x)
        first, second = low_high(x)
        return {
            "by_index": double(pair[0]),
            "by_name": shout(pair.result_1),
            "unpacked": double(first),
            "second": shout(second),
        }

    built = picks.build()
    edges = {str(e) for e in built.edges}
    assert "low_high.result_0 -> double.x" in edges
    assert "low_high.result_1 -> shout.text" in edges
    assert "low_high_2.result_0 -> double_2.x" in edges
    assert "low_high_2.result_1 -> shout_2.text" in edges
    assert not [n for n in built.nodes.values() if n.spec_key == GET_ITEM_KEY]


def test_a_returned_tuple_result_gives_flow_outputs_named_by_position_and_real_values(tmp_path):
    @flow(workspace=tmp_path, executor="inline")
    def pair_flow(x: float = 5.0):
        return low_high(x)

    built = pair_flow.build()
    assert sorted(n.values["name"] for n in built.nodes.values() if n.is_output) == ["result_0", "result_1"]
    assert pair_flow(x=2.0) == (1.0, "x=2.0")


def test_a_tuple_result_indexed_out_of_range_is_refused_while_tracing(tmp_path):
    from plait.runtime.code.placeholders import TraceError

    @flow(workspace=tmp_path)
    def beyond(x: float = 5.0):
        return double(low_high(x)[2])

    with pytest.raises(TraceError, match="node 'Low high' has 2 outputs; there is no output 2"):
        beyond.build()


# -- flows saved when the whole tuple was one output ----------------------------------

OLD_LIBRARY = textwrap.dedent("""
    def halves(x: float) -> tuple[float, float]:
        return x / 2, x / 2


    def first(pair) -> float:
        return pair[0]
""")


def _old_document(folder: Path) -> str:
    """A flow document as it was saved while `halves` had one output `result`."""
    (folder / "pairs.py").write_text(OLD_LIBRARY)
    return json.dumps(
        {
            "format": "plait-flow",
            "version": 1,
            "id": "f" * 32,
            "name": "halving",
            "nodes": [
                {"id": "halves", "type": "pairs.py:halves", "title": "Halves", "values": {"x": 4.0}},
                {"id": "first", "type": "pairs.py:first", "title": "First"},
            ],
            "edges": ["halves.result -> first.pair"],
        }
    )


def test_a_saved_wire_from_the_whole_tuple_is_kept_and_refused_naming_flow_node_port_and_fix(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    text = _old_document(folder)
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        saved = import_flow(text, ws)  # as it was: no catalog check
        loaded = ws.load_flow(saved.id, catalog=catalog)
        assert [str(e) for e in loaded.edges] == ["halves.result -> first.pair"]  # kept, not dropped
        problems = [p for p in loaded.validate() if p.kind == UNKNOWN_PORT]
        assert [(p.node_id, p.port) for p in problems] == [("halves", "result")]
        assert "gives one output per item (result_0, result_1)" in problems[0].message
        assert '@node(outputs="result")' in problems[0].message
        with pytest.raises(RunRefused) as refused:
            make_plan(loaded)
        message = str(refused.value)
        assert message.startswith("flow 'halving' cannot run:")
        assert "output 'result' of 'Halves'" in message
        with pytest.raises(DocumentError, match="output 'result' of 'Halves'"):
            import_flow(text, ws, name="halving again", catalog=catalog)


def test_the_same_flow_rewired_from_an_item_runs(tmp_path, loop):
    folder = tmp_path / "ws"
    folder.mkdir()
    text = _old_document(folder)
    doc = json.loads(text)
    doc["nodes"][1] = {"id": "first", "type": "pairs.py:halves", "title": "Again"}
    doc["edges"] = ["halves.result_0 -> first.x"]
    from plait.runtime.engine.executors import InlineExecutor

    with Workspace(folder) as ws:
        catalog = ws.catalog()
        saved = import_flow(json.dumps(doc), ws, catalog=catalog)
        assert "halves.result_0 -> first.x" in export_flow(saved)
        engine = Engine(ws, catalog, executor=InlineExecutor())
        result, _ = run(loop, engine, ws.load_flow(saved.id, catalog=catalog))
        assert result.ok
        assert engine.cache.store.read(result.nodes["first"].outputs["result_1"]) == 1.0
