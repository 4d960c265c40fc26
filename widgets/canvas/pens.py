"""Fonts, font metrics, pens and colours the canvas paints with, each made once.

A frame of a big flow paints thousands of nodes and wires; a QFont, QFontMetricsF,
QPen or QColor made inside `paint()` would cost more than the drawing it serves.
Everything here is shared: callers never change what they are given (copy first).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen

_fonts: dict[str, QFont] = {}
_metrics: dict[str, QFontMetricsF] = {}
_pens: dict[tuple, QPen] = {}
_colours: dict[tuple[int, int], QColor] = {}


def font(kind: str) -> QFont:
    """The canvas's fonts: "title", "small" and "italic"."""
    if kind not in _fonts:
        f = QFont()
        f.setPointSizeF(9.0 if kind == "title" else 8.0)
        f.setBold(kind == "title")
        f.setItalic(kind == "italic")
        _fonts[kind] = f
    return _fonts[kind]


def metrics(kind: str) -> QFontMetricsF:
    """The metrics of `font(kind)`, for eliding text to the room it has."""
    if kind not in _metrics:
        _metrics[kind] = QFontMetricsF(font(kind))
    return _metrics[kind]


def pen(
    colour: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.SolidLine, cap=None, cosmetic: bool = False
) -> QPen:
    """A pen of this colour, width, dash style and cap, shared by every item that asks for it.

    A cosmetic pen's width is in screen pixels, whatever the zoom; width 0 is one pixel.
    """
    key = (colour.rgba(), width, style, cap, cosmetic)
    found = _pens.get(key)
    if found is None:
        found = QPen(QColor.fromRgba(colour.rgba()), width, style)
        if cap is not None:
            found.setCapStyle(cap)
        found.setCosmetic(cosmetic or width == 0)
        _pens[key] = found
    return found


def faded(colour: QColor, alpha: int) -> QColor:
    """`colour` with this alpha (0-255), made once per colour and alpha."""
    key = (colour.rgba(), alpha)
    found = _colours.get(key)
    if found is None:
        found = QColor.fromRgba(colour.rgba())
        found.setAlpha(alpha)
        _colours[key] = found
    return found


def state_colour(state: str, alpha: int = 255) -> QColor:
    """A run state's colour (shared; see status.state_colour for one to change)."""
    from plait.widgets.canvas.status import STATE_COLOURS

    return faded(QColor(STATE_COLOURS.get(state, "#9aa0a6")), alpha)
