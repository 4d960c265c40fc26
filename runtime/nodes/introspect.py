"""Node specs from Python callables: ports from the signature, outputs from the return.

Any callable works: plain and decorated functions, lambdas, bound methods,
partials, callable instances, classes, builtins. Type hints, `Annotated`
metadata, docstrings and `@node` metadata add detail when present; none is needed.

Outputs rule (see `_outputs`):
- no `@node(outputs=...)`: a `None` return -> no output; a NamedTuple -> one port
  per field (attributes); a TypedDict -> one port per key (mapping); a
  fixed-length `tuple[A, B]` -> one port per item, `result_0`, `result_1`, ...
  (by position); anything else (a bare `tuple`, `tuple[A, ...]`, no annotation)
  -> one port `result` holding the whole value.
- `outputs="name"`: one port with that name holding the whole value.
- `outputs={"a": int, "b": str}`: the function returns a dict with those keys.
- `outputs=("a", "b")`: the function returns a dict if its return annotation is
  a dict, Mapping or TypedDict (ports by key); otherwise a tuple or other
  sequence (ports by position), typed from `tuple[int, str]`, `tuple[int, ...]`,
  `list[T]` or a NamedTuple when the annotation gives them.
"""

from __future__ import annotations

import collections.abc
import functools
import hashlib
import inspect
import re
import types
import typing
from typing import Any

from plait.runtime.keys.fingerprint import bound_arguments, fingerprint, qualified_name
from plait.runtime.nodes.decorator import node_metadata
from plait.runtime.nodes.docstrings import read_docstring
from plait.runtime.nodes.hints import (
    MISSING,
    Range,
    choices_of,
    field_types,
    is_namedtuple,
    namespace_of,
    read_annotated,
    resolve_annotation,
    type_hints,
)
from plait.runtime.nodes.spec import (
    KEYWORD_ONLY,
    OUTPUT_ATTRIBUTES,
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

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY: KEYWORD_ONLY,
    inspect.Parameter.VAR_POSITIONAL: VAR_POSITIONAL,
    inspect.Parameter.VAR_KEYWORD: VAR_KEYWORD,
}
_EMPTY = inspect.Parameter.empty


__all__ = ["NodeSpecError", "Range", "callable_key", "humanise", "spec_from_callable"]


class NodeSpecError(ValueError):
    """A callable cannot be turned into a node; the message says which and what to do."""


def spec_from_callable(fn: Any, *, key: str | None = None, module: str | None = None) -> NodeSpec:
    """Derive a NodeSpec from any Python callable.

    `key` defaults to `module:qualname`; `module` is the palette group and
    defaults to the callable's module. Raises NodeSpecError when the callable's
    signature cannot be read.
    """
    if not callable(fn):
        raise NodeSpecError(f"{fn!r} is not callable, so it cannot be a node")
    label = callable_key(fn)
    try:
        signature = inspect.signature(fn)
    except Exception as error:  # a broken __signature__ can raise anything
        short = _name(fn)
        raise NodeSpecError(
            f"Cannot read the inputs of {label} ({error}). Wrap it in a plain Python "
            f"function with the inputs you need, e.g. `def my_{short}(a, b): "
            f"return {short}(a, b)`, and use that as the node."
        ) from error
    metadata = node_metadata(fn)
    source = _annotation_source(fn)
    hints = type_hints(source)
    namespace = namespace_of(source)
    doc = read_docstring(fn)

    inputs = tuple(
        _input_port(param, resolve_annotation(hints.get(name, param.annotation), namespace), doc.params)
        for name, param in signature.parameters.items()
    )
    if inspect.isclass(fn):
        returned: Any = fn  # calling a class makes an instance of it
    else:
        returned = resolve_annotation(hints.get("return", signature.return_annotation), namespace)
    outputs, style = _outputs(returned, metadata.get("outputs"), doc.returns, label)

    options: NodeOptions = metadata.get("options") or NodeOptions()
    wireable = [port.name for port in inputs if port.wireable]
    if options.map_over is not None and options.map_over not in wireable:
        raise NodeSpecError(
            f"{label}: map_over={options.map_over!r} names no input (inputs: {', '.join(wireable) or 'none'})"
        )
    code = fingerprint(fn)
    return NodeSpec(
        key=key or label,
        title=metadata.get("title") or humanise(_name(fn)),
        inputs=inputs,
        outputs=outputs,
        doc=doc.text,
        module=module if module is not None else _module_name(fn),
        options=options,
        fingerprint=code.digest,
        code_parts=code.parts,
        code_notes=tuple(code.notes),
        nondeterministic=tuple(code.nondeterministic),
        output_style=style,
        func=fn,
        cache_key=metadata.get("cache_key"),
    )


def callable_key(fn: Any) -> str:
    """The default node key of a callable: `module:qualname`, made distinct for partials."""
    if isinstance(fn, functools.partial):
        # Two partials of one function are different nodes; name them by what they bind.
        bound = bound_arguments(fn.args, fn.keywords)
        digest = hashlib.sha256(bound.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        return f"{callable_key(fn.func)}[partial-{digest}]"
    if _is_callable_instance(fn):
        kind = type(fn)
        return f"{kind.__module__}:{kind.__qualname__}.__call__"
    return qualified_name(fn)


def humanise(name: str) -> str:
    """`train_test_split` -> "Train test split"; `StandardScaler` -> "Standard scaler"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.strip("_<>"))
    words = [w for w in re.split(r"[_\s]+", spaced) if w]
    if not words:
        return name
    # Acronyms (PCA, CSV) keep their capitals; other words are lower case.
    words = [w if len(w) > 1 and w.isupper() else w.lower() for w in words]
    return " ".join(words)[0].upper() + " ".join(words)[1:]


def _is_callable_instance(fn: Any) -> bool:
    return not (inspect.isroutine(fn) or inspect.isclass(fn) or isinstance(fn, functools.partial)) and (
        getattr(fn, "__qualname__", None) is None
    )


def _name(fn: Any) -> str:
    if isinstance(fn, functools.partial):
        return _name(fn.func)
    if _is_callable_instance(fn):
        return type(fn).__name__
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


def _module_name(fn: Any) -> str:
    if isinstance(fn, functools.partial):
        return _module_name(fn.func)
    return callable_key(fn).split(":", 1)[0]


def _annotation_source(fn: Any) -> Any:
    """The function whose annotations describe `fn`'s signature."""
    if isinstance(fn, functools.partial):
        return _annotation_source(fn.func)
    if isinstance(fn, types.MethodType):
        return _annotation_source(fn.__func__)
    if inspect.isclass(fn):
        init = getattr(fn, "__init__", None)
        return init if isinstance(init, types.FunctionType) else fn.__new__
    if _is_callable_instance(fn):
        return type(fn).__call__
    try:
        return inspect.unwrap(fn)  # inspect.signature follows __wrapped__ too
    except ValueError:
        return fn


def _input_port(param: inspect.Parameter, annotation: Any, docs: dict[str, str]) -> Port:
    meta = read_annotated(annotation)
    variadic = param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    default = REQUIRED if param.default is _EMPTY else param.default
    if default is REQUIRED and meta.default is not MISSING and not variadic:
        default = meta.default
    return Port(
        name=param.name,
        annotation=meta.annotation,
        default=default,
        kind=_KINDS[param.kind],
        description=meta.description or docs.get(param.name, ""),
        choices=choices_of(meta.annotation),
        minimum=meta.minimum,
        maximum=meta.maximum,
        # *args and **kwargs take no single wire; they are shown, not connected.
        wireable=not variadic,
    )


def _outputs(
    annotation: Any, declared: Any, returns: list[tuple[str | None, str]], label: str
) -> tuple[tuple[Port, ...], str]:
    """Output ports and style from the return annotation and @node(outputs=...)."""
    meta = read_annotated(annotation)
    annotation = meta.annotation
    if declared is None:
        if annotation is None or annotation is type(None):
            return (), OUTPUT_NONE
        if is_namedtuple(annotation):
            fields = field_types(annotation)
            ports = [Port(name, fields.get(name, Any)) for name in annotation._fields]
            style = OUTPUT_ATTRIBUTES
        elif typing.is_typeddict(annotation):
            ports = [Port(name, t) for name, t in field_types(annotation).items()]
            style = OUTPUT_MAPPING
        elif (items := fixed_tuple_items(annotation)) is not None:
            ports = [Port(tuple_port(i), t) for i, t in enumerate(items)]
            style = OUTPUT_SEQUENCE
        else:
            ports, style = [Port("result", annotation)], OUTPUT_SINGLE
    elif isinstance(declared, str):
        ports, style = [Port(declared, annotation)], OUTPUT_SINGLE
    elif isinstance(declared, dict):
        ports = [Port(name, Any if t is None else t) for name, t in declared.items()]
        style = OUTPUT_MAPPING
    elif _is_mapping(annotation):
        keyed = field_types(annotation) if typing.is_typeddict(annotation) else {}
        value = _dict_value_type(annotation)
        ports = [Port(name, keyed.get(name, value)) for name in declared]
        style = OUTPUT_MAPPING
    else:
        items = _item_types(annotation, len(declared), label)
        ports = [Port(name, t) for name, t in zip(declared, items, strict=False)]
        style = OUTPUT_SEQUENCE
    return _describe_outputs(ports, meta.description, returns), style


def _describe_outputs(
    ports: list[Port], description: str, returns: list[tuple[str | None, str]]
) -> tuple[Port, ...]:
    """Attach return descriptions: Annotated first, then docstring entries by name or order."""
    by_name = {name: text for name, text in returns if name}
    positional = len(returns) == len(ports) > 1
    combined = "\n\n".join(text for _, text in returns)
    described = []
    for index, port in enumerate(ports):
        meta = read_annotated(port.annotation)
        text = meta.description or (description if len(ports) == 1 else "")
        text = text or by_name.get(port.name, "")
        if not text:
            text = returns[index][1] if positional else combined
        described.append(
            Port(
                port.name,
                meta.annotation,
                description=text,
                choices=choices_of(meta.annotation),
                minimum=meta.minimum,
                maximum=meta.maximum,
            )
        )
    return tuple(described)


def fixed_tuple_items(annotation: Any) -> tuple[Any, ...] | None:
    """The item types of a fixed-length `tuple[A, B]`; None for any other annotation."""
    if typing.get_origin(annotation) is not tuple:
        return None
    args = typing.get_args(annotation)
    if not args or args == ((),) or any(a is Ellipsis for a in args):
        return None
    return args


def _is_mapping(annotation: Any) -> bool:
    if typing.is_typeddict(annotation):
        return True
    origin = typing.get_origin(annotation) or annotation
    return inspect.isclass(origin) and issubclass(origin, collections.abc.Mapping)


def _dict_value_type(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return args[1] if len(args) == 2 else Any


def _item_types(annotation: Any, count: int, label: str) -> list[Any]:
    """Types of a returned sequence's items, checked against the declared output count."""
    if is_namedtuple(annotation):
        fields = field_types(annotation)
        types_ = [fields.get(name, Any) for name in annotation._fields]
    else:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return [args[0]] * count
        if origin is tuple and args and args != ((),):
            types_ = list(args)
        elif origin in (list, collections.abc.Sequence) and args:
            return [args[0]] * count
        else:
            return [Any] * count
    if len(types_) != count:
        raise NodeSpecError(
            f"{label} declares {count} outputs with @node(outputs=...) but its return "
            f"annotation {annotation!r} has {len(types_)} items; make them agree"
        )
    return types_
