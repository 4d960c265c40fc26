"""The workspace side of the window: open folders and flows, save, drafts, library reloads."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from plait.app.controllers.session import SessionController
from plait.app.document import FlowDocument
from plait.app.recovery import Drafts
from plait.runtime.flow.model import Flow
from plait.runtime.nodes.loader import workspace_sources
from plait.runtime.workspace.store import WorkspaceError, open_workspace
from plait.widgets.words import plural

MAX_RECENT = 8
DRAFT_DELAY_MS = 1500


class WorkspaceController(SessionController):
    """Everything that reads or writes the workspace: its folder, flows, drafts and libraries.

    `show_document` is the window's: it puts a flow document on the canvas.
    """

    workspace_changed = Signal()  # another folder is open (its flow not shown yet)
    opened = Signal()  # the folder is open and a flow shown
    catalog_changed = Signal()  # the libraries were loaded again: ports may differ
    flows_changed = Signal()  # a flow was saved, renamed or deleted

    def __init__(
        self,
        session,
        questions,
        settings,
        runs,
        trust,
        palette,
        flows_dock,
        recent_menu,
        view,
        show_document,
        parent: QWidget,
    ) -> None:
        super().__init__(session, parent)
        self.questions = questions
        self.settings = settings
        self.runs = runs
        self.trust = trust
        self.palette = palette
        self.flows_dock = flows_dock
        self.recent_menu = recent_menu
        self.view = view
        self.show_document = show_document
        self.drafts: Drafts | None = None
        self._draft_timer = QTimer(self, singleShot=True, interval=DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.write_draft)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(lambda _: self._reload_timer.start())
        self.watcher.directoryChanged.connect(lambda _: self._reload_timer.start())
        self._reload_timer = QTimer(self, singleShot=True, interval=300)
        self._reload_timer.timeout.connect(self.reload_libraries)
        self.flows_dock.new_requested.connect(self.new_flow)
        self.flows_dock.open_requested.connect(self.open_flow)
        self.flows_dock.version_requested.connect(lambda flow_id, version: self.open_flow(flow_id, version))
        self.flows_dock.rename_requested.connect(self.rename_flow)
        self.flows_dock.duplicate_requested.connect(self.duplicate_flow)
        self.flows_dock.delete_requested.connect(self.delete_flow)
        self._update_recent_menu()

    @property
    def catalog(self):
        return self.session.catalog

    # -- workspaces ----------------------------------------------------------

    def choose_workspace(self) -> None:
        start = str(self.workspace.folder) if self.workspace else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self.parent(), "Open workspace folder", start)
        if folder:
            self.open_workspace(folder)

    def open_workspace(self, folder: str | Path | None = None, flow: str | None = None) -> bool:
        """Open a folder as the workspace (the default one when None), on `flow` (name or id) if given."""
        if not self.maybe_save():
            return False
        try:
            workspace = open_workspace(folder)
        except WorkspaceError as exc:
            QMessageBox.warning(self.parent(), "Cannot open workspace", str(exc))
            return False
        self.close_workspace()
        self.session.workspace = workspace
        self.drafts = Drafts(workspace.data_dir)
        # Built-in nodes, the workspace's libraries and its flows (as subflows): imported
        # in the library process when the folder is trusted, else read from source only.
        self.session.catalog = self._load_catalog(self.trust.loader_for(workspace.folder))
        self.palette.set_catalog(self.catalog)
        self.view.catalog = self.catalog
        self._watch()
        self._remember_recent(workspace.folder)
        self.runs.set_workspace(workspace, self.catalog)
        self.trust.apply()
        self.workspace_changed.emit()
        if not self._offer_drafts():
            flows = sorted(workspace.flows(), key=lambda f: f.updated, reverse=True)
            last = self.settings.value(f"last_flow/{workspace.folder}")
            chosen = next((f for f in flows if flow in (f.id, f.name)), None) if flow else None
            if flow and chosen is None:
                self.show_message(f"This workspace has no flow '{flow}'")
            chosen = chosen or next((f for f in flows if f.id == last), flows[0] if flows else None)
            if chosen is not None:
                self.open_flow(chosen.id, ask=False)
            else:
                self.new_flow(ask=False)
        self.refresh_flows()
        self.opened.emit()
        return True

    def _load_catalog(self, loader: str):
        self.show_message("Loading the workspace's node libraries…")
        catalog = self.workspace.catalog(loader=loader)
        failed = [lib.name for lib in catalog.libraries if lib.error]
        self.show_message(f"{', '.join(failed)} failed to load (see the palette)" if failed else "")
        return catalog

    def reload_catalog(self, loader: str) -> None:
        """Load the libraries again another way (restricted to trusted); the canvas follows."""
        old = self.catalog
        self.session.catalog = self._load_catalog(loader)
        if old is not None:
            old.close()
        self.palette.set_catalog(self.catalog)
        self.view.catalog = self.catalog
        self.runs.set_workspace(self.workspace, self.catalog)
        if self.document is not None:
            self.document.catalog = self.catalog
            self.document.flow.catalog = self.catalog
        self.catalog_changed.emit()

    def close_workspace(self) -> None:
        self._draft_timer.stop()
        if self.catalog is not None:
            self.catalog.close()  # stops the library process
        if self.workspace is not None:
            if self.document is not None and not self.document.read_only:
                self.settings.setValue(f"last_flow/{self.workspace.folder}", self.document.flow.id)
            paths = self.watcher.files() + self.watcher.directories()
            if paths:
                self.watcher.removePaths(paths)
            self.workspace.close()
            self.session.workspace = None

    def _remember_recent(self, folder: Path) -> None:
        recent = [str(folder)] + [p for p in self.recent_workspaces() if p != str(folder)]
        self.settings.setValue("recent_workspaces", recent[:MAX_RECENT])
        self._update_recent_menu()

    def recent_workspaces(self) -> list[str]:
        value = self.settings.value("recent_workspaces", []) or []
        return [value] if isinstance(value, str) else list(value)

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_workspaces():
            self.recent_menu.addAction(path, lambda p=path: self.open_workspace(p))
        self.recent_menu.setEnabled(bool(self.recent_workspaces()))

    # -- flows ---------------------------------------------------------------

    def refresh_flows(self) -> None:
        if self.workspace is None:
            return
        current = self.document.flow.id if self.document else None
        self.flows_dock.set_flows(self.workspace.flows(), self.workspace.versions, current)

    def _unique_name(self, base: str) -> str:
        taken = {f.name for f in self.workspace.flows()} if self.workspace else set()
        name, n = base, 2
        while name in taken:
            name, n = f"{base} {n}", n + 1
        return name

    def new_flow(self, ask: bool = True) -> None:
        if ask and not self.maybe_save():
            return
        flow = Flow(self._unique_name("Untitled flow"), catalog=self.catalog)
        document = FlowDocument(flow, self.catalog)
        document.unsaved_base = bool(ask)  # a flow someone asked for is worth a save prompt
        self.show_document(document)
        self.refresh_flows()

    def open_flow(self, flow_id: str, version: int | None = None, ask: bool = True) -> bool:
        """Open a flow's latest version, or an older one read-only."""
        if ask and not self.maybe_save():
            return False
        try:
            flow = self.workspace.load_flow(flow_id, version, catalog=self.catalog)
        except WorkspaceError as exc:
            self.show_message(str(exc))
            return False
        latest = self.workspace.flow_info(flow_id).latest_version
        self.show_document(
            FlowDocument(flow, self.catalog, read_only=version is not None and version != latest)
        )
        self.refresh_flows()
        return True

    def save(self) -> bool:
        doc = self.document
        if doc is None or doc.read_only or self.workspace is None:
            return False
        if not self._is_saved(doc.flow.id) and not self._name_new_flow(doc.flow):
            return False
        try:
            version = self.workspace.save_flow(doc.flow)
        except WorkspaceError as exc:
            QMessageBox.warning(self.parent(), "Cannot save", str(exc))
            return False
        doc.mark_saved()
        self.drafts.discard(doc.flow.id)
        self.refresh_flows()
        self.flows_changed.emit()  # a flow saved for the first time can be scheduled now
        self.show_message(f"Saved '{doc.flow.name}' as version {version}")
        return True

    def _is_saved(self, flow_id: str) -> bool:
        return self.workspace.has_flow(flow_id)

    def _name_new_flow(self, flow) -> bool:
        """A flow's first save asks for its name ("Untitled flow" is nobody's choice)."""
        taken = {f.name for f in self.workspace.flows()}
        suggestion = flow.name
        while True:
            name = self.questions.ask_flow_name(suggestion)
            if name is None:
                return False
            name = name.strip()
            if name and name not in taken:
                break
            self.show_message(
                f"A flow named '{name}' exists already; choose another name"
                if name
                else "A flow needs a name"
            )
            suggestion = name or flow.name
        if name != flow.name:
            flow.set_flow_field("name", name)  # the inspector follows
        return True

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False when the person cancels."""
        doc = self.document
        if doc is None or doc.read_only or not doc.modified:
            return True
        answer = self.questions.ask_save_changes()
        if answer == "save":
            return self.save()
        if answer == "discard":
            if self.drafts is not None:
                self.drafts.discard(doc.flow.id)
            doc.mark_saved()  # nothing left to ask about
            return True
        return False

    def rename_flow(self, flow_id: str) -> None:
        info = self.workspace.flow_info(flow_id)
        name, ok = QInputDialog.getText(self.parent(), "Rename flow", "New name:", text=info.name)
        if ok and name.strip():
            self.rename_flow_to(flow_id, name.strip())

    def rename_flow_to(self, flow_id: str, name: str) -> None:
        try:
            self.workspace.rename_flow(flow_id, name)
        except WorkspaceError as exc:
            self.show_message(str(exc))
            return
        if self.document is not None and self.document.flow.id == flow_id:
            self.document.flow.set_flow_field("name", name)  # the inspector follows
        self.refresh_flows()
        self.flows_changed.emit()

    def duplicate_flow(self, flow_id: str) -> None:
        copy = self.workspace.duplicate_flow(flow_id)
        self.refresh_flows()
        self.show_message(f"Saved a copy as '{copy.name}'")

    def delete_flow(self, flow_id: str) -> None:
        info = self.workspace.flow_info(flow_id)
        versions = (
            "its saved version"
            if info.latest_version == 1
            else f"all its {plural(info.latest_version, 'saved version')}"
        )
        if not self.questions.confirm(
            "Delete flow", f"Delete '{info.name}' and {versions}? This cannot be undone."
        ):
            return
        self.workspace.delete_flow(flow_id)
        self.drafts.discard(flow_id)
        if self.document is not None and self.document.flow.id == flow_id:
            self.document.mark_saved()
            self.new_flow(ask=False)
        self.refresh_flows()
        self.flows_changed.emit()

    # -- recovery drafts -------------------------------------------------------

    def schedule_draft(self) -> None:
        if self.drafts is not None and self.document is not None and not self.document.read_only:
            self._draft_timer.start()

    def write_draft(self) -> None:
        doc = self.document
        if self.drafts is None or doc is None or doc.read_only:
            return
        if doc.modified:
            self.drafts.write(doc.flow)
        else:
            self.drafts.discard(doc.flow.id)

    def _offer_drafts(self) -> bool:
        """Offer each draft found at launch; True when one was restored and opened."""
        # One flow is open at a time: the first draft accepted opens, and any
        # further ones stay on disk to be offered at the next launch.
        for draft in self.drafts.all():
            if self.questions.ask_restore_draft(draft):
                document = FlowDocument(draft.to_flow(self.catalog), self.catalog)
                document.unsaved_base = True
                self.show_document(document)
                return True
            self.drafts.discard(draft.flow_id)
        return False

    # -- libraries ---------------------------------------------------------------

    def _watch(self) -> None:
        folder = self.workspace.folder
        # The folder, its files and its packages' files and folders (`pkg/__init__.py`).
        sources = workspace_sources(folder)
        paths = (
            [str(folder)]
            + sorted({str(p.parent) for p in sources} - {str(folder)})
            + [str(p) for p in sources]
        )
        current = set(self.watcher.files() + self.watcher.directories())
        wanted = [p for p in paths if p not in current]
        if wanted:
            self.watcher.addPaths(wanted)

    def reload_libraries(self) -> list[str]:
        """Re-import changed library files; nodes on the canvas pick up changed ports."""
        if self.catalog is None or self.workspace is None:
            return []
        changed = self.catalog.reload()
        self._watch()  # editors save by replacing files, which drops them from the watch
        if changed:
            self.runs.libraries_changed()
            self.palette.set_catalog(self.catalog)
            self.catalog_changed.emit()
            failed = [lib.name for lib in self.catalog.libraries if lib.error and lib.name in changed]
            self.show_message(
                f"Reloaded {', '.join(changed)}"
                + (f"; {', '.join(failed)} failed to import (see the palette)" if failed else "")
            )
        return changed
