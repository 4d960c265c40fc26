"""Recovery drafts: unsaved edits written aside, offered back after a crash.

A draft is `.plait/drafts/<flow id>.json` in the workspace: the flow's name,
the version it was based on and its full content. It is removed when the flow
is saved or its changes are discarded, so a draft found at launch means the
last session ended without either.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.runtime.flow.model import Edge, Flow, Node, SpecSource
from plait.runtime.workspace.private import open_private, private_dir


@dataclass
class Draft:
    flow_id: str
    name: str
    base_version: int
    saved: float
    content: dict[str, Any]

    def to_flow(self, catalog: SpecSource | None) -> Flow:
        """The drafted flow, ready to edit (its version is the one it was based on)."""
        nodes = [
            Node(
                n["id"],
                n["spec_key"],
                n["title"],
                tuple(n["position"]),
                n.get("values", {}),
                n.get("options", {}),
            )
            for n in self.content["nodes"]
        ]
        edges = [Edge(*e) for e in self.content["edges"]]
        return Flow.from_parts(
            self.name,
            nodes,
            edges,
            id=self.flow_id,
            description=self.content.get("description", ""),
            catalog=catalog,
            version=self.base_version,
            extras=self.content.get("extras", {}),
        )


class Drafts:
    """The drafts folder of one workspace."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / "drafts"

    def _path(self, flow_id: str) -> Path:
        return self.folder / f"{flow_id}.json"

    def write(self, flow: Flow) -> Path:
        private_dir(self.folder)
        path = self._path(flow.id)
        tmp = path.with_suffix(".tmp")
        blob = {
            "flow_id": flow.id,
            "name": flow.name,
            "base_version": flow.version,
            "saved": time.time(),
            "content": flow.content(),
        }
        with open_private(tmp) as fh:
            fh.write(json.dumps(blob).encode())
        os.replace(tmp, path)  # never leave a half-written draft behind
        return path

    def discard(self, flow_id: str) -> None:
        self._path(flow_id).unlink(missing_ok=True)

    def all(self) -> list[Draft]:
        drafts = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                blob = json.loads(path.read_text())
                drafts.append(
                    Draft(
                        blob["flow_id"],
                        blob["name"],
                        int(blob["base_version"]),
                        float(blob["saved"]),
                        blob["content"],
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged draft is not worth a crash at launch
        return drafts
