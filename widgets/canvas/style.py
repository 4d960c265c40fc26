"""Colours and sizes the canvas paints with, one set per theme.

Items read the scene's current `CanvasStyle` at paint time, so switching the
theme is one `scene.set_style(...)` and a repaint, not a rebuild.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from PySide6.QtGui import QColor

# Node geometry, in scene units. Ports sit in rows: input i on the left and
# output i on the right of the same row, so a node is as tall as its longer side.
NODE_WIDTH = 184.0
PARAM_WIDTH = 168.0
TITLE_HEIGHT = 26.0
ROW_HEIGHT = 20.0
BOTTOM_PAD = 6.0
PORT_RADIUS = 5.0
GRID = 20.0

# Below this zoom (scene pixels per view pixel) text is unreadable anyway, so
# nodes paint as plain blocks: the level of detail that keeps big flows fast.
TEXT_MIN_ZOOM = 0.45
# Port names are drawn from this zoom on (8 pt text comes out near 7.5 px: still readable);
# below it, the hovered node's names are drawn at screen size by the view.
PORT_NAMES_ZOOM = 0.7

# Types people wire most often get stable, distinct colours; others get a
# colour from a hash of their name, so one type always looks the same.
_TYPE_COLOURS = {
    "Any": "#9aa0a6",
    "int": "#4f8ef7",
    "float": "#21b5b5",
    "complex": "#21b5b5",
    "bool": "#e0566c",
    "str": "#47b85f",
    "Path": "#b8864b",
    "list": "#f0a030",
    "tuple": "#f0a030",
    "dict": "#a86fe0",
    "DataFrame": "#e6c229",
    "Series": "#d4b12a",
    "ndarray": "#e07b39",
    "None": "#6b6f75",
}


@functools.lru_cache(maxsize=512)
def type_colour(name: str) -> QColor:
    """The colour of a port of the given type name (the name before any `[...]`); shared, not to change."""
    base = name.split("[", 1)[0].strip()
    if base.startswith("Optional"):
        base = name[len("Optional[") : -1].split("[", 1)[0]
    known = _TYPE_COLOURS.get(base)
    if known:
        return QColor(known)
    hue = int(hashlib.md5(base.encode()).hexdigest()[:4], 16) % 360
    return QColor.fromHsv(hue, 150, 220)


@dataclass
class CanvasStyle:
    """One theme's canvas colours."""

    name: str
    background: QColor
    grid_minor: QColor
    grid_major: QColor
    node_body: QColor
    node_border: QColor
    node_title: QColor
    node_title_text: QColor
    text: QColor
    text_dim: QColor
    selection: QColor
    param_body: QColor
    param_title: QColor
    wire: QColor
    wire_selected: QColor
    broken: QColor
    warning: QColor  # a wire whose types may disagree when it runs
    highlight: QColor
    frame_fill: QColor
    frame_border: QColor
    frame_text: QColor


LIGHT = CanvasStyle(
    name="light",
    background=QColor("#f4f5f7"),
    grid_minor=QColor("#e6e8ec"),
    grid_major=QColor("#d5d8de"),
    node_body=QColor("#ffffff"),
    node_border=QColor("#b9bec7"),
    node_title=QColor("#3d5a80"),
    node_title_text=QColor("#ffffff"),
    text=QColor("#202327"),
    text_dim=QColor("#868c96"),
    selection=QColor("#f29e1f"),
    param_body=QColor("#fff8e6"),
    param_title=QColor("#c07a12"),
    wire=QColor("#7d8590"),
    wire_selected=QColor("#f29e1f"),
    broken=QColor("#d93838"),
    warning=QColor("#b58900"),
    highlight=QColor("#2fbf71"),
    frame_fill=QColor(61, 90, 128, 22),
    frame_border=QColor(61, 90, 128, 110),
    frame_text=QColor("#3d5a80"),
)

DARK = CanvasStyle(
    name="dark",
    background=QColor("#1e2024"),
    grid_minor=QColor("#26292e"),
    grid_major=QColor("#2f3339"),
    node_body=QColor("#2c3036"),
    node_border=QColor("#454b54"),
    node_title=QColor("#3b6ea5"),
    node_title_text=QColor("#f2f4f7"),
    text=QColor("#e3e6ea"),
    text_dim=QColor("#8d949e"),
    selection=QColor("#f5a623"),
    param_body=QColor("#3a3224"),
    param_title=QColor("#b7791f"),
    wire=QColor("#8e97a3"),
    wire_selected=QColor("#f5a623"),
    broken=QColor("#ff5c5c"),
    warning=QColor("#e5c07b"),
    highlight=QColor("#3ddc84"),
    frame_fill=QColor(120, 160, 210, 26),
    frame_border=QColor(120, 160, 210, 110),
    frame_text=QColor("#9dbbe0"),
)

STYLES = {"light": LIGHT, "dark": DARK}
