"""Port types: how they are named, and which ones may be wired together.

Compatibility is deliberately permissive where Python is: untyped and `Any`
ports connect to anything, `int` feeds `float`, `Optional[X]` accepts `X`,
generics compare by their origin and subclasses feed their bases. It refuses
only what would certainly fail, such as `str` into `int`.
"""

from __future__ import annotations

import collections.abc
import datetime
import enum
import inspect
import pathlib
import types
import typing
from typing import Any, Literal, Union

_NUMERIC_WIDENING = {
    bool: (int, float, complex),
    int: (float, complex),
    float: (complex,),
}

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


def _class_compatible(src: type, dst: type) -> bool:
    if src is dst:
        return True
    if dst in _NUMERIC_WIDENING.get(src, ()):
        return True
    try:
        if issubclass(src, dst):
            return True
    except TypeError:
        return True  # exotic classes: do not refuse what we cannot judge
    # Abstract collections: a list feeds Sequence/Iterable, a dict feeds Mapping.
    if getattr(dst, "__module__", "") in ("collections.abc", "typing"):
        try:
            return issubclass(src, dst)
        except TypeError:
            return True
    return False


def is_compatible(source: Any, target: Any) -> bool:
    """Whether an output typed `source` may be wired into an input typed `target`."""
    source = _strip_annotated(source)
    target = _strip_annotated(target)
    if _is_any(source) or _is_any(target):
        return True
    if _is_union(source):
        # Every member the output may produce must fit, except None: an
        # optional output feeding a plain input is common and not certain to fail.
        members = [a for a in typing.get_args(source) if a is not type(None)]
        return all(is_compatible(m, target) for m in members) if members else True
    if _is_union(target):
        return any(is_compatible(source, m) for m in typing.get_args(target))
    if source is type(None) or source is None:
        return target is type(None) or target is None
    if typing.get_origin(target) is Literal:
        if typing.get_origin(source) is Literal:
            return set(typing.get_args(source)) <= set(typing.get_args(target))
        classes = {type(v) for v in typing.get_args(target)}
        src_cls = _runtime_class(source)
        return src_cls is None or any(_class_compatible(src_cls, c) for c in classes)
    if isinstance(target, type) and issubclass(target, enum.Enum):
        src_cls = _runtime_class(source)
        return src_cls is None or _class_compatible(src_cls, target)
    src_cls = _runtime_class(source)
    dst_cls = _runtime_class(target)
    if src_cls is None or dst_cls is None:
        return True
    if dst_cls is collections.abc.Callable or dst_cls is typing.Callable:
        return callable(src_cls) or src_cls is type
    return _class_compatible(src_cls, dst_cls)


def parameter_type(name: str) -> Any:
    """The Python type for a parameter type name; unknown names are `Any`."""
    return PARAMETER_TYPES.get(name, Any)
