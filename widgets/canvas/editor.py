"""What the canvas asks of whoever owns the flow's edits.

The canvas never edits the model itself: it calls these methods, and the
application turns each call into an undoable command on the `Flow`. The scene
then follows the flow's events like any other observer.
"""

from __future__ import annotations

from typing import Any, Protocol

from plait.runtime.flow.model import Edge, Flow


class FlowEditor(Protocol):
    flow: Flow
    read_only: bool

    def create_node(
        self, spec_key: str, position: tuple[float, float], wire_from: tuple[str, str, str] | None = None
    ) -> str | None:
        """Add a node of a type at a position; optionally wire it to (node, side, port).

        Returns the new node's id, or None when it could not be made.
        """

    def connect(self, edge: Edge) -> str | None:
        """Wire an output to an input, replacing the input's wire; the refusal or None."""

    def move_nodes(
        self, moves: dict[str, tuple[float, float]], frames: dict[str, list[float]] | None = None
    ) -> None:
        """Record where nodes (and frames) were dragged to, as one step."""

    def delete(self, node_ids: list[str], edges: list[Edge], frame_ids: list[str]) -> None:
        """Delete nodes, wires and frames as one step."""

    def update_frame(self, frame_id: str, **changes: Any) -> None:
        """Change a frame's title, text or rectangle."""

    def set_value(self, node_id: str, port: str, value: Any = ...) -> str | None:
        """Set (or, with no value, clear) a constant input or a parameter field."""

    def set_option(self, node_id: str, name: str, value: Any = ...) -> str | None:
        """Override (or, with no value, reset) one of a node's run options."""

    def rename(self, node_id: str, title: str) -> str | None:
        """Give a node a new title."""
