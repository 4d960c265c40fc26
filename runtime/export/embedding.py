"""Copying functions of a module into a script: their source, helpers and imports.

An exported script carries Plait's built-in nodes with it (runtime.scripts),
so it runs where Plait is not installed. What is copied is exactly what the
functions need: the module-level functions, classes and constants they refer
to, transitively, and the imports those use. Decorators are dropped.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass, field


@dataclass
class Embedded:
    """What a script needs to carry some functions of a module."""

    imports: list[str] = field(default_factory=list)  # import lines the code uses
    type_imports: list[str] = field(default_factory=list)  # used in annotations only
    blocks: list[str] = field(default_factory=list)  # source of functions, classes, constants


def _bindings(statements: list[ast.stmt]) -> dict[str, str]:
    """Name -> the import line that binds it, for the imports among `statements`."""
    bound: dict[str, str] = {}
    for stmt in statements:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                line = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                bound[alias.asname or alias.name.split(".")[0]] = line
        elif (
            isinstance(stmt, ast.ImportFrom)
            and stmt.module
            and stmt.module != "__future__"
            and not stmt.module.startswith("plait")
        ):
            for alias in stmt.names:
                line = f"from {stmt.module} import {alias.name}" + (
                    f" as {alias.asname}" if alias.asname else ""
                )
                bound[alias.asname or alias.name] = line
    return bound


def embedded_source(module_name: str, names: set[str]) -> Embedded:
    """The source of some functions of a module, the helpers they use, and their imports.

    Decorators are dropped: `@node` metadata matters to Plait, not to the script.
    Imports under `if TYPE_CHECKING:` come back apart, for the script's own such block.
    """
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    tree = ast.parse(source)
    lines = source.splitlines()
    defined: dict[str, ast.stmt] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            defined[stmt.name] = stmt
        elif (
            isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
        ):
            defined[stmt.targets[0].id] = stmt
    imported = _bindings(tree.body)
    type_only = _bindings(
        [
            inner
            for stmt in tree.body
            if isinstance(stmt, ast.If)
            and isinstance(stmt.test, ast.Name)
            and stmt.test.id == "TYPE_CHECKING"
            for inner in stmt.body
        ]
    )
    wanted: set[str] = set()
    result = Embedded()
    queue = list(names)
    while queue:
        name = queue.pop()
        if name in wanted or name not in defined:
            continue
        wanted.add(name)
        stmt = defined[name]
        skipped = {
            id(inner) for decorator in getattr(stmt, "decorator_list", []) for inner in ast.walk(decorator)
        }
        for inner in ast.walk(stmt):
            if not isinstance(inner, ast.Name) or id(inner) in skipped:
                continue
            if inner.id in defined:
                queue.append(inner.id)
            elif inner.id in imported:
                result.imports.append(imported[inner.id])
            elif inner.id in type_only:
                result.type_imports.append(type_only[inner.id])
    result.imports = sorted(set(result.imports))
    result.type_imports = sorted(set(result.type_imports))
    # In the module's order, which defines helpers before their users where it matters.
    result.blocks = [
        "\n".join(lines[stmt.lineno - 1 : stmt.end_lineno])
        for stmt in tree.body
        if any(defined.get(n) is stmt for n in wanted)
    ]
    return result
