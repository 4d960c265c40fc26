"""The File menu's Export (JSON, SVG, PNG, DOT, Python script) and Import (JSON).

The work is the runtime's (`documents`, `drawing`,
`scripts`), done off the GUI thread. Anything that goes wrong is told as a
message naming the file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from plait.app.controllers.session import SessionController

EXPORTS = {
    "json": ("Flow document (JSON)…", "Flow documents (*.json)"),
    "svg": ("Drawing (SVG)…", "SVG drawings (*.svg)"),
    "png": ("Drawing (PNG)…", "PNG images (*.png)"),
    "dot": ("Graphviz source (DOT)…", "Graphviz (*.dot *.gv)"),
    "py": ("Python script…", "Python scripts (*.py)"),
}


def _export_bytes(flow, fmt: str, folder: Path, path: Path, states: dict) -> bytes:
    if fmt == "json":
        from plait.runtime.workspace.documents import export_flow

        return export_flow(flow).encode()
    if fmt == "py":
        from plait.runtime.export.scripts import export_script

        return export_script(flow, folder, path).encode()
    from plait.runtime.export.drawing import draw_flow

    return draw_flow(flow, fmt, states)


class ExportController(SessionController):
    """Exporting the open flow and importing flow documents."""

    def __init__(self, session, questions, runs, workspaces, parent) -> None:
        super().__init__(session, parent)
        self.questions = questions
        self.runs = runs
        self.workspaces = workspaces

    def make_export_menu(self, file_menu) -> None:
        self.export_menu = file_menu.addMenu("&Export")
        self.export_menu.setObjectName("ExportMenu")
        for fmt, (text, _) in EXPORTS.items():
            action = self.export_menu.addAction(text, lambda f=fmt: self.choose_export(f))
            action.setObjectName(f"export_{fmt}")
        action = file_menu.addAction("&Import flow document…", self.choose_import)
        action.setObjectName("import")

    def choose_export(self, fmt: str) -> None:
        if self.document is None:
            return
        text, filters = EXPORTS[fmt]
        start = str(
            (self.workspace.folder if self.workspace else Path.home()) / f"{self.document.flow.name}.{fmt}"
        )
        path, _ = QFileDialog.getSaveFileName(self.parent(), f"Export {text.rstrip('…')}", start, filters)
        if path:
            self.runs.background(self.export_to(path, fmt))

    async def export_to(self, path: str, fmt: str | None = None) -> bool:
        """Write the open flow to `path` as json, svg, png, dot or py (from the extension)."""
        path = Path(path)
        fmt = fmt or path.suffix.lstrip(".").lower()
        flow = self.document.flow.copy()
        states = {}
        scene = self.session.scene
        if fmt in ("svg", "png") and scene is not None:
            states = {n: s.state for n, s in scene.statuses().items()}
        folder = self.workspace.folder if self.workspace else path.parent
        try:
            data = await asyncio.to_thread(_export_bytes, flow, fmt, folder, path, states)
            await asyncio.to_thread(path.write_bytes, data)
        except Exception as exc:  # noqa: BLE001 - runtime errors carry a message for people
            self.questions.tell("Export failed", f"Cannot export '{flow.name}' to {path}:\n{exc}")
            return False
        self.session.say(f"Exported '{flow.name}' to {path}")
        return True

    def choose_import(self) -> None:
        if self.workspace is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self.parent(), "Import flow document", str(self.workspace.folder), "Flow documents (*.json)"
        )
        if path:
            self.import_from(path)

    def import_from(self, path: str) -> str | None:
        """Import a flow document as a new flow or version, and open it; returns its id."""
        from plait.runtime.workspace.documents import import_file
        from plait.runtime.workspace.store import WorkspaceError

        if not self.workspaces.maybe_save():
            return None
        try:
            flow = import_file(path, self.workspace)
        except (WorkspaceError, ValueError) as exc:
            self.questions.tell("Import failed", str(exc))
            return None
        self.workspaces.refresh_flows()
        self.workspaces.open_flow(flow.id, ask=False)
        self.session.say(f"Imported '{flow.name}' (version {flow.version})")
        return flow.id
