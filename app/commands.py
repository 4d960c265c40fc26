"""Undoable edits. Each command only calls `Flow` edit methods; the scene follows.

Composite edits (delete a selection, replace a wire, paste) are macros of
these on the undo stack, so one Ctrl+Z takes back the whole gesture.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from plait.runtime.flow.model import Edge, Flow, Node

_UNSET = object()


def restore_edge(flow: Flow, edge: Edge) -> None:
    """Put back a wire that undo removed, even one the checks would now refuse.

    A broken wire (its port vanished) or a second wire into one input, kept
    from a bulk load, must come back exactly as it was, or undo would not
    return the flow to its previous state.
    """
    flow.restore_edge(edge)


def _snapshot(value: Any) -> Any:
    """A private copy of a value; the "no value" marker stays itself."""
    return value if value is _UNSET else copy.deepcopy(value)


def _clone(node: Node) -> Node:
    return Node(
        node.id,
        node.spec_key,
        node.title,
        tuple(node.position),
        copy.deepcopy(node.values),
        copy.deepcopy(node.options),
    )


class AddNode(QUndoCommand):
    def __init__(self, flow: Flow, node: Node, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Add {node.title}", parent)
        self.flow, self.node = flow, _clone(node)

    def redo(self) -> None:
        self.flow.add_node(_clone(self.node))

    def undo(self) -> None:
        self.flow.remove_node(self.node.id)


class RemoveNode(QUndoCommand):
    """Remove a node; its wires come back on undo (delete them first to keep steps clear)."""

    def __init__(self, flow: Flow, node_id: str, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Delete {flow.nodes[node_id].title}", parent)
        self.flow, self.node_id = flow, node_id
        self.node: Node | None = None
        self.edges: list[Edge] = []

    def redo(self) -> None:
        node, self.edges = self.flow.remove_node(self.node_id)
        self.node = _clone(node)

    def undo(self) -> None:
        self.flow.add_node(_clone(self.node))
        for edge in self.edges:
            restore_edge(self.flow, edge)


class Connect(QUndoCommand):
    def __init__(self, flow: Flow, edge: Edge, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Connect {edge.source_port} → {edge.target_port}", parent)
        self.flow, self.edge = flow, edge

    def redo(self) -> None:
        e = self.edge
        self.flow.connect(e.source, e.source_port, e.target, e.target_port)

    def undo(self) -> None:
        self.flow.disconnect(self.edge)


class Disconnect(QUndoCommand):
    def __init__(self, flow: Flow, edge: Edge, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Remove wire {edge.source_port} → {edge.target_port}", parent)
        self.flow, self.edge = flow, edge

    def redo(self) -> None:
        self.flow.disconnect(self.edge)

    def undo(self) -> None:
        restore_edge(self.flow, self.edge)


class MoveNodes(QUndoCommand):
    """Move nodes from where they were to where they are wanted (one step for many)."""

    def __init__(
        self,
        flow: Flow,
        moves: dict[str, tuple[float, float]],
        text: str = "Move",
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(text, parent)
        self.flow = flow
        self.new = {k: (float(x), float(y)) for k, (x, y) in moves.items()}
        self.old = {k: tuple(flow.nodes[k].position) for k in moves}

    def redo(self) -> None:
        self._move(self.new)

    def undo(self) -> None:
        self._move(self.old)

    def _move(self, where: dict[str, tuple[float, float]]) -> None:
        with self.flow.many_edits():  # one step for the canvas: each wire drawn once
            for node_id, (x, y) in where.items():
                self.flow.move(node_id, x, y)


class SetValue(QUndoCommand):
    """Set (or with no value, clear) an input's constant or a parameter's field."""

    ID = 4101

    def __init__(
        self, flow: Flow, node_id: str, port: str, value: Any = _UNSET, parent: QUndoCommand | None = None
    ) -> None:
        node = flow.nodes[node_id]
        super().__init__(f"Set {port} of {node.title}", parent)
        self.flow, self.node_id, self.port = flow, node_id, port
        self.old = _snapshot(node.values.get(port, _UNSET))
        self.old_title = node.title
        self.new = _snapshot(value)

    def _apply(self, value: Any, restore: bool = False) -> None:
        # Undo puts back what was there, even a value its input no longer accepts.
        edit = self.flow.restore_value if restore else self.flow.set_value
        if value is _UNSET:
            edit(self.node_id, self.port)
        else:
            edit(self.node_id, self.port, copy.deepcopy(value))

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old, restore=True)
        # Renaming a parameter renames its node; put back the title it had.
        if self.flow.nodes[self.node_id].title != self.old_title:
            self.flow.rename(self.node_id, self.old_title)

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        # Spinning a box or typing produces a run of edits to one field: one step.
        if not isinstance(other, SetValue) or (other.node_id, other.port) != (self.node_id, self.port):
            return False
        self.new = other.new
        return True


class SetOption(QUndoCommand):
    def __init__(
        self, flow: Flow, node_id: str, name: str, value: Any = _UNSET, parent: QUndoCommand | None = None
    ) -> None:
        node = flow.nodes[node_id]
        super().__init__(f"Set {name} of {node.title}", parent)
        self.flow, self.node_id, self.name = flow, node_id, name
        self.old = _snapshot(node.options.get(name, _UNSET))
        self.new = _snapshot(value)

    def _apply(self, value: Any) -> None:
        if value is _UNSET:
            self.flow.set_option(self.node_id, self.name)
        else:
            self.flow.set_option(self.node_id, self.name, copy.deepcopy(value))

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class Rename(QUndoCommand):
    def __init__(self, flow: Flow, node_id: str, title: str, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Rename to {title}", parent)
        self.flow, self.node_id = flow, node_id
        self.old, self.new = flow.nodes[node_id].title, title

    def redo(self) -> None:
        self.flow.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.flow.rename(self.node_id, self.old)


class SetExtras(QUndoCommand):
    """Replace the flow's extras (frames and comments) as a whole."""

    def __init__(
        self,
        flow: Flow,
        extras: dict[str, Any],
        text: str = "Edit frames",
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(text, parent)
        self.flow = flow
        self.old = copy.deepcopy(flow.extras)
        self.new = copy.deepcopy(extras)

    def redo(self) -> None:
        self.flow.set_flow_field("extras", copy.deepcopy(self.new))

    def undo(self) -> None:
        self.flow.set_flow_field("extras", copy.deepcopy(self.old))


UNSET = _UNSET
