"""Flows exported as plain Python scripts give the same final outputs as a Plait run."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.export.scripts import ScriptError, export_script
from plait.runtime.flow.model import Flow
from plait.runtime.nodes.context import using_workspace
from plait.runtime.workspace.examples import examples_folder
from plait.runtime.workspace.store import Workspace

B = "plait.runtime.builtins:"

LIBRARY = textwrap.dedent("""
    from typing import NamedTuple, TypedDict

    from plait.runtime import node


    class Range(NamedTuple):
        low: float
        high: float


    class Parts(TypedDict):
        whole: int
        rest: float


    def numbers(n: int = 4) -> list[float]:
        return [float(i) for i in range(n)]


    def span(xs: list[float]) -> Range:
        return Range(min(xs), max(xs))


    @node(outputs=("total", "product"))
    def pair(a: float, b: float = 1.0) -> tuple[float, float]:
        return a + b, a * b


    def parts(x: float) -> Parts:
        return {"whole": int(x), "rest": round(x - int(x), 6)}


    def square(x: float) -> float:
        return x * x


    def weigh(values, scale: float, rows: int) -> float:
        return sum(values) * scale + rows


    def minus(a: float, b: float = 2.0, /) -> float:
        return a - b
""")


def run_script(script: Path, argv: list[str], env: dict | None = None) -> dict:
    """Run an exported script in a fresh process and return what its main() returned."""
    code = (
        "import json, runpy, sys; ns = runpy.run_path(sys.argv[1]); "
        "print(json.dumps(ns['main'](sys.argv[2:]), default=repr))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(script), *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def plait_values(loop, workspace, flow, params):
    engine = Engine(workspace, flow.catalog, executor=InlineExecutor())
    with using_workspace(workspace.folder):
        result = loop.run_until_complete(engine.run(flow, params, RunOptions()))
    loop.run_until_complete(engine.close())
    assert result.ok, {n: r.error for n, r in result.nodes.items()}
    return {
        n: {p: engine.cache.store.read(ref) for p, ref in r.outputs.items()} for n, r in result.nodes.items()
    }


def test_every_output_style_mapping_and_constants_match_the_plait_run(loop, tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "shapes.py").write_text(LIBRARY)
    (folder / "rows.csv").write_text("v\n1\n2\n3\n")
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        f = Flow("shapes", catalog=catalog)
        n = f.add_parameter("n", "int", 4, node_id="n")
        scale = f.add_parameter("scale", "float", 0.5, node_id="scale")

        def add(key, node_id, **values):
            node = f.create_node(catalog.get(key), node_id=node_id)
            for port, value in values.items():
                f.set_value(node.id, port, value)
            return node

        add("shapes.py:numbers", "numbers")
        add("shapes.py:span", "span")
        add("shapes.py:pair", "pair")
        add("shapes.py:parts", "parts")
        add("shapes.py:minus", "minus", b=0.25)
        add("shapes.py:square", "square")
        f.set_option("square", "map_over", "x")
        add("shapes.py:weigh", "weigh")
        add(B + "read_table", "rows", path="rows.csv")
        add(B + "python_expression", "count", expression="len(x)")
        for wire in [
            (n.id, "value", "numbers", "n"),
            ("numbers", "result", "span", "xs"),
            ("span", "low", "pair", "a"),
            ("span", "high", "pair", "b"),
            ("pair", "product", "parts", "x"),
            ("pair", "total", "minus", "a"),
            ("numbers", "result", "square", "x"),
            ("square", "result", "weigh", "values"),
            (scale.id, "value", "weigh", "scale"),
            ("rows", "result", "count", "x"),
            ("count", "result", "weigh", "rows"),
        ]:
            f.connect(*wire)
        ws.save_flow(f)
        expected = plait_values(loop, ws, f, {"n": 5})
        script = folder / "shapes_flow.py"
        script.write_text(export_script(f, ws.folder, script))

    got = run_script(script, ["--n", "5"])
    assert set(got) == {"parts", "minus", "weigh"}  # the nodes nothing consumes
    for node_id, outputs in got.items():
        assert outputs == expected[node_id], node_id
    assert got["weigh"]["result"] == (0 + 1 + 4 + 9 + 16) * 0.5 + 3


def test_the_iris_script_runs_without_plait_and_matches(loop, tmp_path):
    folder = tmp_path / "iris"
    shutil.copytree(examples_folder() / "iris", folder)
    blocker = tmp_path / "no-plait" / "plait"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('Plait is not installed here')\n")
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        engineering = ws.load_flow("data-engineering", catalog=catalog)
        plait_values(loop, ws, engineering, {})
        science = ws.load_flow("data-science", catalog=catalog)
        expected = plait_values(loop, ws, science, {"test_data_ratio": 0.3})
        script = tmp_path / "elsewhere" / "data_science.py"
        script.parent.mkdir()
        script.write_text(export_script(science, ws.folder, script))
    assert f"WORKSPACE = Path({str(folder)!r})" in script.read_text()
    got = run_script(script, ["--test-data-ratio", "0.3"], env={"PYTHONPATH": str(blocker.parent)})
    assert got["accuracy"]["result"] == expected["accuracy"]["result"] > 0.8


def test_a_node_whose_type_is_missing_cannot_be_scripted(catalog, tmp_path):
    from plait.runtime.flow.model import Node

    f = Flow("broken", catalog=catalog)
    f.add_node(Node("ghost", "gone:fn", "Ghost"))
    with pytest.raises(ScriptError, match="node 'Ghost' has type 'gone:fn', which is not available"):
        export_script(f, tmp_path)
