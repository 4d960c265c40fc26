"""Reading type annotations: resolving strings, Annotated metadata, choices, fields.

Kept apart from introspect so the rules for what an annotation *says* about a
port (description, bounds, choices) live in one place.
"""

from __future__ import annotations

import builtins
import enum
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

_EMPTY = inspect.Parameter.empty
MISSING: Any = object()  # "no default given" in AnnotationInfo


@dataclass(frozen=True)
class Range:
    """`Annotated[float, Range(0, 1)]`: the inclusive bounds an input accepts."""

    minimum: float | None = None
    maximum: float | None = None


def type_hints(source: Any) -> dict[str, Any]:
    """Resolved annotations of a function (Annotated kept), or {} if any fails to resolve."""
    try:
        return typing.get_type_hints(source, include_extras=True)
    except Exception:  # noqa: BLE001
        # One unresolvable name (often an import under TYPE_CHECKING) makes
        # get_type_hints give up; `resolve_annotation` then tries each annotation alone.
        return {}


def namespace_of(source: Any) -> dict[str, Any]:
    """The globals a function's string annotations are written against."""
    namespace = getattr(source, "__globals__", None)
    if namespace is None:
        module = inspect.getmodule(source)
        namespace = vars(module) if module is not None else {}
    return namespace


def resolve_annotation(annotation: Any, namespace: dict[str, Any]) -> Any:
    """Evaluate a string annotation in its module; keep the string if that fails."""
    if annotation is _EMPTY:
        return Any
    if not isinstance(annotation, str):
        return annotation
    scope = namespace if "__builtins__" in namespace else {**namespace, "__builtins__": builtins}
    try:
        return eval(annotation, scope, {})  # what typing.get_type_hints does, one name at a time
    except Exception:  # noqa: BLE001 - an annotation is arbitrary code; unresolved is fine
        return annotation


@dataclass
class AnnotationInfo:
    """What Annotated[...] metadata says about a port."""

    annotation: Any
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    default: Any = MISSING


def read_annotated(annotation: Any) -> AnnotationInfo:
    """Unwrap Annotated[T, ...]: T plus description, bounds and a pydantic default."""
    if typing.get_origin(annotation) is not Annotated:
        return AnnotationInfo(annotation)
    meta = AnnotationInfo(annotation.__origin__)
    for item in annotation.__metadata__:
        _apply_metadata(item, meta)
    return meta


def _apply_metadata(item: Any, meta: AnnotationInfo) -> None:
    if isinstance(item, str):
        meta.description = meta.description or item
        return
    if isinstance(item, Range):
        meta.minimum, meta.maximum = item.minimum, item.maximum
        return
    documentation = getattr(item, "documentation", None)  # typing_extensions.Doc
    if isinstance(documentation, str):
        meta.description = meta.description or documentation
    if type(item).__name__ == "FieldInfo":  # pydantic.Field(...), without importing pydantic
        if isinstance(item.description, str):
            meta.description = meta.description or item.description
        if type(item.default).__name__ != "PydanticUndefinedType" and item.default is not ...:
            meta.default = item.default
        for inner in getattr(item, "metadata", ()):
            _apply_metadata(inner, meta)
        return
    # annotated_types Ge/Gt/Le/Lt/Interval. Exclusive bounds (gt/lt) are kept as
    # the bound itself: Port has no notion of open intervals.
    for name in ("ge", "gt"):
        value = getattr(item, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            meta.minimum = value
    for name in ("le", "lt"):
        value = getattr(item, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            meta.maximum = value


def choices_of(annotation: Any) -> tuple[Any, ...] | None:
    """Values of a Literal or Enum annotation (plus None when Optional), else None."""
    members: tuple[Any, ...] = (annotation,)
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = typing.get_args(annotation)
    present = [m for m in members if m is not type(None)]
    values: list[Any] = []
    for member in present:
        if typing.get_origin(member) is Literal:
            values.extend(typing.get_args(member))
        elif inspect.isclass(member) and issubclass(member, enum.Enum) and len(present) == 1:
            values.extend(member)
        else:
            return None
    if len(present) < len(members):
        values.append(None)
    return tuple(values) if values else None


def among_choices(value: Any, choices: tuple[Any, ...]) -> bool:
    """Whether a constant is one of a port's choices; an Enum member may be given by value or name."""
    for choice in choices:
        if isinstance(choice, enum.Enum):
            if value is choice or _same(value, choice.value) or value == choice.name:
                return True
        elif _same(value, choice):
            return True
    return False


def describe_choices(choices: tuple[Any, ...]) -> str:
    """The choices as a person would type them: `'a', 'b' or None`; Enum members by value."""
    shown = [repr(c.value if isinstance(c, enum.Enum) else c) for c in choices]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _same(value: Any, choice: Any) -> bool:
    # Literal[1] is not Literal[True] (1 == True in Python); a whole number may stand for a float.
    if isinstance(choice, float) and isinstance(value, int) and not isinstance(value, bool):
        return value == choice
    return type(value) is type(choice) and value == choice


def is_namedtuple(annotation: Any) -> bool:
    """True for a NamedTuple class (typing or collections flavour)."""
    return inspect.isclass(annotation) and issubclass(annotation, tuple) and hasattr(annotation, "_fields")


def field_types(cls: Any) -> dict[str, Any]:
    """Field -> type of a NamedTuple or TypedDict, with Required/NotRequired removed."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # noqa: BLE001 - same reason as type_hints
        hints = dict(getattr(cls, "__annotations__", {}))
    wrappers = {getattr(typing, n, None) for n in ("Required", "NotRequired", "ReadOnly")} - {None}
    for name, hint in hints.items():
        while typing.get_origin(hint) in wrappers:
            hint = typing.get_args(hint)[0]
        hints[name] = hint
    return hints
