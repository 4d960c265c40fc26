"""Planning a run: which nodes it covers, the parameter values, and every cache key.

Cache keys are Merkle keys: a node's key hashes its node type's code
fingerprint, its constant values, and the keys of what feeds it (a parameter's
key hashes its value). So every cache hit is known before anything runs, and
a change anywhere changes exactly the keys of its downstream cone.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import types
import typing
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from plait.runtime.flow.model import Flow, Node
from plait.runtime.flow.validation import Problem
from plait.runtime.nodes.spec import POSITIONAL_ONLY, REQUIRED, NodeSpec, Port

KEY_VERSION = 1  # bump when the key recipe changes, so old entries stop matching


class RunRefused(Exception):
    """A run that cannot start; `problems` says every reason."""

    def __init__(self, flow: str, problems: list[str]) -> None:
        self.flow = flow
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"flow '{flow}' cannot run:\n{lines}")


class ParameterError(RunRefused):
    """One or more parameter values that do not fit their declared types."""


def _adapter(annotation: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def coerce_parameters(flow: Flow, given: dict[str, Any] | None = None,
                      from_text: bool | Collection[str] = False,
                      skip: Collection[str] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate parameter values against their types.

    Returns (python values, plain JSON values); raises ParameterError naming
    every parameter at fault. Values `from_text` (all, or those named) are
    command-line text: lists and dicts are read from it as JSON.
    """
    from pydantic import ValidationError

    given = dict(given or {})
    params = {p.name: p for p in flow.parameters()}
    problems = []
    for name in sorted((set(given) | set(skip)) - set(params)):
        known = ", ".join(params) or "none"
        problems.append(f"flow '{flow.name}' has no parameter '{name}' (parameters: {known})")
    values: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    for name, param in params.items():
        if name in skip:
            continue
        if name in given:
            raw = given[name]
        elif not param.required:
            raw = param.default
        else:
            problems.append(f"parameter '{name}' needs a value (type {param.type})")
            continue
        textual = from_text is True or (not isinstance(from_text, bool) and name in from_text)
        if textual and isinstance(raw, str) and param.type in ("list", "dict", "any"):
            try:
                raw = json.loads(raw)
            except ValueError:
                if param.type != "any":
                    problems.append(f"parameter '{name}' expects {param.type} as JSON, "
                                    f"got {raw!r}")
                    continue
        adapter = _adapter(param.annotation)
        try:
            value = adapter.validate_python(raw)
        except ValidationError as exc:
            reason = exc.errors()[0].get("msg", str(exc))
            problems.append(f"parameter '{name}' expects {param.type}, got {raw!r}: {reason}")
            continue
        values[name] = value
        plain[name] = adapter.dump_python(value, mode="json")
    if problems:
        raise ParameterError(flow.name, problems)
    return values, plain


@dataclass
class Plan:
    """What one run does: nodes in order, their keys, and how inputs are wired."""

    flow: Flow
    order: list[str]
    keys: dict[str, str]
    upstream: dict[str, set[str]]
    downstream: dict[str, set[str]]
    forced: set[str] = field(default_factory=set)
    item_base: dict[str, str] = field(default_factory=dict)  # mapped node -> key of its items
    values: dict[str, Any] = field(default_factory=dict)  # parameter name -> python value
    # parameter name -> (key, OutputRef): values handed over by reference (a parent flow's)
    refs: dict[str, tuple[str, Any]] = field(default_factory=dict)
    plain: dict[str, Any] = field(default_factory=dict)  # parameter name -> JSON value

    def cone(self, node_id: str) -> set[str]:
        """The node's descendants within this run."""
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            for child in self.downstream[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen


def _digest(payload: Any) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def parameter_key(name: str, plain_value: Any) -> str:
    return _digest([KEY_VERSION, "parameter", name, plain_value])


def node_key(spec: NodeSpec, node: Node, inputs: list[tuple[str, str, str]],
             salt: str | None = None, known: dict[str, Any] | None = None) -> str:
    """A function node's key from its code, its constants and its upstream keys.

    `known` holds the input values known before the run (constants and
    parameters) for the node type's own `cache_key` function.
    """
    wired = {port for port, _, _ in inputs}
    names = {p.name for p in spec.inputs}
    constants = {k: v for k, v in node.values.items() if k in names and k not in wired}
    extra: dict[str, Any] = {"map_over": node.options.get("map_over") or spec.options.map_over}
    if spec.cache_key is not None:
        try:
            extra["custom"] = spec.cache_key(dict(known or constants))
        except Exception as exc:  # noqa: BLE001 - say which node's key function broke
            raise RunRefused(node.title, [f"the cache key function of node '{node.title}' "
                                          f"failed: {type(exc).__name__}: {exc}"]) from exc
    return _digest([KEY_VERSION, spec.key, spec.fingerprint, constants, sorted(inputs), extra,
                    salt])


def make_plan(flow: Flow, given: dict[str, Any] | None = None, *,
              from_text: bool | Collection[str] = False,
              only: str | None = None, force: typing.Iterable[str] = (),
              run_id: str = "", refs: dict[str, tuple[str, Any]] | None = None) -> Plan:
    """Check the flow and its parameters and work out the run; raises RunRefused."""
    problems: list[Problem] = flow.validate()
    if problems:
        raise RunRefused(flow.name, [p.message for p in problems])
    refs = refs or {}
    values, plain = coerce_parameters(flow, given, from_text, skip=refs)

    selected = set(flow.nodes)
    if only is not None:
        flow.node(only)  # names the node when it does not exist
        selected = {only}
        stack = [only]
        while stack:
            for edge in flow.edges_into(stack.pop()):
                if edge.source not in selected:
                    selected.add(edge.source)
                    stack.append(edge.source)

    upstream = {n: set() for n in selected}
    downstream = {n: set() for n in selected}
    for edge in flow.edges:
        if edge.source in selected and edge.target in selected:
            upstream[edge.target].add(edge.source)
            downstream[edge.source].add(edge.target)
    order = _topological(selected, upstream, downstream)

    forced: set[str] = set()
    for node_id in force:
        flow.node(node_id)
        if node_id in selected:
            forced.add(node_id)
            stack = [node_id]
            while stack:
                for child in downstream[stack.pop()]:
                    if child not in forced:
                        forced.add(child)
                        stack.append(child)

    keys: dict[str, str] = {}
    item_base: dict[str, str] = {}
    for node_id in order:
        node = flow.nodes[node_id]
        if node.is_parameter:
            name = node.values["name"]
            keys[node_id] = refs[name][0] if name in refs else parameter_key(name, plain[name])
            continue
        spec = flow.spec(node)
        assert spec is not None  # validate() refused missing node types
        edges = flow.edges_into(node_id)
        inputs = [(e.target_port, keys[e.source], e.source_port) for e in edges]
        options = flow.options(node)
        salt = run_id if options.cache == "never" else None
        known = None
        if spec.cache_key is not None:
            names = {p.name for p in spec.inputs}
            known = {k: v for k, v in node.values.items() if k in names}
            for edge in edges:
                source = flow.nodes[edge.source]
                if source.is_parameter and source.values["name"] in values:
                    known[edge.target_port] = values[source.values["name"]]
                else:
                    known.pop(edge.target_port, None)
        keys[node_id] = node_key(spec, node, inputs, salt, known)
        if options.map_over:
            # Items are cached by their own content, not by the whole list's key.
            mapped = options.map_over
            rest = [i for i in inputs if i[0] != mapped]
            item_node = Node(node.id, node.spec_key, node.title,
                             values={k: v for k, v in node.values.items() if k != mapped})
            item_base[node_id] = node_key(spec, item_node, rest, salt, known) + ":item"
    return Plan(flow, order, keys, upstream, downstream, forced, item_base=item_base,
                values=values, plain=plain, refs=refs)


def _topological(selected: set[str], upstream: dict[str, set[str]],
                 downstream: dict[str, set[str]]) -> list[str]:
    remaining = {n: len(upstream[n]) for n in selected}
    queue = deque(sorted(n for n, count in remaining.items() if count == 0))
    order = []
    while queue:
        node_id = queue.popleft()
        order.append(node_id)
        for child in sorted(downstream[node_id]):
            remaining[child] -= 1
            if remaining[child] == 0:
                queue.append(child)
    return order


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return annotation


def coercion(port: Port) -> str | None:
    """How a saved constant becomes the value the port expects (paths, enums)."""
    import enum

    annotation = _unwrap(port.annotation)
    if isinstance(annotation, type):
        if issubclass(annotation, pathlib.PurePath):
            return "path"
        if issubclass(annotation, enum.Enum):
            return f"enum:{annotation.__module__}:{annotation.__qualname__}"
    return None


def call_layout(spec: NodeSpec, provided: set[str]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Which inputs go by position, and defaults to fill gaps before a given one."""
    positional = [p for p in spec.inputs if p.kind == POSITIONAL_ONLY]
    last = max((i for i, p in enumerate(positional) if p.name in provided), default=-1)
    fill = {p.name: p.default for p in positional[:last + 1]
            if p.name not in provided and p.default is not REQUIRED}
    names = tuple(p.name for p in positional[:last + 1])
    return names, fill

