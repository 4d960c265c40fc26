"""The main window: canvas in the centre, docks around it, menus and a toolbar.

The window builds the docks, the actions and menus, and the controllers
(`plait.app.controllers`) that do the work, hands each the widgets and the
shared `Session` it needs, and wires their signals. It keeps none of the
model: the open flow's `FlowDocument` holds the flow and its undo stack;
the scene, the inspector and the palette follow it.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from plait.app.auto_layout import AutoLayout
from plait.app.cache_explainer import CacheExplainer
from plait.app.controllers.editing import EditingController
from plait.app.controllers.export import ExportController
from plait.app.controllers.history import HistoryController, RunDocks
from plait.app.controllers.ports import PortMenuController
from plait.app.controllers.questions import Questions
from plait.app.controllers.running import RunningController, RunSettings
from plait.app.controllers.schedules import ScheduleController
from plait.app.controllers.session import Session
from plait.app.controllers.trust import TrustControl
from plait.app.controllers.workspace import WorkspaceController
from plait.app.document import FlowDocument
from plait.app.live_runs import LiveRuns
from plait.app.theme import apply_theme
from plait.widgets.canvas.scene import FlowScene
from plait.widgets.canvas.view import FlowView
from plait.widgets.flows_dock import FlowsDock
from plait.widgets.inspector import Inspector
from plait.widgets.logs_dock import LogsDock
from plait.widgets.outputs_dock import OutputsDock
from plait.widgets.palette import Palette
from plait.widgets.runs_dock import RunsDock
from plait.widgets.schedules_dock import SchedulesDock
from plait.widgets.trust_banner import TrustBanner
from plait.widgets.words import plural


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setObjectName("PlaitMainWindow")
        self.settings = settings or QSettings("plait", "plait")
        self.session = Session(self)
        self.session.message.connect(self.show_message)
        self.questions = Questions(self, self.session)
        self._unobserve = lambda: None
        self.shut_down = False
        self.view = FlowView(self)
        # The canvas, under the banner a restricted workspace shows.
        self.trust_banner = TrustBanner(self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.trust_banner)
        column.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self.resize(1400, 880)  # before the docks: tab bars laid out at another size linger
        self._make_docks()
        self.runs = LiveRuns(self)  # the window's side of the engine
        self._make_actions()
        self._make_controllers()
        self._make_menus()
        self._make_toolbar()
        self.problem_label = QLabel(self)
        self.zoom_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.problem_label)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self._validate_timer = QTimer(self, singleShot=True, interval=0)
        self._validate_timer.timeout.connect(self.validate)
        self.theme = self.settings.value("theme", "light")
        self.set_theme(self.theme)
        self._restore_layout()

    def _make_controllers(self) -> None:
        session, questions, runs, act = self.session, self.questions, self.runs, self.actions_by_name
        self.run_settings = RunSettings(self.settings, session)
        self.trust_control = TrustControl(
            session, self.trust_banner, act, self.schedules_dock, self.outputs_dock, runs, self
        )
        self.explainer = CacheExplainer(
            session, self.run_settings, runs, self.trust_control, self.inspector, lambda: self.shown_run, self
        )
        self.recent_menu = QMenu("Recent &workspaces", self)
        self.workspaces = WorkspaceController(
            session,
            questions,
            self.settings,
            runs,
            self.trust_control,
            self.palette_widget,
            self.flows_dock,
            self.recent_menu,
            self.view,
            self.set_document,
            self,
        )
        self.layouter = AutoLayout(session, self.view, self.statusBar(), self)
        self.editing = EditingController(session, questions, self.view, self.layouter, self)
        docks = RunDocks(
            self.runs_dock, self.outputs_dock, self.logs_dock, self.outputs_dock_widget, self.logs_dock_widget
        )
        self.history = HistoryController(
            session, questions, self.run_settings, runs, self.trust_control, self.explainer, docks, self
        )
        self.running = RunningController(
            session,
            questions,
            self.run_settings,
            runs,
            self.trust_control,
            self.workspaces,
            self.history,
            self.statusBar(),
            act["stop"],
            self,
        )
        self.schedules = ScheduleController(
            session,
            questions,
            self.settings,
            self.run_settings,
            runs,
            self.trust_control,
            self.schedules_dock,
            self,
        )
        self.export = ExportController(session, questions, runs, self.workspaces, self)
        self.ports = PortMenuController(session, self.history, self)
        # What one side does that others follow.
        self.workspaces.workspace_changed.connect(self.history.forget_shown)
        self.workspaces.opened.connect(self._workspace_opened)
        self.workspaces.catalog_changed.connect(self._catalog_changed)
        self.workspaces.flows_changed.connect(self.update_title)
        self.workspaces.flows_changed.connect(self.schedules.refresh_schedules)
        self.trust_control.trusted.connect(self._trusted)
        self.palette_widget.activated.connect(self.editing.add_node_in_free_space)
        self.runs_dock.rerun_requested.connect(self.running.rerun)
        self.outputs_dock.recompute_requested.connect(lambda n: self.running.run_flow(force=(n,)))

    # -- what the controllers share, for those who look at the window -------

    @property
    def workspace(self):
        return self.session.workspace

    @property
    def catalog(self):
        return self.session.catalog

    @property
    def document(self) -> FlowDocument | None:
        return self.session.document

    @property
    def scene(self) -> FlowScene | None:
        return self.session.scene

    @property
    def problems(self) -> list:
        return self.session.problems

    @property
    def shown_run(self):
        return self.history.shown_run

    def open_workspace(self, folder=None, flow: str | None = None) -> bool:
        """Open a folder as the workspace (the default one when None), on `flow` if given."""
        return self.workspaces.open_workspace(folder, flow)

    def _workspace_opened(self) -> None:
        self.history.refresh_runs()
        self.schedules.refresh_schedules()
        self.schedules.start_scheduler()

    def _catalog_changed(self) -> None:
        if self.scene is not None:
            self.scene.refresh_ports()
        self.inspector.refresh()
        self.validate()

    def _trusted(self) -> None:
        self.workspaces.reload_catalog("process")
        self.trust_control.apply()
        self.schedules.start_scheduler()
        self.schedules.refresh_schedules()
        self.explainer.schedule()
        if self.outputs_dock.node_id is not None:
            self.history.show_outputs(self.outputs_dock.node_id)

    # -- layout ------------------------------------------------------------

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title}Dock")
        dock.setWidget(widget)
        if area is not None:
            self.addDockWidget(area, dock)
        return dock

    def _make_docks(self) -> None:
        self.palette_widget = Palette(self)
        self.inspector = Inspector(self)
        self.flows_dock = FlowsDock(self)
        self.palette_dock = self._dock("Palette", self.palette_widget, Qt.LeftDockWidgetArea)
        self.flows_dock_widget = self._dock("Flows", self.flows_dock, Qt.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [250, 320], Qt.Horizontal)
        self.resizeDocks([self.palette_dock, self.flows_dock_widget], [520, 260], Qt.Vertical)
        # Run docks along the bottom: logs and outputs side by side, runs and schedules tabbed.
        self.logs_dock = LogsDock(self)
        self.outputs_dock = OutputsDock(self)
        self.runs_dock = RunsDock(self)
        self.schedules_dock = SchedulesDock(self)
        # Each dock goes straight to its place: docks moved after being placed leave
        # stray tab bars behind (Qt 6.11).
        self.logs_dock_widget = self._dock("Logs", self.logs_dock, Qt.BottomDockWidgetArea)
        self.outputs_dock_widget = self._dock("Outputs", self.outputs_dock, None)
        self.runs_dock_widget = self._dock("Runs", self.runs_dock, None)
        self.schedules_dock_widget = self._dock("Schedules", self.schedules_dock, None)
        self.splitDockWidget(self.logs_dock_widget, self.outputs_dock_widget, Qt.Horizontal)
        self.tabifyDockWidget(self.logs_dock_widget, self.runs_dock_widget)
        self.tabifyDockWidget(self.outputs_dock_widget, self.schedules_dock_widget)
        self.logs_dock_widget.raise_()
        self.outputs_dock_widget.raise_()

    def _action(
        self,
        name: str,
        text: str,
        slot=None,
        shortcut=None,
        tip: str = "",
        canvas: bool = False,
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(slot)
        if canvas:
            # Single keys (F, L, Del) act on the canvas only, never while typing elsewhere.
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.view.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _make_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        a = self._action
        a(
            "new_flow",
            "&New flow",
            lambda: self.workspaces.new_flow(),
            QKeySequence.New,
            "Start a new, empty flow",
        )
        a(
            "open_workspace",
            "&Open workspace folder…",
            lambda: self.workspaces.choose_workspace(),
            QKeySequence.Open,
            "Open a folder as a workspace",
        )
        a(
            "save",
            "&Save",
            lambda: self.workspaces.save(),
            QKeySequence.Save,
            "Save the flow as a new version",
        )
        a("quit", "&Quit", self.close, QKeySequence.Quit)
        a(
            "delete",
            "&Delete",
            lambda: self.editing.delete_selection(),
            QKeySequence.Delete,
            "Delete the selected nodes, wires and frames",
            canvas=True,
        )
        a("copy", "&Copy", lambda: self.editing.copy_selection(), QKeySequence.Copy, canvas=True)
        a("paste", "&Paste", lambda: self.editing.paste(), QKeySequence.Paste, canvas=True)
        a("duplicate", "D&uplicate", lambda: self.editing.duplicate(), "Ctrl+D", canvas=True)
        a("select_all", "Select &all", lambda: self.editing.select_all(), QKeySequence.SelectAll, canvas=True)
        a(
            "frame",
            "&Frame selection",
            lambda: self.editing.frame_selection(),
            "Ctrl+G",
            "Put a frame around the selected nodes",
            canvas=True,
        )
        a(
            "comment",
            "Add co&mment",
            lambda: self.editing.add_comment(),
            "Ctrl+Shift+M",
            "Add a note on the canvas",
        )
        a(
            "add_parameter",
            "Add &parameter",
            lambda: self.editing.add_node_in_free_space("plait:parameter"),
            tip="Add a flow parameter node",
        )
        a(
            "layout",
            "Auto-&layout",
            lambda: self.editing.auto_layout(),
            "L",
            "Lay the flow out left to right (Graphviz dot)",
            canvas=True,
        )
        a("fit", "&Fit view", lambda: self.view.fit_view(), "F", "Show the whole flow", canvas=True)
        a("zoom_in", "Zoom &in", lambda: self.view.zoom_by(1.25), QKeySequence.ZoomIn)
        a("zoom_out", "Zoom &out", lambda: self.view.zoom_by(0.8), QKeySequence.ZoomOut)
        a("zoom_reset", "&Actual size", self.view.reset_zoom, "Ctrl+0")
        a("snap", "Snap to &grid", self.set_snap, "Ctrl+'", "Snap moved nodes to the grid", checkable=True)
        a(
            "minimap",
            "&Minimap",
            self.set_minimap,
            "M",
            "Show an overview of large flows",
            canvas=True,
            checkable=True,
        )
        a("dark", "&Dark theme", lambda on: self.set_theme("dark" if on else "light"), checkable=True)
        a("run", "&Run", lambda: self.running.run_flow(), "F5", "Run the flow (asks for its parameters)")
        a(
            "run_file",
            "Run with parameters &file…",
            lambda: self.running.run_with_file(),
            tip="Run the flow with the values in a JSON parameters file",
        )
        trust = a(
            "trust",
            "&Trust this workspace",
            lambda: self.trust_control.trust_now(),
            tip="Run this workspace's code: it was made elsewhere and opened restricted",
        )
        trust.setVisible(False)
        stop = a("stop", "&Stop", lambda: self.running.stop_run(), "Esc", "Cancel the running flow")
        stop.setEnabled(False)
        a(
            "schedules",
            "S&chedules…",
            lambda: (self.schedules_dock_widget.show(), self.schedules_dock_widget.raise_()),
            tip="Run this flow on a schedule",
        )
        undo_group = self.undo_actions()
        self.actions_by_name.update(undo_group)
        self.actions_by_name["snap"].setChecked(self.settings.value("snap", False, type=bool))
        self.actions_by_name["minimap"].setChecked(self.settings.value("minimap", True, type=bool))
        self.view.minimap.enabled_by_user = self.actions_by_name["minimap"].isChecked()

    def undo_actions(self) -> dict[str, QAction]:
        undo = QAction("&Undo", self)
        undo.setObjectName("undo")
        undo.setShortcut(QKeySequence.Undo)
        undo.triggered.connect(lambda: self.document and self.document.undo_stack.undo())
        redo = QAction("&Redo", self)
        redo.setObjectName("redo")
        # The platform's redo (Ctrl+Shift+Z on Linux and macOS) and Ctrl+Y, which
        # people coming from Windows and office programs reach for first.
        keys = QKeySequence.keyBindings(QKeySequence.Redo)
        keys += [k for k in (QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")) if k not in keys]
        redo.setShortcuts(keys)
        redo.triggered.connect(lambda: self.document and self.document.undo_stack.redo())
        return {"undo": undo, "redo": redo}

    def _make_menus(self) -> None:
        act = self.actions_by_name
        bar = self.menuBar()
        file = bar.addMenu("&File")
        for name in ("new_flow", "open_workspace"):
            file.addAction(act[name])
        file.addMenu(self.recent_menu)
        file.addAction(act["trust"])
        file.addSeparator()
        file.addAction(act["save"])
        file.addSeparator()
        self.export.make_export_menu(file)
        file.addSeparator()
        file.addAction(act["quit"])
        edit = bar.addMenu("&Edit")
        for name in (
            "undo",
            "redo",
            None,
            "copy",
            "paste",
            "duplicate",
            "delete",
            "select_all",
            None,
            "add_parameter",
            "frame",
            "comment",
        ):
            edit.addSeparator() if name is None else edit.addAction(act[name])
        view = bar.addMenu("&View")
        for name in (
            "fit",
            "zoom_in",
            "zoom_out",
            "zoom_reset",
            None,
            "layout",
            "snap",
            "minimap",
            None,
            "dark",
        ):
            view.addSeparator() if name is None else view.addAction(act[name])
        self.docks_menu = view.addMenu("&Panels")
        for dock in (
            self.palette_dock,
            self.inspector_dock,
            self.flows_dock_widget,
            self.logs_dock_widget,
            self.outputs_dock_widget,
            self.runs_dock_widget,
            self.schedules_dock_widget,
        ):
            self.docks_menu.addAction(dock.toggleViewAction())
        flow = bar.addMenu("F&low")
        for name in ("run", "run_file", "stop", None, "schedules"):
            flow.addSeparator() if name is None else flow.addAction(act[name])

    def _make_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("MainToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        act = self.actions_by_name
        for name in (
            "new_flow",
            "open_workspace",
            "save",
            None,
            "undo",
            "redo",
            None,
            "layout",
            "fit",
            None,
            "run",
            "stop",
        ):
            bar.addSeparator() if name is None else bar.addAction(act[name])

    # -- settings ----------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry")
        state = self.settings.value("window_state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self._fresh_layout = not isinstance(state, QByteArray)
        if not self._fresh_layout:
            self.restoreState(state)

    def _hide_stray_tab_bars(self) -> None:
        """Hide dock tab bars Qt left behind from an earlier layout (a Qt 6.11 quirk).

        A bar in use sits against the visible dock of its group; a stray one
        stays where an older layout put it, painted over other docks.
        """
        docks = [d for d in self.findChildren(QDockWidget) if d.isVisible()]
        for bar in self.findChildren(QTabBar):
            if bar.parent() is not self or not bar.isVisible() or not bar.count():
                continue
            titles = {bar.tabText(i) for i in range(bar.count())}
            home = [d.geometry() for d in docks if d.windowTitle() in titles]
            if not any(abs(g.left() - bar.x()) <= 1 and abs(g.bottom() + 1 - bar.y()) <= 1 for g in home):
                bar.hide()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._hide_stray_tab_bars)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._hide_stray_tab_bars)
        if self._fresh_layout:
            # Dock sizes only take once the window has its size: the first show.
            self._fresh_layout = False
            self.resizeDocks([self.palette_dock, self.inspector_dock], [240, 320], Qt.Horizontal)
            self.resizeDocks([self.logs_dock_widget], [220], Qt.Vertical)

    def save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("theme", self.theme)
        self.settings.setValue("snap", self.actions_by_name["snap"].isChecked())
        self.settings.setValue("minimap", self.actions_by_name["minimap"].isChecked())
        self.settings.sync()

    def set_theme(self, name: str) -> None:
        self.theme = name
        self.canvas_style = apply_theme(QApplication.instance(), name)
        self.actions_by_name["dark"].setChecked(name == "dark")
        if self.scene is not None:
            self.scene.set_style(self.canvas_style)
        self.view.viewport().update()

    def set_snap(self, on: bool) -> None:
        if self.scene is not None:
            self.scene.snap_to_grid = on

    def set_minimap(self, on: bool) -> None:
        self.settings.setValue("minimap", on)  # remembered at once, not only on a clean quit
        self.view.minimap.enabled_by_user = on
        self.view.minimap.refresh()

    # -- the open flow -----------------------------------------------------

    def set_document(self, document: FlowDocument) -> None:
        """Show a flow document: a new scene for it, docks following it."""
        old_scene = self.scene
        self._release_document()
        session = self.session
        session.document = document
        session.scene = scene = FlowScene(document, self.canvas_style, self)
        scene.snap_to_grid = self.actions_by_name["snap"].isChecked()
        self.view.set_flow_scene(scene)
        self.view.catalog = self.catalog
        if old_scene is not None:
            old_scene.detach()
            old_scene.deleteLater()
        scene.message.connect(self.show_message)
        scene.selectionChanged.connect(self._selection_changed)
        scene.frame_edit_requested.connect(self.editing.edit_frame)
        scene.node_menu_requested.connect(self.running.open_node_menu)
        scene.port_menu_requested.connect(self.ports.open)
        document.message.connect(self.show_message)
        document.undo_stack.cleanChanged.connect(self.update_title)
        document.undo_stack.indexChanged.connect(self._flow_edited)
        self._unobserve = document.flow.observe(self._flow_event)
        self.inspector.set_editor(document)
        self.update_title()
        self.validate()
        for name in ("delete", "paste", "duplicate", "layout", "frame", "comment", "add_parameter"):
            self.actions_by_name[name].setEnabled(not document.read_only)
        self.actions_by_name["save"].setEnabled(not document.read_only)
        self.outputs_dock.clear()
        self.history.show_flow_last_run()
        self.schedules.refresh_schedules()
        self.view.fit_view(keep_fitting=True)
        self.view.setFocus()

    def _flow_event(self, event: object) -> None:
        self._validate_timer.start()
        self.running.mark_stale(event)

    def _release_document(self) -> None:
        # The old document's undo stack emits while it is destroyed; by then
        # nothing here should listen.
        old = self.document
        if old is None:
            return
        for signal, slot in (
            (old.undo_stack.cleanChanged, self.update_title),
            (old.undo_stack.indexChanged, self._flow_edited),
            (old.message, self.show_message),
        ):
            signal.disconnect(slot)
        self._unobserve()
        self._unobserve = lambda: None

    def _selection_changed(self) -> None:
        if self.document is None:
            return
        self.inspector.show_node(self.session.selected_one())
        self.history.follow_selection()

    def _flow_edited(self) -> None:
        self.update_title()
        self.workspaces.schedule_draft()

    def update_title(self, *_: object) -> None:
        doc = self.document
        if doc is None:
            self.setWindowTitle("Plait")
            return
        suffix = f" (version {doc.flow.version}, read-only)" if doc.read_only else ""
        where = f" — {self.workspace.folder.name}" if self.workspace else ""
        self.setWindowTitle(f"{doc.flow.name}[*]{suffix}{where} — Plait")
        self.setWindowModified(doc.modified)

    def validate(self) -> None:
        if self.document is None:
            return
        self.session.problems = self.document.flow.validate()
        self.scene.set_problems(self.problems)
        self.inspector.set_problems(self.problems)
        self.explainer.schedule()
        count = len(self.problems)
        self.problem_label.setText(f"⚠ {plural(count, 'problem')}" if count else "✓ no problems")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    # -- closing -----------------------------------------------------------

    def changeEvent(self, event) -> None:
        # Back in the window: a data file or a library may have been saved elsewhere.
        if event.type() == QEvent.ActivationChange and self.isActiveWindow():
            self.explainer.schedule()
        super().changeEvent(event)

    def closeEvent(self, event) -> None:
        if not self.shut_down:
            running = self.runs.running
            if running and not self.questions.ask_cancel_runs(len(running)):
                event.ignore()
                return
            if not self.workspaces.maybe_save():
                event.ignore()
                return
            if self.runs.engine is not None or self.runs.running:
                # Cancelled runs still write their records; the workers stop; then close.
                event.ignore()
                self.show_message("Stopping runs and workers…")
                self.runs.close().add_done_callback(lambda _: self._closed_runs())
                return
        self.shut_down = True
        self.layouter.cancel()
        self.history.stop()
        self.schedules.stop()
        self.save_layout()
        self.workspaces.close_workspace()
        self._release_document()
        self.session.document = None
        event.accept()

    def _closed_runs(self) -> None:
        if shiboken6.isValid(self):  # the window may have been deleted meanwhile
            self.shut_down = True
            self.close()
