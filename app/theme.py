"""Light and dark themes: Qt's Fusion style, a palette, and a stylesheet from resources."""

from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from plait.widgets.canvas.style import STYLES, CanvasStyle

THEMES = ("light", "dark")


def stylesheet(name: str) -> str:
    return (resources.files("plait.resources") / "themes" / f"{name}.qss").read_text()


def _palette(name: str) -> QPalette:
    palette = QPalette()
    if name == "dark":
        colours = {
            QPalette.Window: "#23262b",
            QPalette.WindowText: "#e3e6ea",
            QPalette.Base: "#1e2024",
            QPalette.AlternateBase: "#26292e",
            QPalette.Text: "#e3e6ea",
            QPalette.Button: "#2b2f35",
            QPalette.ButtonText: "#e3e6ea",
            QPalette.Highlight: "#3b6ea5",
            QPalette.HighlightedText: "#ffffff",
            QPalette.ToolTipBase: "#2b2f35",
            QPalette.ToolTipText: "#e3e6ea",
            QPalette.PlaceholderText: "#7d848e",
            QPalette.Link: "#8fb6e6",
        }
    else:
        colours = {
            QPalette.Window: "#eceef1",
            QPalette.WindowText: "#202327",
            QPalette.Base: "#ffffff",
            QPalette.AlternateBase: "#f4f5f7",
            QPalette.Text: "#202327",
            QPalette.Button: "#f1f2f4",
            QPalette.ButtonText: "#202327",
            QPalette.Highlight: "#3d5a80",
            QPalette.HighlightedText: "#ffffff",
            QPalette.ToolTipBase: "#ffffff",
            QPalette.ToolTipText: "#202327",
            QPalette.PlaceholderText: "#8a9099",
            QPalette.Link: "#3d5a80",
        }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor("#7d848e"))
    palette.setColor(QPalette.Disabled, QPalette.WindowText, QColor("#7d848e"))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#7d848e"))
    return palette


def apply_theme(app: QApplication, name: str) -> CanvasStyle:
    """Theme the whole application; returns the canvas colours to go with it."""
    name = name if name in THEMES else "light"
    app.setStyle("Fusion")
    app.setPalette(_palette(name))
    app.setStyleSheet(stylesheet(name))
    return STYLES[name]
