"""The example workspaces Plait ships, and copying them into a workspace.

Each example under `plait/resources/examples/<name>/` is a workspace folder:
its node library (`<name>.py`), its data files and its flows as documents
(`flows/*.json`). Copied into a workspace, the documents are imported into
its database on first open (`documents.seed_from_documents`). File names
differ between examples, so all of them fit in one workspace.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Left behind by running an example in place; never copied.
_SKIPPED = {
    "plait.sqlite",
    "plait.sqlite-wal",
    "plait.sqlite-shm",
    "plait.sqlite-journal",
    ".plait",
    "outputs",
    "__pycache__",
}


def examples_folder() -> Path:
    """Where the examples are: `resources/examples` inside the installed package."""
    import plait.resources

    return Path(plait.resources.__file__).resolve().parent / "examples"


def example_names() -> list[str]:
    """The examples Plait ships, by folder name."""
    folder = examples_folder()
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and (p / "flows").is_dir())


def install_examples(target_folder: str | os.PathLike[str], names: list[str] | None = None) -> list[Path]:
    """Copy the examples' files into `target_folder`; returns the files copied.

    A file that already exists there is left alone: the user may have changed
    it, and copying again must never undo their work.
    """
    target = Path(target_folder)
    source = examples_folder()
    copied: list[Path] = []
    for name in names if names is not None else example_names():
        root = source / name
        if not root.is_dir():
            raise FileNotFoundError(f"Plait has no example '{name}' (examples: {', '.join(example_names())})")
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if path.is_dir() or _SKIPPED & set(relative.parts):
                continue
            destination = target / relative
            if destination.exists():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            copied.append(destination)
    return copied
