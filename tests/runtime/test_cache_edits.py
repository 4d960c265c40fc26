"""Every kind of edit ordinary code meets: a cached run equals a fresh one, and reruns are
exactly the nodes whose code, constants, files or input values changed.

A random flow is built from node kinds that each reach their code a different
way (a lazy import, a workspace package, a module-level array, regex,
Fraction, dataclass or object of another module, a dispatch table, a list of
step functions, a class attribute and a method default, `globals()[...]`, a
decorator of the same or another module, a partial holding a big array, a
third-party library, a file named by a constant or by an upstream node, a
`never` and an expiring node, a subflow) and from parameters that hash alike
but differ (NaN and None, a dict's key order). One random edit changes one of
those; the run on the cache must give what a fresh run gives, and recompute
exactly the nodes whose own computation is new.

More examples: PLAIT_CACHE_EXAMPLES=500 pytest tests/runtime/test_cache_edits.py --timeout 0
"""

import importlib
import math
import shutil
import sys
import textwrap
import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from plait.runtime.engine import events as ev
from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.engine.subflows import FlowCatalog, is_subflow, subflow_key
from plait.runtime.flow.model import Flow
from plait.runtime.keys import fingerprint
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.workspace.store import Workspace
from tests.runtime.test_cache_properties import draw_inputs

# Knobs: the values an edit changes, and the file each lives in.
KNOBS = {
    "lazy": ("helpers.py", 1.0),
    "step": ("helpers.py", 2.0),
    "pkg": ("mypkg/tools.py", 3.0),
    "deco": ("deco.py", 0.5),
    "box": ("shapes.py", 2.0),
    "array": ("lib.py", 1.0),
    "pattern": ("lib.py", "ab+"),
    "fraction": ("lib.py", 1),
    "boxsize": ("lib.py", 3.0),
    "conf": ("lib.py", 0.25),
    "op": ("lib.py", 4.0),
    "k": ("lib.py", 2.0),
    "g": ("lib.py", 7.0),
    "w": ("lib.py", 0.5),
    "local": ("lib.py", 3.0),
    "version": ("fakedist", 1),
    "data": ("data.txt", 10.0),
    "tick": ("tick.txt", 1.0),
}

FILES = {
    "helpers.py": """
        def lazy_f(x):
            return x + {lazy}


        def step_a(x):
            return x * {step}


        def step_b(x):
            return x - 1
        """,
    "mypkg/__init__.py": """
        from mypkg.tools import g  # noqa: F401
        """,
    "mypkg/tools.py": """
        def g(x):
            return x * {pkg}
        """,
    "deco.py": """
        import functools


        def traced(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return fn(*args, **kwargs) + {deco}
            return wrapper
        """,
    "shapes.py": """
        class Box:
            def __init__(self, size):
                self.size = size

            def area(self):
                return self.size * {box}
        """,
    "lib.py": """
        import functools
        import os
        import re
        from dataclasses import dataclass
        from fractions import Fraction

        import fakedist
        import numpy as np

        import deco
        import helpers
        from mypkg import tools
        from plait.runtime import node
        from shapes import Box

        HERE = os.path.dirname(os.path.abspath(__file__))
        TICK = os.path.join(HERE, "tick.txt")  # read behind the cache's back: never nodes
        ARRAY = np.arange(5) * {array}
        PATTERN = re.compile("{pattern}")
        FRACTION = Fraction({fraction}, 3)
        BOX = Box({boxsize})
        OPS = {{"add": lambda x: x + {op}, "neg": lambda x: -x}}
        STEPS = [helpers.step_a, helpers.step_b]
        K = {k}
        G = {g}
        WEIGHTED = functools.partial(np.dot, np.full(100_000, {w}))


        @dataclass
        class Conf:
            k: float


        CONF = Conf({conf})


        class Model:
            factor = K

            def apply(self, x, extra=K):
                return x * self.factor + extra


        def _local(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return fn(*args, **kwargs) * {local}
            return wrapper


        def combine(a: float = 0.0, b: float = 0.0) -> float:
            return a + 2 * b


        def lazy_user(a: float = 0.0, b: float = 0.0) -> float:
            from helpers import lazy_f
            return lazy_f(a) - b


        def lazy_module(a: float = 0.0) -> float:
            import helpers as h
            return h.lazy_f(a) * 2


        def pkg_user(a: float = 0.0) -> float:
            return tools.g(a)


        def array_user(a: float = 0.0) -> float:
            return a + float(ARRAY.sum())


        def objects_user(a: float = 0.0) -> float:
            return a + len(PATTERN.pattern) + float(FRACTION) + BOX.area() + CONF.k


        def dispatch_user(a: float = 0.0) -> float:
            value = OPS["add"](a)
            for step in STEPS:
                value = step(value)
            return value


        def method_user(a: float = 0.0) -> float:
            return Model().apply(a)


        def globals_user(a: float = 0.0) -> float:
            return a + globals()["G"]


        @deco.traced
        def decorated(a: float = 0.0) -> float:
            return a * 2


        @_local
        def local_decorated(a: float = 0.0) -> float:
            return a + 1


        def version_user(a: float = 0.0) -> float:
            return a + fakedist.VALUE


        def partial_user(a: float = 0.0) -> float:
            return a + float(WEIGHTED(np.ones(100_000)))


        @node(cache="never")
        def ticker(a: float = 0.0) -> float:
            with open(TICK) as fh:
                return a + float(fh.read())


        @node(cache_expiration=0.001)
        def expiring(a: float = 0.0) -> float:
            with open(TICK) as fh:
                return a * float(fh.read())


        def where() -> str:
            return os.path.join(HERE, "data.txt")


        def reader(path: str = "", a: float = 0.0) -> float:
            with open(path) as fh:
                return float(fh.read()) + a


        def nones(q=None) -> float:
            items = q if isinstance(q, list) else [q]
            return float(sum(v is None for v in items)) + 10.0 * sum(
                isinstance(v, float) and v != v for v in items)


        def first_value(d: dict) -> float:
            return float(next(iter(d.values())))
        """,
}

# What each kind's computation depends on besides its inputs.
DEPENDS = {
    "combine": (),
    "lazy_user": ("lazy",),
    "lazy_module": ("lazy",),
    "pkg_user": ("pkg",),
    "array_user": ("array",),
    "objects_user": ("pattern", "fraction", "boxsize", "box", "conf"),
    "dispatch_user": ("op", "step"),
    "method_user": ("k",),
    # globals()[...] cannot be followed: the whole module and all it reaches count.
    "globals_user": tuple(k for k in KNOBS if k not in ("data", "tick")),
    "decorated": ("deco",),
    "local_decorated": ("local",),
    "version_user": ("version",),
    "partial_user": ("w",),
    "reader": ("data",),
    "subflow": ("lazy", "data"),
}
ALWAYS = {"ticker", "expiring", "subflow"}  # rerun every time (a subflow holds a never node)
FLOAT_KINDS = [k for k in DEPENDS if k not in ("reader", "subflow")] + ["ticker", "expiring"]
PORTS = {"combine": ("a", "b"), "lazy_user": ("a", "b")}
EDITS = [k for k in KNOBS] + ["parameter", "nan_none", "dict_order", "constant", "unwire", "cosmetic"]


def cosmetic(source):
    """The same code with comments, docstrings, blank lines and other spacing: no rerun."""
    lines = ["# Edited: comments, docstrings and spacing only.", ""]
    for line in source.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("return "):
            line = f"{indent}return  {stripped[len('return ') :]}  # the result"
        lines.append(line)
        if stripped.startswith(("def ", "class ")) and line.rstrip().endswith(":"):
            lines.append(f'{indent}    """Documented after the first run."""')
            lines.append("")
    return "\n".join(lines) + "\n"


def changed(knob, value):
    if knob == "pattern":
        return value + "c"
    if knob in ("fraction", "version"):
        return value + 1
    return value + 1.5


def write_workspace(folder, site, knobs, dressed=False):
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        source = textwrap.dedent(text).format(**knobs)
        path.write_text(cosmetic(source) if dressed else source)
    (folder / "data.txt").write_text(repr(knobs["data"]))
    (folder / "tick.txt").write_text(repr(knobs["tick"]))
    # A third-party distribution, installed outside the workspace.
    for old in site.glob("fakedist-*.dist-info"):
        shutil.rmtree(old)
    info = site / f"fakedist-{knobs['version']}.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakedist\nVersion: {knobs['version']}.0\n")
    (info / "top_level.txt").write_text("fakedist\n")
    (site / "fakedist").mkdir(exist_ok=True)
    (site / "fakedist" / "__init__.py").write_text(f"VALUE = {knobs['version'] * 100.0}\n")


@st.composite
def cases(draw):
    n = draw(st.integers(2, 8))
    nodes = []
    for i in range(n):
        kind = draw(st.sampled_from(FLOAT_KINDS + ["reader", "reader", "subflow"]))
        wires, constants = draw_inputs(draw, i, PORTS.get(kind, ("a",)), span=4)
        if kind == "reader":
            wires["path"] = draw(st.sampled_from(["where", "constant"]))
        nodes.append((kind, wires, constants))
    q = draw(st.sampled_from(["nan", "list"]))
    edit = draw(st.sampled_from(EDITS))
    target = draw(st.integers(0, n - 1))
    return nodes, q, edit, target


def build(cat, nodes, folder, inner_id):
    flow = Flow("edits", catalog=cat)
    p = flow.add_parameter("p", "float", 1.0)
    q = flow.add_parameter("q", "any", None)
    d = flow.add_parameter("d", "any", None)
    ids = []
    where = None
    for kind, wires, constants in nodes:
        if kind == "subflow":
            node = flow.create_node(cat.get(subflow_key(inner_id)))
            port_of = {"a": "x"}
        else:
            node = flow.create_node(cat.get(f"lib.py:{kind}"))
            port_of = {}
        for port, source in wires.items():
            target = port_of.get(port, port)
            if port == "path":
                if source == "where":
                    if where is None:
                        where = flow.create_node(cat.get("lib.py:where"))
                    flow.connect(where.id, "result", node.id, "path")
                else:
                    flow.set_value(node.id, "path", str(folder / "data.txt"))
            elif source == "p":
                flow.connect(p.id, "value", node.id, target)
            else:
                out = "out" if nodes[source][0] == "subflow" else "result"
                flow.connect(ids[source], out, node.id, target)
        for port, value in constants.items():
            flow.set_value(node.id, port_of.get(port, port), value)
        ids.append(node.id)
    for kind, param in (("nones", q), ("first_value", d)):
        node = flow.create_node(cat.get(f"lib.py:{kind}"))
        flow.connect(param.id, "value", node.id, "q" if kind == "nones" else "d")
    return flow, ids


def build_inner(cat, ws):
    """A subflow: x → lazy_user, plus a file reader and a never node inside."""
    inner = Flow("inner", catalog=cat)
    x = inner.add_parameter("x", "float", 0.0)
    lazy = inner.create_node(cat.get("lib.py:lazy_user"))
    tick = inner.create_node(cat.get("lib.py:ticker"))
    read = inner.create_node(cat.get("lib.py:reader"))
    inner.set_value(read.id, "path", str(ws.folder / "data.txt"))
    total = inner.create_node(cat.get("lib.py:combine"))
    inner.connect(x.id, "value", lazy.id, "a")
    inner.connect(read.id, "result", tick.id, "a")
    inner.connect(lazy.id, "result", total.id, "a")
    inner.connect(tick.id, "result", total.id, "b")
    out = inner.add_output("out")
    inner.connect(total.id, "result", out.id, "value")
    ws.save_flow(inner)
    return inner


def text(value):
    """Values compared as written: NaN is not None, and a dict's order counts."""
    return repr(value)


def signatures(flow, params, values, knobs, folder):
    found = {}
    for node_id, node in flow.nodes.items():
        if node.is_parameter:
            found[node_id] = ("parameter", node.values["name"], text(params[node.values["name"]]))
            continue
        kind = node.spec_key.split(":")[1] if node.spec_key.startswith("lib.py:") else "subflow"
        inputs = []
        for edge in sorted(flow.edges_into(node_id), key=lambda e: e.target_port):
            source = flow.nodes[edge.source]
            value = (
                params[source.values["name"]]
                if source.is_parameter
                else values[edge.source][edge.source_port]
            )
            inputs.append((edge.target_port, text(value)))
        code = (kind, tuple(text(knobs[k]) for k in DEPENDS.get(kind, ())))
        found[node_id] = (code, text(sorted(node.values.items())), tuple(inputs))
    return found


def results(engine, result):
    return {
        n: {port: engine.cache.store.read(ref) for port, ref in r.outputs.items()}
        for n, r in result.nodes.items()
    }


def comparable(values):
    return {n: {p: text(v) for p, v in ports.items()} for n, ports in values.items()}


# One flow with every kind of node, each reading the one before: every edit kind is tried
# on it at least once, whatever the random examples turn out to be.
EVERY_KIND = [(kind, {"a": i - 1} if i else {"a": "p"}, {}) for i, kind in enumerate(FLOAT_KINDS)]
EVERY_KIND += [
    ("reader", {"path": "where", "a": len(EVERY_KIND) - 1}, {}),
    ("reader", {"path": "constant"}, {"a": 1.5}),
    ("subflow", {"a": 0}, {}),
    ("combine", {"a": len(EVERY_KIND) + 2, "b": 3}, {}),
]


def every_kind(test):
    for edit in EDITS:
        test = example(case=(EVERY_KIND, "nan", edit, 3))(test)
    return example(case=(EVERY_KIND, "list", "nan_none", 0))(test)


@settings(
    max_examples=int(__import__("os").environ.get("PLAIT_CACHE_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
@every_kind
def test_every_kind_of_edit_reruns_exactly_what_changed_and_nothing_stale(tmp_path_factory, loop, case):
    nodes, q_kind, edit, target = case
    root = tmp_path_factory.mktemp("edits")
    # The fake distribution sits where installed packages do, so it counts by its version.
    folder, site = root / "ws", root / "lib" / "site-packages"
    folder.mkdir()
    site.mkdir(parents=True)
    knobs = {k: default for k, (_, default) in KNOBS.items()}
    write_workspace(folder, site, knobs)
    sys.path.insert(0, str(site))
    sys.modules.pop("fakedist", None)
    fingerprint.refresh_distributions()
    try:
        catalog = Catalog(folder)
        catalog.load()
        assert not [lib.error for lib in catalog.libraries if lib.error]
        with Workspace(folder) as ws:
            cat = FlowCatalog(catalog, ws)
            inner = build_inner(cat, ws)
            engine = Engine(ws, cat, executor=InlineExecutor())
            flow, ids = build(cat, nodes, folder, inner.id)
            params = {"p": 1.0, "q": math.nan if q_kind == "nan" else [math.nan], "d": {"a": 1.0, "b": 2.0}}

            def go(**options):
                result = loop.run_until_complete(engine.run(flow, params, RunOptions(**options)))
                assert result.ok, {n: r.error for n, r in result.nodes.items() if r.error}
                return result

            first = go()
            before = signatures(flow, params, results(engine, first), knobs, folder)
            node_id = ids[target]
            if edit in KNOBS:
                knobs[edit] = changed(edit, knobs[edit])
                write_workspace(folder, site, knobs)
                if edit == "version":
                    # An upgrade takes effect in a new process: everything imports afresh.
                    importlib.reload(sys.modules["fakedist"])
                    fingerprint.refresh_distributions()
                    catalog.load()
                else:
                    catalog.reload()
                engine.forget_functions()
            elif edit == "cosmetic":
                write_workspace(folder, site, knobs, dressed=True)
                catalog.reload()
                engine.forget_functions()
            elif edit == "parameter":
                params = {**params, "p": 7.0}
            elif edit == "nan_none":
                params = {**params, "q": None if q_kind == "nan" else [None]}
            elif edit == "dict_order":
                params = {**params, "d": {"b": 2.0, "a": 1.0}}
            elif edit == "constant":
                port = "x" if is_subflow(flow.nodes[node_id].spec_key) else "a"
                if flow.edge_into(node_id, port):
                    flow.disconnect(flow.edge_into(node_id, port))
                flow.set_value(node_id, port, 99.5)
            else:
                edges = [e for e in flow.edges_into(node_id) if e.target_port != "path"]
                if edges:
                    flow.disconnect(edges[0])
            time.sleep(0.005)  # past the expiring node's expiry

            cached = go()
            fresh = go(use_cache=False)
            fresh_values = results(engine, fresh)
            after = signatures(flow, params, fresh_values, knobs, folder)
            kinds = {n: flow.nodes[n].spec_key.split(":")[-1] for n in flow.nodes}
            always = {n for n in flow.nodes if kinds[n] in ALWAYS or is_subflow(flow.nodes[n].spec_key)}
            expected = {
                n
                for n in flow.nodes
                if n in always or after[n] not in {before[m] for m in before if m not in always}
            }
            recomputed = {n for n, r in cached.nodes.items() if r.state == ev.COMPLETED}
            assert recomputed == expected, (edit, sorted(recomputed ^ expected))
            hits = {n for n, r in cached.nodes.items() if r.state == ev.CACHED}
            assert hits == set(flow.nodes) - expected
            assert comparable(results(engine, cached)) == comparable(fresh_values)
            loop.run_until_complete(engine.close())
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("fakedist", None)
        fingerprint.refresh_distributions()
