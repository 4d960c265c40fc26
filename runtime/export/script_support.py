"""Helpers an exported script needs, copied into it by `runtime.scripts` when it uses them.

They are real functions here, so they are linted and tested like any code;
each mirrors what Plait itself does when it runs a node.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _json(text: str) -> Any:
    """A list or dict given as JSON on the command line."""
    return json.loads(text)


def _any(text: str) -> Any:
    """A value of any type: JSON when it reads as JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _sequence(value: Any, names: Sequence[str]) -> tuple:
    """A node's outputs from the tuple (or dict) it returned, as Plait splits them."""
    if isinstance(value, dict):
        return tuple(value[name] for name in names)
    values = tuple(value)
    if len(values) != len(names):
        raise ValueError(f"expected {len(names)} values ({', '.join(names)}), got {len(values)}")
    return values


def _as_path(value: Any) -> Any:
    """Text given to an input that takes a path, as a Path."""
    return Path(value) if isinstance(value, str) else value


def _retry(call: Callable[[], Any], retries: int, delay: Any, backoff: float) -> Any:
    """Call again after a failure, as Plait retries a node: `retries` times, waiting between."""
    for attempt in range(retries + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == retries:
                raise
            wait = (
                delay[min(attempt, len(delay) - 1)]
                if isinstance(delay, (list, tuple))
                else delay * backoff**attempt
            )
            print(
                f"attempt {attempt + 1} failed ({type(exc).__name__}: {exc}); retrying in {wait:g}s",
                file=sys.stderr,
            )
            time.sleep(wait)
    raise AssertionError("unreachable")


def _member(module: str, qualname: str, value: Any) -> Any:
    """An enum member from its saved value or name, as Plait reads it."""
    import importlib

    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    try:
        return cls(value)
    except ValueError:
        return cls[value]
