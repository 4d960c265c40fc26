"""Plait's resources: themes, icons and example workspaces."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def icon_path() -> Path:
    """The application icon (SVG)."""
    return FOLDER / "icons" / "plait.svg"
