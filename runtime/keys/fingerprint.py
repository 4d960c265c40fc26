"""Code fingerprints: a hash that changes when a node's code (or what it uses) changes.

The fingerprint is one part of a node's cache key. It covers the function's own
source and, transitively, the functions, classes and constants *of the same
module* it refers to, so editing a helper invalidates its callers while editing
an unrelated function does not. Functions and classes imported from another
workspace file (`from helpers import clean`) count the same way: they are the
user's code too. Other modules count by name only: their code is versioned by
the package that ships them, not by the workspace.

Everything hashed is text built without id() or hash(), so the same code gives
the same fingerprint in every process.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import platform
import re
import sys
import textwrap
import types
from collections.abc import Iterator
from typing import Any

from plait.runtime.nodes.loader import WORKSPACE_MODULE_PREFIX

# Memory addresses make reprs differ between processes.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_CONSTANT_DEPTH = 20


def code_fingerprint(fn: Any) -> str:
    """Return a hex sha256 of `fn`'s code and the same-module code and constants it uses."""
    walker = _Walker()
    walker.add_callable(fn)
    digest = hashlib.sha256()
    for part in walker.parts:
        # Length-prefix each part so that ("ab", "c") and ("a", "bc") differ.
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def stable_repr(value: Any, depth: int = 0) -> str | None:
    """A process-independent repr of a plain constant, or None if `value` is not one.

    Plain constants are None, bool, int, float, complex, str, bytes, and tuples,
    lists, sets, frozensets and dicts of them. Sets are sorted by item repr
    because their iteration order depends on the per-process string hash seed.
    """
    if depth > _CONSTANT_DEPTH:
        return None
    if (
        value is None
        or value is Ellipsis
        or isinstance(value, (bool, int, float, complex, str, bytes))
    ):
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
            module = (
                owner.__name__ if inspect.ismodule(owner) else getattr(owner, "__module__", None)
            )
    if not isinstance(qualname, str):
        kind = type(obj)
        return f"instance:{kind.__module__}:{kind.__qualname__}"
    return f"{module or 'builtins'}:{qualname}"


def package_version(module_name: str | None) -> str:
    """The installed distribution version for a module's top package, else the Python version."""
    top = (module_name or "builtins").split(".")[0]
    if top in sys.stdlib_module_names or top == "builtins":
        return f"python-{platform.python_version()}"
    version = getattr(sys.modules.get(top), "__version__", None)
    try:
        for name in _distributions().get(top, []):
            return f"{name}-{importlib.metadata.version(name)}"
    except Exception:  # noqa: BLE001 - broken metadata must not stop a run; the name still counts
        version = version or "metadata-unreadable"
    return f"{top}-{version}" if isinstance(version, str) else f"{top}-unknown"


@functools.lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    # Scanning every installed distribution is slow; once per process is enough.
    return dict(importlib.metadata.packages_distributions())


class _Walker:
    """Collects the text parts of a fingerprint, visiting each object once."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._visited: set[str] = set()

    def add_callable(self, fn: Any) -> None:
        if isinstance(fn, functools.partial):
            # What runs is the wrapped function with these arguments bound.
            self.parts.append("partial")
            self.add_callable(fn.func)
            self.parts.append(bound_arguments(fn.args, fn.keywords))
            return
        if isinstance(fn, types.MethodType):
            self.add_callable(fn.__func__)
            return
        if inspect.isclass(fn):
            self._add_class(fn)
            return
        fn = _unwrap(fn)
        if isinstance(fn, types.FunctionType):
            self._add_function(fn)
            return
        if getattr(fn, "__qualname__", None) is None and callable(fn) and not inspect.isroutine(fn):
            # A callable instance: what runs is its class's __call__ (and whatever
            # else the class defines that __call__ may use).
            kind = type(fn)
            if isinstance(inspect.getattr_static(kind, "__call__", None), types.FunctionType):
                self._add_class(kind)
                return
        # Builtins, ufuncs, C extension functions: no code to read, so trust the
        # package version to change when they do.
        name = qualified_name(fn)
        module = name.split(":", 1)[0]
        self.parts.append(f"builtin {name} {package_version(module)}")

    def _first_visit(self, tag: str) -> bool:
        if tag in self._visited:
            return False
        self._visited.add(tag)
        return True

    def _add_function(self, fn: types.FunctionType) -> None:
        tag = f"function {fn.__module__}:{fn.__qualname__}:{fn.__code__.co_firstlineno}"
        if not self._first_visit(tag):
            return
        source = _source(fn)
        if source is not None:
            self.parts.append(f"source {fn.__qualname__}\n{source}")
        else:
            self.parts.append(f"bytecode {fn.__qualname__}\n{_bytecode(fn.__code__)}")
        # Defaults and closure cells are values the code runs with, not in co_names.
        for value in (fn.__defaults__ or ()) + tuple((fn.__kwdefaults__ or {}).values()):
            self._add_value(value, fn.__module__, "default")
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell: the variable is not bound yet
                continue
            self._add_value(value, fn.__module__, f"closure {name}")
        self._add_references(fn.__code__, fn.__globals__, fn.__module__)

    def _add_class(self, cls: type) -> None:
        tag = f"class {cls.__module__}:{cls.__qualname__}"
        if not self._first_visit(tag):
            return
        source = _source(cls)
        methods = [_unwrap(f) for f in _class_functions(cls)]
        if source is not None:
            self.parts.append(f"source {cls.__qualname__}\n{source}")
        else:
            self.parts.append(f"class {cls.__qualname__}")
            for method in methods:
                self.parts.append(_bytecode(method.__code__))
        module_dict = getattr(sys.modules.get(cls.__module__), "__dict__", {})
        for base in cls.__bases__:
            self._add_value(base, cls.__module__, "base")
        for method in methods:
            self._add_references(method.__code__, method.__globals__ or module_dict, cls.__module__)

    def _add_references(self, code: types.CodeType, namespace: dict[str, Any], module: str) -> None:
        """Include what the global names used by `code` (and nested code) refer to."""
        names = list(_global_names(code))
        for name in names:
            if name not in namespace:
                continue
            value = namespace[name]
            self._add_value(value, module, name)
            if isinstance(value, types.ModuleType) and value.__name__.startswith(
                WORKSPACE_MODULE_PREFIX
            ):
                # `helpers.clean(x)`: co_names holds both "helpers" and "clean", so
                # follow the code's names into the workspace module.
                members = vars(value)
                for attribute in names:
                    if attribute in members:
                        self._add_value(members[attribute], value.__name__, f"{name}.{attribute}")

    def _add_value(self, value: Any, module: str, name: str) -> None:
        if callable(value) and hasattr(value, "__wrapped__"):
            # @functools.cache and other wrapping decorators: the user's code is inside.
            value = _unwrap(value)
        if isinstance(value, types.ModuleType):
            self.parts.append(f"{name} = module {value.__name__}")
            return
        if isinstance(value, (types.FunctionType, type)) and _is_user_code(value, module):
            # The qualname only: the same code in another file or workspace is the same code.
            self.parts.append(f"{name} = same-module {value.__qualname__}")
            self.add_callable(value)
            return
        if isinstance(value, functools.partial) and _is_user_code(value.func, module):
            self.parts.append(f"{name} = same-module partial")
            self.add_callable(value)
            return
        constant = stable_repr(value)
        if constant is not None:
            self.parts.append(f"{name} = {constant}")
            return
        if inspect.isclass(value) or inspect.isroutine(value):
            self.parts.append(f"{name} = {qualified_name(value)}")
            return
        kind = type(value)
        if _is_user_code(kind, module):
            # An instance of a class defined here: the class's code shapes it.
            self.parts.append(f"{name} = instance of same-module {kind.__qualname__}")
            self._add_class(kind)
            return
        # Other objects (loggers, arrays, compiled patterns...): their reprs are not
        # reliably stable across processes, so only their type counts.
        self.parts.append(f"{name} = instance of {kind.__module__}:{kind.__qualname__}")


def _unwrap(fn: Any) -> Any:
    try:
        return inspect.unwrap(fn)
    except ValueError:  # a __wrapped__ cycle
        return fn


def _is_user_code(value: Any, module: str) -> bool:
    """Code whose source counts: the same module, or any workspace file (helpers.py)."""
    owner = getattr(value, "__module__", None)
    return isinstance(owner, str) and (owner == module or owner.startswith(WORKSPACE_MODULE_PREFIX))


def _source(obj: Any) -> str | None:
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except Exception:  # noqa: BLE001
        # OSError/TypeError when there is no file (exec, REPL, builtins); SyntaxError
        # when a class's file was edited into invalid code since it was imported.
        return None


def _class_functions(cls: type) -> Iterator[types.FunctionType]:
    """Plain functions defined in a class body: methods, static/class methods, properties."""
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            yield from (
                f for f in (value.fget, value.fset, value.fdel) if isinstance(f, types.FunctionType)
            )
        elif isinstance(value, types.FunctionType):
            yield value


def _global_names(code: types.CodeType) -> Iterator[str]:
    """co_names of a code object and of every code object nested in its constants."""
    seen: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop(0)
        for name in current.co_names:
            if name not in seen:
                seen.add(name)
                yield name
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))


def _bytecode(code: types.CodeType) -> str:
    """Text of a code object's bytecode, constants and names, for code with no source."""
    consts = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            consts.append("<code>\n" + _bytecode(const))
        else:
            consts.append(stable_repr(const) or _ADDRESS.sub("", repr(const)))
    return "\n".join(
        [code.co_code.hex(), "consts: " + " | ".join(consts), "names: " + " ".join(code.co_names)]
    )


def bound_arguments(args: tuple[Any, ...], keywords: dict[str, Any]) -> str:
    """A stable text of a partial's bound arguments (keywords sorted)."""
    parts = [stable_repr(a) or _ADDRESS.sub("", repr(a)) for a in args]
    parts += [
        f"{key}={stable_repr(value) or _ADDRESS.sub('', repr(value))}"
        for key, value in sorted(keywords.items())
    ]
    return "bound(" + ", ".join(parts) + ")"
