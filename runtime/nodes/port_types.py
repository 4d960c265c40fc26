"""Port types: how they are named, and which ones may be wired together.

Type hints guide, they do not block. `wire_fit` is the one wiring rule (the
model's `connect`, validation and the canvas all ask it): a wire is fine when
the hints agree (subclasses feed their bases, generics compare by origin, an
untyped input takes anything), doubtful when they may disagree at run time
(`Any` or an unresolved name on the output side, `int` into `float`, `str`
into `Path`, a container into a class), and refused only when no value of the
output's type can be the input's, such as a `DataFrame` into a `bool`.
"""

from __future__ import annotations

import collections.abc
import datetime
import enum
import inspect
import pathlib
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union

# Names a flow parameter's type may take, and the Python type each stands for.
PARAMETER_TYPES: dict[str, Any] = {
    "any": Any,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "path": pathlib.Path,
    "list": list,
    "dict": dict,
    "date": datetime.date,
    "datetime": datetime.datetime,
}


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _is_union(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return origin is Union or origin is types.UnionType


def _is_any(tp: Any) -> bool:
    return (
        tp is Any
        or tp is inspect.Parameter.empty
        or tp is object
        or isinstance(tp, (str, typing.TypeVar, typing.ForwardRef))
    )


def type_name(tp: Any) -> str:
    """A short, readable name for a port's type, as shown on the canvas."""
    tp = _strip_annotated(tp)
    if isinstance(tp, typing.ForwardRef):
        return tp.__forward_arg__
    if _is_any(tp):
        return "Any" if not isinstance(tp, str) else tp
    if tp is type(None) or tp is None:
        return "None"
    if _is_union(tp):
        args = typing.get_args(tp)
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1 and len(args) == 2:
            return f"Optional[{type_name(non_none[0])}]"
        return " | ".join(type_name(a) for a in args)
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in typing.get_args(tp)) + "]"
    if origin is not None:
        args = typing.get_args(tp)
        base = getattr(origin, "__name__", str(origin))
        if args:
            return f"{base}[{', '.join(type_name(a) for a in args)}]"
        return base
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _runtime_class(tp: Any) -> type | None:
    """The class a value of this type is an instance of, when there is one."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        values = typing.get_args(tp)
        classes = {type(v) for v in values}
        return classes.pop() if len(classes) == 1 else None
    if origin is not None:
        return origin if isinstance(origin, type) else None
    if isinstance(tp, type):
        if typing.is_typeddict(tp):
            return dict
        return tp
    return None


# -- the wiring rule ---------------------------------------------------------------

OK = "ok"
DOUBTFUL = "doubtful"
IMPOSSIBLE = "impossible"
_RANK = {OK: 0, DOUBTFUL: 1, IMPOSSIBLE: 2}


@dataclass(frozen=True)
class Fit:
    """How a wire's two port types fit: fine, allowed with a doubt, or never; and why."""

    verdict: str = OK
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict != IMPOSSIBLE

    @property
    def doubtful(self) -> bool:
        return self.verdict == DOUBTFUL


FITS = Fit()

_SCALARS = (bool, int, float, complex, str, bytes)
_SEQUENCES = (list, tuple, set, frozenset)
_WIDENING = {(int, float), (int, complex), (float, complex), (bool, float), (bool, complex)}
# Classes of the data libraries that are never a builtin scalar, nor the other way round;
# known by name so that an annotation imported under TYPE_CHECKING ("pd.DataFrame") is
# judged without importing its library into the window.
_DATA_CLASSES = frozenset(
    {
        "DataFrame",
        "Series",
        "Index",
        "ndarray",
        "LazyFrame",
        "Figure",
        "Axes",
        "Table",
        "RecordBatch",
        "DataArray",
        "Dataset",
        "Tensor",
    }
)


def _doubt(reason: str) -> Fit:
    return Fit(DOUBTFUL, reason)


def _never(reason: str) -> Fit:
    return Fit(IMPOSSIBLE, reason)


def _a(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeio" else f"a {name}"


def _open(tp: Any) -> bool:
    """A type that says nothing: Any, no annotation, object, a type variable."""
    return tp is Any or tp is inspect.Parameter.empty or tp is object or isinstance(tp, typing.TypeVar)


def _unresolved(tp: Any) -> str | None:
    """The text of an annotation that could not be evaluated (an import under TYPE_CHECKING)."""
    if isinstance(tp, typing.ForwardRef):
        return tp.__forward_arg__
    return tp if isinstance(tp, str) else None


def _last_name(text: str) -> str | None:
    """`DataFrame` of "pd.DataFrame"; None for anything but a dotted name."""
    return text.rsplit(".", 1)[-1] if re.fullmatch(r"[A-Za-z_][\w.]*", text) else None


def _is_none(tp: Any) -> bool:
    return tp is None or tp is type(None)


def _subclass(source: type, target: type) -> bool | None:
    try:
        return issubclass(source, target)
    except TypeError:
        return None  # exotic classes, generic aliases: cannot judge


def _abstract(cls: type) -> bool:
    return (
        inspect.isabstract(cls)
        or getattr(cls, "__module__", "") in ("collections.abc", "typing", "numbers")
        or getattr(cls, "_is_protocol", False)
    )


_FITS: dict[tuple[Any, Any], Fit] = {}


def wire_fit(source: Any, target: Any) -> Fit:
    """How an output typed `source` fits an input typed `target` (remembered per pair of hints)."""
    try:
        hit = _FITS.get((source, target))
    except TypeError:  # an unhashable hint
        return _wire_fit(source, target)
    if hit is None:
        hit = _wire_fit(source, target)
        if len(_FITS) >= 4096:
            _FITS.clear()
        _FITS[(source, target)] = hit
    return hit


def _wire_fit(source: Any, target: Any) -> Fit:
    """How an output typed `source` fits an input typed `target`.

    OK when the hints agree; DOUBTFUL (allowed, with the reason) when they may
    disagree when the node runs: Any or an unresolved name on the output side, a
    value Plait converts (str to Path, an enum member's value), a number widened
    (int to float), a container or class that is not the input's but may hold one;
    IMPOSSIBLE only when no value of the output's type can be the input's
    (a DataFrame into a bool, a str into an int).
    """
    source, target = _strip_annotated(source), _strip_annotated(target)
    s_name, t_name = type_name(source), type_name(target)
    if _open(target):
        return FITS
    if _open(source):
        return _doubt(f"the output may give anything ({s_name}); the input takes {t_name}")
    if _is_union(source):
        members = typing.get_args(source)
        fits = [wire_fit(m, target) for m in members if not _is_none(m)]
        worst = max((f.verdict for f in fits), key=_RANK.get, default=OK)
        best = min((f.verdict for f in fits), key=_RANK.get, default=OK)
        if worst == OK:
            if any(_is_none(m) for m in members) and not wire_fit(None, target).allowed:
                return _doubt(f"the output may be None; the input takes {t_name}")
            return FITS
        if best == IMPOSSIBLE:
            return _never(f"no value of {s_name} is ever {_a(t_name)}")
        return _doubt(f"only some of {s_name} fit {t_name}")
    if _is_union(target):
        fits = [wire_fit(source, m) for m in typing.get_args(target)]
        best = min(fits, key=lambda f: _RANK[f.verdict])
        return best if best.allowed else _never(f"{_a(s_name)} is none of {t_name}")
    if _unresolved(source) is not None or _unresolved(target) is not None:
        return _named_fit(source, target, s_name, t_name)
    if _is_none(source):
        return FITS if _is_none(target) else _never(f"the output is always None; the input takes {t_name}")
    if _is_none(target):
        return _never(f"the input takes only None; the output gives {s_name}")
    if typing.get_origin(target) is Literal:
        return _literal_fit(source, target, s_name, t_name)
    if isinstance(target, type) and issubclass(target, enum.Enum):
        src_cls = _runtime_class(source)
        if src_cls is not None and _subclass(src_cls, target):
            return FITS
        if src_cls in (str, int):
            return _doubt(
                f"{_a(s_name)} is turned into {_a(t_name)} member when the node runs; "
                "one that names no member fails"
            )
        if src_cls is None:
            return _doubt(f"{s_name} cannot be compared with {t_name} here")
        return _never(f"{_a(s_name)} is never {_a(t_name)} member")
    src_cls, dst_cls = _runtime_class(source), _runtime_class(target)
    if src_cls is None or dst_cls is None:
        return _doubt(f"{s_name} cannot be compared with {t_name} here")
    if dst_cls is collections.abc.Callable or dst_cls is typing.Callable:
        return FITS
    return _class_fit(src_cls, dst_cls, s_name, t_name)


def _named_fit(source: Any, target: Any, s_name: str, t_name: str) -> Fit:
    s_text, t_text = _unresolved(source), _unresolved(target)
    s_last = _last_name(s_text) if s_text is not None else getattr(_runtime_class(source), "__name__", None)
    t_last = _last_name(t_text) if t_text is not None else getattr(_runtime_class(target), "__name__", None)
    if s_last is not None and s_last == t_last:
        return FITS  # "pd.DataFrame" and "DataFrame" (or the class itself) name one class
    s_cls = None if s_text is not None else _runtime_class(source)
    t_cls = None if t_text is not None else _runtime_class(target)
    if (s_last in _DATA_CLASSES and t_cls in _SCALARS) or (t_last in _DATA_CLASSES and s_cls in _SCALARS):
        return _never(f"{_a(s_name)} is never {_a(t_name)}")
    name = s_text if s_text is not None else t_text
    return _doubt(
        f"'{name}' is not imported where the flow is edited, so {s_name} into "
        f"{t_name} is checked only when the node runs"
    )


def _literal_fit(source: Any, target: Any, s_name: str, t_name: str) -> Fit:
    choices = set(typing.get_args(target))
    if typing.get_origin(source) is Literal:
        given = set(typing.get_args(source))
        if given <= choices:
            return FITS
        if given & choices:
            return _doubt(f"some of {s_name} are not among the choices of {t_name}")
        return _never(f"none of {s_name} is among the choices of {t_name}")
    src_cls = _runtime_class(source)
    if src_cls is None or any(wire_fit(src_cls, type(c)).allowed for c in choices):
        return _doubt(f"the input accepts only {t_name}; {_a(s_name)} may be another value")
    return _never(f"{_a(s_name)} is never one of {t_name}")


def _class_fit(source: type, target: type, s_name: str, t_name: str) -> Fit:
    related = _subclass(source, target)
    if source is target or related:
        return FITS
    if related is None:
        return _doubt(f"{s_name} cannot be compared with {t_name} here")
    if (source, target) in _WIDENING:
        return _doubt(f"{_a(s_name)} is given where {_a(t_name)} is expected")
    if source is str and _subclass(target, pathlib.PurePath):
        return _doubt(f"the text is turned into {_a(t_name)} when the node runs")
    if source in _SCALARS:
        return _never(f"{_a(s_name)} is never {_a(t_name)}")
    if target in _SCALARS:
        if _abstract(source):
            return _doubt(f"{_a(s_name)} may or may not be {_a(t_name)}")
        return _never(f"{_a(s_name)} is never {_a(t_name)}")
    if source.__module__ == "builtins" and target.__module__ == "builtins":
        if source in _SEQUENCES and target in _SEQUENCES:
            return _doubt(f"{_a(s_name)} is given where {_a(t_name)} is expected")
        return _never(f"{_a(s_name)} is never {_a(t_name)}")
    return _doubt(f"{s_name} is not {_a(t_name)}, though a value of it may be one")


def is_compatible(source: Any, target: Any) -> bool:
    """Whether an output typed `source` may be wired into an input typed `target`."""
    return wire_fit(source, target).allowed


def parameter_type(name: str) -> Any:
    """The Python type for a parameter type name; unknown names are `Any`."""
    return PARAMETER_TYPES.get(name, Any)
