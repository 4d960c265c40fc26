"""The parts of a flow: nodes, wires, parameters, the built-in node kinds, and edit events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from plait.runtime.nodes.port_types import parameter_type
from plait.runtime.nodes.spec import NodeSpec, Port

PARAMETER_KEY = "plait:parameter"
PARAMETER_OUTPUT = "value"
PARAMETER_FIELDS = ("name", "type", "default", "description")

# The built-in kind of node that stands for a flow parameter. Its definition
# (name, type, default, description) lives in the node's values; its one
# output is typed from the declared type.
PARAMETER_SPEC = NodeSpec(
    key=PARAMETER_KEY,
    title="Parameter",
    doc="A value the flow takes when it runs, asked for in the run dialog.",
    module="Flow",
    outputs=(Port(PARAMETER_OUTPUT),),
    builtin=True,
)


OUTPUT_KEY = "plait:output"
OUTPUT_INPUT = "value"

# The built-in kind of node that marks a value as one of the flow's outputs:
# placed in another flow as a subflow, the flow gives one output per such node.
OUTPUT_SPEC = NodeSpec(
    key=OUTPUT_KEY,
    title="Flow output",
    doc="Marks a value as an output of this flow when it is used as a node in another flow.",
    module="Flow",
    inputs=(Port(OUTPUT_INPUT, description="the value this flow gives"),),
    builtin=True,
)


class FlowError(Exception):
    """An edit that cannot be made; the message says which and why."""


class ConnectionRefused(FlowError):
    """A wire that would break the flow: a cycle, a taken input, a wrong type."""


class SpecSource(Protocol):
    def get(self, key: str) -> NodeSpec | None: ...


@dataclass
class Node:
    """A node on a canvas: an instance of a node type."""

    id: str
    spec_key: str
    title: str
    position: tuple[float, float] = (0.0, 0.0)
    # Constant values of unwired inputs; for a parameter node, its definition.
    values: dict[str, Any] = field(default_factory=dict)
    # Per-node overrides of the node type's options (retries, timeout, ...).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_parameter(self) -> bool:
        return self.spec_key == PARAMETER_KEY

    @property
    def is_output(self) -> bool:
        return self.spec_key == OUTPUT_KEY

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "spec_key": self.spec_key,
            "title": self.title,
            "position": [round(self.position[0], 2), round(self.position[1], 2)],
            "values": self.values,
            "options": self.options,
        }


@dataclass(frozen=True, order=True)
class Edge:
    """A wire from one node's output port to another node's input port."""

    source: str
    source_port: str
    target: str
    target_port: str

    def __str__(self) -> str:
        return f"{self.source}.{self.source_port} -> {self.target}.{self.target_port}"


@dataclass(frozen=True)
class Parameter:
    """A flow parameter as the run dialog and the engine see it."""

    node_id: str
    name: str
    type: str = "any"
    default: Any = None
    description: str = ""
    required: bool = False  # no default: the run must be given a value

    @property
    def annotation(self) -> Any:
        return parameter_type(self.type)


# Events an observer receives, one per edit.
@dataclass(frozen=True)
class NodeAdded:
    node: Node


@dataclass(frozen=True)
class NodeRemoved:
    node: Node


@dataclass(frozen=True)
class EdgeAdded:
    edge: Edge


@dataclass(frozen=True)
class EdgeRemoved:
    edge: Edge


@dataclass(frozen=True)
class NodeChanged:
    """A node's value, option, title or position changed."""

    node_id: str
    what: str  # "value", "option", "title", "position"
    name: str | None
    old: Any
    new: Any


@dataclass(frozen=True)
class ManyEdits:
    """The edits of one step begin (`begun`) or are over: an observer may gather its work
    (the canvas draws each wire once) until the step is over."""

    begun: bool


@dataclass(frozen=True)
class FlowChanged:
    """The flow's own name, description or extras changed."""

    what: str
    old: Any
    new: Any
