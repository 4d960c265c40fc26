"""Building a flow from a Python function by tracing the calls in its body.

The body runs once with placeholders for the flow's parameters, its calls
rewritten (through its syntax tree) to pass through the tracer. The rule:

- a call with a node's result (or a parameter) among its arguments, any call of
  an `@node` function, and any call of a function defined beside the flow
  function (in the same script, notebook or module) becomes a node; its
  plain-value arguments become the node's constants;
- any other call is plain Python and runs while the flow is built;
- `result[key]` and `result.name` wire one output of a node: the port of that
  name or position when the node has several outputs (a NamedTuple, a
  `tuple[A, B]` return, whose items are `result_0`, `result_1`, a tuple of named
  outputs), as does unpacking (`a, b = pair`); else a "Get item" node that takes
  the item out at run time;
- the function's parameters (defaults, annotations, docstring) become the
  flow's parameters, and what it returns becomes the flow's outputs.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from plait.runtime.code.placeholders import Result, Results, TraceError, Wire
from plait.runtime.code.rewriting import routed_function
from plait.runtime.flow.model import PARAMETER_OUTPUT, ConnectionRefused, Flow, FlowError, Node
from plait.runtime.nodes.decorator import node_metadata
from plait.runtime.nodes.docstrings import read_docstring
from plait.runtime.nodes.introspect import spec_from_callable
from plait.runtime.nodes.port_types import PARAMETER_TYPES
from plait.runtime.nodes.spec import (
    OUTPUT_SEQUENCE,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    NodeSpec,
    tuple_port,
)

GET_ITEM_KEY = "plait.runtime.builtins:get_item"


def parameter_type(annotation: Any) -> str:
    """The flow parameter type for an annotation: int, float, str, path, ..., else any."""
    if typing.get_origin(annotation) in (typing.Union, getattr(types, "UnionType", None)):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else Any
    origin = typing.get_origin(annotation) or annotation
    for name, kind in PARAMETER_TYPES.items():
        if kind is not Any and origin is kind:
            return name
    if isinstance(origin, type) and issubclass(origin, PurePath):
        return "path"
    return "any"


def _plain(value: Any) -> Any:
    """A constant as the flow keeps it: paths as text, tuples as lists."""
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _holds_placeholder(value: Any, depth: int = 0) -> bool:
    if isinstance(value, (Result, Results)):
        return True
    if depth > 4:
        return False
    if isinstance(value, (list, tuple, set)):
        return any(_holds_placeholder(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return any(_holds_placeholder(v, depth + 1) for v in value.values())
    return False


class Tracer:
    """Records the nodes and wires a flow function's body makes, into a `Flow`."""

    def __init__(self, name: str, key_for: Callable[[Any], str]) -> None:
        self.flow = Flow(name, catalog=self)
        self.key_for = key_for
        self.specs: dict[str, NodeSpec] = {}
        self.functions: dict[str, Any] = {}  # node key -> the function traced
        self._items: dict[tuple[Wire, str], Result] = {}
        self._frame_file = ""
        self.home = ""  # the module of the flow function

    # -- the catalog the flow under construction reads --------------------

    def get(self, key: str) -> NodeSpec | None:
        return self.specs.get(key)

    # -- messages ---------------------------------------------------------

    def where(self) -> str:
        """ "file, line N: " of the flow body's line being traced, for messages."""
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != self._frame_file:
            frame = frame.f_back
        if frame is None:
            return ""
        return f"{frame.f_code.co_filename}, line {frame.f_lineno}: "

    def title(self, node_id: str) -> str:
        return self.flow.nodes[node_id].title

    def describe(self, wire: Wire) -> str:
        node = self.flow.nodes[wire.node_id]
        if node.is_parameter:
            return f"parameter '{node.title}'"
        return f"output '{wire.port}' of node '{node.title}'"

    def unknown(self, result: Result, doing: str) -> None:
        raise TraceError(
            f"{self.where()}the flow body uses the {self.describe(result._wire)} by {doing}, but "
            "while the flow is being built that value is not known yet: pass it to a node "
            "function and do this inside the function"
        )

    # -- building ---------------------------------------------------------

    def _new_id(self, base: str) -> str:
        slug = re.sub(r"[^0-9a-zA-Z]+", "_", base).strip("_").lower() or "node"
        if slug not in self.flow.nodes:
            return slug
        n = 2
        while f"{slug}_{n}" in self.flow.nodes:
            n += 1
        return f"{slug}_{n}"

    def _new_title(self, title: str) -> str:
        taken = {n.title for n in self.flow.nodes.values()}
        if title not in taken:
            return title
        n = 2
        while f"{title} {n}" in taken:
            n += 1
        return f"{title} {n}"

    def parameters(self, fn: Callable[..., Any]) -> dict[str, Result]:
        """A flow parameter for each parameter of `fn`, and the placeholder standing for it."""
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # noqa: BLE001 - unresolvable hints: the raw annotations will do
            hints = {}
        described = read_docstring(fn).params
        found: dict[str, Result] = {}
        for name, param in inspect.signature(fn).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
                raise TraceError(
                    f"flow {self.flow.name!r}: parameter {name!r} of {fn.__qualname__} is "
                    f"{param.kind.description}; flow parameters are named ones (name or name=default)"
                )
            annotation = hints.get(name, param.annotation)
            kind = parameter_type(annotation) if annotation is not param.empty else "any"
            if kind == "any" and param.default is not param.empty and param.default is not None:
                kind = parameter_type(type(param.default))
            options: dict[str, Any] = {"description": described.get(name, "")}
            if param.default is not param.empty:
                default = _plain(param.default)
                try:
                    json.dumps(default, allow_nan=False)
                except (TypeError, ValueError):
                    raise TraceError(
                        f"flow {self.flow.name!r}: the default of parameter {name!r} ({default!r}) "
                        "cannot be saved; use a number, text, true/false, a list or a dict"
                    ) from None
                options["default"] = default
            node = self.flow.add_parameter(name, kind, node_id=self._new_id(name), **options)
            found[name] = Result(self, Wire(node.id, PARAMETER_OUTPUT))
        return found

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One call of the flow body: a node, or plain Python when no node is involved."""
        if isinstance(fn, Result):
            fn(*args, **kwargs)  # says why a result cannot be called
        if isinstance(fn, Results):
            raise TraceError(
                f"{self.where()}the outputs of node '{self.title(fn._node_id)}' cannot be called"
            )
        placeholders = any(_holds_placeholder(v) for v in (*args, *kwargs.values()))
        if getattr(fn, "__plait_flow__", False):
            raise TraceError(
                f"{self.where()}calling the flow {fn.name!r} inside another flow is not supported; "
                "call its node functions from this flow instead"
            )
        if not placeholders and not node_metadata(fn) and not self._defined_beside(fn):
            return fn(*args, **kwargs)
        return self._node(fn, args, kwargs)

    def _defined_beside(self, fn: Any) -> bool:
        """A function of the flow's own script, notebook or module: one of its steps."""
        return (
            inspect.isfunction(fn) and fn.__module__ == self.home and not getattr(fn, "__plait_flow__", False)
        )

    def _spec(self, fn: Any) -> NodeSpec:
        key = self.key_for(fn)
        spec = self.specs.get(key)
        if spec is None:
            try:
                spec = spec_from_callable(fn, key=key)
            except Exception as exc:  # noqa: BLE001 - NodeSpecError and what a signature raises
                shown = getattr(fn, "__qualname__", fn)
                raise TraceError(f"{self.where()}{shown!r} cannot be a node: {exc}") from None
            self.specs[key] = spec
            self.functions[key] = fn
        return spec

    def _node(self, fn: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
        name = getattr(fn, "__name__", None)
        module = getattr(fn, "__module__", None)
        if module == "builtins" or name == "<lambda>" or not inspect.isfunction(inspect.unwrap(fn)):
            shown = f"{name}()" if name else repr(fn)
            raise TraceError(
                f"{self.where()}{shown} is given a node's result, so it would be a node, but only "
                "functions defined with def can be nodes: call it inside a node function"
            )
        spec = self._spec(fn)
        try:
            bound = inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise TraceError(f"{self.where()}calling {spec.title} ({fn.__qualname__}): {exc}") from None
        node = self.flow.add_node(Node(self._new_id(fn.__name__), spec.key, self._new_title(spec.title)))
        ports = {p.name: p for p in spec.inputs}
        for input_name, value in bound.arguments.items():
            port = ports.get(input_name)
            if port is not None and port.kind in (VAR_POSITIONAL, VAR_KEYWORD):
                if _holds_placeholder(value):
                    raise TraceError(
                        f"{self.where()}{spec.title}: node results cannot go into *{input_name}; "
                        "give the function a named input for each"
                    )
            if isinstance(value, Result):
                try:
                    self.flow.connect(value._wire.node_id, value._wire.port, node.id, input_name)
                except ConnectionRefused as exc:
                    raise TraceError(f"{self.where()}{exc}") from None
                continue
            if isinstance(value, Results):
                raise TraceError(
                    f"{self.where()}input {input_name!r} of {spec.title} is given every output of "
                    f"node '{self.title(value._node_id)}' ({', '.join(value._names)}); pass one, "
                    f"e.g. result.{value._names[0]}"
                )
            if _holds_placeholder(value):
                raise TraceError(
                    f"{self.where()}input {input_name!r} of {spec.title} is given a list or dict "
                    "holding node results; a wire carries one value: pass each as its own input"
                )
            try:
                self.flow.set_value(node.id, input_name, _plain(value))
            except FlowError:
                raise TraceError(
                    f"{self.where()}input {input_name!r} of {spec.title} is given a "
                    f"{type(value).__name__}, which cannot be kept in the flow (constants are "
                    "numbers, text, true/false, lists and dicts): make it a node's result, or a "
                    "flow parameter"
                ) from None
        if not spec.outputs:
            return None
        if len(spec.outputs) == 1:
            return Result(self, Wire(node.id, spec.outputs[0].name))
        return Results(self, node.id, spec)

    def get_item(self, result: Result, key: Any) -> Result:
        """`result[key]` or `result.key` of a one-output node: a Get item node."""
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise TraceError(f"{self.where()}an item is picked by a text key or a number, not {key!r}")
        text = str(key)
        if "." in text:
            raise TraceError(
                f"{self.where()}the key {text!r} holds a dot, which Get item reads as a path "
                "(a.b = item b of item a); take the item inside a node function"
            )
        known = self._items.get((result._wire, text))
        if known is not None:
            return known
        from plait.runtime.nodes.tables import get_item

        spec = self.specs.get(GET_ITEM_KEY)
        if spec is None:
            spec = self.specs[GET_ITEM_KEY] = spec_from_callable(get_item, key=GET_ITEM_KEY)
        node = self.flow.add_node(
            Node(
                self._new_id(f"get_{text}"),
                GET_ITEM_KEY,
                self._new_title(f"Get {text}"),
                values={"key": text},
            )
        )
        self.flow.connect(result._wire.node_id, result._wire.port, node.id, "container")
        found = self._items[(result._wire, text)] = Result(self, Wire(node.id, "result"))
        return found

    # -- what the flow returns --------------------------------------------

    def outputs(self, returned: Any) -> Any:
        """Flow output nodes for the placeholders in `returned`; a template to fill after a run."""
        made: dict[Wire, str] = {}

        def output(result: Result, name: str) -> Output:
            if result._wire in made:
                return Output(made[result._wire])
            name = name if name.isidentifier() else "result"
            node_id = self._new_id(f"output_{name}")
            base, n = name, 2
            while any(n_.is_output and n_.values.get("name") == name for n_ in self.flow.nodes.values()):
                name, n = f"{base}_{n}", n + 1
            self.flow.add_output(name, node_id=node_id)
            self.flow.connect(result._wire.node_id, result._wire.port, node_id, "value")
            made[result._wire] = node_id
            return Output(node_id)

        def walk(value: Any, name: str) -> Any:
            if isinstance(value, Result):
                return output(value, name)
            if isinstance(value, Results):
                if value._spec.output_style == OUTPUT_SEQUENCE:
                    # Items of a `tuple[A, B]` (result_0, result_1) are named by position.
                    return tuple(
                        walk(value._port(p), f"{name}_{i}" if p == tuple_port(i) else f"{name}_{p}")
                        for i, p in enumerate(value._names)
                    )
                return {
                    p: walk(value._port(p), p if name == "result" else f"{name}_{p}") for p in value._names
                }
            if isinstance(value, (list, tuple)):
                items = [walk(v, f"{name}_{i}") for i, v in enumerate(value)]
                return type(value)(items) if type(value) in (list, tuple) else items
            if isinstance(value, dict):
                return {k: walk(v, str(k) if name == "result" else f"{name}_{k}") for k, v in value.items()}
            return value

        return walk(returned, "result")


@dataclass(frozen=True)
class Output:
    """In a returned value's template: the value of this flow output node."""

    node_id: str


def fill(template: Any, values: Callable[[str], Any]) -> Any:
    """The template of what a flow returns, with each flow output's value put in."""
    if isinstance(template, Output):
        return values(template.node_id)
    if isinstance(template, tuple):
        return tuple(fill(v, values) for v in template)
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


@dataclass
class Traced:
    """A traced flow: the flow, the functions its nodes call, and what it returns."""

    flow: Flow
    functions: dict[str, Any]  # node key -> function
    template: Any


def trace(fn: Callable[..., Any], name: str, key_for: Callable[[Any], str]) -> Traced:
    """Run `fn`'s body with placeholders and return the flow its calls make."""
    tracer = Tracer(name, key_for)
    tracer._frame_file = fn.__code__.co_filename
    tracer.home = fn.__module__
    routed = routed_function(fn, tracer.call)
    placeholders = tracer.parameters(fn)
    returned = routed(**placeholders)
    if not any(not (n.is_parameter or n.is_output) for n in tracer.flow.nodes.values()):
        raise TraceError(
            f"flow {name!r} has no nodes: its body calls no node function. A call becomes a node "
            "when it is given a node's result or a flow parameter, when the function is @node, or "
            "when it is defined beside the flow function"
        )
    template = tracer.outputs(returned)
    return Traced(tracer.flow, tracer.functions, template)
