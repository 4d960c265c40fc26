"""What a flow body holds while it is traced: placeholders for node results.

A `Result` stands for one output (or a parameter); a `Results` for a node with
several outputs, picked by name, position or unpacking. Anything else done
with them (testing, arithmetic, formatting) is refused with a message saying
to do it inside a node function, since the value does not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plait.runtime.nodes.spec import OUTPUT_ATTRIBUTES, OUTPUT_SEQUENCE, NodeSpec

if TYPE_CHECKING:
    from plait.runtime.code.tracing import Tracer


class TraceError(Exception):
    """A flow function whose body cannot become a flow; the message says where and why."""


@dataclass(frozen=True)
class Wire:
    """Where a value comes from: one output port of one node."""

    node_id: str
    port: str


class Result:
    """Stands for one output of a node while the flow is being built."""

    __slots__ = ("_tracer", "_wire")

    def __init__(self, tracer: Tracer, wire: Wire) -> None:
        object.__setattr__(self, "_tracer", tracer)
        object.__setattr__(self, "_wire", wire)

    def __getitem__(self, key: Any) -> Result:
        return self._tracer.get_item(self, key)

    def __getattr__(self, name: str) -> Result:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._tracer.get_item(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._tracer.unknown(self, f"setting its attribute {name!r}")

    def __setitem__(self, key: Any, value: Any) -> None:
        self._tracer.unknown(self, f"setting its item {key!r}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._tracer.unknown(self, "calling it")

    def __iter__(self) -> Any:
        self._tracer.unknown(self, "iterating over it (or unpacking it)")

    def __bool__(self) -> bool:
        self._tracer.unknown(self, "testing it with if, and, or, not")
        return False

    def __len__(self) -> int:
        self._tracer.unknown(self, "taking its len()")
        return 0

    def __index__(self) -> int:
        self._tracer.unknown(self, "using it as a number")
        return 0

    def __format__(self, spec: str) -> str:
        self._tracer.unknown(self, "formatting it into text")
        return ""

    def __repr__(self) -> str:
        return f"<{self._tracer.describe(self._wire)}, known when the flow runs>"


def _refuse(verb: str) -> Callable[..., Any]:
    def refused(self: Result, *args: Any) -> Any:
        self._tracer.unknown(self, verb)

    return refused


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"):
    setattr(Result, f"__{_name}__", _refuse("computing with it (+, -, * ...)"))
    setattr(Result, f"__r{_name}__", _refuse("computing with it (+, -, * ...)"))
for _name in ("lt", "le", "gt", "ge", "neg", "pos", "abs", "contains"):
    setattr(Result, f"__{_name}__", _refuse("comparing or computing with it"))


class Results:
    """Stands for a node with several outputs: pick one by name, position or unpacking."""

    __slots__ = ("_tracer", "_node_id", "_spec")

    def __init__(self, tracer: Tracer, node_id: str, spec: NodeSpec) -> None:
        self._tracer, self._node_id, self._spec = tracer, node_id, spec

    @property
    def _names(self) -> list[str]:
        return [p.name for p in self._spec.outputs]

    def _port(self, name: str) -> Result:
        if name not in self._names:
            raise TraceError(
                f"{self._tracer.where()}node '{self._tracer.title(self._node_id)}' has no output "
                f"{name!r}; its outputs are {', '.join(self._names)}"
            )
        return Result(self._tracer, Wire(self._node_id, name))

    def __getattr__(self, name: str) -> Result:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._port(name)

    def __getitem__(self, key: Any) -> Result:
        if isinstance(key, int) and not isinstance(key, bool):
            if not -len(self._names) <= key < len(self._names):
                raise TraceError(
                    f"{self._tracer.where()}node '{self._tracer.title(self._node_id)}' has "
                    f"{len(self._names)} outputs; there is no output {key}"
                )
            return self._port(self._names[key])
        if isinstance(key, str):
            return self._port(key)
        raise TraceError(f"{self._tracer.where()}an output is picked by name or position, not {key!r}")

    def __iter__(self) -> Any:
        if self._spec.output_style not in (OUTPUT_SEQUENCE, OUTPUT_ATTRIBUTES):
            raise TraceError(
                f"{self._tracer.where()}node '{self._tracer.title(self._node_id)}' gives a mapping; "
                f"pick its outputs by name ({', '.join(self._names)})"
            )
        return iter([self._port(name) for name in self._names])

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"<outputs {', '.join(self._names)} of node '{self._tracer.title(self._node_id)}'>"
