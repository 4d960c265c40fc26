"""Node libraries: the workspace's own `*.py` files and importable modules.

Keys: a function `load_data` in the workspace file `pipeline.py` is
`"pipeline.py:load_data"`; a function in an importable module is
`"package.module:qualname"`. `resolve_callable` turns either back into the
function, in this process or in a worker.

Workspace files are imported through `plait.runtime.nodes.loader`: private module
names, sibling imports, and a fresh import after any edit in the folder. A module
name (a key's or one the workspace lists) is imported as the workspace's own code
would import it, so `mypkg.tools` may be a package of the workspace.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import linecache
import sys
import traceback
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.runtime.keys.fingerprint import versions_read_once
from plait.runtime.nodes import loader
from plait.runtime.nodes.decorator import node_metadata
from plait.runtime.nodes.introspect import humanise, spec_from_callable
from plait.runtime.nodes.loader import (
    file_signature,
    folder_signature,
    forget_workspace,
    import_workspace_file,
    workspace_importer,
    workspace_module_name,
)
from plait.runtime.nodes.spec import NodeSpec

# Modules every workspace offers, before the ones its "libraries" setting lists.
STANDARD_LIBRARIES = ("plait.runtime.builtins",)
# Saved flows name built-in node types by the module they first lived in
# (`plait.runtime.builtins:read_table`); those keys stay while the code moves.
KEY_MODULES = {"plait.runtime.builtins": "plait.runtime.nodes.tables"}
# A module may name its palette group with this attribute (default: the module name).
GROUP_ATTRIBUTE = "__plait_group__"


def library_modules(listed: Iterable[str] = ()) -> list[str]:
    """The module libraries of a workspace: Plait's standard ones, then those it lists."""
    names = list(STANDARD_LIBRARIES)
    names += [name for name in listed if name not in names]
    return names


class NodeNotFoundError(LookupError):
    """A node key names no function that can be found (file, module or name missing)."""


class LibraryImportError(ImportError):
    """A library file or module raised while importing; the message holds its traceback."""


@dataclass(eq=False)
class Library:
    """A file or module of node functions, or the error that kept it from loading."""

    name: str  # "pipeline.py" for a workspace file, the module name otherwise
    path: Path | None  # the source file, when there is one
    module_name: str  # the name in sys.modules
    specs: list[NodeSpec] = field(default_factory=list)
    error: str | None = None  # the import traceback, trimmed to the user's code
    problems: list[str] = field(default_factory=list)  # functions that are not nodes, and why
    signature: str = ""  # content hash of the source, to notice edits
    # Read from source, not imported: a workspace that is not trusted (see reading.py).
    restricted: bool = False
    # Its import hung or killed the process loading it: tried again only once its file changes.
    crashed: bool = False

    @property
    def is_file(self) -> bool:
        """True for a workspace file, False for an importable module."""
        return self.name.endswith(".py")


def workspace_files(folder: Path) -> list[Path]:
    """The library files of a workspace: `*.py` directly in it, not `_private` or `.hidden`."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith(("_", ".")))


def load_libraries(folder: Path | None, module_names: Sequence[str] = ()) -> list[Library]:
    """Load every workspace file in `folder`, then every named module; failures become errors."""
    libraries = [load_file_library(path, folder) for path in workspace_files(folder)] if folder else []
    libraries += [load_module_library(name, folder=folder) for name in module_names]
    return libraries


def load_file_library(path: Path, folder: Path | None = None) -> Library:
    """Import one workspace file and make node specs of its public functions."""
    path = Path(path)
    name = path.relative_to(folder).as_posix() if folder else path.name
    library = Library(name, path, workspace_module_name(path), signature=file_signature(path))
    try:
        module = import_workspace_file(path)
    except (Exception, SystemExit):  # noqa: BLE001 - any failure is reported on the library
        library.error = _import_traceback()
        return library
    library.signature = getattr(module, loader.SIGNATURE_ATTRIBUTE, library.signature)
    group = getattr(module, GROUP_ATTRIBUTE, None)  # a flow's saved functions: the flow's name
    library.specs, library.problems = _specs_of(
        module, prefix=name, group=group if isinstance(group, str) else name
    )
    return library


def load_module_library(module_name: str, *, reload: bool = False, folder: Path | None = None) -> Library:
    """Import a module by name (re-executing it when `reload`) and spec its public functions.

    With the workspace `folder`, the name is imported as the folder's code would import it.
    """
    library = Library(module_name, None, module_name)
    try:
        module = importlib.import_module(_importable(KEY_MODULES.get(module_name, module_name), folder))
        if reload:
            file = getattr(module, "__file__", None)
            if file:
                linecache.cache.pop(file, None)
            module = importlib.reload(module)
    except (Exception, SystemExit):  # noqa: BLE001 - any failure is reported on the library
        library.error = _import_traceback()
        return library
    file = getattr(module, "__file__", None)
    library.path = Path(file) if file else None
    library.signature = file_signature(library.path)
    group = getattr(module, GROUP_ATTRIBUTE, None)
    library.specs, library.problems = _specs_of(
        module, prefix=module_name, group=group if isinstance(group, str) else module_name
    )
    return library


def read_file_library(path: Path, folder: Path | None = None) -> Library:
    """Read one workspace file's node specs from its source, running none of it."""
    from plait.runtime.nodes.reading import read_file_specs

    path = Path(path)
    name = path.relative_to(folder).as_posix() if folder else path.name
    library = Library(
        name, path, workspace_module_name(path), signature=file_signature(path), restricted=True
    )
    try:
        library.specs, library.problems = read_file_specs(path, prefix=name, group=name)
    except (SyntaxError, ValueError, OSError) as error:
        text = "".join(traceback.format_exception_only(type(error), error))
        library.error = _place_syntax_error(text, error) if isinstance(error, SyntaxError) else text
    return library


class ImportLoader:
    """Libraries imported into this process: `plait run`, `plait explain`, workers, tests."""

    def load_file(self, path: Path, folder: Path | None) -> Library:
        return load_file_library(path, folder)

    def load_module(self, name: str, reload: bool, folder: Path | None = None) -> Library:
        return load_module_library(name, reload=reload, folder=folder)

    def forget(self, folder: Path) -> None:
        forget_workspace(folder)

    def close(self) -> None:
        pass


class ReadLoader(ImportLoader):
    """Libraries read, never run: a workspace that is not trusted.

    Workspace files are parsed for their functions' signatures; modules the
    workspace lists are not imported (Plait's own built-in nodes are).
    """

    def load_file(self, path: Path, folder: Path | None) -> Library:
        return read_file_library(path, folder)

    def load_module(self, name: str, reload: bool, folder: Path | None = None) -> Library:
        if name.split(".")[0] == "plait":
            return load_module_library(name, reload=reload)
        return Library(name, None, name, restricted=True)

    def forget(self, folder: Path) -> None:
        pass


class Catalog:
    """Every node type on offer: built-ins plus the specs of the loaded libraries.

    `loader` decides how libraries are loaded: imported here (the default),
    read from source only (`ReadLoader`, an untrusted workspace), or imported in
    a separate process (`plait.runtime.nodes.host.HostLoader`, the window).
    """

    def __init__(
        self, folder: Path | None = None, module_names: Sequence[str] = (), *, loader: Any = None
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.module_names = tuple(module_names)
        self.loader = loader if loader is not None else ImportLoader()
        self._libraries: dict[str, Library] = {}
        self._builtins: dict[str, NodeSpec] = {}
        self._specs: dict[str, NodeSpec] = {}
        self._generation = ""  # folder_signature when the workspace files were last imported

    @property
    def libraries(self) -> list[Library]:
        """The loaded libraries, workspace files first, in load order."""
        return list(self._libraries.values())

    def library(self, name: str) -> Library | None:
        """The library called `name` ("pipeline.py" or a module name), if loaded."""
        return self._libraries.get(name)

    def load(self) -> list[Library]:
        """Load (or load again) every library from scratch."""
        if self.folder is not None:
            self.loader.forget(self.folder)
            self._generation = folder_signature(self.folder)
        with versions_read_once():
            libraries = [self.loader.load_file(p, self.folder) for p in self._files()] + [
                self.loader.load_module(name, name in self._libraries, self.folder)
                for name in self.module_names
            ]
        self._libraries = {library.name: library for library in libraries}
        self._rebuild()
        return self.libraries

    def reload(self) -> list[str]:
        """Re-import what changed on disk; return the names of libraries that changed.

        Any edit in the workspace folder re-imports all its files, because a file
        may import the edited one; only those whose nodes, source or error differ
        are reported.
        """
        fresh: dict[str, Library] = {}
        changed: list[str] = []
        generation = folder_signature(self.folder) if self.folder is not None else ""
        stale = generation != self._generation
        if stale:
            self.loader.forget(self.folder)
            self._generation = generation
        for path in self._files():
            name = path.relative_to(self.folder).as_posix()
            old = self._libraries.get(name)
            if old is not None and old.error is None and not stale:
                fresh[name] = old
                continue
            if old is not None and old.crashed and old.signature == file_signature(path):
                fresh[name] = old  # it would hang or crash again: wait for an edit of its own
                continue
            # Unchanged files that failed are retried: their error may have been
            # outside the folder (a missing package, a data file).
            fresh[name] = self.loader.load_file(path, self.folder)
            if old is None or _differs(old, fresh[name]):
                changed.append(name)
        changed += [n for n, old in self._libraries.items() if old.is_file and n not in fresh]
        for module_name in self.module_names:
            old = self._libraries.get(module_name)
            if old is not None and old.error is None and old.signature == file_signature(old.path):
                fresh[module_name] = old
                continue
            fresh[module_name] = self.loader.load_module(
                module_name, old is not None and old.error is None, self.folder
            )
            if old is None or _differs(old, fresh[module_name]):
                changed.append(module_name)
        self._libraries = fresh
        self._rebuild()
        return changed

    @property
    def restricted(self) -> bool:
        """True when the libraries were read from source, not run (an untrusted workspace)."""
        return isinstance(self.loader, ReadLoader)

    def close(self) -> None:
        """Stop the loader (the library process of the window, if any)."""
        self.loader.close()

    def add(self, spec: NodeSpec) -> None:
        """Register a built-in node type; it survives reloads."""
        self._builtins[spec.key] = spec
        self._specs[spec.key] = spec

    def get(self, key: str) -> NodeSpec | None:
        """The node type with this key, or None."""
        return self._specs.get(key)

    def specs(self) -> list[NodeSpec]:
        """All node types: built-ins first, then each library's in order."""
        return list(self._specs.values())

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def _files(self) -> list[Path]:
        return workspace_files(self.folder) if self.folder is not None else []

    def _rebuild(self) -> None:
        specs = dict(self._builtins)
        for library in self._libraries.values():
            specs.update((spec.key, spec) for spec in library.specs)
        self._specs = specs


def resolve_callable(key: str, workspace_folder: Path | None = None) -> Any:
    """The function a node key names: `file.py:qualname` from the workspace, or `module:qualname`.

    Raises NodeNotFoundError when the file, module or name is missing, and
    LibraryImportError when the file or module raises on import.
    """
    target, _, qualname = key.rpartition(":")
    if not target or not qualname:
        raise NodeNotFoundError(f"{key!r} is not a node key (expected 'module:name' or 'file.py:name')")
    if target.endswith(".py"):
        if workspace_folder is None:
            raise NodeNotFoundError(f"Node {key!r} comes from a workspace file, but no workspace was given")
        path = Path(workspace_folder) / target
        if not path.is_file():
            raise NodeNotFoundError(f"Node {key!r}: {target} is not in the workspace {workspace_folder}")
        try:
            module = import_workspace_file(path)
        except (Exception, SystemExit) as error:
            raise LibraryImportError(f"Importing {target} failed:\n{_import_traceback()}") from error
    else:
        try:
            module = importlib.import_module(_importable(KEY_MODULES.get(target, target), workspace_folder))
        except ModuleNotFoundError as error:
            raise NodeNotFoundError(f"Node {key!r}: module {target!r} is not installed") from error
        except (Exception, SystemExit) as error:
            raise LibraryImportError(f"Importing {target} failed:\n{_import_traceback()}") from error
    found = _lookup(module, qualname)
    if found is None:
        raise NodeNotFoundError(
            f"Node {key!r}: {target} has no {qualname!r}; it may have been renamed or removed "
            "(lambdas and partials cannot be found again by key: define a function instead)"
        )
    return found


def _importable(module_name: str, folder: Path | None) -> str:
    """The sys.modules name of `module_name` as the workspace's code imports it."""
    if folder is None or module_name.split(".")[0] == "plait":
        return module_name
    return workspace_importer(folder).resolve(module_name)


def _lookup(module: types.ModuleType, qualname: str) -> Any:
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    return found


def _specs_of(module: types.ModuleType, *, prefix: str, group: str) -> tuple[list[NodeSpec], list[str]]:
    """Specs of the public callables defined in `module`; ones that fail go to problems.

    Functions (async ones too), `functools.partial` objects, bound methods and
    callable instances become nodes; each is found again by its attribute name.
    What was imported from elsewhere is left to the module it came from.
    """
    specs: list[NodeSpec] = []
    problems: list[str] = []
    seen: set[int] = set()
    for attribute, value in list(vars(module).items()):
        if attribute.startswith("_") or id(value) in seen:
            continue  # private, or an alias of one already listed
        kind = _member_kind(module, value)
        if kind is None:
            continue
        seen.add(id(value))
        if kind == "function":
            # A qualname with <locals> (a function made by a factory) cannot be found
            # again; the attribute name can.
            qualname = value.__qualname__ if _lookup(module, value.__qualname__) is value else attribute
        else:
            qualname = attribute
        try:
            spec = spec_from_callable(value, key=f"{prefix}:{qualname}", module=group)
        except Exception as error:  # noqa: BLE001 - one bad member must not hide the rest
            # Named as the palette names the library, not by its private module name.
            problems.append(f"{attribute}: {str(error).replace(module.__name__ + ':', prefix + ':')}")
            continue
        if kind != "function" and not node_metadata(value).get("title"):
            spec.title = humanise(attribute)  # two partials of one function differ by name
        specs.append(spec)
    return specs, problems


def _member_kind(module: types.ModuleType, value: Any) -> str | None:
    """What kind of node a module member makes ("function", "partial", ...), or None for none."""
    if inspect.isfunction(value):
        return "function" if value.__module__ == module.__name__ else None
    if isinstance(value, functools.partial):
        # Made here (a partial has no module of its own): a configured version of a function.
        return "partial"
    if isinstance(value, types.MethodType):
        owner = value.__func__
        return "method" if getattr(owner, "__module__", None) == module.__name__ else None
    if (
        callable(value)
        and not isinstance(value, type)
        and not inspect.isroutine(value)
        and not inspect.ismodule(value)
        and type(value).__module__ == module.__name__
    ):
        return "instance"
    return None


def _differs(old: Library, new: Library) -> bool:
    return (old.signature, old.error, _keys(old.specs)) != (
        new.signature,
        new.error,
        _keys(new.specs),
    )


def _keys(specs: Iterable[NodeSpec]) -> list[tuple[str, str]]:
    return [(spec.key, spec.fingerprint) for spec in specs]


def _import_traceback() -> str:
    """The current exception's traceback without Plait's and importlib's own frames."""
    kind, error, tb = sys.exc_info()
    while tb is not None and (
        tb.tb_frame.f_code.co_filename in (__file__, loader.__file__, importlib.__file__)
        or tb.tb_frame.f_code.co_filename.startswith("<frozen importlib")
    ):
        tb = tb.tb_next
    text = "".join(traceback.format_exception(kind, error, tb))
    return _place_syntax_error(text, error) if isinstance(error, SyntaxError) else text


def _place_syntax_error(text: str, error: SyntaxError) -> str:
    """End a syntax error's traceback with its file, line and column, for one-line reports."""
    if not error.lineno:
        return text
    where = f"{error.filename or 'the file'}, line {error.lineno}"
    if error.offset:
        where += f", column {error.offset}"
    lines = text.rstrip("\n").split("\n")
    head = f"{type(error).__name__}:"
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(head):
            lines[index] = f"{head} {error.msg} ({where})"
            break
    return "\n".join(lines) + "\n"
