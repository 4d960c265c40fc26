"""Importing the workspace's own `*.py` files by path, fresh after every edit.

Every module of a workspace lives in sys.modules under a private name derived
from its absolute path, the same in every process: a file `helpers.py` is
`_plait_ws_<hash>_helpers`, a package `mypkg/` is `_plait_ws_<hash>_mypkg` and
its `tools.py` is `_plait_ws_<hash>_mypkg.tools`. Pickling by reference and
dataclasses work through those names, and two workspaces that both have a
`helpers.py` (or a `mypkg/`) keep them apart in one process: the window that
opens one folder and then another, a notebook, a test.

The files import each other by plain name (`from helpers import clean`) through
their folder's `WorkspaceImporter`, which is their `__import__`: a plain name
that is one of the folder's files or packages means that file's private module.
The stdlib and installed packages come first, so they are never shadowed, and
nothing of a workspace is ever registered under a plain name, so no process-wide
"current workspace" decides what `import helpers` finds.

Freshness is per folder: when any `.py` file in it changes, every module of that
folder is forgotten and imported again on next use, so a file never keeps using
an edited sibling's old code. Source is compiled from the bytes just read, never
from __pycache__, whose check (mtime in whole seconds + size) can miss a quick save.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import linecache
import re
import sys
import threading
import types
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from plait.runtime.keys.values import KEY_NAME_ATTRIBUTE
from plait.runtime.nodes.context import resolved_folder

WORKSPACE_MODULE_PREFIX = "_plait_ws_"
# Set on each imported workspace module: the content hash of the source it ran.
SIGNATURE_ATTRIBUTE = "__plait_signature__"
# Folders whose importers are kept; one that falls out is made again (and its files
# imported afresh) when it is used next, while modules it made keep working.
MAX_FOLDERS = 32

_importers: OrderedDict[Path, WorkspaceImporter] = OrderedDict()
_lock = threading.Lock()


def workspace_module_name(path: Path) -> str:
    """The private sys.modules name for a workspace file or package, stable across processes."""
    digest = hashlib.sha256(str(Path(path).resolve()).encode("utf-8", "surrogatepass"))
    stem = re.sub(r"\W", "_", Path(path).stem)
    return f"{WORKSPACE_MODULE_PREFIX}{digest.hexdigest()[:12]}_{stem}"


def plain_module_name(name: str) -> str:
    """The name a workspace module's code imports it by (`helpers`, `mypkg.tools`); others' own."""
    if not name.startswith(WORKSPACE_MODULE_PREFIX):
        return name
    module = sys.modules.get(name)
    declared = getattr(module, KEY_NAME_ATTRIBUTE, None)
    if isinstance(declared, str):
        return declared
    file = getattr(module, "__file__", None)
    return Path(file).stem if file else name[len(WORKSPACE_MODULE_PREFIX) :].split("_", 1)[-1]


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


def workspace_importer(folder: Path | str) -> WorkspaceImporter:
    """The importer of a workspace folder's modules, made on first use.

    Once a folder has one, its private module names import in this process (a
    pickle that names a class of its package, in a worker that has not imported it).
    """
    folder = resolved_folder(folder)
    with _lock:
        importer = _importers.get(folder)
        if importer is None:
            importer = _importers[folder] = WorkspaceImporter(folder)
            while len(_importers) > MAX_FOLDERS:
                _importers.popitem(last=False)
        else:
            _importers.move_to_end(folder)
        if not any(isinstance(finder, _PrivateFinder) for finder in sys.meta_path):
            # First: a workspace's own file wins over the path, as its `import` gives it.
            sys.meta_path.insert(0, _PrivateFinder())
    return importer


def forget_workspace(folder: Path) -> None:
    """Drop every imported module of `folder` so the next import runs the files again."""
    folder = Path(folder).resolve()
    for name, module in list(sys.modules.items()):
        if getattr(module, SIGNATURE_ATTRIBUTE, None) is None:
            continue  # not ours
        file = getattr(module, "__file__", None)
        if file and Path(file).is_relative_to(folder):
            del sys.modules[name]  # its private name: a file, a package or a package's module
    importer = _importers.get(folder)
    if importer is not None:
        importer.forget()


def import_workspace_file(path: Path) -> types.ModuleType:
    """Import a workspace file under its private name, reusing it while its folder is unchanged.

    Raises whatever the file raises while running (SyntaxError included).
    """
    path = Path(path).resolve()
    importer = workspace_importer(path.parent)
    importer.check()
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
    module.__dict__["__builtins__"] = importer.namespace()
    sys.modules[name] = module
    try:
        # Running the user's file is the point, as `import` would.
        exec(compile(source, str(path), "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


class WorkspaceImporter:
    """The `__import__` of one workspace folder's modules: its files and packages by plain name.

    Each module of the folder runs with builtins of its own whose `__import__` is
    this object, so `import helpers` in its code, at the top or inside a function
    called much later, means this folder's helpers.py whichever workspace was
    imported last. `resolve` says what a plain name stands for, for code that
    follows imports without running them (the fingerprint).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.generation: str | None = None  # folder_signature when its modules were loaded
        self._builtins: dict[str, Any] = {}
        self._names: dict[str, str] = {}  # a name imported -> the sys.modules name it means
        self._importlib: _Importlib | None = None

    def __call__(
        self,
        name: str,
        globals: dict[str, Any] | None = None,  # noqa: A002 - __import__'s own parameter names
        locals: Any = None,  # noqa: A002
        fromlist: Any = (),
        level: int = 0,
    ) -> types.ModuleType:
        if level == 0:
            if name == "importlib" or name.startswith("importlib."):
                module = builtins.__import__(name, globals, locals, fromlist, level)
                return self.importlib_view() if module is importlib else module
            name = self.resolve(name)
            if "." not in name:
                # What __import__ would give, without its overhead: an import inside a
                # function called in a loop runs at every call.
                module = sys.modules.get(name)
                if (
                    module is not None
                    and not (fromlist and hasattr(module, "__path__"))
                    and not getattr(getattr(module, "__spec__", None), "_initializing", False)
                ):
                    return module
        return builtins.__import__(name, globals, locals, fromlist, level)

    def resolve(self, name: str) -> str:
        """The sys.modules name `import name` gives in this folder's code (private for its own)."""
        found = self._names.get(name)
        if found is None:
            top, dot, rest = name.partition(".")
            private = self._sibling(top)
            found = self._names[name] = f"{private}{dot}{rest}" if private else name
        return found

    def importlib_view(self) -> types.ModuleType:
        """`importlib` as the folder's code sees it: its `import_module` imports as `import` does there."""
        if self._importlib is None:
            self._importlib = _Importlib(self)
        return self._importlib

    def namespace(self) -> dict[str, Any]:
        """The builtins the folder's modules run with: the process's, with this `__import__`."""
        # Refreshed at each import, so names added to builtins later (IPython's) are there.
        self._builtins.update(vars(builtins))
        self._builtins["__import__"] = self
        return self._builtins

    def check(self) -> None:
        """Forget the folder's modules when any of its files changed since they were imported."""
        generation = folder_signature(self.folder)
        if self.generation != generation:
            forget_workspace(self.folder)
            self.generation = generation

    def forget(self) -> None:
        self.generation = None
        self._names.clear()

    def locate(self, private: str) -> Path | None:
        """The file or package folder of one of this folder's top-level private names."""
        stem = private[len(WORKSPACE_MODULE_PREFIX) :].split("_", 1)[-1]
        for path in itertools.chain((self.folder / stem, self.folder / f"{stem}.py"), self._entries()):
            if _is_package(path) or (path.suffix == ".py" and path.is_file()):
                if workspace_module_name(path) == private:
                    return path
        return None

    def _entries(self) -> Iterator[Path]:
        """The folder's entries, for a private name made of a stem with other characters."""
        try:
            yield from sorted(self.folder.iterdir())
        except OSError:
            return

    def _sibling(self, top: str) -> str | None:
        if top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return None
        path = self.folder / top
        if not _is_package(path):
            path = self.folder / f"{top}.py"
            if not path.is_file():
                return None
        elsewhere = _found_elsewhere(top)
        if elsewhere is not None and elsewhere != _entry_file(path):
            return None  # an installed module of that name comes first
        return workspace_module_name(path)

    def package_spec(self, fullname: str, folder: Path, plain: str) -> importlib.machinery.ModuleSpec:
        init = folder / "__init__.py"
        loader = _FreshLoader(init, self, plain)
        # Built by hand: spec_from_file_location would fill an empty search path with the folder.
        spec = importlib.machinery.ModuleSpec(fullname, loader, origin=str(init), is_package=True)
        spec.has_location = True
        return spec


def _is_package(path: Path) -> bool:
    return not path.name.startswith(".") and (path / "__init__.py").is_file()


def _entry_file(path: Path) -> Path:
    return (path / "__init__.py").resolve() if path.is_dir() else path.resolve()


def _found_elsewhere(top: str) -> Path | None:
    """Where the normal import system finds `top` (a file), or None when it does not."""
    module = sys.modules.get(top)
    if module is not None:
        file = getattr(module, "__file__", None)
        return Path(file).resolve() if file else Path("<no file>")
    for finder in sys.meta_path:
        if isinstance(finder, _PrivateFinder) or not hasattr(finder, "find_spec"):
            continue
        try:
            spec = finder.find_spec(top, None)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            origin = spec.origin if spec.has_location else None
            return Path(origin).resolve() if origin else Path("<no file>")
    return None


def _importer_of(module: Any) -> WorkspaceImporter | None:
    return _importer_in(getattr(module, "__dict__", {}))


def _importer_in(module_globals: dict[str, Any]) -> WorkspaceImporter | None:
    """The importer whose modules run with these globals (their builtins' `__import__`)."""
    namespace = module_globals.get("__builtins__")
    importer = namespace.get("__import__") if isinstance(namespace, dict) else None
    return importer if isinstance(importer, WorkspaceImporter) else None


class _PrivateFinder(importlib.abc.MetaPathFinder):
    """Finds the private names of the workspaces this process has importers for."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(WORKSPACE_MODULE_PREFIX):
            return _sibling_by_name(fullname) if "." not in fullname else None
        parent_name, _, last = fullname.rpartition(".")
        if not parent_name:
            for importer in list(_importers.values()):
                found = importer.locate(fullname)
                if found is None:
                    continue
                if found.suffix == ".py":
                    return importlib.machinery.ModuleSpec(fullname, _FileLoader(found))
                importer.check()
                return importer.package_spec(fullname, found, found.name)
            return None
        parent = sys.modules.get(parent_name)
        importer = _importer_of(parent)
        if importer is None or getattr(parent, SIGNATURE_ATTRIBUTE, None) is None:
            return None  # a submodule of someone else's package
        plain = f"{getattr(parent, KEY_NAME_ATTRIBUTE, parent_name)}.{last}"
        base = Path(parent.__file__).parent / last
        if _is_package(base):
            return importer.package_spec(fullname, base, plain)
        candidate = base.with_name(last + ".py")
        if not candidate.is_file():
            return None
        return importlib.util.spec_from_file_location(
            fullname, candidate, loader=_FreshLoader(candidate, importer, plain)
        )


def _sibling_by_name(name: str) -> importlib.machinery.ModuleSpec | None:
    """A plain name asked for by a workspace's code without its `__import__`
    (`importlib.import_module("helpers")`): that workspace's own file, if any, before the
    path's (this finder comes first), as its `import helpers` gives it.

    The module comes under its private name, the one `import helpers` gives the same code,
    so two workspaces' helpers.py stay apart; the plain name is never registered.
    """
    importer = _calling_importer()
    if importer is None:
        return None
    private = importer.resolve(name)
    if private == name:
        return None  # not one of its files
    module = importlib.import_module(private)
    return importlib.machinery.ModuleSpec(private, _Imported(module), is_package=hasattr(module, "__path__"))


def _calling_importer() -> WorkspaceImporter | None:
    """The importer of the workspace module whose code is importing, found up the stack."""
    frame = sys._getframe(2)
    for _ in range(40):
        if frame is None:
            return None
        importer = _importer_in(frame.f_globals)
        if importer is not None:
            return importer
        frame = frame.f_back
    return None


class _Importlib(types.ModuleType):
    """The `importlib` module for one workspace folder's code, everything else its own.

    `importlib.import_module("pkg.sub")` there means the folder's pkg/sub.py, as
    `import pkg.sub` does: the plain name `pkg` is never registered, which the
    import system's own walk from a package to its submodule needs.
    """

    def __init__(self, importer: WorkspaceImporter) -> None:
        super().__init__("importlib", importlib.__doc__)
        self.__spec__ = importlib.__spec__

        def import_module(name: str, package: str | None = None) -> types.ModuleType:
            if name.startswith("."):
                return importlib.import_module(name, importer.resolve(package) if package else package)
            return importlib.import_module(importer.resolve(name))

        # Keys know it as the standard library's, which it is to the code that calls it.
        import_module.__module__ = "importlib"
        import_module.__qualname__ = "import_module"
        import_module.__doc__ = importlib.import_module.__doc__
        self.import_module = import_module

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib, name)

    def __dir__(self) -> list[str]:
        return dir(importlib)


class _Imported(importlib.abc.Loader):
    """Hands over a module imported already (under its private name)."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        pass  # it ran when it was imported


class _FreshLoader(importlib.abc.Loader):
    """Runs a workspace package's file from the bytes on disk, never from __pycache__.

    A package's `__path__` is empty, so its submodules come to the finder too
    (fresh, and forgotten with the rest of the folder when any of its files changes).
    """

    def __init__(self, path: Path, importer: WorkspaceImporter, plain: str) -> None:
        self.path = path
        self.importer = importer
        self.plain = plain

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        source = self.path.read_bytes()
        linecache.cache.pop(str(self.path), None)
        setattr(module, SIGNATURE_ATTRIBUTE, hashlib.sha256(source).hexdigest())
        # Keys name a package's module by what its users write (`mypkg.tools`), as they
        # name a module of an installed package; a file's key name is its private name.
        setattr(module, KEY_NAME_ATTRIBUTE, self.plain)
        module.__dict__["__builtins__"] = self.importer.namespace()
        # Running the user's file is the point, as `import` would.
        exec(
            compile(source, str(self.path), "exec", dont_inherit=True),  # noqa: S102
            module.__dict__,
        )


class _FileLoader(importlib.abc.Loader):
    """A workspace file imported by its private name: the same module `import_workspace_file` gives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._spec: Any = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = import_workspace_file(self.path)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system stamped this spec on the module; keep its real one.
        module.__spec__ = self._spec
