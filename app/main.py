"""Starting the window: the Qt application, its asyncio loop (qasync) and the workspace to open.

The engine is asyncio code; running it on a `qasync.QEventLoop` puts its
coroutines on the GUI thread's event loop, where they only ever wait (worker
processes and threads do the work), so the window stays responsive.
"""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

_loop = None


def application() -> QApplication:
    """The one QApplication, made on first use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Plait")
        app.setOrganizationName("plait")
        from plait.resources import icon_path

        app.setWindowIcon(QIcon(str(icon_path())))
        # Nodes copied to the clipboard belong to Qt, which deletes them after
        # Python has shut down and crashes the exit; let go of them first.
        app.aboutToQuit.connect(release_clipboard)
    return app


def release_clipboard() -> None:
    """Clear the clipboard if it holds Plait's nodes (see `application`)."""
    from plait.widgets.mime import NODES_MIME

    app = QApplication.instance()
    if app is not None:
        mime = app.clipboard().mimeData()
        if mime is not None and mime.hasFormat(NODES_MIME):
            app.clipboard().clear()


def event_loop():
    """The application's qasync loop, made on first use and set as asyncio's loop."""
    global _loop
    if _loop is None or _loop.is_closed():
        from qasync import QEventLoop

        _loop = QEventLoop(application())
        # Plain threads for loading values and records: qasync's default QThreads
        # complain when the application ends while one is idle.
        _loop.set_default_executor(ThreadPoolExecutor(4, thread_name_prefix="plait-io"))
        asyncio.set_event_loop(_loop)
    return _loop


def open_window(path: str | Path | None = None, settings: QSettings | None = None, flow: str | None = None):
    """A main window on a workspace folder (the default one when None), shown, on `flow` if given."""
    from plait.app.window import MainWindow

    application()
    event_loop()
    window = MainWindow(settings)
    window.open_workspace(path, flow=flow)
    window.show()
    return window


def run_window(path: str | None, flow: str | None = None) -> int:
    """`plait [WORKSPACE [FLOW]]`: show the window until it is closed, on the qasync loop."""
    application()
    loop = event_loop()
    window = open_window(path, flow=flow)
    if window.workspace is None:
        return 1
    smoke = os.environ.get("PLAIT_SMOKE_SECONDS")
    if smoke:
        # For `make dist-check`: say when the window is up, keep it up that long, then quit.
        # A precise timer: a coarse one may fire 5% early.
        quit_timer = QTimer(window, singleShot=True, timerType=Qt.TimerType.PreciseTimer)
        quit_timer.timeout.connect(application().quit)

        def shown() -> None:
            print("plait: window shown", file=sys.stderr, flush=True)
            quit_timer.start(int(float(smoke) * 1000))

        QTimer.singleShot(0, shown)
    from plait.runtime.flow import graph

    QTimer.singleShot(0, graph.load)  # once the window is up, not on its first wire drag
    with loop:
        code = loop.run_forever()
    return int(code or 0)
