"""Auto-layout as the window runs it: a big flow is laid out in a process of its own.

Graphviz `dot` takes about a second at 1,000 nodes and close to a minute at
5,000. The window hands such a flow to a spawned process (plain data in,
positions and wire routes out), shows a busy bar with a Cancel button in the
status bar, and stays responsive; Cancel kills the process. The positions are
applied as one undoable command when they arrive, if the flow is still the
one that was laid out. A small flow is laid out at once: starting a process
would take longer than dot does. From LAYERED_FROM nodes on, the process runs
the layered layout instead of dot: seconds at 10,000 nodes, and it reports its
phases, so the bar shows how far it has gone.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QToolButton, QWidget

from plait.app.layout import layout_graph, layout_in_child
from plait.runtime.flow.layered import layered_layout
from plait.runtime.nodes.processes import plain_main
from plait.widgets.words import plural

IN_PROCESS_BELOW = 150  # nodes: dot lays these out in well under 0.1 s
LAYERED_FROM = 1500  # nodes: dot takes seconds from here on, a minute at 5,000
POLL_MS = 50


class AutoLayout(QObject):
    """Lays the session's flow out with dot, off the GUI thread when it is big."""

    finished = Signal(bool)  # the job is over: True when the positions were applied

    def __init__(self, session, view, status_bar, parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self.view = view
        self._process: Any = None
        self._conn: Any = None
        self._job: tuple[Any, list[str], list[Any], dict] | None = None  # flow, nodes, edges, sizes
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._check)
        bar = status_bar
        self.label = QLabel(parent)
        self.label.setObjectName("LayoutLabel")
        self.busy = QProgressBar(parent)
        self.busy.setObjectName("LayoutProgress")
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(120)
        self.busy.setTextVisible(False)
        self.cancel_button = QToolButton(parent)
        self.cancel_button.setObjectName("LayoutCancel")
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop laying the flow out; nothing moves")
        self.cancel_button.clicked.connect(self.cancel)
        for widget in (self.cancel_button, self.busy, self.label):
            bar.insertPermanentWidget(0, widget)
            widget.hide()

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        """Lay out the window's flow; big flows in a process, the result one undo step."""
        session = self.session
        if self.running:
            session.say("Auto-layout is already running (Cancel in the status bar stops it)")
            return
        flow = session.document.flow
        sizes = {nid: (item.layout.width, item.layout.height) for nid, item in session.scene.nodes.items()}
        nodes = sorted(flow.nodes)
        edges = list(flow.edges)
        pairs = [(e.source, e.target) for e in edges]
        layered = len(nodes) >= LAYERED_FROM
        if len(nodes) < IN_PROCESS_BELOW:
            lay_out = layered_layout if layered else layout_graph
            self._apply(flow, edges, *lay_out(nodes, pairs, sizes))
            self.finished.emit(True)
            return
        context = multiprocessing.get_context("spawn")  # never fork a process that owns Qt
        self._conn, child = context.Pipe(duplex=False)
        self._process = context.Process(
            target=layout_in_child,
            args=(child, nodes, pairs, sizes, layered),
            daemon=True,
            name="plait-layout",
        )
        with plain_main():
            self._process.start()
        child.close()
        self._job = (flow, nodes, edges, sizes)
        self.label.setText(f"Laying out {plural(len(nodes), 'node')}…")
        # dot says nothing of its progress (a busy bar); the layered layout tells its phases.
        self.busy.setRange(0, 100 if layered else 0)
        self.busy.setValue(0)
        for widget in (self.label, self.busy, self.cancel_button):
            widget.show()
        self._poll.start()

    def cancel(self) -> None:
        """Stop a layout in progress; nothing moves."""
        if not self.running:
            return
        self._stop()
        self.session.say("Auto-layout cancelled")
        self.finished.emit(False)

    def _check(self) -> None:
        while True:
            try:
                if not self._conn.poll():
                    if self._process.is_alive():
                        return
                    raise EOFError
                message = self._conn.recv()
            except (EOFError, OSError):
                message = ("error", "the layout process stopped without an answer")
            if message[0] != "progress":
                break
            _, phase, done = message
            self.label.setText(f"Laying out {plural(len(self._job[1]), 'node')}: {phase}…")
            self.busy.setValue(round(done * 100))
        kind, payload = message
        flow, nodes, edges, _ = self._job
        self._stop()
        session = self.session
        if kind == "error":
            session.say(f"Auto-layout failed: {payload}")
            self.finished.emit(False)
            return
        document = session.document
        if (
            document is None
            or document.flow is not flow
            or sorted(flow.nodes) != nodes
            or flow.edges != edges
        ):
            session.say("The flow changed while it was being laid out: press L to lay it out again")
            self.finished.emit(False)
            return
        self._apply(flow, edges, *payload)
        self.finished.emit(True)

    def _stop(self) -> None:
        self._poll.stop()
        process, self._process, self._job = self._process, None, None
        if process.is_alive():
            process.kill()
        process.join(1)
        self._conn.close()
        self._conn = None
        for widget in (self.label, self.busy, self.cancel_button):
            widget.hide()

    def _apply(self, flow: Any, edges: list[Any], positions: dict, routes: dict) -> None:
        scene = self.session.scene
        # Keep the flow where it was on the canvas: align the layout's corner with the old one.
        old_left = min(n.position[0] for n in flow.nodes.values())
        old_top = min(n.position[1] for n in flow.nodes.values())
        new_left = min(x for x, _ in positions.values())
        new_top = min(y for _, y in positions.values())
        dx, dy = old_left - new_left, old_top - new_top
        with scene.moving_many():
            self.session.document.move_nodes(
                {k: (x + dx, y + dy) for k, (x, y) in positions.items()}, text="Auto-layout"
            )
            # The layout's own wire routes go around the nodes it placed; each is kept until an
            # end of its wire moves (undo included), then the canvas routes that wire itself.
            scene.set_layout_routes(
                {edges[i]: [(x + dx, y + dy) for x, y in points] for i, points in routes.items()}
            )
        scene.fit_scene_rect()  # a layout can reach past where the nodes were
        self.view.fit_view()
