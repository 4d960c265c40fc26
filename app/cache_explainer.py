"""Before Run: which nodes the next run reuses, which it reruns, and why.

After an edit, a library save, a finished run or a return to the window (a
data file may have been saved elsewhere), the open flow's next run is planned
against the cache, as `plait explain` does. Nodes whose shown result the next
run would not reuse are marked on the canvas ("will rerun", or "may rerun"
when an upstream computes first) with the reason in their tooltip; the
inspector shows the same for the selected node.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from plait.runtime.engine import events as ev
from plait.runtime.engine.explain import CACHED, Explanation, explain_flow
from plait.runtime.engine.plan import RunRefused

# Shown states a next run can keep or redo; a failed node reruns anyway.
_REUSABLE = {ev.COMPLETED, ev.CACHED, ev.CHECKPOINT}


class CacheExplainer(QObject):
    """Keeps the open flow's explanation current; the window shows it."""

    explained = Signal()

    def __init__(
        self,
        session,
        run_settings,
        runs,
        trust,
        inspector,
        shown_run: Callable[[], Any],
        parent: QObject | None = None,
        delay_ms: int = 250,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.run_settings = run_settings
        self.runs = runs
        self.trust = trust
        self.inspector = inspector
        self.shown_run = shown_run
        self.by_node: dict[str, Explanation] = {}
        self.error: str | None = None
        self.timer = QTimer(self, singleShot=True, interval=delay_ms)
        self.timer.timeout.connect(self.explain_now)
        # The data files the flow's keys read: saving one elsewhere re-explains at once.
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(lambda _: self.schedule())

    def schedule(self) -> None:
        """Explain again once edits settle (bigger flows wait a little longer)."""
        doc = self.session.document
        size = len(doc.flow.nodes) if doc is not None else 0
        self.timer.setInterval(250 if size < 300 else 1000)
        self.timer.start()

    def explain_now(self) -> None:
        session = self.session
        doc = session.document
        self.by_node, self.error = {}, None
        if doc is None or session.workspace is None or session.problems or self.trust.restricted:
            self._show()
            return
        if self._running(doc.flow.id):
            return  # the run's own events say what each node does
        flow = doc.flow
        values = self.run_settings.defaults(flow)
        try:
            cache = self.runs.engine_for_workspace().cache
            found = explain_flow(session.workspace, flow, cache, values)
        except RunRefused as refused:
            self.error = str(refused)
            found = []
        except Exception as exc:  # noqa: BLE001 - a hint, never a reason to lose the window
            self.error = f"{type(exc).__name__}: {exc}"
            found = []
        self.by_node = {e.node_id: e for e in found}
        self._watch(session.workspace.folder, found)
        self._show()

    def _watch(self, folder: Path, found: list[Explanation]) -> None:
        wanted = set()
        for item in found:
            for text in item.files:
                path = Path(text).expanduser()
                path = path if path.is_absolute() else Path(folder) / path
                if path.is_file():
                    wanted.add(str(path))
        watched = set(self.watcher.files())
        if watched - wanted:
            self.watcher.removePaths(sorted(watched - wanted))
        if wanted - watched:  # editors save by replacing files: watch them again each time
            self.watcher.addPaths(sorted(wanted - watched))

    def _running(self, flow_id: str) -> bool:
        live = self.shown_run()
        return (
            live is not None
            and getattr(live, "flow_id", None) == flow_id
            and not getattr(live, "finished", True)
        )

    def _show(self) -> None:
        scene = self.session.scene
        if scene is not None:
            for node_id, item in scene.nodes.items():
                status = item.status
                if status is None or status.state not in _REUSABLE:
                    continue
                found = self.by_node.get(node_id)
                if found is None:
                    continue
                status.stale = found.state != CACHED
                status.next_run = None if found.state == CACHED else found.state
                status.why = tuple(found.reasons)
                item.set_status(status)
        self.inspector.set_explanations(self.by_node)
        self.explained.emit()
