"""Importing the workspace's own `*.py` files by path, fresh after every edit.

A workspace file runs under a private module name derived from its absolute
path (`_plait_ws_<hash>_<stem>`), the same in every process, and is registered
in sys.modules so pickling by reference and dataclasses work. Files import each
other by plain name (`from helpers import clean`) through a finder placed after
the normal ones, so the stdlib and installed packages are never shadowed; the
plain name is an alias of the same module object, so there is one `helpers`.
Plain names are global to the process, so they point into one workspace at a
time: the one whose file was imported last.

Freshness is per folder: when any `.py` file in it changes, every module of that
folder is forgotten and imported again on next use, so a file never keeps using
an edited sibling's old code. Source is compiled from the bytes just read, never
from __pycache__, whose check (mtime in whole seconds + size) can miss a quick save.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import re
import sys
import types
from pathlib import Path
from typing import Any

WORKSPACE_MODULE_PREFIX = "_plait_ws_"
# Set on each imported workspace module: the content hash of the source it ran.
SIGNATURE_ATTRIBUTE = "__plait_signature__"

_generations: dict[Path, str] = {}  # folder -> folder_signature when its modules were loaded
_active: list[Path] = []  # the folder whose files plain-name imports find (at most one)


def workspace_module_name(path: Path) -> str:
    """The private sys.modules name for a workspace file, stable across processes."""
    digest = hashlib.sha256(str(Path(path).resolve()).encode("utf-8", "surrogatepass"))
    stem = re.sub(r"\W", "_", Path(path).stem)
    return f"{WORKSPACE_MODULE_PREFIX}{digest.hexdigest()[:12]}_{stem}"


def file_signature(path: Path | None) -> str:
    """sha256 of a file's bytes, or "" when it cannot be read."""
    if path is None:
        return ""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def folder_signature(folder: Path) -> str:
    """A hash of the `.py` files of `folder` and of its packages: names and contents."""
    digest = hashlib.sha256()
    for path in workspace_sources(Path(folder)):
        name = path.relative_to(folder).as_posix()
        digest.update(f"{name}\0{file_signature(path)}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def workspace_sources(folder: Path) -> list[Path]:
    """`*.py` directly in `folder`, and every `*.py` of its package folders (`pkg/__init__.py`)."""
    found = list(folder.glob("*.py"))
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        if entry.name.startswith(".") or not (entry / "__init__.py").is_file():
            continue
        found += [
            p
            for p in entry.rglob("*.py")
            if "__pycache__" not in p.parts
            and not any(part.startswith(".") for part in p.relative_to(entry).parts)
        ]
    return sorted(found)


def forget_workspace(folder: Path) -> None:
    """Drop every imported module of `folder` so the next import runs the files again."""
    folder = Path(folder).resolve()
    for name, module in list(sys.modules.items()):
        if getattr(module, SIGNATURE_ATTRIBUTE, None) is None:
            continue  # not ours
        file = getattr(module, "__file__", None)
        if file and Path(file).is_relative_to(folder):
            del sys.modules[name]  # the private name, any plain-name alias, its packages
    _generations.pop(folder, None)


def import_workspace_file(path: Path) -> types.ModuleType:
    """Import a workspace file under its private name, reusing it while its folder is unchanged.

    Raises whatever the file raises while running (SyntaxError included).
    """
    path = Path(path).resolve()
    folder = path.parent
    _activate(folder)
    generation = folder_signature(folder)
    if _generations.get(folder) != generation:
        forget_workspace(folder)
        _generations[folder] = generation
    name = workspace_module_name(path)
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    source = path.read_bytes()
    # inspect.getsource reads through linecache, which trusts mtime and size;
    # drop the entry so fingerprints read the source being run.
    linecache.cache.pop(str(path), None)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None  # a .py path always has a spec
    module = importlib.util.module_from_spec(spec)
    setattr(module, SIGNATURE_ATTRIBUTE, hashlib.sha256(source).hexdigest())
    sys.modules[name] = module
    try:
        # Running the user's file is the point, as `import` would.
        exec(compile(source, str(path), "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _activate(folder: Path) -> None:
    """Point plain-name imports at `folder`, dropping another workspace's aliases."""
    if _active == [folder]:
        return
    for name, module in list(sys.modules.items()):
        if hasattr(module, SIGNATURE_ATTRIBUTE) and not name.startswith(WORKSPACE_MODULE_PREFIX):
            del sys.modules[name]
    _active[:] = [folder]
    if not any(isinstance(finder, _SiblingFinder) for finder in sys.meta_path):
        sys.meta_path.append(_SiblingFinder())


class _SiblingFinder(importlib.abc.MetaPathFinder):
    """Finds `import helpers` as helpers.py in the active workspace, after all other finders."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not _active:
            return None
        parts = fullname.split(".")
        if len(parts) > 1:
            parent = sys.modules.get(".".join(parts[:-1]))
            if getattr(parent, SIGNATURE_ATTRIBUTE, None) is None:
                return None  # a submodule of someone else's package
        elif path is not None:
            return None
        base = _active[0].joinpath(*parts)
        if (base / "__init__.py").is_file():
            return _package_spec(fullname, base)
        candidate = base.with_name(base.name + ".py")
        if not candidate.is_file():
            return None
        if len(parts) == 1:
            return importlib.machinery.ModuleSpec(fullname, _SiblingLoader(candidate))
        return importlib.util.spec_from_file_location(fullname, candidate, loader=_FreshLoader(candidate))


def _package_spec(fullname: str, folder: Path) -> importlib.machinery.ModuleSpec | None:
    init = folder / "__init__.py"
    # Built by hand: spec_from_file_location would fill an empty search path with the folder.
    spec = importlib.machinery.ModuleSpec(fullname, _FreshLoader(init), origin=str(init), is_package=True)
    spec.has_location = True
    return spec


class _FreshLoader(importlib.abc.Loader):
    """Runs a workspace package's file from the bytes on disk, never from __pycache__.

    Packages of the workspace import under their plain names. Their `__path__`
    is empty, so their submodules come to this finder too (fresh, and forgotten
    with the rest of the folder when any of its files changes).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        source = self.path.read_bytes()
        linecache.cache.pop(str(self.path), None)
        setattr(module, SIGNATURE_ATTRIBUTE, hashlib.sha256(source).hexdigest())
        # Running the user's file is the point, as `import` would.
        exec(
            compile(source, str(self.path), "exec", dont_inherit=True),  # noqa: S102
            module.__dict__,
        )


class _SiblingLoader(importlib.abc.Loader):
    """Hands out the private module as the plain-name alias, without running it twice."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._spec: Any = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = import_workspace_file(self.path)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system stamped the alias spec on the module; keep its real one.
        module.__spec__ = self._spec
