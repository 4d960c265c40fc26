"""The optional `@node` decorator: metadata for a function used as a node.

`@node` never wraps the function. It attaches a plain dict under
`__plait_node__` and returns the very same object, so the function stays
ordinary Python: callable, picklable by reference, and inspectable.
"""

from __future__ import annotations

import datetime
import inspect
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, overload

from plait.runtime.nodes.spec import CACHE_POLICIES, NodeOptions

F = TypeVar("F", bound=Callable[..., Any])

# The attribute @node sets; read it with `node_metadata`.
METADATA_ATTRIBUTE = "__plait_node__"


@overload
def node(fn: F, /) -> F: ...


@overload
def node(
    *,
    title: str | None = None,
    outputs: str | Sequence[str] | Mapping[str, Any] | None = None,
    retries: int = 0,
    retry_delay: float | Sequence[float] = 0.0,
    retry_backoff: float = 1.0,
    timeout: float | None = None,
    cache: str = "inputs",
    cache_expiration: float | datetime.timedelta | None = None,
    tags: Sequence[str] = (),
    map_over: str | None = None,
    cache_key: Callable[[dict[str, Any]], Any] | None = None,
    track_files: bool = True,
) -> Callable[[F], F]: ...


def node(
    fn: Any = None,
    /,
    *,
    title: str | None = None,
    outputs: str | Sequence[str] | Mapping[str, Any] | None = None,
    retries: int = 0,
    retry_delay: float | Sequence[float] = 0.0,
    retry_backoff: float = 1.0,
    timeout: float | None = None,
    cache: str = "inputs",
    cache_expiration: float | datetime.timedelta | None = None,
    tags: Sequence[str] = (),
    map_over: str | None = None,
    cache_key: Callable[[dict[str, Any]], Any] | None = None,
    track_files: bool = True,
) -> Any:
    """Mark a function as a Plait node, with optional title, outputs and run options.

    Use as `@node` or `@node(title="Load data", retries=2, outputs=("train", "test"))`.
    `retry_delay` is seconds, or one delay per retry; `retry_backoff` multiplies
    each further delay.
    `outputs` is a single name (renames the one output), a sequence of names (the
    function returns a tuple, or a dict if its return annotation is a dict or
    TypedDict), or a mapping name -> type (the function returns a dict).
    `cache_key(values)` adds to the node's cache key: it gets the input values
    known before the run (constants and parameters, by input name) and returns
    something that changes when the result would, such as a file's fingerprint.
    `track_files=False` stops the files that input values name from counting in
    the key (for a node that writes to the path it is given, not reads it).
    The function is returned unchanged.
    """
    if cache_key is not None and not callable(cache_key):
        raise TypeError(f"@node(cache_key=...) must be a function of the input values, got {cache_key!r}")
    if fn is not None and not callable(fn):
        raise TypeError(
            f"@node takes keyword arguments only, got {fn!r}; write @node(title={fn!r}) to set a title"
        )
    metadata = {
        "title": _check_title(title),
        "outputs": _check_outputs(outputs),
        "options": NodeOptions(
            retries=_check_retries(retries),
            retry_delay=_check_retry_delay(retry_delay),
            retry_backoff=_check_backoff(retry_backoff),
            timeout=_check_timeout(timeout),
            cache=_check_cache(cache),
            cache_expiration=_check_expiration(cache_expiration),
            tags=_check_tags(tags),
            map_over=_check_map_over(map_over),
            track_files=bool(track_files),
        ),
        "cache_key": cache_key,
    }

    def attach(target: F) -> F:
        if not callable(target):
            raise TypeError(f"@node can only decorate a callable, not {target!r}")
        _check_map_over_names(target, metadata["options"].map_over)
        setattr(target, METADATA_ATTRIBUTE, metadata)
        return target

    return attach(fn) if fn is not None else attach


def node_metadata(fn: Any) -> dict[str, Any]:
    """The @node metadata of a callable (or of what it wraps), or {} when undecorated."""
    # Bound methods forward attribute reads to __func__; partials and callable
    # instances need an explicit look at what they wrap.
    seen = 0
    while fn is not None and seen < 10:
        found = getattr(fn, METADATA_ATTRIBUTE, None)
        if isinstance(found, dict):
            return found
        seen += 1
        if hasattr(fn, "func") and hasattr(fn, "keywords"):  # functools.partial
            fn = fn.func
        elif callable(fn) and not inspect.isroutine(fn) and not inspect.isclass(fn):
            fn = type(fn).__call__
        else:
            return {}
    return {}


def _check_title(title: Any) -> str | None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"@node(title=...) must be a string, got {title!r}")
    return title


def _check_outputs(outputs: Any) -> Any:
    """Return outputs normalised: None, a str, a tuple of names, or a dict name -> type."""
    if outputs is None:
        return None
    if isinstance(outputs, str):
        names = [outputs]
    elif isinstance(outputs, (Mapping, Sequence)):
        names = list(outputs)
    else:
        raise TypeError(
            f"@node(outputs=...) must be a name, a sequence of names or a dict name -> type, got {outputs!r}"
        )
    if not names:
        raise ValueError("@node(outputs=...) needs at least one output name")
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"@node(outputs=...): {name!r} is not a valid output name")
    if len(set(names)) != len(names):
        raise ValueError(f"@node(outputs=...): output names repeat: {names}")
    if isinstance(outputs, str):
        return outputs
    if isinstance(outputs, Mapping):
        return dict(outputs)
    return tuple(names)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_number(name: str, value: Any) -> float:
    if not _is_number(value):
        raise TypeError(f"@node({name}=...) must be a number of seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"@node({name}=...) cannot be negative, got {value!r}")
    return float(value)


def _check_retries(retries: Any) -> int:
    if not isinstance(retries, int) or isinstance(retries, bool):
        raise TypeError(f"@node(retries=...) must be a whole number, got {retries!r}")
    if retries < 0:
        raise ValueError(f"@node(retries=...) cannot be negative, got {retries!r}")
    return retries


def _check_retry_delay(delay: Any) -> float | tuple[float, ...]:
    if isinstance(delay, Sequence) and not isinstance(delay, str):
        return tuple(_check_number("retry_delay", d) for d in delay)
    return _check_number("retry_delay", delay)


def _check_backoff(backoff: Any) -> float:
    factor = _check_number("retry_backoff", backoff)
    if factor == 0:
        raise ValueError("@node(retry_backoff=...) must be positive; 1 keeps the delay constant")
    return factor


def _check_timeout(timeout: Any) -> float | None:
    if timeout is None:
        return None
    seconds = _check_number("timeout", timeout)
    if seconds == 0:
        # A zero timeout would fail every run; None is how to say "no limit".
        raise ValueError("@node(timeout=...) must be positive; use None for no time limit")
    return seconds


def _check_cache(cache: Any) -> str:
    if cache not in CACHE_POLICIES:
        raise ValueError(
            f"@node(cache=...) must be one of {', '.join(map(repr, CACHE_POLICIES))}, got {cache!r}"
        )
    return cache


def _check_expiration(expiration: Any) -> float | None:
    if expiration is None:
        return None
    if isinstance(expiration, datetime.timedelta):
        expiration = expiration.total_seconds()
    return _check_number("cache_expiration", expiration)


def _check_tags(tags: Any) -> tuple[str, ...]:
    if isinstance(tags, str):
        tags = (tags,)
    if not isinstance(tags, (Sequence, set, frozenset)) or not all(isinstance(tag, str) for tag in tags):
        raise TypeError(f"@node(tags=...) must be a sequence of strings, got {tags!r}")
    return tuple(tags)


def _check_map_over(map_over: Any) -> str | None:
    if map_over is not None and not isinstance(map_over, str):
        raise TypeError(f"@node(map_over=...) must be an input name, got {map_over!r}")
    return map_over


def _check_map_over_names(fn: Any, map_over: str | None) -> None:
    """Refuse a map_over that names no parameter, when the signature can tell."""
    if map_over is None:
        return
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return
    if map_over not in parameters:
        name = getattr(fn, "__qualname__", repr(fn))
        raise ValueError(
            f"@node(map_over={map_over!r}) on {name}: it has no input named {map_over!r} "
            f"(inputs: {', '.join(parameters) or 'none'})"
        )
