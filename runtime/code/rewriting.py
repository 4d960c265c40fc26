"""Recompiling a flow function so that every call in its body goes through the tracer.

`f(a, k=b)` becomes `__plait_call__(f, a, k=b)` in the function's syntax tree;
the function is compiled again at its own file and lines (so tracebacks and
messages point at the user's code), with its globals and closure.
"""

from __future__ import annotations
import __future__

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from plait.runtime.code.placeholders import TraceError

_CALL = "__plait_call__"


class _RouteCalls(ast.NodeTransformer):
    """`f(a, k=b)` -> `__plait_call__(f, a, k=b)`, everywhere in the function."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        routed = ast.Call(ast.Name(_CALL, ast.Load()), [node.func, *node.args], node.keywords)
        return ast.copy_location(routed, node)


def routed_function(fn: Callable[..., Any], call: Callable[..., Any]) -> Callable[..., Any]:
    """The flow function recompiled so that each of its calls goes through `call`."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as exc:
        raise TraceError(
            f"the source of flow function {fn.__qualname__} cannot be read ({exc}); define it in a "
            "file or a notebook cell"
        ) from None
    tree = ast.parse(source)
    definition = tree.body[0]
    if isinstance(definition, ast.AsyncFunctionDef):
        raise TraceError(f"flow function {fn.__qualname__} is async; a @flow is a plain def")
    if not isinstance(definition, ast.FunctionDef):
        raise TraceError(f"@flow decorates a function defined with def, not {fn!r}")
    if definition.name != fn.__name__:
        # inspect reads the file as it is now; it was edited since the function was defined.
        raise TraceError(
            f"{fn.__code__.co_filename} changed after flow function {fn.__qualname__} was defined; "
            "run it again"
        )
    definition.decorator_list = []
    _RouteCalls().visit(definition)
    free = list(fn.__code__.co_freevars)
    outer = ast.FunctionDef(
        name="__plait_outer__",
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(_CALL), *(ast.arg(name) for name in free)],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=[definition, ast.Return(ast.Name(definition.name, ast.Load()))],
        decorator_list=[],
    )
    module = ast.Module(body=[outer], type_ignores=[])
    ast.fix_missing_locations(module)
    ast.increment_lineno(module, fn.__code__.co_firstlineno - 1)
    code = compile(
        module,
        fn.__code__.co_filename,
        "exec",
        flags=__future__.annotations.compiler_flag,
        dont_inherit=True,
    )
    scope: dict[str, Any] = {}
    exec(code, fn.__globals__, scope)  # noqa: S102 - the user's own flow function, rewritten
    cells = [cell.cell_contents for cell in fn.__closure__ or ()]
    return scope["__plait_outer__"](call, *cells)
