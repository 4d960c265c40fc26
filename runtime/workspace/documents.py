"""Flow documents: a flow as a readable, stable, diff-friendly JSON file, and back.

The same flow always gives the same bytes: keys are sorted, each node is its
own block, small values sit on one line, positions are rounded as the
workspace rounds them, and wires are one line each (`"load.result -> clean.table"`).
So flows can live in git, be reviewed and be shared. Example workspaces ship
their flows this way and are imported into their database on first open.

    {
      "description": "",
      "edges": [
        "read.result -> clean.table"
      ],
      "format": "plait-flow",
      "id": "5f0c...",
      "name": "iris",
      "nodes": [
        {
          "id": "read",
          "position": [0, 0],
          "title": "Read table",
          "type": "plait.runtime.builtins:read_table",
          "values": {"path": "iris.csv"}
        }
      ],
      "version": 1
    }
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.runtime.flow.model import Edge, Flow, Node
from plait.runtime.nodes.port_types import PARAMETER_TYPES
from plait.runtime.nodes.spec import NodeOptions
from plait.runtime.nodes.splitting import SPLIT_OPTION, check_split
from plait.runtime.workspace.store import WorkspaceError

FORMAT = "plait-flow"
FORMAT_VERSION = 1
FLOWS_FOLDER = "flows"  # where a workspace keeps the documents it is seeded from
SEEDED_SETTING = "seeded_from_documents"
WIDTH = 100  # a small value goes on one line when it fits in this many columns

_DOCUMENT_FIELDS = {"format", "version", "id", "name", "description", "extras", "nodes", "edges"}
_NODE_FIELDS = {"id", "type", "title", "position", "values", "options"}
_EDGE = re.compile(r"^(?P<source>.+)\.(?P<source_port>\w+) -> (?P<target>.+)\.(?P<target_port>\w+)$")

log = logging.getLogger(__name__)


class DocumentError(WorkspaceError):
    """A flow document that cannot be read; the message names the file, node and field."""


# -- writing ----------------------------------------------------------------------


def _number(value: float) -> float | int:
    """Positions as the workspace stores them (2 decimals), without a needless `.0`."""
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded


def flow_document(flow: Flow) -> dict[str, Any]:
    """The flow as a plain document (what `export_flow` writes)."""
    nodes = []
    for node_id in sorted(flow.nodes):
        node = flow.nodes[node_id]
        block: dict[str, Any] = {
            "id": node.id,
            "type": node.spec_key,
            "title": node.title,
            "position": [_number(node.position[0]), _number(node.position[1])],
        }
        # Empty mappings are left out: most nodes set few values and no options.
        if node.values:
            block["values"] = node.values
        if node.options:
            block["options"] = node.options
        nodes.append(block)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "id": flow.id,
        "name": flow.name,
        "description": flow.description,
        "extras": flow.extras,
        "nodes": nodes,
        "edges": [f"{e.source}.{e.source_port} -> {e.target}.{e.target_port}" for e in flow.edges],
    }


def export_flow(flow: Flow) -> str:
    """The flow as a flow document: sorted keys, one node per block, a newline at the end."""
    return _dump(flow_document(flow), 0) + "\n"


def _dump(value: Any, depth: int, indent: int = 0) -> str:
    """JSON text where the document, its lists, each node and a node's values are blocks,
    and smaller values take one line when they fit: a change to one value touches one
    line of a diff."""
    flat = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
    if not isinstance(value, (dict, list)) or not value:
        return flat
    inline_from = 3 if isinstance(value, list) else 4  # positions inline; values one per line
    if depth >= inline_from and indent + len(flat) <= WIDTH:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(key, ensure_ascii=False)}: {_dump(value[key], depth + 1, indent + 2)}"
            for key in sorted(value)
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_dump(item, depth + 1, indent + 2)}" for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


# -- reading ----------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; write a number, or null")


def parse_flow(text: str, *, source: str = "the document") -> Flow:
    """Read a flow document into a Flow (not saved); raises DocumentError saying what is wrong."""
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise DocumentError(f"{source}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise DocumentError(
            f'{source} is not a Plait flow document: its "format" is {found!r}, expected {FORMAT!r}'
        )
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DocumentError(f'{source}: "version" must be a whole number from 1, got {version!r}')
    if version > FORMAT_VERSION:
        raise DocumentError(
            f"{source} was written by a newer Plait (flow document version "
            f"{version}; this Plait reads up to {FORMAT_VERSION}). Upgrade "
            "Plait to import it."
        )
    _unknown(doc, _DOCUMENT_FIELDS, source)
    name = _field(doc, "name", str, source)
    if not name.strip():
        raise DocumentError(f'{source}: "name" must not be empty')
    flow_id = doc.get("id") or uuid.uuid4().hex
    if not isinstance(flow_id, str):
        raise DocumentError(f'{source}: "id" must be text, got {flow_id!r}')
    description = _field(doc, "description", str, source, "")
    extras = _field(doc, "extras", dict, source, {})
    nodes = [
        _node(block, index, source) for index, block in enumerate(_field(doc, "nodes", list, source, []))
    ]
    seen: set[str] = set()
    for node in nodes:
        if node.id in seen:
            raise DocumentError(f"{source}: two nodes have the id '{node.id}'; ids must differ")
        seen.add(node.id)
    edges = _edges(_field(doc, "edges", list, source, []), {n.id: n for n in nodes}, source)
    return Flow.from_parts(name, nodes, edges, id=flow_id, description=description, extras=extras)


def _field(doc: dict[str, Any], name: str, kind: type, where: str, default: Any = ...) -> Any:
    if name not in doc:
        if default is ...:
            raise DocumentError(f'{where} has no "{name}"')
        return default
    value = doc[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise DocumentError(f'{where}: "{name}" must be {_KIND_NAMES[kind]}, got {value!r}')
    return value


_KIND_NAMES = {str: "text", dict: "an object", list: "a list"}


def _unknown(doc: dict[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(doc) - known)
    if extra:
        # Refused rather than dropped: importing would silently lose them.
        raise DocumentError(
            f"{where} has unknown field(s) {', '.join(map(repr, extra))}; "
            f"known fields are {', '.join(sorted(known))}"
        )


def _node(block: Any, index: int, source: str) -> Node:
    if not isinstance(block, dict):
        raise DocumentError(f"{source}: node {index + 1} must be an object, got {block!r}")
    node_id = block.get("id")
    if not isinstance(node_id, str) or not node_id or " -> " in node_id:
        raise DocumentError(
            f"{source}: node {index + 1} needs an \"id\" (text without ' -> '), got {node_id!r}"
        )
    where = f"{source}, node '{node_id}'"
    _unknown(block, _NODE_FIELDS, where)
    spec_key = _field(block, "type", str, where)
    title = _field(block, "title", str, where, node_id)
    position = block.get("position", [0, 0])
    if not (
        isinstance(position, list)
        and len(position) == 2
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in position
        )
    ):
        raise DocumentError(f'{where}: "position" must be [x, y] numbers, got {position!r}')
    values = _field(block, "values", dict, where, {})
    options = _field(block, "options", dict, where, {})
    known_options = set(NodeOptions.__dataclass_fields__)
    for option in options:
        if option not in known_options:
            raise DocumentError(
                f"{where}: unknown option '{option}'; options are {', '.join(sorted(known_options))}"
            )
    if SPLIT_OPTION in options and (why := check_split(options[SPLIT_OPTION])):
        raise DocumentError(f"{where}: {why}")
    node = Node(node_id, spec_key, title, (float(position[0]), float(position[1])), values, options)
    if node.is_parameter:
        _check_parameter(node, where)
    return node


def _check_parameter(node: Node, where: str) -> None:
    name = node.values.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise DocumentError(
            f'{where}: a parameter needs a "name" in its values made of letters, digits and _, got {name!r}'
        )
    kind = node.values.get("type", "any")
    if kind not in PARAMETER_TYPES:
        raise DocumentError(
            f"{where}: parameter '{name}' has unknown type {kind!r}; types are {', '.join(PARAMETER_TYPES)}"
        )


def _edges(lines: list[Any], nodes: dict[str, Node], source: str) -> list[Edge]:
    edges: list[Edge] = []
    taken: dict[tuple[str, str], str] = {}
    for line in lines:
        match = _EDGE.match(line) if isinstance(line, str) else None
        if match is None:
            raise DocumentError(f'{source}: the wire {line!r} is not written as "node.output -> node.input"')
        edge = Edge(**match.groupdict())
        for end in (edge.source, edge.target):
            if end not in nodes:
                raise DocumentError(
                    f"{source}: the wire {line!r} refers to node '{end}', which the document does not have"
                )
        into = (edge.target, edge.target_port)
        if into in taken:
            raise DocumentError(
                f"{source}: input '{edge.target_port}' of node '{edge.target}' "
                f"has two wires ({taken[into]!r} and {line!r}); keep one"
            )
        taken[into] = line
        edges.append(edge)
    return edges


# -- importing into a workspace ---------------------------------------------------------


def import_flow(
    text: str,
    workspace: Any,
    *,
    name: str | None = None,
    source: str = "the document",
    catalog: Any = None,
) -> Flow:
    """Save a flow document into a workspace and return the saved flow.

    With a `catalog` (the workspace's node types) the flow is first checked as
    a run would check it; a flow with problems raises DocumentError listing
    them all, and nothing is saved.

    Without `name` it becomes a new version of the flow with the document's
    id, else of the flow with its name, else a new flow. With `name` it is
    saved under that name: a new version of the flow so named, or a new flow
    (a copy, when the document's flow is already in the workspace).
    An unchanged flow writes no new version.
    """
    flow = parse_flow(text, source=source)
    if catalog is not None:
        check_document(flow, catalog, source)
    by_id = _lookup(workspace, flow.id, "id")
    if name is not None:
        if not name.strip():
            raise DocumentError("the name to import a flow under must not be empty")
        flow.name = name.strip()
        by_name = _lookup(workspace, flow.name, "name")
        if by_name is not None:
            flow.id = by_name.id
        elif by_id is not None:
            flow.id = uuid.uuid4().hex  # the document's flow stays as it is
    elif by_id is None:
        by_name = _lookup(workspace, flow.name, "name")
        if by_name is not None:
            flow.id = by_name.id
    workspace.save_flow(flow)
    return flow


def check_document(flow: Flow, catalog: Any, source: str = "the document") -> None:
    """Raise DocumentError listing every problem that would stop `flow` from running."""
    flow.catalog = catalog
    problems = flow.validate()
    if problems:
        lines = "\n".join(f"  - {p.message}" for p in problems)
        raise DocumentError(
            f"{source}: flow '{flow.name}' would not run, so nothing was imported:\n{lines}\n"
            "Fix the document (or add the libraries it needs to the workspace) and import it again"
            " (plait import --force saves it as it is)."
        )


def import_file(
    path: str | os.PathLike[str], workspace: Any, *, name: str | None = None, catalog: Any = None
) -> Flow:
    """Import the flow document at `path` (see `import_flow`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DocumentError(f"{path} is not a text file (not UTF-8)") from None
    return import_flow(text, workspace, name=name, source=str(path), catalog=catalog)


def _lookup(workspace: Any, value: str, by: str) -> Any:
    """The workspace's flow whose `by` ("id" or "name") is `value`, or None."""
    return next((info for info in workspace.flows() if getattr(info, by) == value), None)


@dataclass
class Seeded:
    """What `seed_from_documents` did: the flows it imported and the documents it could not."""

    flows: list[Flow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def document_paths(folder: str | os.PathLike[str]) -> list[Path]:
    """The flow documents a workspace folder ships: `flows/*.json`, by name."""
    return sorted(Path(folder, FLOWS_FOLDER).glob("*.json"))


def seed_from_documents(workspace: Any) -> Seeded:
    """Import `flows/*.json` into a workspace whose database has no flows yet, once.

    A document that cannot be read is reported in `problems` and logged, never
    raised: a bad file must not keep the workspace from opening.
    """
    seeded = Seeded()
    paths = document_paths(workspace.folder)
    if not paths or workspace.flows() or workspace.get_setting(SEEDED_SETTING):
        return seeded
    for path in paths:
        try:
            seeded.flows.append(import_file(path, workspace))
        except WorkspaceError as exc:
            seeded.problems.append(str(exc))
            log.warning("not imported: %s", exc)
    # Once only: flows the user later deletes stay deleted.
    workspace.set_setting(SEEDED_SETTING, [p.name for p in paths])
    return seeded


def export_files(flows: Iterable[Flow], folder: str | os.PathLike[str]) -> list[Path]:
    """Write each flow as `<folder>/<name>.json`; returns the files written."""
    written = []
    for flow in flows:
        path = Path(folder) / f"{re.sub(r'[^0-9A-Za-z._-]+', '-', flow.name).strip('-')}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(export_flow(flow), encoding="utf-8")
        written.append(path)
    return written
