"""The flow model: nodes, edges and the edits a designer makes to them.

A `Flow` is plain Python. Every edit is a method that checks itself, changes
the flow and tells its observers, so the window (or anything else) can follow
without the model knowing it exists.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import operator
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from plait.runtime.flow import graph as walks
from plait.runtime.flow.parts import (  # noqa: F401 - re-exported: the model's vocabulary
    OUTPUT_INPUT,
    OUTPUT_KEY,
    OUTPUT_SPEC,
    PARAMETER_FIELDS,
    PARAMETER_KEY,
    PARAMETER_OUTPUT,
    PARAMETER_SPEC,
    ConnectionRefused,
    Edge,
    EdgeAdded,
    EdgeRemoved,
    FlowChanged,
    FlowError,
    ManyEdits,
    Node,
    NodeAdded,
    NodeChanged,
    NodeRemoved,
    Parameter,
    SpecSource,
)
from plait.runtime.nodes.hints import among_choices, describe_choices
from plait.runtime.nodes.port_types import (
    FITS,
    IMPOSSIBLE,
    OK,
    PARAMETER_TYPES,
    Fit,
    parameter_type,
    type_name,
    wire_fit,
)
from plait.runtime.nodes.spec import NodeOptions, NodeSpec, Port
from plait.runtime.nodes.splitting import SPLIT_OPTION, check_split, split_outputs

_UNSET = object()


def _slug(text: str) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return slug or "node"


def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise FlowError(
            f"{what} cannot be saved ({exc}); use a number, text, true/false, a list or a mapping of those"
        ) from None


# Edges sort as their dataclass order does, by a tuple key instead of __lt__ calls.
_EDGE_ORDER = operator.attrgetter("source", "source_port", "target", "target_port")

_PORT_INDEX: dict[int, tuple[tuple[Port, ...], dict[str, Port]]] = {}


def ports_by_name(ports: tuple[Port, ...]) -> dict[str, Port]:
    """A node type's ports by name, kept per ports tuple: a 1,000-input node is indexed once."""
    if len(ports) < 8:
        return {p.name: p for p in ports}
    hit = _PORT_INDEX.get(id(ports))
    if hit is not None and hit[0] is ports:
        return hit[1]
    if len(_PORT_INDEX) >= 1024:
        _PORT_INDEX.pop(next(iter(_PORT_INDEX)))
    index = {p.name: p for p in ports}
    _PORT_INDEX[id(ports)] = (ports, index)
    return index


def _options(spec: NodeSpec | None, node: Node) -> NodeOptions:
    """A node's effective options, its type's with its own overrides, once its type is known."""
    base = spec.options if spec is not None else _NO_OPTIONS
    return base.merged(node.options) if node.options else base


def _wanted(options: NodeOptions, port: Port) -> Any:
    """What a wire into `port` must carry: a list of the port's type when it is mapped over."""
    if options.map_over == port.name:
        return list[port.annotation] if port.annotation is not Any else list
    return port.annotation


_NO_OPTIONS = NodeOptions()


class Flow:
    """A flow: nodes and the wires between them, with checked edits."""

    def __init__(
        self,
        name: str,
        *,
        id: str | None = None,
        description: str = "",
        catalog: SpecSource | None = None,
        version: int = 0,
        extras: dict[str, Any] | None = None,
    ) -> None:
        self.id = id or uuid.uuid4().hex
        self.name = name
        self.description = description
        self.catalog = catalog
        self.version = version
        # Layout that is saved with the flow but is not part of the graph
        # (frames, comments, view state).
        self.extras: dict[str, Any] = extras or {}
        self.nodes: dict[str, Node] = {}
        self._edges: set[Edge] = set()
        self._into: dict[tuple[str, str], Edge] = {}
        # slug -> a number below which every `slug_N` is taken: new ids in O(1), not a probe
        # of slug_1, slug_2, ... each time.
        self._free_from: dict[str, int] = {}
        self._spec_memo: dict[str, NodeSpec | None] | None = None  # see specs_held
        # The wires out of and into each node that has some (a set is made with a node's
        # first wire: ten thousand empty sets are work for the garbage collector).
        self._out_of: dict[str, set[Edge]] = {}
        self._in_of: dict[str, set[Edge]] = {}
        # Node ids, for the walks in `plait.runtime.flow.graph`: made when first asked for,
        # then kept up to date by every edit.
        self._wiring: walks.Wiring | None = None
        # A topological order kept edit by edit: whether a new wire closes a cycle, in O(1)
        # for a wire that follows it.
        self._order = walks.Order(
            self.nodes,
            lambda n: [e.target for e in self._out_of.get(n, ())],
            lambda n: [e.source for e in self._in_of.get(n, ())],
        )
        self._observers: list[Callable[[object], None]] = []

    # -- construction -----------------------------------------------------

    @classmethod
    def from_parts(
        cls,
        name: str,
        nodes: Iterable[Node],
        edges: Iterable[Edge],
        **kwargs: Any,
    ) -> Flow:
        """Build a flow in bulk, as loading does: no per-edge checks.

        What the checks would have refused (a cycle, a wire to a port that no
        longer exists) is kept and reported by `validate()`, never dropped.
        """
        flow = cls(name, **kwargs)
        for node in nodes:
            flow.nodes[node.id] = node
        for edge in edges:
            if edge.source not in flow.nodes or edge.target not in flow.nodes:
                continue  # a wire to nothing cannot be drawn or run
            flow._index_edge(edge)
        return flow

    def copy(self) -> Flow:
        return Flow.from_parts(
            self.name,
            [
                Node(n.id, n.spec_key, n.title, n.position, dict(n.values), dict(n.options))
                for n in self.nodes.values()
            ],
            list(self._edges),
            id=self.id,
            description=self.description,
            catalog=self.catalog,
            version=self.version,
            extras=json.loads(json.dumps(self.extras)),
        )

    # -- observers --------------------------------------------------------

    def observe(self, callback: Callable[[object], None]) -> Callable[[], None]:
        """Call `callback(event)` after every edit; returns an unsubscribe function."""
        self._observers.append(callback)
        return lambda: self._observers.remove(callback) if callback in self._observers else None

    def _emit(self, event: object) -> None:
        for callback in list(self._observers):
            callback(event)

    @contextlib.contextmanager
    def many_edits(self) -> Iterator[None]:
        """Edits made within are one step: observers hear `ManyEdits(True)` before them and
        `ManyEdits(False)` after (moving thousands of nodes, the canvas draws each wire once)."""
        self._emit(ManyEdits(True))
        try:
            yield
        finally:
            self._emit(ManyEdits(False))

    # -- lookups ----------------------------------------------------------

    @property
    def edges(self) -> list[Edge]:
        return sorted(self._edges, key=_EDGE_ORDER)

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise FlowError(f"flow '{self.name}' has no node '{node_id}'") from None

    def spec(self, node: Node | str) -> NodeSpec | None:
        """The node type of a node, or None when it is not available."""
        if isinstance(node, str):
            node = self.node(node)
        if node.is_parameter:
            return PARAMETER_SPEC
        if node.is_output:
            return OUTPUT_SPEC
        memo = self._spec_memo
        if memo is not None:
            hit = memo.get(node.spec_key, _UNSET)
            if hit is not _UNSET:
                return hit
        found = self.catalog.get(node.spec_key) if self.catalog is not None else None
        if memo is not None:
            memo[node.spec_key] = found
        return found

    @contextlib.contextmanager
    def specs_held(self) -> Iterator[None]:
        """Within this block each node type is looked up in the catalog once (a whole check)."""
        if self._spec_memo is not None:
            yield
            return
        self._spec_memo = {}
        try:
            yield
        finally:
            self._spec_memo = None

    def inputs(self, node: Node | str) -> tuple[Port, ...]:
        spec = self.spec(node)
        return spec.inputs if spec else ()

    def outputs(self, node: Node | str) -> tuple[Port, ...]:
        if isinstance(node, str):
            node = self.node(node)
        return self.outputs_of(node, None if node.is_parameter else self.spec(node))

    def outputs_of(self, node: Node, spec: NodeSpec | None) -> tuple[Port, ...]:
        """`outputs`, for a node whose type has been looked up already (`spec`)."""
        if node.is_parameter:
            annotation = parameter_type(node.values.get("type", "any"))
            return (
                Port(PARAMETER_OUTPUT, annotation=annotation, description=node.values.get("description", "")),
            )
        if spec is None:
            return ()
        # Outputs split by key add one output per key (a per-node option, read directly).
        outputs = split_outputs(spec.outputs, node.options.get(SPLIT_OPTION))
        if _options(spec, node).map_over:
            # A mapped node gives the list of its items' results on each output.
            return tuple(
                dataclasses.replace(p, annotation=list[p.annotation] if p.annotation is not Any else list)
                for p in outputs
            )
        return outputs

    def input_port(self, node: Node | str, name: str) -> Port | None:
        """The node's input called `name`, found by name (not by a scan of every port)."""
        return ports_by_name(self.inputs(node)).get(name)

    def output_port(self, node: Node | str, name: str) -> Port | None:
        return ports_by_name(self.outputs(node)).get(name)

    def input_annotation(self, node: Node, port: Port) -> Any:
        """What a wire into `port` must carry: a list of the port's type when it is mapped over."""
        return _wanted(self.options(node), port)

    def options(self, node: Node | str) -> NodeOptions:
        """The node's effective options: its type's, with its own overrides."""
        if isinstance(node, str):
            node = self.node(node)
        return _options(self.spec(node), node)

    def edge_into(self, node_id: str, port: str) -> Edge | None:
        return self._into.get((node_id, port))

    def edges_into(self, node_id: str) -> list[Edge]:
        return sorted(self._in_of.get(node_id, ()), key=_EDGE_ORDER)

    def edges_out_of(self, node_id: str) -> list[Edge]:
        return sorted(self._out_of.get(node_id, ()), key=_EDGE_ORDER)

    def parameters(self) -> list[Parameter]:
        params = []
        for node in self.nodes.values():
            if node.is_parameter:
                v = node.values
                params.append(
                    Parameter(
                        node.id,
                        v.get("name", node.title),
                        v.get("type", "any"),
                        v.get("default"),
                        v.get("description", ""),
                        required="default" not in v,
                    )
                )
        return sorted(params, key=lambda p: p.name)

    @property
    def wiring(self) -> walks.Wiring:
        """Which nodes feed which, as a networkx DiGraph of node ids (see `plait.runtime.flow.graph`).

        The flow keeps it up to date; read it, never edit it.
        """
        if self._wiring is None:
            self._wiring = walks.Wiring.of(self.nodes, self._edges)
        return self._wiring

    def cycles(self) -> list[set[str]]:
        """The groups of nodes that form cycles (a node wired into itself is one)."""
        if self._order.ordered():
            return []
        return walks.cycles(self.wiring)

    def graph(self) -> Any:
        """The flow as a networkx MultiDiGraph (node attribute `node`, edge key the ports)."""
        import networkx as nx

        graph = nx.MultiDiGraph(name=self.name)
        for node in self.nodes.values():
            graph.add_node(node.id, node=node)
        for edge in self._edges:
            graph.add_edge(
                edge.source,
                edge.target,
                key=f"{edge.source_port}->{edge.target_port}",
                source_port=edge.source_port,
                target_port=edge.target_port,
            )
        return graph

    def new_node_id(self, base: str) -> str:
        slug = _slug(base)
        n = self._free_from.get(slug, 1)
        while f"{slug}_{n}" in self.nodes:
            n += 1
        self._free_from[slug] = n  # the lowest free number, as it always was
        return f"{slug}_{n}"

    # -- edits ------------------------------------------------------------

    def add_node(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise FlowError(f"flow '{self.name}' already has a node '{node.id}'")
        _check_json(node.values, f"the values of node '{node.title}'")
        self.nodes[node.id] = node
        if self._wiring is not None:
            self._wiring.add_node(node.id)
        self._order.add_node(node.id)
        self._emit(NodeAdded(node))
        return node

    def create_node(
        self,
        spec: NodeSpec,
        position: tuple[float, float] = (0.0, 0.0),
        title: str | None = None,
        node_id: str | None = None,
    ) -> Node:
        """Add a new node of a type, with a fresh readable id."""
        name = spec.key.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        node = Node(
            node_id or self.new_node_id(name),
            spec.key,
            title or spec.title,
            (float(position[0]), float(position[1])),
        )
        return self.add_node(node)

    def add_parameter(
        self,
        name: str,
        type: str = "any",
        default: Any = _UNSET,
        description: str = "",
        position: tuple[float, float] = (0.0, 0.0),
        node_id: str | None = None,
    ) -> Node:
        """Add a flow parameter node; with no default, every run must give a value."""
        if type not in PARAMETER_TYPES:
            raise FlowError(
                f"parameter '{name}' has unknown type '{type}'; choose one of {', '.join(PARAMETER_TYPES)}"
            )
        node = Node(
            node_id or self.new_node_id(f"param_{name}"),
            PARAMETER_KEY,
            name,
            (float(position[0]), float(position[1])),
            {"name": name, "type": type, "description": description},
        )
        if default is not _UNSET:
            node.values["default"] = default
        return self.add_node(node)

    def add_output(
        self, name: str, position: tuple[float, float] = (0.0, 0.0), node_id: str | None = None
    ) -> Node:
        """Add a flow output node: what this flow gives when used inside another flow."""
        if not name.isidentifier():
            raise FlowError(f"'{name}' cannot name a flow output: use letters, digits and _")
        node = Node(
            node_id or self.new_node_id(f"output_{name}"),
            OUTPUT_KEY,
            name,
            (float(position[0]), float(position[1])),
            {"name": name},
        )
        return self.add_node(node)

    def output_names(self) -> list[tuple[str, str]]:
        """(node id, name) of every flow output node, by name."""
        return sorted(
            ((n.id, n.values.get("name", n.title)) for n in self.nodes.values() if n.is_output),
            key=lambda pair: pair[1],
        )

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and every wire touching it; returns both, for undo."""
        node = self.node(node_id)
        removed = sorted(self._in_of.get(node_id, set()) | self._out_of.get(node_id, set()))
        for edge in removed:
            self.disconnect(edge)
        del self.nodes[node_id]
        slug, _, number = node_id.rpartition("_")
        if number.isdigit() and slug in self._free_from:
            self._free_from[slug] = min(self._free_from[slug], int(number))
        self._out_of.pop(node_id, None)
        self._in_of.pop(node_id, None)
        if self._wiring is not None:
            self._wiring.remove_node(node_id)
        self._order.remove_node(node_id)
        self._emit(NodeRemoved(node))
        return node, removed

    def check_connect(self, edge: Edge) -> Fit:
        """Raise ConnectionRefused if `edge` may not be added, saying why; else how types fit."""
        if edge.source not in self.nodes:
            raise ConnectionRefused(f"flow '{self.name}' has no node '{edge.source}'")
        if edge.target not in self.nodes:
            raise ConnectionRefused(f"flow '{self.name}' has no node '{edge.target}'")
        src, dst = self.nodes[edge.source], self.nodes[edge.target]
        # Each end's type is looked up once: this runs for every wire of a flow built in code.
        src_spec, dst_spec = self.spec(src), self.spec(dst)
        out_port = ports_by_name(self.outputs_of(src, src_spec)).get(edge.source_port)
        if out_port is None:
            if src_spec is None:
                raise ConnectionRefused(
                    f"node '{src.title}' has type '{src.spec_key}', which is not available"
                )
            raise ConnectionRefused(f"node '{src.title}' has no output '{edge.source_port}'")
        in_port = ports_by_name(dst_spec.inputs if dst_spec else ()).get(edge.target_port)
        if in_port is None:
            if dst_spec is None:
                raise ConnectionRefused(
                    f"node '{dst.title}' has type '{dst.spec_key}', which is not available"
                )
            raise ConnectionRefused(f"node '{dst.title}' has no input '{edge.target_port}'")
        if not in_port.wireable:
            raise ConnectionRefused(
                f"input '{in_port.name}' of node '{dst.title}' collects extra arguments "
                "and cannot take a wire"
            )
        existing = self._into.get((edge.target, edge.target_port))
        if existing is not None:
            raise ConnectionRefused(
                f"input '{edge.target_port}' of node '{dst.title}' already has a wire "
                f"(from '{self.nodes[existing.source].title}'); remove it first"
            )
        # A node with no wires out reaches nothing: most new wires leave the newest node.
        if edge.source == edge.target or (
            edge.target in self._out_of and self._order.reaches(edge.target, edge.source)
        ):
            # the only cycle check a new wire needs: the source downstream of the target
            raise ConnectionRefused(f"wiring '{src.title}' into '{dst.title}' would make a cycle")
        fit = self.port_fit(src, out_port, dst, _options(dst_spec, dst), in_port)
        if not fit.allowed:
            raise ConnectionRefused(fit.reason)
        return fit

    def judge_wire(self, edge: Edge) -> Fit:
        """The wiring rule, for the canvas as for `connect`: fine, doubtful or impossible, and why.

        Impossible: a missing node or port, a taken input, a cycle, or types that
        can never match. Doubtful: allowed, with the reason the types may disagree.
        """
        try:
            return self.check_connect(edge)
        except ConnectionRefused as exc:
            return Fit(IMPOSSIBLE, str(exc))

    def wire_fit(self, edge: Edge) -> Fit:
        """How the types at the two ends of a wire fit (present or not), naming both ports."""
        src, dst = self.nodes.get(edge.source), self.nodes.get(edge.target)
        if src is None or dst is None:
            return FITS
        out_port = self.output_port(src, edge.source_port)
        in_port = self.input_port(dst, edge.target_port)
        if out_port is None or in_port is None:
            return FITS  # a vanished port is a problem of its own
        return self.port_fit(src, out_port, dst, self.options(dst), in_port)

    @staticmethod
    def port_fit(src: Node, out_port: Port, dst: Node, dst_options: NodeOptions, in_port: Port) -> Fit:
        """`wire_fit` once both ports and the target's options are known, as `connect` and
        validation know them: no lookups, so checking every wire stays linear."""
        wanted = _wanted(dst_options, in_port)
        fit = wire_fit(out_port.annotation, wanted)
        if fit.verdict == OK:
            return fit
        link = "but" if not fit.allowed else "and"
        given = type_name(out_port.annotation)
        return Fit(
            fit.verdict,
            f"output '{out_port.name}' of '{src.title}' is {given}, "
            f"{link} input '{in_port.name}' of '{dst.title}' takes {type_name(wanted)}: "
            f"{fit.reason}",
        )

    def output_annotation(self, output_id: str) -> Any:
        """The type a flow output node gives: that of the output wired into it."""
        edge = self.edge_into(output_id, OUTPUT_INPUT)
        if edge is None or edge.source not in self.nodes:
            return Any
        port = self.output_port(edge.source, edge.source_port)
        return port.annotation if port is not None else Any

    def connect(self, source: str, source_port: str, target: str, target_port: str) -> Edge:
        """Wire an output to an input, or raise ConnectionRefused saying why not."""
        edge = Edge(source, source_port, target, target_port)
        self.check_connect(edge)
        self._index_edge(edge)
        self._emit(EdgeAdded(edge))
        return edge

    def restore_edge(self, edge: Edge) -> Edge:
        """Put back a wire exactly as it was, unchecked (undo of removing a broken wire)."""
        if edge.source not in self.nodes or edge.target not in self.nodes:
            raise FlowError(f"flow '{self.name}' cannot restore wire {edge}: a node is missing")
        self._index_edge(edge)
        self._emit(EdgeAdded(edge))
        return edge

    def disconnect(self, edge: Edge) -> Edge:
        if edge not in self._edges:
            raise FlowError(f"flow '{self.name}' has no wire {edge}")
        self._edges.discard(edge)
        if self._into.get((edge.target, edge.target_port)) == edge:
            del self._into[(edge.target, edge.target_port)]
            # A duplicate wire kept by a bulk load takes over the input.
            for other in self._in_of[edge.target]:
                if other != edge and other.target_port == edge.target_port:
                    self._into[(edge.target, edge.target_port)] = other
                    break
        for index, node_id in ((self._out_of, edge.source), (self._in_of, edge.target)):
            wires = index[node_id]
            wires.discard(edge)
            if not wires:
                del index[node_id]
        if self._wiring is not None:
            self._wiring.remove_wire(edge.source, edge.target)
        self._order.remove_wire(edge.source, edge.target)
        self._emit(EdgeRemoved(edge))
        return edge

    def set_value(self, node_id: str, port: str, value: Any = _UNSET) -> None:
        """Set a constant for an input (or a parameter's field); no value clears it."""
        self._set_value(node_id, port, value, choices=True)

    def restore_value(self, node_id: str, port: str, value: Any = _UNSET) -> None:
        """Put back a value exactly as it was, even one outside its input's choices (undo)."""
        self._set_value(node_id, port, value, choices=False)

    def _set_value(self, node_id: str, port: str, value: Any, choices: bool) -> None:
        node = self.node(node_id)
        if value is not _UNSET:
            _check_json(value, f"the value of '{port}' on node '{node.title}'")
        if node.is_parameter:
            self._check_parameter_field(node, port, value, choices)
        if node.is_output and port == "name" and not (isinstance(value, str) and value.isidentifier()):
            raise FlowError(f"'{value}' cannot name a flow output: use letters, digits and _")
        if choices and value is not _UNSET and not (node.is_parameter or node.is_output):
            problem = self.outside_choices(node, port, value)
            if problem:
                raise FlowError(problem)
        old = node.values.get(port, _UNSET)
        if value is _UNSET:
            node.values.pop(port, None)
        else:
            node.values[port] = value
        if (node.is_parameter or node.is_output) and port == "name" and value is not _UNSET:
            node.title = value
        self._emit(
            NodeChanged(
                node_id, "value", port, None if old is _UNSET else old, None if value is _UNSET else value
            )
        )

    def outside_choices(self, node: Node, port: str, value: Any) -> str | None:
        """Why `value` cannot be the constant of a `Literal` or Enum input, or None when it can."""
        found = self.input_port(node, port)
        if found is None or not found.choices or self.options(node).map_over == port:
            return None
        if among_choices(value, found.choices):
            return None
        return (
            f"input '{port}' of node '{node.title}' takes {describe_choices(found.choices)}, "
            f"not {value!r}: choose one of those"
        )

    def _check_parameter_field(self, node: Node, field_name: str, value: Any, choices: bool = True) -> None:
        if field_name not in PARAMETER_FIELDS:
            raise FlowError(f"a parameter has no field '{field_name}'; it has {', '.join(PARAMETER_FIELDS)}")
        if field_name == "type" and value not in PARAMETER_TYPES:
            raise FlowError(
                f"parameter '{node.title}' cannot have type '{value}'; "
                f"choose one of {', '.join(PARAMETER_TYPES)}"
            )
        if field_name == "name" and (not isinstance(value, str) or not value.isidentifier()):
            raise FlowError(f"'{value}' cannot name a parameter: use letters, digits and _")
        if choices and field_name == "default" and value is not _UNSET:
            for edge in self.edges_out_of(node.id):
                reason = self.outside_choices(self.nodes[edge.target], edge.target_port, value)
                if reason:
                    raise FlowError(f"parameter '{node.title}' cannot default to {value!r}: {reason}")

    def set_option(self, node_id: str, name: str, value: Any = _UNSET) -> None:
        """Override one of a node's options; no value goes back to its type's."""
        node = self.node(node_id)
        if name not in NodeOptions.__dataclass_fields__:
            raise FlowError(f"node '{node.title}' has no option '{name}'")
        if value is not _UNSET:
            _check_json(value, f"option '{name}' of node '{node.title}'")
            if name == SPLIT_OPTION and (why := check_split(value)):
                raise FlowError(f"node '{node.title}': {why}")
        old = node.options.get(name, _UNSET)
        if value is _UNSET:
            node.options.pop(name, None)
        else:
            node.options[name] = value
        self._emit(
            NodeChanged(
                node_id, "option", name, None if old is _UNSET else old, None if value is _UNSET else value
            )
        )

    def move(self, node_id: str, x: float, y: float) -> None:
        node = self.node(node_id)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise FlowError(f"node '{node.title}' cannot move to ({x}, {y})")
        old, node.position = node.position, (float(x), float(y))
        self._emit(NodeChanged(node_id, "position", None, old, node.position))

    def rename(self, node_id: str, title: str) -> None:
        node = self.node(node_id)
        title = title.strip()
        if not title:
            raise FlowError(f"node '{node.title}' needs a non-empty title")
        old, node.title = node.title, title
        self._emit(NodeChanged(node_id, "title", None, old, title))

    def set_flow_field(self, what: str, value: Any) -> None:
        """Change the flow's name, description or extras."""
        if what not in ("name", "description", "extras"):
            raise FlowError(f"a flow has no field '{what}'")
        if what == "name" and not str(value).strip():
            raise FlowError("a flow needs a non-empty name")
        if what == "extras":
            _check_json(value, f"the layout of flow '{self.name}'")
        old = getattr(self, what)
        setattr(self, what, value)
        self._emit(FlowChanged(what, old, value))

    # -- graph internals --------------------------------------------------

    def _index_edge(self, edge: Edge) -> None:
        count = len(self._edges)
        self._edges.add(edge)
        if len(self._edges) == count:
            return  # a wire given twice to a bulk load counts once
        if self._wiring is not None:
            self._wiring.add_wire(edge.source, edge.target)
        self._into.setdefault((edge.target, edge.target_port), edge)
        for index, node_id in ((self._out_of, edge.source), (self._in_of, edge.target)):
            wires = index.get(node_id)
            if wires is None:
                index[node_id] = wires = set()
            wires.add(edge)
        self._order.add_wire(edge.source, edge.target)

    # -- content ----------------------------------------------------------

    def content(self) -> dict[str, Any]:
        """Everything a saved version holds, in a stable order (names excluded).

        A deep copy: a snapshot taken before an edit does not change with it.
        """
        return json.loads(
            json.dumps(
                {
                    "description": self.description,
                    "extras": self.extras,
                    "nodes": [self.nodes[k].to_dict() for k in sorted(self.nodes)],
                    "edges": [[e.source, e.source_port, e.target, e.target_port] for e in self.edges],
                }
            )
        )

    def digest(self) -> str:
        blob = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def validate(self) -> list:
        """Every problem of the flow, attached to nodes and ports; never raises."""
        from plait.runtime.flow.validation import validate

        with self.specs_held():
            return validate(self)

    def __repr__(self) -> str:
        return f"<Flow {self.name!r} v{self.version}: {len(self.nodes)} nodes, {len(self._edges)} edges>"
