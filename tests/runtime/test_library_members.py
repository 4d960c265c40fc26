"""Every callable a library exports is a node, or says why not; choices are checked when set."""

from __future__ import annotations

import sys
import textwrap

import pytest

from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.plan import ParameterError, make_plan
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow, FlowError
from plait.runtime.flow.validation import OUTSIDE_CHOICES
from plait.runtime.nodes.libraries import load_file_library

MEMBERS = """
    import asyncio
    import enum
    import functools
    from random import randint  # a bound method of random's own instance: not this library's
    from typing import Literal


    def scale(x: float, factor: float = 1.0) -> float:
        return x * factor


    double = functools.partial(scale, factor=2.0)
    triple = functools.partial(scale, factor=3.0)


    class Shifter:
        def __init__(self, by: float) -> None:
            self.by = by

        def __call__(self, x: float) -> float:
            return x + self.by

        def back(self, x: float) -> float:
            return x - self.by


    shift = Shifter(10.0)
    unshift = Shifter(10.0).back


    async def fetch(x: float, delay: float = 0.0) -> float:
        await asyncio.sleep(delay)
        print("fetched")
        return x + 0.5


    class Unreadable:
        @property
        def __signature__(self):
            raise RuntimeError("no signature here")

        def __call__(self, x):
            return x


    unreadable = Unreadable()


    class Colour(enum.Enum):
        RED = "red"
        GREEN = "green"


    def pick(mode: Literal["fast", "exact"] = "fast", colour: Colour = Colour.RED) -> str:
        return f"{mode} {colour.name}"
"""


@pytest.fixture(autouse=True)
def _restore_modules():
    modules = set(sys.modules)
    yield
    for name in set(sys.modules) - modules:
        if hasattr(sys.modules[name], "__plait_signature__"):
            del sys.modules[name]


@pytest.fixture
def library(workspace):
    (workspace.folder / "members.py").write_text(textwrap.dedent(MEMBERS))
    return workspace.catalog()


def test_partials_callable_instances_bound_methods_and_async_functions_are_nodes(workspace):
    (workspace.folder / "members.py").write_text(textwrap.dedent(MEMBERS))
    found = load_file_library(workspace.folder / "members.py", workspace.folder)
    specs = {spec.key: spec for spec in found.specs}
    assert set(specs) == {
        "members.py:scale",
        "members.py:double",
        "members.py:triple",
        "members.py:shift",
        "members.py:unshift",
        "members.py:fetch",
        "members.py:pick",
    }
    assert specs["members.py:double"].title == "Double" and specs["members.py:triple"].title == "Triple"
    assert [p.name for p in specs["members.py:shift"].inputs] == ["x"]
    assert specs["members.py:double"].input("factor").default == 2.0
    # What could not be made a node says why, instead of vanishing.
    assert len(found.problems) == 1 and found.problems[0].startswith("unreadable: Cannot read the inputs")


@pytest.mark.parametrize("executor", ["local", "inline"])
def test_the_new_kinds_of_node_run_in_a_worker(loop, workspace, library, local_executor, executor):
    flow = Flow("members", catalog=library)
    x = flow.add_parameter("x", "float", 1.0)
    nodes = {}
    for name in ("double", "triple", "shift", "unshift", "fetch"):
        nodes[name] = flow.create_node(library.get(f"members.py:{name}"))
        flow.connect(x.id, "value", nodes[name].id, "x")
    engine = Engine(workspace, library, executor=local_executor if executor == "local" else InlineExecutor())
    result = loop.run_until_complete(engine.run(flow, options=RunOptions(executor=executor)))
    assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}
    values = {
        name: engine.cache.store.read(result.nodes[n.id].outputs["result"]) for name, n in nodes.items()
    }
    assert values == {"double": 2.0, "triple": 3.0, "shift": 11.0, "unshift": -9.0, "fetch": 1.5}
    logged = workspace.conn.execute(
        "select message from logs where run_id=? and node_id=?", (result.run_id, nodes["fetch"].id)
    ).fetchall()
    assert ("fetched",) in logged
    again = loop.run_until_complete(engine.run(flow, options=RunOptions(executor=executor)))
    assert {r.state for n, r in again.nodes.items() if n != x.id} == {"cached"}


def test_a_constant_outside_a_literal_or_enum_is_refused_with_the_choices(library):
    flow = Flow("choices", catalog=library)
    pick = flow.create_node(library.get("members.py:pick"))
    with pytest.raises(FlowError, match=r"input 'mode' of node 'Pick' takes 'fast' or 'exact', not 'quick'"):
        flow.set_value(pick.id, "mode", "quick")
    with pytest.raises(FlowError, match=r"takes 'red' or 'green', not 'blue'"):
        flow.set_value(pick.id, "colour", "blue")
    flow.set_value(pick.id, "mode", "exact")
    flow.set_value(pick.id, "colour", "green")  # an Enum member by its value
    flow.set_value(pick.id, "colour", "GREEN")  # or by its name
    assert flow.validate() == []


def test_a_saved_constant_outside_the_choices_is_a_problem_that_refuses_the_run(library):
    flow = Flow("choices", catalog=library)
    pick = flow.create_node(library.get("members.py:pick"))
    pick.values["mode"] = "quick"  # as a document or an older library left it
    (problem,) = flow.validate()
    assert problem.kind == OUTSIDE_CHOICES and (problem.node_id, problem.port) == (pick.id, "mode")
    assert "takes 'fast' or 'exact', not 'quick'" in problem.message


def test_a_parameter_value_outside_the_choices_of_the_input_it_feeds_is_refused(library):
    flow = Flow("choices", catalog=library)
    pick = flow.create_node(library.get("members.py:pick"))
    mode = flow.add_parameter("mode", "str", "fast")
    flow.connect(mode.id, "value", pick.id, "mode")
    with pytest.raises(ParameterError) as refused:
        make_plan(flow, {"mode": "quick"})
    assert (
        "parameter 'mode' is 'quick', but input 'mode' of node 'Pick' takes 'fast' or 'exact', not 'quick'"
        in str(refused.value)
    )
    assert make_plan(flow, {"mode": "exact"}).values == {"mode": "exact"}
    with pytest.raises(FlowError, match="parameter 'mode' cannot default to 'slow'"):
        flow.set_value(mode.id, "default", "slow")


def test_undo_can_put_back_a_value_that_is_outside_the_choices(library):
    flow = Flow("choices", catalog=library)
    pick = flow.create_node(library.get("members.py:pick"))
    pick.values["mode"] = "quick"  # saved before the library narrowed its choices
    flow.set_value(pick.id, "mode", "fast")
    flow.restore_value(pick.id, "mode", "quick")
    assert pick.values["mode"] == "quick"
