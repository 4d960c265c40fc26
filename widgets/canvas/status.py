"""A node's run state as the canvas shows it: state, progress, attempt, duration, error.

The window fills these from a run's events (or a past run's records); the
node item only paints them. Kept apart from the model: a run state is not
part of the flow and is never saved with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor

from plait.runtime.engine import events as ev
from plait.widgets.canvas.ports import OUTPUT

STATUS_HEIGHT = 18.0  # the line under a node where its state is written

STATE_COLOURS = {
    ev.PENDING: "#9aa0a6",
    ev.CACHED: "#6c8ebf",
    ev.RUNNING: "#2f80ed",
    ev.RETRYING: "#e6a117",
    ev.COMPLETED: "#2fa866",
    ev.CHECKPOINT: "#2f9c9c",
    ev.FAILED: "#d93838",
    ev.CRASHED: "#d93838",
    ev.TIMED_OUT: "#d2591e",
    ev.CANCELLED: "#b07d2b",
    ev.SKIPPED: "#a0a4aa",
}

STATE_MARKS = {
    ev.PENDING: "…",
    ev.CACHED: "⟲",
    ev.RUNNING: "▶",
    ev.RETRYING: "↻",
    ev.COMPLETED: "✓",
    ev.CHECKPOINT: "⇩",
    ev.FAILED: "✗",
    ev.CRASHED: "✗",
    ev.TIMED_OUT: "⏱",
    ev.CANCELLED: "■",
    ev.SKIPPED: "⊘",
}


def state_colour(state: str) -> QColor:
    return QColor(STATE_COLOURS.get(state, "#9aa0a6"))


def format_duration(seconds: float | None) -> str:
    """1.23 s, 12.3 s, 2 min 05 s, 1 h 02 min."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


@dataclass
class NodeStatus:
    """What one node is doing in the run the canvas shows."""

    state: str = ev.PENDING
    done: float | None = None
    total: float | None = None
    message: str | None = None
    attempt: int = 0
    started: float | None = None  # wall clock, for a running node's elapsed time
    duration: float | None = None
    error: str | None = None  # the error's first line
    traceback: str | None = None
    stale: bool = False  # the node was edited after this state was reached
    next_run: str | None = None  # what the next run does with it: "will run" or "waits"
    why: tuple[str, ...] = ()  # and why, in a user's words
    used: tuple[Any] | None = None  # a parameter node: (the value the run used,)

    @property
    def fraction(self) -> float | None:
        if self.total:
            return max(0.0, min(1.0, self.done / self.total)) if self.done is not None else 0.0
        return None

    def text(self, now: float | None = None) -> str:
        """The one line written under the node."""
        mark = STATE_MARKS.get(self.state, "")
        state = self.state.replace("_", " ")
        if self.state == ev.RUNNING:
            parts = ["running"]
            if self.fraction is not None:
                parts.append(f"{self.fraction * 100:.0f}%")
            elif self.done is not None:
                parts.append(f"{self.done:g}")
            if self.message:
                parts.append(self.message)
            elif now is not None and self.started is not None:
                parts.append(format_duration(max(0.0, now - self.started)))
            text = " ".join(parts)
        elif self.state == ev.RETRYING:
            text = f"retrying (attempt {self.attempt + 1})"
            if self.error:
                text += f": {self.error}"
        elif self.state in (ev.COMPLETED, ev.CHECKPOINT):
            text = f"{state} in {format_duration(self.duration)}" if self.duration else state
        elif self.state in (ev.FAILED, ev.TIMED_OUT, ev.CRASHED):
            text = f"{state}: {self.error}" if self.error else state
        else:
            text = state
        if self.attempt > 1 and self.state in (ev.COMPLETED, ev.FAILED):
            text += f" (attempt {self.attempt})"
        if self.stale:
            text += {"will run": " · will rerun", "waits": " · may rerun"}.get(
                self.next_run or "", " · stale"
            )
        return f"{mark} {text}"

    def why_text(self) -> str:
        """The next run's plan for this node, for its tooltip."""
        if not self.stale or not self.next_run:
            return ""
        head = "Will rerun" if self.next_run == "will run" else "May rerun"
        return f"{head}: {'; '.join(self.why)}" if self.why else head


class RunStates:
    """Mixed into FlowScene: each node's state in the run shown, and the node and port menu requests."""

    def set_statuses(self, statuses: dict) -> None:
        """Show each node's run state (node id -> NodeStatus); nodes not named show none."""
        for node_id, item in self.nodes.items():
            status = statuses.get(node_id)
            if status is not item.status or status is not None:
                item.set_status(status)

    def set_status(self, node_id: str, status) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_status(status)

    def statuses(self) -> dict:
        return {n: i.status for n, i in self.nodes.items() if i.status is not None}

    def contextMenuEvent(self, event) -> None:
        item = next(
            (i for i in self.items(event.scenePos()) if self.nodes.get(getattr(i, "node_id", None)) is i),
            None,
        )
        if item is None:
            super().contextMenuEvent(event)
            return
        if not item.isSelected():
            self.select_nodes([item.node_id])
        slot = item.slot_at(event.scenePos())
        node = self.flow.nodes[item.node_id]
        if slot is not None and slot.side == OUTPUT and not slot.ghost and not node.is_parameter:
            # An output's own menu (Split by key); the rest of the node has the node menu.
            self.port_menu_requested.emit(item.node_id, slot.name, event.screenPos())
        else:
            self.node_menu_requested.emit(item.node_id, event.screenPos())
        event.accept()
