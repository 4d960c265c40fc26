"""Undoing a fix of a value outside an input's choices puts the old value back, not an error."""

from typing import Literal

from plait.app import commands as cmd
from plait.runtime.flow.model import Flow
from plait.runtime.nodes.introspect import spec_from_callable


def pick(mode: Literal["fast", "exact"] = "fast") -> str:
    return mode


class _Catalog(dict):
    pass


def test_undo_restores_a_saved_value_the_input_no_longer_accepts(qtbot):
    spec = spec_from_callable(pick)
    flow = Flow("undo", catalog=_Catalog({spec.key: spec}))
    node = flow.create_node(spec)
    node.values["mode"] = "quick"
    command = cmd.SetValue(flow, node.id, "mode", "exact")
    command.redo()
    assert node.values["mode"] == "exact"
    command.undo()
    assert node.values["mode"] == "quick"
    command.redo()
    assert node.values["mode"] == "exact"
