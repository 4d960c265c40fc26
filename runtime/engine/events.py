"""The events a run yields, read by the store, the command line and the window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Node states.
PENDING = "pending"
CACHED = "cached"
RUNNING = "running"
RETRYING = "retrying"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
SKIPPED = "skipped"  # an upstream node failed
TIMED_OUT = "timed_out"
CRASHED = "crashed"  # the process running the run died
CHECKPOINT = "checkpoint"  # read from its saved file instead of running

FINAL_STATES = frozenset({CACHED, COMPLETED, FAILED, CANCELLED, SKIPPED, TIMED_OUT, CRASHED, CHECKPOINT})
SUCCESS_STATES = frozenset({CACHED, COMPLETED, CHECKPOINT})

# Run states.
RUN_RUNNING = "running"
RUN_COMPLETED = "completed"
RUN_FAILED = "failed"
RUN_CANCELLED = "cancelled"
RUN_CRASHED = "crashed"


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    flow_id: str
    flow_name: str
    flow_version: int
    parameters: dict[str, Any]
    nodes: dict[str, str]  # node id -> title, the nodes this run covers
    executor: str
    time: float
    parent_run: str | None = None
    parent_node: str | None = None


@dataclass(frozen=True)
class NodeStarted:
    run_id: str
    node_id: str
    attempt: int
    time: float
    cache_key: str


@dataclass(frozen=True)
class NodeRetrying:
    run_id: str
    node_id: str
    attempt: int  # the attempt that failed
    delay: float
    error: str
    time: float


@dataclass(frozen=True)
class NodeProgress:
    run_id: str
    node_id: str
    done: float
    total: float | None
    message: str | None
    time: float


@dataclass(frozen=True)
class LogLine:
    time: float
    stream: str  # stdout, stderr, logging, plait
    level: str
    message: str


@dataclass(frozen=True)
class NodeLog:
    run_id: str
    node_id: str
    lines: tuple[LogLine, ...]


@dataclass(frozen=True)
class NodeFinished:
    run_id: str
    node_id: str
    state: str
    time: float
    cache_key: str | None = None
    started: float | None = None
    duration: float = 0.0
    attempts: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)  # port -> OutputRef
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    # What the node's cache key was made of (code parts, values, files), for `plait explain`.
    key_parts: dict[str, Any] | None = None

    @property
    def summaries(self) -> dict[str, dict[str, Any]]:
        return {port: ref.summary for port, ref in self.outputs.items()}


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    state: str
    time: float
    duration: float
    counts: dict[str, int]
    error: str | None = None
