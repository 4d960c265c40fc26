"""Where a traced node's function lives, and saving a script's functions into the workspace.

A function of an importable module keeps its `module:qualname` key (the module
joins the workspace's libraries); one of a workspace file keeps `file.py:name`.
A function defined in a script being run or in a notebook cell (`__main__`)
would be gone once that process ends, so its source, with the helpers,
classes, constants and imports it uses, is written into a library file of the
workspace, one per flow (`<flow>_flow.py`, in the palette under the flow's
name); its nodes name that file. Running the script again with an edited
function rewrites the file, and the cache sees an edited library.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import linecache
import re
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.runtime.keys.values import KEY_NAME_ATTRIBUTE
from plait.runtime.nodes.libraries import KEY_MODULES, workspace_files
from plait.runtime.nodes.loader import WORKSPACE_MODULE_PREFIX, plain_module_name

MAIN_MODULES = ("__main__", "__mp_main__")
# The first line of a file this module writes; a file without it is the user's and never overwritten.
GENERATED_MARK = "# Written by Plait's @flow"
_KEY_TARGETS = {module: key for key, module in KEY_MODULES.items()}


class SourceError(Exception):
    """A node function whose code cannot be saved with its flow; the message says why."""


def flow_module_name(flow_name: str) -> str:
    """The library file a flow's script functions go into: `iris` -> `iris_flow.py`."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", flow_name).strip("_").lower() or "flow"
    if slug[0].isdigit():
        slug = f"flow_{slug}"
    return f"{slug}_flow.py"


def _workspace_file_of(module: types.ModuleType | None, folder: Path) -> str | None:
    """`name.py` when `module` is one of the workspace's library files."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    if path in workspace_files(folder):
        return path.relative_to(folder).as_posix()
    return None


@dataclass
class Keys:
    """Node keys for the functions a flow calls, and what saving them needs."""

    folder: Path
    flow_name: str
    generated: dict[str, Any] = field(default_factory=dict)  # qualname -> function to save
    modules: set[str] = field(default_factory=set)  # importable modules the keys name

    @property
    def file_name(self) -> str:
        return flow_module_name(self.flow_name)

    def __call__(self, fn: Any) -> str:
        fn = inspect.unwrap(fn)
        module_name = getattr(fn, "__module__", None) or ""
        qualname = getattr(fn, "__qualname__", "")
        if "<locals>" in qualname:
            raise SourceError(
                f"{qualname} is defined inside another function; define node functions at the "
                "top level of the script, notebook cell or module"
            )
        module = sys.modules.get(module_name)
        in_workspace = _workspace_file_of(module, self.folder)
        if in_workspace is not None:
            return f"{in_workspace}:{qualname}"
        if hasattr(module, KEY_NAME_ATTRIBUTE):  # a module of a workspace package: by its plain name
            module_name = plain_module_name(module_name)
        if module_name in MAIN_MODULES or module_name.startswith(WORKSPACE_MODULE_PREFIX):
            self.generated[qualname] = fn
            return f"{self.file_name}:{qualname}"
        target = _KEY_TARGETS.get(module_name, module_name)
        if target not in KEY_MODULES:
            self.modules.add(target)
        return f"{target}:{qualname}"


def _class_in_cells(cls: type) -> str | None:
    """A notebook class's source, from the newest cell that defines it at its top level.

    inspect finds a class through its module's file, and a notebook has none;
    IPython keeps each cell's source in linecache under a file name of its own.
    """
    found = None
    for name, entry in list(linecache.cache.items()):
        if len(entry) != 4 or not isinstance(entry[2], list) or "ipykernel" not in name:
            continue
        text = "".join(entry[2])
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == cls.__name__:
                first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
                found = "".join(entry[2][first - 1 : stmt.end_lineno])
    return found


def _source(obj: Any) -> str:
    try:
        text = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as exc:
        if inspect.isclass(obj) and obj.__module__ in MAIN_MODULES:
            found = _class_in_cells(obj)
            if found is not None:
                return textwrap.dedent(found)
        what = "class" if inspect.isclass(obj) else "function"
        raise SourceError(
            f"the source of {what} {obj.__qualname__} cannot be read ({exc}), so it cannot be "
            "saved with the flow; define it in a file of the workspace instead"
        ) from None
    defined = next(
        (s.name for s in ast.parse(text).body if isinstance(s, (ast.FunctionDef, ast.ClassDef))), None
    )
    if defined != obj.__name__:
        # inspect reads the file as it is now; it was edited since the code was defined.
        raise SourceError(f"the file of {obj.__qualname__} changed after it was defined; run it again")
    return text


def _names_used(tree: ast.AST) -> list[str]:
    """Every name the code reads, in order of appearance (locals included; sorted out later)."""
    seen: dict[str, None] = {}
    for inner in ast.walk(tree):
        if isinstance(inner, ast.Name):
            seen.setdefault(inner.id, None)
    return list(seen)


def _literal(value: Any) -> str | None:
    """Source text that rebuilds `value` exactly, for plain constants; None otherwise."""
    if isinstance(value, (bool, int, float, str, bytes, type(None))) or (
        isinstance(value, (tuple, list, dict, set, frozenset)) and len(repr(value)) < 100_000
    ):
        text = repr(value)
        try:
            if ast.literal_eval(text) == value:
                return text
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    return None


def _import_line(name: str, value: Any) -> str | None:
    """The import that binds `name` to `value`, when it is a module or a module's member."""
    if isinstance(value, types.ModuleType):
        module = plain_module_name(value.__name__)
        if module == name:
            return f"import {module}"
        if "." in module and module.split(".")[0] == name:
            return f"import {module}"
        return f"import {module} as {name}"
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", getattr(value, "__name__", None))
    if not isinstance(module, str) or not isinstance(qualname, str) or "." in qualname:
        return None
    if module in MAIN_MODULES:
        return None
    private = sys.modules.get(module)
    module = plain_module_name(module)
    imported = private if private is not None else sys.modules.get(module)
    if imported is not None and getattr(imported, qualname, None) is not value:
        return None
    return f"from {module} import {qualname}" + (f" as {name}" if name != qualname else "")


@dataclass
class _Module:
    imports: set[str] = field(default_factory=set)
    constants: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> (order, source)


def module_source(flow_name: str, functions: dict[str, Any], origin: str) -> str:
    """The library file holding `functions` (from `__main__`), with what they use."""
    found = _Module()
    queue = list(functions.items())
    done: set[str] = set()
    order = 0
    while queue:
        name, obj = queue.pop(0)
        if name in done:
            continue
        done.add(name)
        text = _source(obj)
        order += 1
        try:
            line = inspect.getsourcelines(obj)[1]
        except (OSError, TypeError):
            line = order
        # Classes first (annotations and defaults may name them), then in the order written.
        found.blocks[name] = ((0 if inspect.isclass(obj) else 1, line, order), text)
        scope = getattr(obj, "__globals__", None)
        if scope is None:  # a class: the globals of its module
            scope = vars(sys.modules.get(obj.__module__, types.ModuleType("empty")))
        for used in _names_used(ast.parse(text)):
            if used in done or used == name or used not in scope:
                continue
            value = scope[used]
            if getattr(value, "__plait_flow__", False):
                continue  # the flow itself (or another): not part of the node code
            if (inspect.isfunction(value) or inspect.isclass(value)) and getattr(
                value, "__module__", None
            ) in MAIN_MODULES:
                queue.append((used, value))
                continue
            line = _import_line(used, value)
            if line is not None:
                found.imports.add(line)
                continue
            text_value = _literal(value)
            if text_value is not None:
                found.constants[used] = text_value
                done.add(used)
                continue
            if hasattr(builtins, used) and getattr(builtins, used) is value:
                continue
            raise SourceError(
                f"{name} uses the global {used!r} (a {type(value).__name__}), which cannot be saved "
                f"with flow {flow_name!r}: compute it inside a node, pass it in as an input, or "
                "define it in a file of the workspace"
            )
    header = [
        f"{GENERATED_MARK} from {origin}: the node functions of flow {flow_name!r}.",
        "# Running that script (or notebook) again rewrites this file; edit the code there.",
        '"""Node functions of flow ' + repr(flow_name)[1:-1] + ", saved from " + origin + '."""',
        "",
        "from __future__ import annotations",
        "",
    ]
    body = header + sorted(found.imports, key=lambda line: (line.startswith("from "), line))
    body += ["", f"__plait_group__ = {flow_name!r}"]
    if found.constants:
        body += [""] + [f"{k} = {v}" for k, v in sorted(found.constants.items())]
    for _, text in sorted(found.blocks.values()):
        body += ["", "", text.rstrip()]
    return "\n".join(body) + "\n"


def origin_of(functions: dict[str, Any]) -> str:
    """Where the functions were defined, in words: the script's name, or a notebook."""
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if file and "ipykernel" not in sys.modules:
        return Path(file).name
    return "a notebook"


def write_module(folder: Path, flow_name: str, functions: dict[str, Any]) -> Path | None:
    """Write (or rewrite, when it changed) the flow's library file; None when nothing to save."""
    if not functions:
        return None
    path = Path(folder) / flow_module_name(flow_name)
    text = module_source(flow_name, functions, origin_of(functions))
    if path.exists():
        current = path.read_text(encoding="utf-8", errors="replace")
        if not current.startswith(GENERATED_MARK):
            raise SourceError(
                f"{path} already exists and was not written by @flow; rename it, or give the "
                "flow another name (@flow(name=...))"
            )
        if current == text:
            return path
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
