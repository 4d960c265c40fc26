"""Code fingerprints: what a node's code can reach, each part hashed by value.

A node's fingerprint covers its function and, transitively, everything the
code can reach: helper functions and classes by their normalised source
(parsed, docstrings dropped, dumped without positions: comments, blank lines
and formatting never count), module-level objects by their value (arrays and
tables by content, containers of functions by the functions' code), names
imported inside a body, decorators, `functools.partial` targets and their
bound arguments. Code of an installed distribution counts by the
distribution's name and version, the standard library by Python's version.

Where a part cannot be read safely (a value that does not hash, code that
looks itself up through `globals()`), the whole source of its module counts
instead, and the fingerprint's notes say so: over-invalidate, never go stale.

Each part is kept under a label a person can read (`iris.py:_sigmoid`,
`pandas`, `iris.py:WEIGHTS`), which is how `plait explain` says what changed.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import contextvars
import functools
import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import platform
import re
import sys
import sysconfig
import textwrap
import types
import urllib.parse
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.runtime.keys.values import Unhashable, module_key_name, value_digest

RECIPE = "code-2"  # bump when what a fingerprint covers changes
# Calls that let code reach names no reader can follow: the whole module counts.
_DYNAMIC = {"globals", "vars", "locals", "eval", "exec", "__import__"}
# Calls whose results differ from run to run (for the inspector's hint).
_NONDETERMINISTIC = {
    ("random", None),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "perf_counter"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("uuid", "uuid1"),
    ("uuid", "uuid4"),
    ("os", "urandom"),
    ("secrets", None),
}
_MEMO_LIMIT = 4096
# Memory addresses make reprs differ between processes.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_CONSTANT_DEPTH = 20


@dataclass
class Fingerprint:
    """A node's code fingerprint: one digest, and the labelled parts it was made of."""

    digest: str
    parts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    nondeterministic: list[str] = field(default_factory=list)


def code_fingerprint(fn: Any) -> str:
    """The hex digest of everything `fn`'s code can reach."""
    return fingerprint(fn).digest


def fingerprint(fn: Any) -> Fingerprint:
    walker = _Walker()
    root = walker.add_callable(fn, "")
    # Which callable runs: a library function is known by its name and its version.
    walker.parts["<node>"] = root if ":" in root else qualified_name(fn)
    parts = dict(sorted(walker.parts.items()))
    digest = hashlib.sha256(RECIPE.encode())
    # The user's file names label the parts for people, not for the digest: the
    # same code in another file (or a copy of the workspace) has the same fingerprint.
    hashed = sorted((_anonymous(label, walker.files), part) for label, part in parts.items())
    for label, part in hashed:
        digest.update(
            f"{len(label)}:{label}={_anonymous(part, walker.files)}\n".encode("utf-8", "surrogatepass")
        )
    return Fingerprint(digest.hexdigest(), parts, walker.notes, sorted(walker.random))


def _anonymous(text: str, files: set[str]) -> str:
    for name in files:
        text = text.replace(f"{name}:", "<file>:").replace(f"module {name}", "module <file>")
    return text


# -- where code comes from ------------------------------------------------------

# In the desktop bundle every library, the standard library too, lives in the
# bundle's own folder (PyInstaller's sys._MEIPASS), with no site-packages.
_LIBRARY_ROOTS = tuple(
    {
        os.path.realpath(p)
        for p in (
            sysconfig.get_paths().get("purelib"),
            sysconfig.get_paths().get("platlib"),
            sysconfig.get_paths().get("stdlib"),
            sysconfig.get_paths().get("platstdlib"),
            getattr(sys, "_MEIPASS", None),
        )
        if p
    }
)


def _module_file(module_name: str | None) -> str | None:
    module = sys.modules.get(module_name or "")
    file = getattr(module, "__file__", None)
    return os.path.realpath(file) if isinstance(file, str) else None


@functools.lru_cache(maxsize=4096)
def _is_library_file(path: str) -> bool:
    return (
        "site-packages" in path
        or "dist-packages" in path
        or any(path.startswith(root + os.sep) for root in _LIBRARY_ROOTS)
    )


def is_user_module(module_name: str | None) -> bool:
    """Code whose source counts: workspace files, scripts, and modules not installed as packages."""
    if not module_name:
        return True  # code exec'd into a namespace of its own: nothing else versions it
    if module_name == "builtins":
        return False
    if module_name == "__main__" or module_name.startswith("_plait_"):
        return True
    top = module_name.split(".")[0]
    if top in sys.stdlib_module_names or top == "plait":
        return False  # Plait's own nodes change with Plait's version
    file = _module_file(module_name)
    if file is None:
        # No file (exec'd, a notebook cell's module): only code we can read counts.
        return module_name in sys.modules and not hasattr(sys.modules[module_name], "__path__")
    return not _is_library_file(file)


def _is_user_top(name: str) -> bool:
    """Whether a top-level module not imported yet is the user's, found without importing it."""
    if name in sys.modules:
        return is_user_module(name)
    if name in sys.stdlib_module_names:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    origin = getattr(spec, "origin", None)
    if origin is None:  # a workspace sibling (`from helpers import f`) has a loader with a path
        return isinstance(getattr(spec.loader, "path", None), Path)
    if origin in ("built-in", "frozen"):
        return False
    return not _is_library_file(os.path.realpath(origin))


# Within `versions_read_once`, each distribution's version read once: a catalog's load asks
# for every node of a library, and reading a distribution's metadata takes ~1.5 ms.
_versions: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "plait_versions", default=None
)


@contextlib.contextmanager
def versions_read_once() -> Iterator[None]:
    """Within, each distribution's version is read once; outside, every time it is asked for
    (a library upgraded in a long-lived process counts from its next load)."""
    token = _versions.set({})
    try:
        yield
    finally:
        _versions.reset(token)


def library_version(module_name: str | None) -> tuple[str, str]:
    """(label, version) of the distribution a module comes from, or Python's for the stdlib."""
    top = (module_name or "builtins").split(".")[0]
    if top in sys.stdlib_module_names or top == "builtins":
        return "python", platform.python_version()
    named = _distribution_named(top)
    names = [named] if named else _distributions().get(top, [])
    memo = _versions.get()
    for name in names:
        if memo is not None and name in memo:
            return name, memo[name]
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if memo is not None:
            memo[name] = version
        return name, version
    version = getattr(sys.modules.get(top), "__version__", None)
    return top, version if isinstance(version, str) else "unknown"


@functools.lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    # Scanning every installed distribution is slow; once per process is enough
    # to map module names to distributions (their versions are read each time).
    return dict(importlib.metadata.packages_distributions())


@functools.lru_cache(maxsize=512)
def _distribution_named(top: str) -> str | None:
    # Most modules come from a distribution of their own name (numpy, pandas,
    # plait): reading that one distribution's metadata answers without the
    # scan of every installed one, which costs a cold `plait run` ~80 ms.
    try:
        dist = importlib.metadata.distribution(top)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None
    declared = (dist.read_text("top_level.txt") or "").split()
    if declared:
        provides = top in declared
    else:
        provides = any(
            (file.parts[0] if len(file.parts) > 1 else inspect.getmodulename(file.name)) == top
            for file in dist.files or ()
        )
    return dist.metadata["Name"] if provides and _installed_from(dist, top) else None


def _installed_from(dist: importlib.metadata.Distribution, top: str) -> bool:
    """Whether the imported module `top` is the one `dist` installed: not another
    distribution's of the same name elsewhere on the path (a stale one left behind)."""
    file = getattr(sys.modules.get(top), "__file__", None)
    if not file:
        return True  # not imported, or a namespace: what the distribution declares answers
    where = Path(file).resolve()
    if where.is_relative_to(Path(str(dist.locate_file(""))).resolve()):
        return True
    try:  # an editable install: its files stay in the project folder it names
        url = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return False
    if not url.get("dir_info", {}).get("editable") or not str(url.get("url", "")).startswith("file:"):
        return False
    folder = urllib.parse.unquote(urllib.parse.urlparse(url["url"]).path)
    return where.is_relative_to(Path(folder).resolve())


def refresh_distributions() -> None:
    """Forget which distributions exist (after an install in a long-lived process)."""
    _distributions.cache_clear()
    _distribution_named.cache_clear()


def module_label(module_name: str) -> str:
    """`iris.py` for the user's own files, the dotted name for other modules.

    By file name, so the same code in another folder or under another module
    name has the same fingerprint.
    """
    file = _module_file(module_name)
    if not module_name:
        return "<exec>"
    if file and is_user_module(module_name):
        return (
            Path(file).name if Path(file).name != "__init__.py" else f"{Path(file).parent.name}/__init__.py"
        )
    return module_name


# -- normalised source ----------------------------------------------------------


_DOCUMENTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)
_CLOSE = object()  # marks the end of a node or list in the dump


def normalised(tree: ast.AST) -> str:
    """A tree's text without docstrings, positions or formatting.

    Written without recursion: a generated function summing a thousand
    arguments nests a thousand deep, past what a recursive walk can take.
    """
    for node in ast.walk(tree):
        if isinstance(node, _DOCUMENTED):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    out: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if item is _CLOSE:
            out.append(")")
        elif isinstance(item, ast.AST):
            out.append(type(item).__name__ + "(")
            stack.append(_CLOSE)
            stack.extend(getattr(item, name, None) for name in reversed(item._fields))
        elif isinstance(item, list):
            out.append("[")
            stack.append(_CLOSE)
            stack.extend(reversed(item))
        else:
            out.append(repr(item) + ",")
    return "".join(out)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _tree_of(obj: Any) -> ast.AST | None:
    """The parsed source of a function's own code (not what it wraps) or a class."""
    target = obj.__code__ if isinstance(obj, types.FunctionType) else obj
    try:
        source = textwrap.dedent(inspect.getsource(target))
    except Exception:  # noqa: BLE001 - no file (exec, REPL), or edited into invalid code
        return None
    try:
        return ast.parse(source)
    except SyntaxError:
        # A lambda's line holds more than the lambda; read the whole statement's line.
        try:
            return ast.parse(source.strip().rstrip(",)") if source.strip() else "")
        except SyntaxError:
            return None


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, mtime_ns: int, size: int) -> str | None:
    try:
        return _digest(normalised(ast.parse(Path(path).read_bytes())))
    except (OSError, SyntaxError, ValueError):
        return None


def module_source_digest(module_name: str) -> str:
    """The whole module's normalised source (or its file's bytes when it does not parse)."""
    file = _module_file(module_name)
    if file is None:
        return "no-source"
    try:
        stat = os.stat(file)
    except OSError:
        return "no-source"
    found = _file_digest(file, stat.st_mtime_ns, stat.st_size)
    if found is None:
        return hashlib.blake2b(Path(file).read_bytes(), digest_size=16).hexdigest()
    return found


# -- what code reaches ----------------------------------------------------------


@dataclass
class _Reach:
    names: set[str] = field(default_factory=set)  # global names read
    chains: list[tuple[str, ...]] = field(default_factory=list)  # a.b.c
    imports: list[tuple[str, tuple[str, ...], int]] = field(default_factory=list)
    bound: dict[str, str] = field(default_factory=dict)  # `import a.b as h`: h -> a.b
    bare: set[str] = field(default_factory=set)  # names read other than as `name.attr`
    dynamic: bool = False
    by_name: bool = False  # imports a module by a name worked out at run time
    random: set[str] = field(default_factory=set)


def _chain(node: ast.AST) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return (node.id, *reversed(parts))
    return None


# Generators given a seed are deterministic: `default_rng(seed)`, `Random(42)`.
_SEEDABLE = {"default_rng", "RandomState", "Random", "Generator", "SeedSequence", "seed"}


def _reach(tree: ast.AST) -> _Reach:
    found = _Reach()
    based: set[int] = set()  # Name nodes that are the base of an attribute read
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            found.names.add(node.id)
            if id(node) not in based:
                found.bare.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            if isinstance(node.value, ast.Name):
                based.add(id(node.value))
            chain = _chain(node)
            if chain is not None:
                found.chains.append(chain)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.imports.append((alias.name, (), 0))
                if alias.asname:
                    found.bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    found.bound[top] = top
        elif isinstance(node, ast.ImportFrom):
            found.imports.append((node.module or "", tuple(a.name for a in node.names), node.level))
        elif isinstance(node, ast.Call):
            chain = _chain(node.func)
            if chain and chain[-1] in _DYNAMIC and (len(chain) == 1 or chain[0] == "builtins"):
                found.dynamic = True
            if chain and chain[-1] == "import_module" and node.args:
                # importlib.import_module("helpers") imports as `import helpers` does; of a name
                # worked out at run time nothing can be known before it runs: the key says so.
                name = node.args[0]
                if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value[:1] != ".":
                    found.imports.append((name.value, (), 0))
                else:
                    found.by_name = True
            seeded = bool(node.args or node.keywords) and chain is not None and chain[-1] in _SEEDABLE
            if chain and not seeded:
                head, tail = chain[0], chain[-1]
                for module, name in _NONDETERMINISTIC:
                    if (head == module or module in chain[:-1]) and name in (None, tail):
                        if not (module == "random" and tail == "seed"):
                            found.random.add(".".join(chain))
                if "random" in chain[:-1] and chain[0] in ("np", "numpy") and tail != "seed":
                    found.random.add(".".join(chain))
    return found


# -- the walk ---------------------------------------------------------------------

# Digests of big module-level values, by identity: a 100 MB array is read once. The
# memo holds the value weakly where it can, so a reloaded module's old array is freed.
_value_memo: dict[int, tuple[Any, str]] = {}


def _memo_value(value: Any, code: Any) -> str:
    size = getattr(value, "nbytes", None)
    if not isinstance(size, int) or size < (1 << 20):
        return value_digest(value, code)
    hit = _value_memo.get(id(value))
    if hit is not None:
        held = hit[0]() if isinstance(hit[0], weakref.ref) else hit[0]
        if held is value:
            return hit[1]
    digest = value_digest(value, code)
    if len(_value_memo) >= 64:  # few values are this big: keep the latest ones
        _value_memo.pop(next(iter(_value_memo)))
    try:
        holder: Any = weakref.ref(value)
    except TypeError:
        holder = value
    _value_memo[id(value)] = (holder, digest)
    return digest


class _Walker:
    def __init__(self) -> None:
        self.parts: dict[str, str] = {}
        self.notes: list[str] = []
        self.random: set[str] = set()
        self.files: set[str] = set()  # labels of the user's files met
        self._seen: set[int] = set()

    # Callables ---------------------------------------------------------------

    def add_callable(self, fn: Any, label: str) -> str:
        """Add what `fn` reaches; return the label its own code is kept under."""
        if isinstance(fn, functools.partial):
            inner = self.add_callable(fn.func, label)
            self._value(f"{inner} bound arguments", (fn.args, fn.keywords), fn.func)
            return inner
        if isinstance(fn, types.MethodType):
            inner = self.add_callable(fn.__func__, label)
            self._value(f"{inner} bound to", fn.__self__, fn.__func__)
            return inner
        if isinstance(fn, staticmethod | classmethod):
            return self.add_callable(fn.__func__, label)
        if inspect.isclass(fn):
            return self._class(fn)
        if isinstance(fn, types.FunctionType):
            return self._function(fn)
        if callable(fn) and not inspect.isroutine(fn):
            kind = type(fn)
            inner = self._class(kind)
            state = getattr(fn, "__dict__", None)
            if state:
                self._value(f"{inner} instance", dict(state), kind)
            return inner
        return self._library(getattr(fn, "__module__", None) or _owner_module(fn))

    def _file(self, module: str) -> str:
        label = module_label(module)
        self.files.add(label)
        return label

    def _library(self, module_name: str | None) -> str:
        name, version = library_version(module_name)
        self.parts[name] = version
        return name

    def _function(self, fn: types.FunctionType) -> str:
        module = fn.__module__ or ""
        if not is_user_module(module):
            return self._library(module)
        label = f"{self._file(module)}:{fn.__qualname__}"
        if id(fn) in self._seen:
            return label
        self._seen.add(id(fn))
        tree = _tree_of(fn)
        if tree is None:
            self.parts[label] = _digest(_bytecode(fn.__code__))
            reach = _Reach(names=set(_code_names(fn.__code__)))
        else:
            self.parts[label] = _digest(normalised(tree))
            reach = _reach(tree)
        for value in fn.__defaults__ or ():
            self._value(f"{label} default", value, fn)
        for name, value in (fn.__kwdefaults__ or {}).items():
            self._value(f"{label} default {name}", value, fn)
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell: not bound yet
                continue
            self._reference(f"{label} closure {name}", value, module)
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:  # functools.wraps: the user's function is inside
            self.add_callable(wrapped, label)
        self._follow(reach, fn.__globals__, module, label)
        return label

    def _class(self, cls: type) -> str:
        module = cls.__module__ or ""
        if not is_user_module(module):
            return self._library(module)
        label = f"{self._file(module)}:{cls.__qualname__}"
        if id(cls) in self._seen:
            return label
        self._seen.add(id(cls))
        namespace = getattr(sys.modules.get(module), "__dict__", {})
        tree = _tree_of(cls)
        if tree is not None:
            self.parts[label] = _digest(normalised(tree))
            self._follow(_reach(tree), namespace, module, label)
        else:
            self.parts[label] = "no-source"
            self._whole_module(module, f"the source of {label} cannot be read")
        for base in cls.__bases__:
            if base is not object:
                self._reference(f"{label} base", base, module)
        for name, value in vars(cls).items():
            if name.startswith("__") and name.endswith("__"):
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                for part in (value.fget, value.fset, value.fdel):
                    if part is not None:
                        self.add_callable(part, label)
            elif isinstance(value, types.FunctionType):
                self._function(value)
            else:
                self._value(f"{label}.{name}", value, cls)
        return label

    # Names -------------------------------------------------------------------

    def _follow(self, reach: _Reach, namespace: dict[str, Any], module: str, label: str) -> None:
        self.random |= reach.random
        if reach.by_name:
            self.notes.append(
                f"{label} imports a module by a name it works out when it runs: that module's "
                "code does not count (name it in the call, or set the node's cache to never)"
            )
        if reach.dynamic:
            self._whole_module(module, f"{label} looks names up at run time (globals(), eval…)")
            for name, value in list(namespace.items()):
                if not name.startswith("__"):
                    self._reference(f"{self._file(module)}:{name}", value, module)
        for name in sorted(reach.names):
            if name in namespace:
                self._reference(f"{self._file(module)}:{name}", namespace[name], module)
        for chain in reach.chains:
            head = namespace.get(chain[0])
            if isinstance(head, types.ModuleType):
                self._attributes(head, chain[1:])
        for target, names, level in reach.imports:
            self._import(target, names, level, module, label, reach)

    def _attributes(self, module: types.ModuleType, chain: tuple[str, ...]) -> None:
        """`helpers.clean(x)` or `pkg.sub.f`: follow the attributes into the module."""
        current: Any = module
        for attribute in chain:
            if not isinstance(current, types.ModuleType):
                return
            name = current.__name__
            if not is_user_module(name):
                self._library(name)
                return
            members = vars(current)
            if attribute not in members:
                try:  # a submodule not imported yet
                    current = importlib.import_module(f"{name}.{attribute}")
                    continue
                except Exception:  # noqa: BLE001 - not a submodule: an attribute set later
                    self._whole_module(name, f"{module_label(name)} has no {attribute!r} yet")
                    return
            current = members[attribute]
            self._reference(f"{self._file(name)}:{attribute}", current, name)

    def _import(
        self,
        target: str,
        names: tuple[str, ...],
        level: int,
        module: str,
        label: str,
        reach: _Reach | None = None,
    ) -> None:
        """An import inside a body runs when the code does: follow it."""
        written, resolve = target, _imports_of(module)
        shown = target  # how the label names it: by the names keys know modules by
        try:
            if level:
                package = (
                    module if hasattr(sys.modules.get(module), "__path__") else module.rpartition(".")[0]
                )
                shown = importlib.util.resolve_name("." * level + target, module_key_name(package))
                target = importlib.util.resolve_name("." * level + target, package)
            else:
                target = resolve(target)
            if not _is_user_top(target.split(".")[0]):
                self._library(target)  # known by its version: no need to import it
                return
            found = importlib.import_module(target)
        except Exception:  # noqa: BLE001 - it would fail in the node too; the text counts
            self.parts[f"{label} imports {shown}"] = "missing"
            return
        if not is_user_module(found.__name__):
            self._library(found.__name__)
            return
        if not names:
            local = next(
                (
                    n
                    for n, t in (reach.bound if reach else {}).items()
                    if t == written or t == written.split(".")[0]
                ),
                None,
            )
            if local is None or local in reach.bare:
                # The module itself is passed around: any of it may be used.
                self.parts[f"module {self._file(found.__name__)}"] = module_source_digest(found.__name__)
                return
            bound = sys.modules.get(resolve(reach.bound[local]), found)
            for chain in reach.chains:
                if chain[0] == local:
                    self._attributes(bound, chain[1:])
            return
        for name in names:
            if name == "*":
                self._whole_module(found.__name__, f"{label} imports * from it")
                continue
            value = getattr(found, name, None)
            if value is None:
                try:
                    value = importlib.import_module(f"{found.__name__}.{name}")
                except Exception:  # noqa: BLE001
                    self.parts[f"{self._file(found.__name__)}:{name}"] = "missing"
                    continue
            self._reference(f"{self._file(found.__name__)}:{name}", value, found.__name__)

    def _reference(self, label: str, value: Any, module: str) -> None:
        """A name the code reads: code by its source, modules by name, data by value."""
        if isinstance(value, types.ModuleType):
            if is_user_module(value.__name__):
                self.parts.setdefault(label, f"module {module_key_name(value.__name__)}")
            else:
                self._library(value.__name__)
            return
        if isinstance(
            value, (types.FunctionType, type, functools.partial, types.MethodType, staticmethod, classmethod)
        ):
            inner = self.add_callable(value, label)
            if inner != label:
                self.parts[label] = f"-> {inner}"
            return
        if isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType)):
            if getattr(builtins, getattr(value, "__name__", ""), None) is not value:
                self._library(getattr(value, "__module__", None) or _owner_module(value))
            return
        self._value(label, value, module)

    def _value(self, label: str, value: Any, owner: Any) -> None:
        module = owner if isinstance(owner, str) else getattr(owner, "__module__", "") or ""
        if (
            callable(value)
            and not isinstance(value, type)
            and hasattr(value, "__wrapped__")
            and not isinstance(value, functools.partial)
        ):
            self.add_callable(value, label)
            return
        try:
            self.parts[label] = _memo_value(value, self._code_digest)
        except (Unhashable, RecursionError) as exc:
            self.parts[label] = "unhashable"
            self._whole_module(module, f"{label} has no stable value digest ({exc})")

    def _code_digest(self, obj: Any) -> str:
        """For functions and classes met inside values (dispatch tables, step lists)."""
        label = self.add_callable(obj, "")
        return _anonymous(f"{label}={self.parts.get(label, '')}", self.files)

    def _whole_module(self, module: str, why: str) -> None:
        if not module or not is_user_module(module):
            return
        label = f"module {self._file(module)}"
        if label not in self.parts:
            self.parts[label] = module_source_digest(module)
            self.notes.append(f"{why}: all of {module_label(module)} is tracked")


def _imports_of(module_name: str) -> Callable[[str], str]:
    """How a module's own `import` statements name what they import.

    A workspace file's `__import__` maps plain names of its siblings to their private
    modules and says so through its `resolve`; other modules import names as written.
    """
    namespace = getattr(sys.modules.get(module_name), "__dict__", {}).get("__builtins__")
    importer = (
        namespace.get("__import__") if isinstance(namespace, dict) else getattr(namespace, "__import__", None)
    )
    resolve = getattr(importer, "resolve", None)
    return resolve if callable(resolve) else _as_written


def _as_written(name: str) -> str:
    return name


def _owner_module(fn: Any) -> str | None:
    owner = getattr(fn, "__self__", None) or getattr(fn, "__objclass__", None)
    if owner is None:
        return None
    return owner.__name__ if inspect.ismodule(owner) else getattr(owner, "__module__", None)


def _code_names(code: types.CodeType) -> list[str]:
    names: list[str] = []
    stack = [code]
    while stack:
        current = stack.pop()
        names.extend(current.co_names)
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return names


def _bytecode(code: types.CodeType) -> str:
    consts = []
    for const in code.co_consts:
        consts.append(
            "<code>\n" + _bytecode(const)
            if isinstance(const, types.CodeType)
            else type(const).__name__
            + ":"
            + (repr(const) if isinstance(const, (str, bytes, int, float, bool, type(None))) else "")
        )
    return "\n".join([code.co_code.hex(), " | ".join(consts), " ".join(code.co_names)])


# -- names and reprs used for node keys ------------------------------------------


def stable_repr(value: Any, depth: int = 0) -> str | None:
    """A process-independent repr of a plain constant, or None if `value` is not one.

    Plain constants are None, bool, int, float, complex, str, bytes, and tuples,
    lists, sets, frozensets and dicts of them. Sets are sorted by item repr
    because their iteration order depends on the per-process string hash seed.
    """
    if depth > _CONSTANT_DEPTH:
        return None
    if value is None or value is Ellipsis or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        items = [stable_repr(item, depth + 1) for item in value]
        if any(item is None for item in items):
            return None
        return f"{type(value).__name__}({', '.join(items)})"  # type: ignore[arg-type]
    if isinstance(value, (set, frozenset)):
        items = [stable_repr(item, depth + 1) for item in value]
        if any(item is None for item in items):
            return None
        return f"{type(value).__name__}({', '.join(sorted(items))})"  # type: ignore[arg-type]
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            key_repr, item_repr = stable_repr(key, depth + 1), stable_repr(item, depth + 1)
            if key_repr is None or item_repr is None:
                return None
            pairs.append(f"{key_repr}: {item_repr}")
        return "dict({" + ", ".join(pairs) + "})"
    return None


def qualified_name(obj: Any) -> str:
    """`module:qualname` of a function, class or builtin; the type's name for other objects."""
    if isinstance(obj, types.ModuleType):
        return f"module:{obj.__name__}"
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if module is None:
        owner = getattr(obj, "__self__", None) or getattr(obj, "__objclass__", None)
        if owner is not None:
            module = owner.__name__ if inspect.ismodule(owner) else getattr(owner, "__module__", None)
    if not isinstance(qualname, str):
        kind = type(obj)
        return f"instance:{kind.__module__}:{kind.__qualname__}"
    return f"{module or 'builtins'}:{qualname}"


def bound_arguments(args: tuple[Any, ...], keywords: dict[str, Any]) -> str:
    """A stable text of a partial's bound arguments (keywords sorted)."""
    parts = [stable_repr(a) or _ADDRESS.sub("", repr(a)) for a in args]
    parts += [
        f"{key}={stable_repr(value) or _ADDRESS.sub('', repr(value))}"
        for key, value in sorted(keywords.items())
    ]
    return "bound(" + ", ".join(parts) + ")"
