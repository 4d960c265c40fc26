"""The open flow as an editing document: its undo stack and every edit as a command.

`FlowDocument` is what the canvas and the inspector call (the `FlowEditor`
protocol): each call checks itself, then pushes commands that only call
`Flow` edit methods. Nothing here touches a graphics item.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from plait.app import commands as cmd
from plait.app.clipboard import paste_plan
from plait.runtime.flow.model import PARAMETER_KEY, Edge, Flow, FlowError, Node
from plait.runtime.nodes.splitting import SPLIT_OPTION, key_ports
from plait.widgets.canvas.ports import OUTPUT, judge
from plait.widgets.search_popup import fitting
from plait.widgets.words import plural


class FlowDocument(QObject):
    """One flow being edited (or viewed read-only), with its undo history."""

    message = Signal(str)

    def __init__(self, flow: Flow, catalog, *, read_only: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.flow = flow
        self.catalog = catalog
        self.read_only = read_only
        self.undo_stack = QUndoStack(self)
        # True when the flow differs from its saved version without an undo
        # step to show for it (a restored draft, a new flow never saved).
        self.unsaved_base = False

    @property
    def modified(self) -> bool:
        return self.unsaved_base or not self.undo_stack.isClean()

    def mark_saved(self) -> None:
        self.unsaved_base = False
        self.undo_stack.setClean()

    def _push(self, command) -> bool:
        if self.read_only:
            self.message.emit("This is a saved version, opened read-only: open the flow to edit")
            return False
        self.undo_stack.push(command)
        return True

    def _macro(self, text: str, commands: list) -> None:
        if not commands or self.read_only:
            return
        if len(commands) == 1:
            self._push(commands[0])
            return
        self.undo_stack.beginMacro(text)
        try:
            for command in commands:
                self.undo_stack.push(command)
        finally:
            self.undo_stack.endMacro()

    # -- nodes -------------------------------------------------------------

    def new_node(self, spec_key: str, position: tuple[float, float]) -> Node | None:
        """A node of a type, not yet added (None if the type is unknown)."""
        x, y = float(position[0]), float(position[1])
        if spec_key == PARAMETER_KEY:
            taken = {p.name for p in self.flow.parameters()}
            name, n = "param", 1
            while name in taken:
                n += 1
                name = f"param_{n}"
            return Node(
                self.flow.new_node_id(f"param_{name}"),
                PARAMETER_KEY,
                name,
                (x, y),
                {"name": name, "type": "any", "description": ""},
            )
        spec = self.catalog.get(spec_key) if self.catalog is not None else None
        if spec is None:
            self.message.emit(f"node type '{spec_key}' is not available")
            return None
        short = spec_key.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        return Node(self.flow.new_node_id(short), spec_key, spec.title, (x, y))

    def create_node(
        self, spec_key: str, position: tuple[float, float], wire_from: tuple[str, str, str] | None = None
    ) -> str | None:
        if self.read_only:
            self._push(None)
            return None
        node = self.new_node(spec_key, position)
        if node is None:
            return None
        if wire_from is None:
            self._push(cmd.AddNode(self.flow, node))
            return node.id
        other, side, port = wire_from
        self.undo_stack.beginMacro(f"Add {node.title}")
        try:
            self.undo_stack.push(cmd.AddNode(self.flow, node))
            edge = self._edge_for_new_node(node.id, other, side, port)
            fit = judge(self.flow, edge) if edge else None
            why = "no port fits" if fit is None else None if fit.allowed else fit.reason
            if why is None:
                self._connect_commands(edge, into=self.undo_stack.push)
            else:
                self.message.emit(f"Added {node.title} but did not wire it: {why}")
        finally:
            self.undo_stack.endMacro()
        return node.id

    def _edge_for_new_node(self, new_id: str, other: str, side: str, port: str) -> Edge | None:
        ports = self.flow.outputs(other) if side == OUTPUT else self.flow.inputs(other)
        annotation = next((p.annotation for p in ports if p.name == port), None)
        spec = self.flow.spec(new_id)
        if spec is None:
            return None
        if self.flow.nodes[new_id].is_parameter:
            spec = type("S", (), {"inputs": (), "outputs": self.flow.outputs(new_id)})
        found = fitting([spec], side, annotation)
        if not found:
            return None
        new_port = found[0][1]
        if side == OUTPUT:
            return Edge(other, port, new_id, new_port)
        return Edge(new_id, new_port, other, port)

    def add_nodes(
        self, nodes: list[Node], edges: list[Edge], frames: list[dict], text: str = "Paste"
    ) -> None:
        commands: list = [cmd.AddNode(self.flow, n) for n in nodes]
        commands += [cmd.Connect(self.flow, e) for e in edges]
        if frames:
            extras = copy.deepcopy(self.flow.extras)
            extras.setdefault("frames", []).extend(frames)
            commands.append(cmd.SetExtras(self.flow, extras, text))
        if len(commands) == 1:
            commands[0].setText(text)  # undo says "Paste", not "Add", however much is pasted
        self._macro(text, commands)

    def paste(self, data: dict[str, Any], offset: tuple[float, float]) -> list[str]:
        """Paste copied nodes moved by `offset`; returns the new node ids."""
        nodes, edges, frames = paste_plan(self.flow, data, offset)
        what = nodes[0].title if len(nodes) == 1 else plural(len(nodes), "node")
        self.add_nodes(nodes, edges, frames, f"Paste {what}")
        return [n.id for n in nodes]

    # -- wires -------------------------------------------------------------

    def _connect_commands(self, edge: Edge, into) -> None:
        existing = self.flow.edge_into(edge.target, edge.target_port)
        if existing is not None:
            into(cmd.Disconnect(self.flow, existing))
        into(cmd.Connect(self.flow, edge))

    def connect(self, edge: Edge) -> str | None:
        fit = judge(self.flow, edge)
        if not fit.allowed:
            return fit.reason
        if self.read_only:
            return "this version is read-only"
        commands: list = []
        self._connect_commands(edge, commands.append)
        self._macro("Replace wire", commands)
        return None

    # -- moves, deletes, frames -------------------------------------------

    def move_nodes(
        self,
        moves: dict[str, tuple[float, float]],
        frames: dict[str, list[float]] | None = None,
        text: str = "Move",
    ) -> None:
        commands: list = []
        moves = {
            k: v
            for k, v in moves.items()
            if k in self.flow.nodes and tuple(self.flow.nodes[k].position) != tuple(v)
        }
        if moves:
            commands.append(cmd.MoveNodes(self.flow, moves, text))
        if frames:
            extras = copy.deepcopy(self.flow.extras)
            for frame in extras.get("frames", []):
                if frame["id"] in frames:
                    frame["rect"] = list(frames[frame["id"]])
            commands.append(cmd.SetExtras(self.flow, extras, "Move frame"))
        self._macro(text, commands)

    def delete(self, node_ids: list[str], edges: list[Edge], frame_ids: list[str]) -> None:
        """Remove wires first, then nodes, then frames: one undo step."""
        doomed = set(edges)
        for node_id in node_ids:
            doomed.update(self.flow.edges_into(node_id))
            doomed.update(self.flow.edges_out_of(node_id))
        commands: list = [cmd.Disconnect(self.flow, e) for e in sorted(doomed)]
        commands += [cmd.RemoveNode(self.flow, n) for n in node_ids if n in self.flow.nodes]
        if frame_ids:
            extras = copy.deepcopy(self.flow.extras)
            extras["frames"] = [f for f in extras.get("frames", []) if f["id"] not in frame_ids]
            commands.append(cmd.SetExtras(self.flow, extras, "Delete frame"))
        self._macro("Delete", commands)

    def add_frame(self, rect: list[float], title: str = "Frame", text: str = "") -> str:
        frame = {
            "id": uuid.uuid4().hex[:12],
            "title": title,
            "text": text,
            "rect": [round(float(v), 2) for v in rect],
        }
        extras = copy.deepcopy(self.flow.extras)
        extras.setdefault("frames", []).append(frame)
        self._push(cmd.SetExtras(self.flow, extras, "Add frame"))
        return frame["id"]

    def update_frame(self, frame_id: str, **changes: Any) -> None:
        extras = copy.deepcopy(self.flow.extras)
        for frame in extras.get("frames", []):
            if frame["id"] == frame_id:
                frame.update(changes)
        if extras != self.flow.extras:
            self._push(cmd.SetExtras(self.flow, extras, "Edit frame"))

    # -- values and options (the inspector) -------------------------------

    def _try(self, edit) -> str | None:
        """Run `edit` on a copy of the flow: the model's refusal, or None if it would work."""
        try:
            edit(self.flow.copy())
        except FlowError as exc:
            return str(exc)
        return None

    def set_value(self, node_id: str, port: str, value: Any = cmd.UNSET) -> str | None:
        return self._set("values", "set_value", cmd.SetValue, node_id, port, value)

    def set_option(self, node_id: str, name: str, value: Any = cmd.UNSET) -> str | None:
        return self._set("options", "set_option", cmd.SetOption, node_id, name, value)

    def _set(self, where: str, edit: str, command: Any, node_id: str, name: str, value: Any) -> str | None:
        """An undoable change of a node's value or option; no value clears it."""
        if getattr(self.flow.nodes[node_id], where).get(name, cmd.UNSET) == value:
            return None
        args = (node_id, name) if value is cmd.UNSET else (node_id, name, value)
        why = self._try(lambda f: getattr(f, edit)(*args))
        if why:
            self.message.emit(why)
            return why
        self._push(command(self.flow, node_id, name, value))
        return None

    def split_by_key(self, node_id: str, port: str, keys: list[str] | None) -> str | None:
        """Give output `port` one output per key (no keys: join them again), as one undo step.

        Wires from key outputs that go (or that would now carry another key) go with it.
        """
        node = self.flow.nodes[node_id]
        spec = self.flow.spec(node)
        before = node.options.get(SPLIT_OPTION) or {}
        after = copy.deepcopy(before)
        if keys:
            after[port] = list(keys)
        else:
            after.pop(port, None)
        if after == before or spec is None:
            return None
        value = after if after else cmd.UNSET
        why = self._try(
            lambda f: f.set_option(node_id, SPLIT_OPTION, *([] if value is cmd.UNSET else [value]))
        )
        if why:
            self.message.emit(why)
            return why
        names = [p.name for p in spec.outputs]
        old = {k.name: k for k in key_ports(names, before)}
        new = {k.name: k for k in key_ports(names, after)}
        doomed = [
            e
            for e in self.flow.edges_out_of(node_id)
            if e.source_port in old and new.get(e.source_port) != old[e.source_port]
        ]
        text = f"Split {port} of {node.title} by key" if keys else f"Join the keys of {port} of {node.title}"
        option = cmd.SetOption(self.flow, node_id, SPLIT_OPTION, value)
        option.setText(text)
        self._macro(text, [*(cmd.Disconnect(self.flow, e) for e in doomed), option])
        return None

    def rename(self, node_id: str, title: str) -> str | None:
        if self.flow.nodes[node_id].title == title.strip():
            return None
        why = self._try(lambda f: f.rename(node_id, title))
        if why:
            self.message.emit(why)
            return why
        self._push(cmd.Rename(self.flow, node_id, title.strip()))
        return None
