"""Node specs read from source, without importing it: a restricted workspace's palette.

A workspace that is not trusted (see `plait.runtime.workspace.trust`) must not
run a line of its code, yet its flows should still be drawn and its palette
read. This module parses each `*.py` file with `ast` and makes a spec of every
public top-level function: ports from the signature (defaults that are plain
literals, annotations as the text written), outputs from `@node(outputs=...)`
or the return annotation, title and docstring. Nothing is evaluated: an
annotation is kept as its source text (a forward reference), which the wiring
rule treats as a name it cannot check.

It also lists the modules a folder's files import that are neither the
standard library nor the folder's own, so a person can see what the code would
pull in before trusting it.
"""

from __future__ import annotations

import ast
import sys
import typing
from pathlib import Path
from typing import Any

from plait.runtime.nodes.docstrings import parse_docstring
from plait.runtime.nodes.spec import (
    KEYWORD_ONLY,
    OUTPUT_MAPPING,
    OUTPUT_NONE,
    OUTPUT_SEQUENCE,
    OUTPUT_SINGLE,
    POSITIONAL_ONLY,
    POSITIONAL_OR_KEYWORD,
    REQUIRED,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    NodeOptions,
    NodeSpec,
    Port,
    tuple_port,
)

# Annotations that name a builtin type are the type itself; others stay text.
_BUILTIN_TYPES: dict[str, Any] = {
    t.__name__: t for t in (int, float, str, bool, bytes, list, dict, tuple, set, complex)
}
_BUILTIN_TYPES["None"] = type(None)
_BUILTIN_TYPES["Any"] = Any
_BUILTIN_TYPES["typing.Any"] = Any
_TUPLE_NAMES = {"tuple", "Tuple", "typing.Tuple", "t.Tuple"}
_OPTION_NAMES = {"retries", "retry_delay", "retry_backoff", "timeout", "cache", "cache_expiration", "tags"}


def humanise(name: str) -> str:
    """`load_data` -> "Load data", as the importing path titles a node."""
    from plait.runtime.nodes.introspect import humanise as imported

    return imported(name)


def read_file_specs(path: Path, *, prefix: str, group: str) -> tuple[list[NodeSpec], list[str]]:
    """Specs of the public top-level functions of a file, read but not run.

    Raises SyntaxError when the file does not parse (it names file, line and column).
    """
    source = Path(path).read_bytes()
    tree = ast.parse(source, filename=str(path))
    specs: list[NodeSpec] = []
    problems: list[str] = []
    for statement in tree.body:
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if statement.name.startswith("_"):
            continue
        try:
            specs.append(_spec_of(statement, key=f"{prefix}:{statement.name}", group=group))
        except ValueError as error:
            problems.append(f"{statement.name}: {error}")
    return specs, problems


def _spec_of(fn: ast.FunctionDef | ast.AsyncFunctionDef, *, key: str, group: str) -> NodeSpec:
    metadata = _node_decorator(fn)
    doc = ast.get_docstring(fn) or ""
    described = parse_docstring(doc)
    inputs = tuple(_inputs(fn.args, described.params))
    options = NodeOptions(**{k: v for k, v in metadata.items() if k in _OPTION_NAMES})
    outputs, style = _outputs(fn, metadata.get("outputs"))
    return NodeSpec(
        key=key,
        title=metadata.get("title") or humanise(fn.name),
        inputs=inputs,
        outputs=outputs,
        doc=described.text,
        module=group,
        options=options,
        output_style=style,
    )


def _node_decorator(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
    """The literal keyword arguments of an `@node(...)` decorator, when there is one."""
    for decorator in fn.decorator_list:
        if isinstance(decorator, ast.Call) and _last(decorator.func) == "node":
            found: dict[str, Any] = {}
            for keyword in decorator.keywords:
                if keyword.arg is None:
                    continue
                try:
                    found[keyword.arg] = ast.literal_eval(keyword.value)
                except ValueError:
                    continue  # not a literal: unknown until the code runs
            return found
    return {}


def _last(expr: ast.expr) -> str:
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""


def _annotation(expr: ast.expr | None) -> Any:
    if expr is None:
        return Any
    text = ast.unparse(expr)
    if text in _BUILTIN_TYPES:
        return _BUILTIN_TYPES[text]
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        text = expr.value  # a string annotation already
    return typing.ForwardRef(text)


def _literal(expr: ast.expr) -> Any:
    try:
        return ast.literal_eval(expr)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return typing.ForwardRef(ast.unparse(expr))  # shown as written, never evaluated


def _inputs(args: ast.arguments, described: dict[str, str]) -> list[Port]:
    ports: list[Port] = []
    positional = [*args.posonlyargs, *args.args]
    defaults = [REQUIRED] * (len(positional) - len(args.defaults)) + [_literal(d) for d in args.defaults]
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = POSITIONAL_ONLY if index < len(args.posonlyargs) else POSITIONAL_OR_KEYWORD
        ports.append(_port(arg, default, kind, described))
    if args.vararg is not None:
        ports.append(_port(args.vararg, REQUIRED, VAR_POSITIONAL, described, wireable=False))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        value = REQUIRED if default is None else _literal(default)
        ports.append(_port(arg, value, KEYWORD_ONLY, described))
    if args.kwarg is not None:
        ports.append(_port(args.kwarg, REQUIRED, VAR_KEYWORD, described, wireable=False))
    return ports


def _port(arg: ast.arg, default: Any, kind: str, described: dict[str, str], *, wireable: bool = True) -> Port:
    return Port(
        name=arg.arg,
        annotation=_annotation(arg.annotation),
        default=REQUIRED if not wireable else default,
        kind=kind,
        description=described.get(arg.arg, ""),
        wireable=wireable,
    )


def _outputs(fn: ast.FunctionDef | ast.AsyncFunctionDef, declared: Any) -> tuple[tuple[Port, ...], str]:
    if isinstance(declared, str):
        return (Port(declared, _annotation(fn.returns)),), OUTPUT_SINGLE
    if isinstance(declared, dict):
        return tuple(Port(str(name)) for name in declared), OUTPUT_MAPPING
    if isinstance(declared, (tuple, list)):
        returns = ast.unparse(fn.returns) if fn.returns is not None else ""
        style = OUTPUT_MAPPING if returns.split("[")[0].endswith(("dict", "Mapping")) else OUTPUT_SEQUENCE
        return tuple(Port(str(name)) for name in declared), style
    if fn.returns is not None and ast.unparse(fn.returns) == "None":
        return (), OUTPUT_NONE
    items = _fixed_tuple_items(fn.returns)
    if items is not None:  # as `introspect` reads `tuple[A, B]`: one output per item
        return tuple(Port(tuple_port(i), _annotation(e)) for i, e in enumerate(items)), OUTPUT_SEQUENCE
    return (Port("result", _annotation(fn.returns)),), OUTPUT_SINGLE


def _fixed_tuple_items(expr: ast.expr | None) -> list[ast.expr] | None:
    """The item annotations of a written `tuple[A, B]` (or `Tuple[...]`), not `tuple[A, ...]`."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            expr = ast.parse(expr.value, mode="eval").body  # a string annotation
        except SyntaxError:
            return None
    if not isinstance(expr, ast.Subscript) or ast.unparse(expr.value) not in _TUPLE_NAMES:
        return None
    items = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
    if not items or any(isinstance(e, ast.Constant) and e.value is Ellipsis for e in items):
        return None
    return items


def imported_modules(paths: list[Path], folder: Path) -> list[str]:
    """Top-level modules the files import that are not the standard library or the folder's own."""
    own = {p.stem for p in folder.glob("*.py")} | {
        p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
    }
    found: set[str] = set()
    for path in paths:
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            continue
        for statement in ast.walk(tree):
            if isinstance(statement, ast.Import):
                found.update(alias.name.split(".")[0] for alias in statement.names)
            elif isinstance(statement, ast.ImportFrom) and not statement.level and statement.module:
                found.add(statement.module.split(".")[0])
    standard = set(sys.stdlib_module_names) | {"__future__"}
    return sorted(name for name in found if name not in standard and name not in own and name != "plait")
