"""Reading docstrings (Google, numpydoc, reST, Epydoc) into node and port descriptions."""

from __future__ import annotations

import functools
import inspect
import types
from dataclasses import dataclass, field
from typing import Any

import docstring_parser


@dataclass
class Docstring:
    """What a docstring says: the text, each parameter, and the return value(s)."""

    text: str = ""
    params: dict[str, str] = field(default_factory=dict)
    returns: list[tuple[str | None, str]] = field(default_factory=list)


def read_docstring(fn: Any) -> Docstring:
    """Description, parameter and return descriptions from a docstring of any common style."""
    if isinstance(fn, functools.partial):
        return read_docstring(fn.func)
    raw = inspect.getdoc(fn) or ""
    if inspect.isclass(fn):
        # Some classes document their parameters in __init__; only its own
        # docstring counts (getdoc would inherit object.__init__'s).
        init = vars(fn).get("__init__")
        if isinstance(init, types.FunctionType) and init.__doc__:
            described = _parse(inspect.cleandoc(init.__doc__))
            own = _parse(raw) if raw else Docstring()
            return Docstring(own.text, {**described.params, **own.params}, own.returns)
    return _parse(raw) if raw else Docstring()


def parse_docstring(raw: str) -> Docstring:
    """A docstring's text read as `read_docstring` reads a function's (for source that is not run)."""
    return _parse(inspect.cleandoc(raw)) if raw else Docstring()


def _parse(raw: str) -> Docstring:
    try:
        parsed = docstring_parser.parse(raw)
    except Exception:  # noqa: BLE001 - a docstring the parser chokes on still reads as text
        return Docstring(text=raw)
    text = "\n\n".join(p for p in (parsed.short_description, parsed.long_description) if p)
    params: dict[str, str] = {}
    for param in parsed.params:
        # numpydoc writes "*arrays" and "x1, x2 : array_like".
        for name in param.arg_name.split(","):
            params.setdefault(name.strip().lstrip("*"), (param.description or "").strip())
    returns = [(r.return_name, (r.description or "").strip()) for r in parsed.many_returns]
    return Docstring(text=text or raw, params=params, returns=[r for r in returns if r[1]])
