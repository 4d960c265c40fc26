"""Copying and pasting nodes: what goes on the clipboard and how it comes back.

The clipboard holds plain JSON (nodes, the wires between them, frames), so a
copy in one flow pastes into another, and even into another Plait window.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from plait.runtime.flow.model import Edge, Flow, Node


def copy_selection(flow: Flow, node_ids: list[str], frame_ids: list[str] = ()) -> dict[str, Any]:
    """The selected nodes, the wires among them, and the selected frames."""
    chosen = set(node_ids)
    nodes = [flow.nodes[n].to_dict() for n in sorted(chosen)]
    edges = [
        [e.source, e.source_port, e.target, e.target_port]
        for e in flow.edges
        if e.source in chosen and e.target in chosen
    ]
    frames = [copy.deepcopy(f) for f in flow.extras.get("frames", []) if f["id"] in frame_ids]
    return {"plait": "nodes", "nodes": nodes, "edges": edges, "frames": frames}


def to_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1)


def from_text(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("plait") == "nodes" else None


def paste_plan(
    flow: Flow, data: dict[str, Any], offset: tuple[float, float]
) -> tuple[list[Node], list[Edge], list[dict[str, Any]]]:
    """Fresh nodes (new ids, moved by `offset`), their wires and frames, ready to add."""
    dx, dy = offset
    renamed: dict[str, str] = {}
    taken = set(flow.nodes)
    nodes = []
    for raw in data.get("nodes", []):
        base = raw["id"].rstrip("0123456789").rstrip("_") or "node"
        n = 1
        while f"{base}_{n}" in taken:
            n += 1
        new_id = f"{base}_{n}"
        taken.add(new_id)
        renamed[raw["id"]] = new_id
        x, y = raw.get("position", (0, 0))
        nodes.append(
            Node(
                new_id,
                raw["spec_key"],
                raw["title"],
                (float(x) + dx, float(y) + dy),
                copy.deepcopy(raw.get("values", {})),
                copy.deepcopy(raw.get("options", {})),
            )
        )
    edges = [
        Edge(renamed[s], sp, renamed[t], tp)
        for s, sp, t, tp in data.get("edges", [])
        if s in renamed and t in renamed
    ]
    frames = []
    for frame in data.get("frames", []):
        x, y, w, h = frame["rect"]
        frames.append({**copy.deepcopy(frame), "id": uuid.uuid4().hex[:12], "rect": [x + dx, y + dy, w, h]})
    return nodes, edges, frames


def bounds(data: dict[str, Any]) -> tuple[float, float]:
    """The top-left corner of the copied nodes and frames."""
    xs = [n["position"][0] for n in data.get("nodes", [])] + [f["rect"][0] for f in data.get("frames", [])]
    ys = [n["position"][1] for n in data.get("nodes", [])] + [f["rect"][1] for f in data.get("frames", [])]
    return (min(xs, default=0.0), min(ys, default=0.0))
