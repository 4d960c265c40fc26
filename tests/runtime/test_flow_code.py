"""`@flow`: flows built from Python by tracing calls, run from code, and `load()`."""

from __future__ import annotations

import pytest

from plait.runtime import flow, load
from plait.runtime.code.placeholders import TraceError
from plait.runtime.code.results import ResultNotFound
from plait.runtime.code.runs import NodeFailed
from plait.runtime.code.tracing import GET_ITEM_KEY
from plait.runtime.workspace.store import Workspace
from tests.runtime.flow_nodes import constant, ends, explode, halves, numbers, pair, summary, total

LIB = "tests.runtime.flow_nodes"


def wires(built) -> set[str]:
    return {str(edge) for edge in built.edges}


def test_calls_on_results_become_nodes_and_plain_arguments_their_constants(tmp_path):
    @flow(workspace=tmp_path)
    def sums(count: int = 6, factor: float = 2.0):
        """Add up some numbers."""
        values = numbers(count)
        return total(values, factor=factor), total(values, 3)

    built = sums.build()
    assert sorted(built.nodes) == [
        "count",
        "factor",
        "numbers",
        "output_result_0",
        "output_result_1",
        "total",
        "total_2",
    ]
    assert built.nodes["numbers"].spec_key == f"{LIB}:numbers"
    assert [p.name for p in built.parameters()] == ["count", "factor"]
    count = next(p for p in built.parameters() if p.name == "count")
    assert (count.type, count.default, count.required) == ("int", 6, False)
    assert wires(built) == {
        "count.value -> numbers.count",
        "numbers.result -> total.values",
        "factor.value -> total.factor",
        "numbers.result -> total_2.values",
        "total.result -> output_result_0.value",
        "total_2.result -> output_result_1.value",
    }
    assert built.nodes["total_2"].values == {"factor": 3}
    assert built.nodes["total_2"].title == "Total 2"


def test_a_namedtuple_attribute_and_a_position_wire_that_output_and_an_index_adds_get_item(tmp_path):
    @flow(workspace=tmp_path)
    def picks(count: int = 8):
        values = numbers(count)
        parts = halves(values)
        first, last = ends(values)
        low = summary(values)["low"]
        return {
            "left": total(parts.left),
            "right": total(parts[1]),
            "low": low,
            "span": pair(values)[0],
            "first": first,
        }

    built = picks.build()
    edges = wires(built)
    assert "halves.left -> total.values" in edges
    assert "halves.right -> total_2.values" in edges
    assert "ends.first -> output_first.value" in edges
    get_low = next(
        n for n in built.nodes.values() if n.spec_key == GET_ITEM_KEY and n.values == {"key": "low"}
    )
    assert f"summary.result -> {get_low.id}.container" in edges
    assert f"{get_low.id}.result -> output_low.value" in edges
    # A one-output node's result indexed by position: a Get item node too.
    get_0 = next(n for n in built.nodes.values() if n.values == {"key": "0"})
    assert f"pair.result -> {get_0.id}.container" in edges
    assert "ends.last" not in " ".join(edges)  # unpacked, unused: no wire
    assert get_low.title == "Get low"


def test_calling_the_flow_saves_it_runs_it_and_returns_real_values_then_reuses_the_cache(tmp_path):
    @flow(workspace=tmp_path, executor="inline")
    def picks(count: int = 8):
        values = numbers(count)
        parts = halves(values)
        return {"left": total(parts.left), "high": summary(values)["high"], "seven": constant()}

    assert picks() == {"left": 6.0, "high": 7, "seven": 7}
    assert picks(count=4) == {"left": 1.0, "high": 3, "seven": 7}
    with Workspace(tmp_path) as ws:
        assert [(f.name, f.latest_version) for f in ws.flows()] == [("picks", 1)]
        assert LIB in ws.get_setting("libraries")  # the module of its functions is a library now
    again = picks.run(count=4)
    assert {state for title, state in again.states.items() if title not in ("count",)} == {"cached"}
    assert again.value("Total") == 1.0
    assert again.value("halves", "right") == [2, 3]
    assert again.node("summary").state == "cached"
    fresh = picks.run(count=6)
    assert fresh.logs("Total") == ["adding 3 numbers"]
    assert fresh.value("numbers") == [0, 1, 2, 3, 4, 5]


def test_a_changed_body_saves_a_new_version_and_an_unchanged_one_does_not(tmp_path):
    @flow(workspace=tmp_path, name="growing")
    def first(count: int = 3):
        return total(numbers(count))

    @flow(workspace=tmp_path, name="growing")
    def second(count: int = 3):
        return total(numbers(count), 2)

    first.save()
    first.save()
    second.save()
    with Workspace(tmp_path) as ws:
        assert ws.flow_info("growing").latest_version == 2


def test_a_failing_node_raises_an_exception_naming_the_node_with_its_traceback(tmp_path):
    @flow(workspace=tmp_path, executor="inline")
    def broken(count: int = 3):
        return explode(numbers(count))

    with pytest.raises(NodeFailed) as caught:
        broken()
    message = str(caught.value)
    assert "node 'Explode' (explode) of flow 'broken' failed: ValueError: cannot take 3 values" in message
    assert 'raise ValueError(f"cannot take {len(values)} values")' in message  # the node's traceback
    assert caught.value.result.node("Numbers").state == "completed"
    result = broken.run()
    assert result.node("Explode").state == "failed" and not result.ok


def test_load_gives_a_value_of_the_last_run_or_of_a_given_one(tmp_path):
    @flow(workspace=tmp_path, executor="inline")
    def counting(count: int = 3):
        return total(numbers(count))

    first = counting.run(count=3)
    counting(count=5)
    assert load("counting", "Total", workspace=tmp_path) == 10.0
    assert load("counting", "numbers", workspace=tmp_path) == [0, 1, 2, 3, 4]
    assert load("counting", "total", "result", workspace=tmp_path, run=first.run_id[:8]) == 3.0
    with pytest.raises(ResultNotFound, match="has no node 'Totl' \\(its nodes: .*Numbers, Total"):
        load("counting", "Totl", workspace=tmp_path)
    with pytest.raises(ResultNotFound, match="no output 'sum'; its outputs are result"):
        load("counting", "Total", "sum", workspace=tmp_path)
    with pytest.raises(ResultNotFound, match="has no run 'ffff'"):
        load("counting", "Total", workspace=tmp_path, run="ffff")
    with pytest.raises(ResultNotFound, match="is not a Plait workspace"):
        load("counting", "Total", workspace=tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()


def test_using_a_result_as_a_value_while_tracing_says_to_do_it_in_a_node(tmp_path):
    @flow(workspace=tmp_path)
    def testing(count: int = 3):
        values = numbers(count)
        if values:
            return total(values)

    with pytest.raises(
        TraceError,
        match=r"test_flow_code.py, line \d+: the flow body uses the output "
        r"'result' of node 'Numbers' by testing it with if",
    ):
        testing.build()


def test_a_constant_that_cannot_be_kept_in_the_flow_is_refused_naming_the_input(tmp_path):
    @flow(workspace=tmp_path)
    def odd(count: int = 3):
        return total(numbers(count), factor=object())

    with pytest.raises(TraceError, match="input 'factor' of Total is given a object, which cannot be kept"):
        odd.build()


def test_a_multi_output_node_passed_whole_is_refused_with_its_outputs(tmp_path):
    @flow(workspace=tmp_path)
    def whole(count: int = 4):
        return total(halves(numbers(count)))

    with pytest.raises(TraceError, match=r"every output of node 'Halves' \(left, right\); pass one"):
        whole.build()


def tally(values: list) -> int:
    """A step defined beside the flows of this module."""
    return len(values)


def test_a_call_of_plain_values_runs_while_tracing_unless_it_is_a_node_or_a_step_beside_the_flow(tmp_path):
    @flow(workspace=tmp_path)
    def mixed():
        values = numbers(5)  # another module's function, plain values: plain Python, a constant
        return total(values), constant(), tally(values)

    built = mixed.build()
    assert sorted(n.id for n in built.nodes.values() if not n.is_output) == ["constant", "tally"]
    assert built.nodes["tally"].values == {"values": [0, 1, 2, 3, 4]}
    assert built.nodes["tally"].spec_key == "tests.runtime.test_flow_code:tally"


def test_a_body_that_calls_no_node_function_is_refused(tmp_path):
    @flow(workspace=tmp_path)
    def empty():
        return sum([1, 2])

    with pytest.raises(TraceError, match="flow 'empty' has no nodes"):
        empty.build()


def test_open_saves_the_flow_and_starts_the_window_on_it(tmp_path, monkeypatch):
    @flow(workspace=tmp_path / "ws")
    def shown(count: int = 3):
        return total(numbers(count))

    # The window process shows itself, says so and quits (as `make dist-check` has it do).
    monkeypatch.setenv("PLAIT_SMOKE_SECONDS", "0.2")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    process = shown.open()
    assert process.args[-2:] == [str((tmp_path / "ws").resolve()), "shown"]
    assert process.wait(timeout=120) == 0
    with Workspace(tmp_path / "ws") as ws:
        assert ws.flow_info("shown").latest_version == 1
