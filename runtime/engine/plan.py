"""Planning a run: which nodes it covers, the parameter values, and every cache key.

Cache keys are Merkle keys over values: a node's key hashes its node type's
code fingerprint, its constant values, the files its values name, and the
content digests of the values that feed it (a parameter's digest is its
value's). A node's key is known once its inputs' values are: at once for
cached upstreams (their digests are in the cache index), after they run for
the others. So an upstream that reruns and reproduces the same value leaves
its consumers cached (early cutoff), and a `never` node that produces a new
value reruns everything that reads it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import types
import typing
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from plait.runtime.engine.merkle import KEY_VERSION, KeyRecipe, chained_key, ref_digest
from plait.runtime.engine.merkle import digest as _digest
from plait.runtime.flow import graph
from plait.runtime.flow.model import Flow, Node
from plait.runtime.flow.validation import Problem
from plait.runtime.keys.values import value_key
from plait.runtime.nodes.spec import POSITIONAL_ONLY, REQUIRED, KeyDigest, NodeSpec, Port
from plait.runtime.results.serializers import stored_digest
from plait.runtime.workspace.catalog import SUBFLOW_PREFIX, is_subflow


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


def coerce_parameters(
    flow: Flow,
    given: dict[str, Any] | None = None,
    from_text: bool | Collection[str] = False,
    skip: Collection[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate parameter values against their types.

    Returns (python values, plain JSON values); raises ParameterError naming
    every parameter at fault. Values `from_text` (all, or those named) are
    command-line text: lists and dicts are read from it as JSON. A dotted name
    (`options.test_size`) sets one key of a dict parameter, on top of its
    given value or default.
    """
    from pydantic import ValidationError

    given = dict(given or {})
    params = {p.name: p for p in flow.parameters()}
    problems: list[str] = []
    given, from_text = _set_keys(given, params, from_text, problems)
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
                    problems.append(f"parameter '{name}' expects {param.type} as JSON, got {raw!r}")
                    continue
        adapter = _adapter(param.annotation)
        try:
            value = adapter.validate_python(raw)
        except ValidationError as exc:
            reason = exc.errors()[0].get("msg", str(exc))
            problems.append(f"parameter '{name}' expects {param.type}, got {raw!r}: {reason}")
            continue
        outside = _outside_choices(flow, param.node_id, _plain(adapter, value))
        if outside:
            problems.append(f"parameter '{name}' is {raw!r}, but {outside}")
            continue
        values[name] = value
        plain[name] = _plain(adapter, value)
    if problems:
        raise ParameterError(flow.name, problems)
    return values, plain


def _set_keys(
    given: dict[str, Any], params: dict[str, Any], from_text: bool | Collection[str], problems: list[str]
) -> tuple[dict[str, Any], bool | Collection[str]]:
    """Fold `name.key=value` entries into the dict parameter `name`; text keys are read as JSON."""
    dotted = [n for n in given if "." in n and n not in params]
    if not dotted:
        return given, from_text
    textual = set(params if from_text is True else () if from_text is False else from_text)
    textual |= set(given) if from_text is True else set()
    for entry in sorted(dotted):
        name, *path = entry.split(".")
        param = params.get(name)
        if param is None or not all(path):
            continue  # left for the check of unknown parameters
        value = given.pop(entry)
        if param.type not in ("dict", "any"):
            problems.append(
                f"parameter '{name}' is {param.type}, so '{entry}' names no key in it "
                "(a dotted name sets one key of a dict parameter)"
            )
            continue
        base = given.get(name, {} if param.required or param.default is None else param.default)
        if isinstance(base, str) and name in textual:
            try:
                base = json.loads(base)
            except ValueError:
                pass
        if not isinstance(base, dict):
            problems.append(f"parameter '{name}' holds {base!r}, not a dict, so '{entry}' cannot be set")
            continue
        base = json.loads(json.dumps(base))  # the default stays as saved
        into = base
        for key in path[:-1]:
            into = into.setdefault(key, {})
            if not isinstance(into, dict):
                problems.append(f"'{entry}' goes through {into!r}, which is not a dict")
                break
        else:
            if entry in textual and isinstance(value, str) and not isinstance(into.get(path[-1]), str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass  # plain text stays text
            into[path[-1]] = value
            given[name] = base
            textual.discard(name)
    return given, textual


def _outside_choices(flow: Flow, parameter_id: str, value: Any) -> str | None:
    """Why a parameter's value fits none of the choices of a `Literal` or Enum input it feeds."""
    for edge in flow.edges_out_of(parameter_id):
        target = flow.nodes[edge.target]
        reason = flow.outside_choices(target, edge.target_port, value)
        if reason:
            return reason
    return None


def _plain(adapter: Any, value: Any) -> Any:
    """A parameter value as JSON for the run's record; arrays and tables by a short summary."""
    from pydantic_core import PydanticSerializationError

    try:
        return adapter.dump_python(value, mode="json")
    except (PydanticSerializationError, ValueError, TypeError):
        shape = getattr(value, "shape", None)
        kind = type(value).__name__
        return f"<{kind} {tuple(shape)}>" if shape is not None else f"<{kind}>"


@dataclass
class NodeKey:
    """What a node's cache key is made of before its inputs' values are known.

    The key itself chains on values: `base` (code, constants, files, policy)
    plus the content digest of each wired input, so a node whose upstream
    reproduced the same value keeps its key (early cutoff).
    """

    base: str
    inputs: list[tuple[str, str, str]]  # (port, source node, source port), sorted by port
    parts: dict[str, Any]  # the base's components, for explaining why a key changed
    mapped: str | None = None  # the input a mapped node runs over
    item_base: str | None = None  # base of a mapped node's items (without the mapped input)


@dataclass
class Plan:
    """What one run does: nodes in order, how their keys are made, and how inputs are wired.

    `keys` fills in as the run goes: a parameter's key is known at once, a
    node's when every input's value is (cached or computed).
    """

    flow: Flow
    order: list[str]
    keys: dict[str, str]
    upstream: dict[str, set[str]]
    downstream: dict[str, set[str]]
    forced: set[str] = field(default_factory=set)
    item_base: dict[str, str] = field(default_factory=dict)  # mapped node -> key of its items
    values: dict[str, Any] = field(default_factory=dict)  # parameter name -> python value
    # parameter name -> (digest, OutputRef): values handed over by reference (a parent flow's)
    refs: dict[str, tuple[str, Any]] = field(default_factory=dict)
    plain: dict[str, Any] = field(default_factory=dict)  # parameter name -> JSON value
    node_keys: dict[str, NodeKey] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)  # parameter node -> value digest
    folder: str | None = None  # relative paths in values are read from here
    key_parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> full parts
    predicted_keys: dict[str, str] = field(default_factory=dict)  # filled by predict()
    predicted_parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    predicted_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    predicted_children: dict[str, Any] = field(default_factory=dict)  # subflow -> (plan, states)
    wiring: Any = None  # the run's part of the flow's wiring, ordered (`plait.runtime.flow.graph`)

    def cone(self, node_id: str) -> set[str]:
        """The node's descendants within this run."""
        return graph.downstream_of(self.wiring, node_id)

    def input_digest(self, source: str, port: str, outputs: dict[str, Any]) -> str:
        """The content digest of an upstream output, for its consumers' keys."""
        if source in self.digests:
            return self.digests[source]
        return ref_digest(outputs.get(port), self.keys.get(source, ""), port)

    def resolve(self, node_id: str, outputs_of: Any) -> str:
        """Work out a node's key once its inputs are known; `outputs_of(node)` gives their refs."""
        if node_id in self.keys:
            return self.keys[node_id]
        spec = self.node_keys[node_id]
        inputs, files = [], {}
        described: dict[str, Any] = {}
        for port, source, source_port in spec.inputs:
            refs = outputs_of(source)
            digest = self.input_digest(source, source_port, refs)
            inputs.append((port, digest))
            described[port] = [source, source_port, digest]
            ref = refs.get(source_port)
            if spec.parts.get("track_files", True) and getattr(ref, "paths", None):
                files.update(_file_fingerprints(list(ref.paths), self.folder))
        key = chained_key(spec.base, inputs, files)
        self.keys[node_id] = key
        self.key_parts[node_id] = {
            **spec.parts,
            "inputs": described,
            "files": {**spec.parts.get("files", {}), **files},
        }
        if spec.item_base is not None:
            rest = [i for i in inputs if i[0] != spec.mapped]
            self.item_base[node_id] = (
                _digest([KEY_VERSION, spec.item_base, rest, sorted(files.items())]) + ":item"
            )
        return key

    def recipe(self, node_id: str, outputs_of: Any, pending: set[str]) -> KeyRecipe:
        """How a worker works out a node's key when the sources in `pending` are still running."""
        spec = self.node_keys[node_id]
        track = spec.parts.get("track_files", True)
        inputs: list[tuple[str, str | None, str, str]] = []
        files: dict[str, str] = {}
        for port, source, source_port in spec.inputs:
            if source in pending:
                inputs.append((port, None, source, source_port))
                continue
            refs = outputs_of(source)
            inputs.append((port, self.input_digest(source, source_port, refs), source, source_port))
            ref = refs.get(source_port)
            if track and getattr(ref, "paths", None):
                files.update(_file_fingerprints(list(ref.paths), self.folder))
        return KeyRecipe(spec.base, inputs, files, track, self.folder)

    def predict(self, cache: Any) -> dict[str, str]:
        """What the cache answers before a run, without changing this plan.

        Node -> "cached" (its key is known and stored), "will run" (known, not
        stored, or never cached) or "waits" (an input is computed first, so its
        key is known only then: it may still be served if that input comes out
        the same). A subflow node is predicted through its flow: cached when
        every node inside is. The keys of the copy used are in `predicted_keys`.
        """
        probe = dataclasses.replace(self, keys=dict(self.keys), key_parts={}, item_base={})
        states: dict[str, str] = {}
        outputs: dict[str, dict[str, Any]] = {}
        self.predicted_children = {}
        for node_id in self.order:
            node = self.flow.nodes[node_id]
            if node.is_parameter:
                states[node_id] = "cached"
                outputs[node_id] = {}
                continue
            if any(states[u] != "cached" for u in self.upstream[node_id]):
                states[node_id] = "waits"
                continue
            if node.is_output:
                states[node_id] = "cached"
                edge = self.flow.edge_into(node_id, "value")
                ref = outputs.get(edge.source, {}).get(edge.source_port) if edge else None
                outputs[node_id] = {"value": ref} if ref is not None else {}
                continue
            key = probe.resolve(node_id, lambda n: outputs.get(n, {}))
            if is_subflow(node.spec_key):
                states[node_id], outputs[node_id] = self._predict_subflow(node_id, probe, outputs, cache)
                continue
            entry = None if node_id in self.forced else cache.lookup([key]).get(key)
            if entry is not None:
                states[node_id] = "cached"
                outputs[node_id] = entry.outputs
            else:
                states[node_id] = "will run"
        self.predicted_keys = probe.keys
        self.predicted_parts = probe.key_parts
        self.predicted_outputs = outputs
        return states

    def _predict_subflow(
        self, node_id: str, probe: Plan, outputs: dict[str, dict[str, Any]], cache: Any
    ) -> tuple[str, dict[str, Any]]:
        """Plan the subflow's flow with the inputs it would get, and ask the cache about it."""
        node = self.flow.nodes[node_id]
        try:
            child_flow = self.flow.catalog.flow(node.spec_key[len(SUBFLOW_PREFIX) :])
            names = {p.name for p in child_flow.parameters()}
            refs = {}
            for edge in self.flow.edges_into(node_id):
                given = outputs.get(edge.source, {})
                refs[edge.target_port] = (
                    probe.input_digest(edge.source, edge.source_port, given),
                    given.get(edge.source_port),
                )
            values = {k: v for k, v in node.values.items() if k in names and k not in refs}
            child = make_plan(child_flow, values, refs=refs, folder=self.folder)
            states = child.predict(cache)
        except Exception:  # noqa: BLE001 - a flow that cannot be planned runs (and says why)
            return "will run", {}
        self.predicted_children[node_id] = (child, states)
        if node_id in self.forced or any(s != "cached" for s in states.values()):
            return "will run", {}
        found = {}
        for output_id, name in child_flow.output_names():
            ref = child.predicted_outputs.get(output_id, {}).get("value")
            if ref is None:
                return "will run", {}
            found[name] = ref
        return "cached", found


def _file_fingerprints(paths: list[str], folder: str | None) -> dict[str, str]:
    from plait.runtime.keys.files import fingerprints

    return fingerprints(paths, folder)


def parameter_key(name: str, digest: str) -> str:
    return _digest([KEY_VERSION, "parameter", name, digest])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def node_key(
    spec: NodeSpec,
    node: Node,
    inputs: list[tuple[str, str, str]],
    salt: str | None = None,
    known: dict[str, Any] | None = None,
    options: Any = None,
    folder: str | None = None,
    parameters: dict[str, tuple[str, Any]] | None = None,
    memo: dict[int, tuple[NodeSpec, list, str]] | None = None,
) -> NodeKey:
    """How a function node's key is made: its code, constants, files and policy.

    `known` holds the input values known before the run (constants and
    parameters) for the node type's own `cache_key` function; `parameters`
    the (name, value) of the parameters wired into it, so their files count too.
    """
    wired = {port for port, _, _ in inputs}
    names = {p.name for p in spec.inputs}
    constants = {k: v for k, v in node.values.items() if k in names and k not in wired}
    mapped = node.options.get("map_over") or spec.options.map_over
    track = True if options is None else getattr(options, "track_files", True)
    ports, spec_digest = _spec_part(spec, memo)
    parts: dict[str, Any] = {
        "node": spec.key,
        "code": spec.fingerprint,
        "code_parts": spec.code_parts,
        "code_notes": list(spec.code_notes),
        "constants": {k: value_key(v) for k, v in constants.items()},
        "values": {k: _short(v) for k, v in constants.items()},
        "parameters": {port: [name, _short(v)] for port, (name, v) in (parameters or {}).items()},
        "ports": ports,
        "map_over": mapped,
        "policy": getattr(options, "cache", "inputs"),
        "expires": getattr(options, "cache_expiration", None),
        "track_files": track,
    }
    split = getattr(options, "split", None)
    if split:  # the outputs split by key are stored with the node's result
        parts["split"] = {port: list(keys) for port, keys in sorted(split.items())}
    if salt is not None:
        parts["salt"] = salt
    if spec.cache_key is not None:
        try:
            custom = spec.cache_key(dict(known or constants))
            # Called in the library process, it comes back already hashed.
            parts["custom"] = custom.digest if isinstance(custom, KeyDigest) else value_key(custom)
        except Exception as exc:  # noqa: BLE001 - say which node's key function broke
            raise RunRefused(
                node.title,
                [f"the cache key function of node '{node.title}' failed: {type(exc).__name__}: {exc}"],
            ) from exc
    files: dict[str, str] = {}
    if track:
        from plait.runtime.keys.files import existing

        for value in [*constants.values(), *(v for _, v in (parameters or {}).values())]:
            files.update(_file_fingerprints(existing(value, folder), folder))
    parts["files"] = files

    def base_of(without: str | None) -> str:
        # The node type's own parts (its key, code and ports) enter by their digest.
        own = {
            k: v
            for k, v in parts.items()
            if k not in ("values", "parameters", "code_parts", "code_notes", "node", "code", "ports")
        }
        own["type"] = spec_digest
        if without is not None:
            own["constants"] = {k: v for k, v in own["constants"].items() if k != without}
            own["files"] = {}
        return _digest(own)

    ordered = sorted(inputs)
    return NodeKey(
        base=base_of(None),
        inputs=ordered,
        parts=parts,
        mapped=mapped,
        item_base=base_of(mapped) if mapped else None,
    )


def _spec_part(spec: NodeSpec, memo: dict[int, tuple[NodeSpec, list, str]] | None) -> tuple[list, str]:
    """A node type's ports and the digest of its key, code and ports, once per plan."""
    hit = memo.get(id(spec)) if memo is not None else None
    if hit is not None and hit[0] is spec:
        return hit[1], hit[2]
    # Ports may come from module constants (`outputs=OUTS`, `x: T`): names and types count.
    ports = [[p.name, p.type_name] for p in spec.inputs] + [
        ["->" + p.name, p.type_name] for p in spec.outputs
    ]
    digest = _digest([spec.key, spec.fingerprint, ports])
    if memo is not None:
        memo[id(spec)] = (spec, ports, digest)
    return ports, digest


def _specs_held(make: typing.Callable[..., Plan]) -> typing.Callable[..., Plan]:
    """Run `make(flow, ...)` with one catalog lookup per node type for the whole plan."""

    @functools.wraps(make)
    def holding(flow: Flow, *args: Any, **kwargs: Any) -> Plan:
        with flow.specs_held():
            return make(flow, *args, **kwargs)

    return holding


@_specs_held
def make_plan(
    flow: Flow,
    given: dict[str, Any] | None = None,
    *,
    from_text: bool | Collection[str] = False,
    only: str | None = None,
    force: typing.Iterable[str] = (),
    run_id: str = "",
    refs: dict[str, tuple[str, Any]] | None = None,
    folder: str | None = None,
) -> Plan:
    """Check the flow and its parameters and work out the run; raises RunRefused."""
    problems: list[Problem] = flow.validate()
    if problems:
        raise RunRefused(flow.name, [p.message for p in problems])
    refs = refs or {}
    values, plain = coerce_parameters(flow, given, from_text, skip=refs)

    selected = None
    if only is not None:
        flow.node(only)  # names the node when it does not exist
        selected = graph.upstream_of(flow.wiring, only) | {only}
    wiring = graph.ordered(flow.wiring, selected)
    upstream: dict[str, set[str]] = {n: set() for n in wiring}
    downstream: dict[str, set[str]] = {n: set() for n in wiring}
    for edge in flow.edges:  # an index for the scheduler, plain dicts: cheaper than the graph's views
        if edge.source in upstream and edge.target in upstream:
            upstream[edge.target].add(edge.source)
            downstream[edge.source].add(edge.target)
    order = graph.topological_order(wiring)

    forced: set[str] = set()
    for node_id in force:
        flow.node(node_id)
        if node_id in wiring:
            forced |= {node_id} | graph.downstream_of(wiring, node_id)

    plan = Plan(
        flow,
        order,
        {},
        upstream,
        downstream,
        forced,
        values=values,
        plain=plain,
        refs=refs,
        folder=folder,
        wiring=wiring,
    )
    memo: dict[int, tuple[NodeSpec, list, str]] = {}
    for node_id in order:
        node = flow.nodes[node_id]
        if node.is_parameter:
            name = node.values["name"]
            digest = refs[name][0] if name in refs else stored_digest(values[name]) or value_key(values[name])
            plan.digests[node_id] = digest
            plan.keys[node_id] = parameter_key(name, digest)
            continue
        spec = flow.spec(node)
        assert spec is not None  # validate() refused missing node types
        edges = flow.edges_into(node_id)
        inputs = [(e.target_port, e.source, e.source_port) for e in edges]
        options = flow.options(node)
        salt = run_id if options.cache == "never" else None
        wired_parameters: dict[str, Any] = {}
        for edge in edges:
            source = flow.nodes[edge.source]
            if source.is_parameter and source.values["name"] in values:
                name = source.values["name"]
                wired_parameters[edge.target_port] = (name, values[name])
        known = None
        if spec.cache_key is not None:
            names = {p.name for p in spec.inputs}
            known = {k: v for k, v in node.values.items() if k in names}
            for edge in edges:
                if edge.target_port in wired_parameters:
                    known[edge.target_port] = wired_parameters[edge.target_port][1]
                else:
                    known.pop(edge.target_port, None)
        plan.node_keys[node_id] = node_key(
            spec, node, inputs, salt, known, options, folder, wired_parameters, memo
        )
    return plan


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
    fill = {
        p.name: p.default
        for p in positional[: last + 1]
        if p.name not in provided and p.default is not REQUIRED
    }
    names = tuple(p.name for p in positional[: last + 1])
    return names, fill
