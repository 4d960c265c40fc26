"""What a node type is: its ports, options and code fingerprint."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class _Required:
    """Marks a port with no default value."""

    _instance: _Required | None = None

    def __new__(cls) -> _Required:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class ForeignValue:
    """A value of the user's own code, shown by its repr where that code is not imported."""

    text: str

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class KeyDigest:
    """What a node's `cache_key` function gave, already hashed (in the library process)."""

    digest: str


# Port kinds, named after inspect.Parameter kinds.
POSITIONAL_ONLY = "positional_only"
POSITIONAL_OR_KEYWORD = "positional_or_keyword"
KEYWORD_ONLY = "keyword_only"
VAR_POSITIONAL = "var_positional"
VAR_KEYWORD = "var_keyword"

# How a node's return value is split into its output ports.
OUTPUT_NONE = "none"  # returns nothing: no output port
OUTPUT_SINGLE = "single"  # the whole value is the one output `result`
OUTPUT_SEQUENCE = "sequence"  # a tuple/list: the i-th item feeds the i-th port
OUTPUT_MAPPING = "mapping"  # a dict (or TypedDict): keyed by port name
OUTPUT_ATTRIBUTES = "attributes"  # a NamedTuple or object: attributes by port name

CACHE_POLICIES = ("inputs", "never")


def tuple_port(index: int) -> str:
    """The name of the output that gives item `index` of a returned `tuple[A, B]`."""
    return f"result_{index}"


@dataclass(frozen=True)
class Port:
    """An input or output of a node type."""

    name: str
    annotation: Any = Any
    default: Any = REQUIRED
    kind: str = POSITIONAL_OR_KEYWORD
    description: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    # *args and **kwargs cannot take a wire; they are shown but not connectable.
    wireable: bool = True

    @property
    def required(self) -> bool:
        return self.wireable and self.default is REQUIRED

    @property
    def type_name(self) -> str:
        from plait.runtime.nodes.port_types import type_name

        return type_name(self.annotation)


@dataclass(frozen=True)
class NodeOptions:
    """How the engine runs a node; set by @node and overridable per node."""

    retries: int = 0
    retry_delay: float | tuple[float, ...] = 0.0  # seconds, or one delay per retry
    retry_backoff: float = 1.0  # each further retry waits this many times longer
    timeout: float | None = None
    cache: str = "inputs"
    cache_expiration: float | None = None  # seconds
    tags: tuple[str, ...] = ()
    map_over: str | None = None
    save_to: str | None = None  # path template for a persisted copy of the output
    save_mode: str = "write"  # "write" after running, or "checkpoint": reuse an existing file
    track_files: bool = True  # files named by the node's input values count in its key
    # Outputs split by key: output name -> the keys of its dict that are outputs of their
    # own (see `plait.runtime.nodes.splitting`); set per node, from a run's value.
    split: dict[str, list[str]] = field(default_factory=dict)

    def merged(self, overrides: dict[str, Any] | None) -> NodeOptions:
        """These options with a node's overrides applied (unknown keys ignored)."""
        if not overrides:
            return self
        names = {f.name for f in dataclasses.fields(self)}
        known = {k: v for k, v in overrides.items() if k in names}
        if "tags" in known:
            known["tags"] = tuple(known["tags"])
        return dataclasses.replace(self, **known)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(eq=False)
class NodeSpec:
    """A node type: derived from a Python callable, or built in (parameters)."""

    key: str
    title: str
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    doc: str = ""
    module: str = ""
    options: NodeOptions = field(default_factory=NodeOptions)
    fingerprint: str = ""
    # What the fingerprint is made of, by label ("iris.py:_sigmoid" -> digest), for
    # explaining why a key changed; notes say where a whole module is tracked.
    code_parts: dict[str, str] = field(default_factory=dict, repr=False)
    code_notes: tuple[str, ...] = ()
    nondeterministic: tuple[str, ...] = ()  # calls whose results differ run to run
    output_style: str = OUTPUT_SINGLE
    func: Callable[..., Any] | None = field(default=None, repr=False)
    builtin: bool = False
    # Extra cache-key material from the values known before a run (see @node).
    cache_key: Callable[[dict[str, Any]], Any] | None = field(default=None, repr=False)

    def input(self, name: str) -> Port | None:
        for port in self.inputs:
            if port.name == name:
                return port
        return None

    def output(self, name: str) -> Port | None:
        for port in self.outputs:
            if port.name == name:
                return port
        return None
