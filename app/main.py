"""Starting the window: the Qt application, the theme and the workspace to open."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication


def application() -> QApplication:
    """The one QApplication, made on first use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Plait")
        app.setOrganizationName("plait")
    return app


def open_window(path: str | Path | None = None, settings: QSettings | None = None):
    """A main window on a workspace folder (the default one when None), shown."""
    from plait.app.window import MainWindow

    application()
    window = MainWindow(settings)
    window.open_workspace(path)
    window.show()
    return window


def run_window(path: str | None) -> int:
    """`plait [WORKSPACE]`: show the window until it is closed."""
    app = application()
    window = open_window(path)
    if window.workspace is None:
        return 1
    return app.exec()
