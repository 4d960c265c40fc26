"""Hand-made node types for model tests, independent of introspection."""

from __future__ import annotations

from typing import Any, Optional

from plait.runtime.nodes.spec import VAR_KEYWORD, NodeSpec, Port


def make_spec(key: str, inputs=(), outputs=("result",)) -> NodeSpec:
    """inputs/outputs: names, or (name, annotation) or (name, annotation, default)."""

    def port(item: Any) -> Port:
        if isinstance(item, Port):
            return item
        if isinstance(item, str):
            return Port(item)
        return Port(*item)

    return NodeSpec(
        key=key,
        title=key.split(":")[-1].replace("_", " ").capitalize(),
        inputs=tuple(port(p) for p in inputs),
        outputs=tuple(port(p) for p in outputs),
    )


class Catalog(dict):
    def get(self, key, default=None):
        return super().get(key, default)


def catalog() -> Catalog:
    specs = [
        make_spec("t:load", [("path", str, "data.csv")], [("result", list)]),
        make_spec("t:count", [("items", list)], [("result", int)]),
        make_spec("t:scale", [("x", float), ("factor", float, 2.0)], [("result", float)]),
        make_spec("t:label", [("text", str)], [("result", str)]),
        make_spec("t:maybe", [("x", Optional[int])], [("result", Optional[int])]),
        make_spec("t:add", [("a", Any), ("b", Any)], [("result", Any)]),
        make_spec("t:sink", [("x", Any, None), Port("extra", kind=VAR_KEYWORD, wireable=False)], ()),
    ]
    return Catalog({s.key: s for s in specs})
