"""Plait's runtime: the flow model, node types from functions, the workspace and the engine.

Plain Python with no Qt, so flows run headless. The names below load on
first use, which keeps worker processes quick to start.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "node": "plait.runtime.nodes.decorator",
    "load": "plait.runtime.code.results",
    "NodeFailed": "plait.runtime.code.runs",
    "progress": "plait.runtime.engine.progress",
    "spec_from_callable": "plait.runtime.nodes.introspect",
    "Flow": "plait.runtime.flow.model",
    "Node": "plait.runtime.flow.model",
    "Edge": "plait.runtime.flow.model",
    "Workspace": "plait.runtime.workspace.store",
    "Engine": "plait.runtime.engine.scheduler",
    "RunOptions": "plait.runtime.engine.scheduler",
    "Catalog": "plait.runtime.nodes.libraries",
}

__all__ = sorted([*_EXPORTS, "flow"])

# `plait.runtime.flow` is also the room of the flow model. Importing that room sets
# the package's attribute `flow` to it, once; importing it first, here, lets the name
# below stay the decorator whatever imports the room later.
import plait.runtime.flow  # noqa: E402, F401


def flow(fn: Any = None, /, **options: Any) -> Any:
    """`@flow`: a function whose body calls node functions, as a Plait flow (see plait.runtime.code)."""
    from plait.runtime.code.flows import flow as make_flow

    return make_flow(fn, **options) if fn is not None else make_flow(**options)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'plait.runtime' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
