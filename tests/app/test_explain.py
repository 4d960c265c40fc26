"""`plait explain`: which nodes the next run reuses or runs, and why, in a user's words."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plait.runtime.flow.model import Flow
from plait.runtime.workspace.store import Workspace

PLAIT = str(Path(sys.executable).with_name("plait"))

LIBRARY = textwrap.dedent("""
    import random


    def _scale(x):
        return x * 2


    def make(n: int = 3) -> list:
        return list(range(n))


    def scaled(items: list) -> list:
        return [_scale(v) for v in items]


    def total(items: list) -> int:
        return sum(items)


    def noise(items: list) -> float:
        return random.random()


    def read(path: str) -> str:
        with open(path) as handle:
            return handle.read()
""")


def plait(*args):
    return subprocess.run(
        [PLAIT, *args], capture_output=True, text=True, timeout=120, cwd="/", env=dict(os.environ)
    )


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "steps.py").write_text(LIBRARY)
    (folder / "notes.txt").write_text("first")
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        f = Flow("numbers", catalog=catalog)
        n = f.add_parameter("n", "int", 3)
        m = f.create_node(catalog.get("steps.py:make"))
        s = f.create_node(catalog.get("steps.py:scaled"))
        t = f.create_node(catalog.get("steps.py:total"))
        z = f.create_node(catalog.get("steps.py:noise"))
        r = f.create_node(catalog.get("steps.py:read"))
        f.set_value(r.id, "path", str(folder / "notes.txt"))
        f.connect(n.id, "value", m.id, "n")
        f.connect(m.id, "result", s.id, "items")
        f.connect(s.id, "result", t.id, "items")
        f.connect(m.id, "result", z.id, "items")
        ws.save_flow(f)
    return folder


def explained(folder, *args):
    done = plait("explain", "numbers", "-w", str(folder), "--json", *args)
    assert done.returncode == 0, done.stderr
    return {e["title"]: e for e in json.loads(done.stdout)}


def test_a_fresh_flow_runs_its_sources_and_the_rest_waits(folder):
    found = explained(folder)
    assert found["Make"]["state"] == "will run"
    assert found["Make"]["reasons"] == ["it has not run before"]
    assert found["Scaled"]["state"] == "waits"
    assert found["Read"]["state"] == "will run"


def test_after_a_run_everything_is_cached(folder):
    assert plait("run", "numbers", "-w", str(folder)).returncode == 0
    found = explained(folder)
    assert {title: e["state"] for title, e in found.items()} == dict.fromkeys(
        ["Make", "Scaled", "Total", "Noise", "Read"], "cached"
    )


def test_editing_a_helper_names_it_and_lists_exactly_the_nodes_that_use_it(folder):
    assert plait("run", "numbers", "-w", str(folder)).returncode == 0
    library = folder / "steps.py"
    library.write_text(library.read_text().replace("return x * 2", "return x * 3"))
    found = explained(folder)
    will_run = {title for title, e in found.items() if e["state"] == "will run"}
    assert will_run == {"Scaled"}
    assert found["Scaled"]["reasons"] == ["helper `_scale` in steps.py changed"]
    # Total reads what Scaled makes: it reruns only if that value changes.
    assert found["Total"]["state"] == "waits"
    assert "Scaled" in found["Total"]["reasons"][0]
    assert found["Make"]["state"] == found["Noise"]["state"] == "cached"


def test_a_comment_or_docstring_edit_changes_nothing(folder):
    assert plait("run", "numbers", "-w", str(folder)).returncode == 0
    library = folder / "steps.py"
    library.write_text(
        library.read_text().replace("def _scale(x):\n", 'def _scale(x):  # doubles\n    """Twice x."""\n\n')
    )
    assert {e["state"] for e in explained(folder).values()} == {"cached"}


def test_a_parameter_change_names_the_parameter_with_old_and_new_values(folder):
    assert plait("run", "numbers", "-w", str(folder)).returncode == 0
    found = explained(folder, "--param", "n=5")
    assert found["Make"]["state"] == "will run"
    assert found["Make"]["reasons"] == ["parameter n 3 → 5"]
    assert {found[t]["state"] for t in ("Scaled", "Total", "Noise")} == {"waits"}


def test_a_changed_file_is_named(folder):
    assert plait("run", "numbers", "-w", str(folder)).returncode == 0
    (folder / "notes.txt").write_text("second, longer")
    found = explained(folder)
    assert found["Read"]["state"] == "will run"
    assert found["Read"]["reasons"] == [f"file {folder / 'notes.txt'} changed"]


def test_nondeterministic_code_gets_a_hint(folder):
    found = explained(folder)
    assert any("random.random()" in hint and "cache to never" in hint for hint in found["Noise"]["hints"])
    assert not found["Make"]["hints"]


def test_text_output_and_one_node(folder):
    assert plait("run", "numbers", "-w", str(folder)).returncode == 0
    done = plait("explain", "numbers", "Make", "-w", str(folder), "-p", "n=4")
    assert done.returncode == 0, done.stderr
    assert "Make" in done.stdout and "parameter n 3 → 4" in done.stdout
    assert "Scaled" not in done.stdout
    assert "its key tracks:" in done.stdout and "parameter n = 4" in done.stdout
    done = plait("explain", "numbers", "Scaled", "-w", str(folder))
    assert "helper `_scale` in steps.py" in done.stdout
    assert "the value of Make's result" in done.stdout


def test_an_unknown_node_is_named_with_the_flows_nodes(folder):
    done = plait("explain", "numbers", "Nope", "-w", str(folder))
    assert done.returncode == 2
    assert "no node 'Nope'" in done.stderr and "Make" in done.stderr


def test_a_subflow_is_explained_through_its_flow(folder):
    from plait.runtime.engine.subflows import subflow_key

    with Workspace(folder) as ws:
        catalog = ws.catalog()
        inner = Flow("scaling", catalog=catalog)
        items = inner.add_parameter("items", "list")
        s = inner.create_node(catalog.get("steps.py:scaled"))
        inner.connect(items.id, "value", s.id, "items")
        out = inner.add_output("out")
        inner.connect(s.id, "result", out.id, "value")
        ws.save_flow(inner)
        catalog = ws.catalog()
        outer = Flow("outer", catalog=catalog)
        m = outer.create_node(catalog.get("steps.py:make"))
        sub = outer.create_node(catalog.get(subflow_key(inner.id)))
        t = outer.create_node(catalog.get("steps.py:total"))
        outer.connect(m.id, "result", sub.id, "items")
        outer.connect(sub.id, "out", t.id, "items")
        ws.save_flow(outer)
    assert plait("run", "outer", "-w", str(folder)).returncode == 0

    def explain_outer():
        done = plait("explain", "outer", "-w", str(folder), "--json")
        assert done.returncode == 0, done.stderr
        return {e["title"]: e for e in json.loads(done.stdout)}

    assert {e["state"] for e in explain_outer().values()} == {"cached"}
    library = folder / "steps.py"
    library.write_text(library.read_text().replace("return x * 2", "return x * 3"))
    found = explain_outer()
    assert found["scaling"]["state"] == "will run"
    assert found["scaling"]["reasons"] == ["inside 'scaling', Scaled will run"]
    assert found["Total"]["state"] == "waits" and found["Make"]["state"] == "cached"
