"""Trust: whose workspace's code may run in the window.

A workspace folder holds code (`*.py`). Opening a folder someone else made (a
clone, a download, a share) must not run that code before its user decides to,
as editors and notebooks ask before they run a folder's code. The window runs a
folder's code when the folder is trusted:

- Plait made it here: the default workspace, the shipped examples in place, or a
  workspace Plait created in a folder that held no code yet (the first open of
  an empty folder) — code written there later is the user's own;
- the user trusted it (the window's banner, or `plait trust FOLDER`).

Trusted folders are remembered by resolved path in `trusted.json` in the user's
config folder (platformdirs; `PLAIT_CONFIG_DIR` overrides it), never inside the
workspace, so a folder cannot vouch for itself. A folder with no code needs no
trust to be opened, but its pickled results stay unread until it is trusted.

The command line's `plait run`, `plait explain` and `plait serve` are a person's
explicit request to run a folder's code, as `python script.py` is: they run it
and record nothing here.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import platformdirs

from plait.runtime.workspace.private import write_private

TRUST_FILE = "trusted.json"
log = logging.getLogger("plait.runtime.workspace")


def config_folder() -> Path:
    """The user's Plait config folder (`PLAIT_CONFIG_DIR` overrides it)."""
    env = os.environ.get("PLAIT_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_config_path("plait", appauthor=False)


def _trust_file() -> Path:
    return config_folder() / TRUST_FILE


def _resolved(folder: str | os.PathLike[str]) -> str:
    return str(Path(folder).expanduser().resolve())


def _read() -> dict[str, dict[str, Any]]:
    path = _trust_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("Ignoring the trusted folders list %s: %s", path, exc)
        return {}
    folders = data.get("folders", {}) if isinstance(data, dict) else {}
    return {k: v for k, v in folders.items() if isinstance(v, dict)} if isinstance(folders, dict) else {}


def _write(folders: dict[str, dict[str, Any]]) -> None:
    path = _trust_file()
    # Folders that are gone (scratch folders, deleted clones) are dropped on each write.
    kept = {k: v for k, v in sorted(folders.items()) if Path(k).is_dir()}
    text = json.dumps({"folders": kept}, indent=2, sort_keys=True) + "\n"
    write_private(path, text.encode("utf-8"))


def builtin_trusted(folder: str | os.PathLike[str]) -> bool:
    """True for the folders Plait ships or makes itself: the default workspace and the examples."""
    from plait.runtime.workspace.examples import examples_folder
    from plait.runtime.workspace.store import default_workspace_path

    path = Path(_resolved(folder))
    default = Path(_resolved(default_workspace_path()))
    return path == default or path.is_relative_to(Path(_resolved(examples_folder())))


def is_trusted(folder: str | os.PathLike[str]) -> bool:
    """Whether the window may run this folder's code and read its pickled results."""
    return builtin_trusted(folder) or _resolved(folder) in _read()


def trust(folder: str | os.PathLike[str], *, reason: str = "trusted by the user") -> bool:
    """Remember `folder` as trusted; False when it already was."""
    key = _resolved(folder)
    folders = _read()
    if key in folders or builtin_trusted(key):
        return False
    folders[key] = {"reason": reason, "since": round(time.time())}
    _write(folders)
    return True


def untrust(folder: str | os.PathLike[str]) -> bool:
    """Forget that `folder` was trusted; False when it was not on the list."""
    key = _resolved(folder)
    folders = _read()
    if key not in folders:
        return False
    del folders[key]
    _write(folders)
    return True


def trusted_folders() -> list[tuple[str, str]]:
    """The folders on the list, with why each is trusted, by path."""
    return [(k, str(v.get("reason", ""))) for k, v in sorted(_read().items())]


def needs_trust(folder: str | os.PathLike[str]) -> bool:
    """True when the folder holds code that the window may not run yet."""
    from plait.runtime.nodes.loader import workspace_sources

    return not is_trusted(folder) and bool(workspace_sources(Path(_resolved(folder))))
