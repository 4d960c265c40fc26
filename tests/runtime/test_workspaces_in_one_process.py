"""Two workspaces whose files have the same names, open in one process, each with its own code."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
import textwrap
from pathlib import Path

import pytest

from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.scheduler import Engine
from plait.runtime.flow.model import Flow
from plait.runtime.keys.fingerprint import code_fingerprint
from plait.runtime.nodes import loader
from plait.runtime.nodes.libraries import Catalog, resolve_callable
from plait.runtime.workspace.store import Workspace
from tests.runtime.running import run

# Both workspaces have these files; only what `{who}` and `{sides}` stand for differs.
FILES = {
    "lib.py": """
        def make(times: int = 1) -> str:
            return "{who}" * times
    """,
    "shapes/__init__.py": """
        from .sides import SIDES

        KIND = "{who}-shape"
    """,
    "shapes/sides.py": """
        SIDES = {sides}


        def count() -> int:
            return SIDES
    """,
    "pipeline.py": """
        from lib import make

        import shapes


        def at_the_top(times: int = 1) -> str:
            return make(times) + "/" + shapes.KIND


        def inside(times: int = 1) -> str:
            import lib
            from shapes.sides import SIDES

            return f"{{lib.make(times)}}:{{SIDES}}"
    """,
}


@pytest.fixture(autouse=True)
def _forget_workspace_modules():
    modules = set(sys.modules)
    yield
    for name in set(sys.modules) - modules:
        if hasattr(sys.modules[name], loader.SIGNATURE_ATTRIBUTE):
            del sys.modules[name]


def make_workspace(folder: Path, who: str, sides: int) -> Path:
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).format(who=who, sides=sides))
    Workspace(folder).close()
    return folder


@pytest.fixture
def folders(tmp_path):
    return make_workspace(tmp_path / "a", "A", 3), make_workspace(tmp_path / "b", "B", 4)


def answers(catalog) -> dict[str, str]:
    return {
        key: catalog.get(key).func(2)
        for key in ("lib.py:make", "pipeline.py:at_the_top", "pipeline.py:inside")
    }


A_ANSWERS = {"lib.py:make": "AA", "pipeline.py:at_the_top": "AA/A-shape", "pipeline.py:inside": "AA:3"}
B_ANSWERS = {"lib.py:make": "BB", "pipeline.py:at_the_top": "BB/B-shape", "pipeline.py:inside": "BB:4"}


def test_each_catalog_sees_its_own_files_whichever_was_loaded_last(folders):
    a, b = folders
    with Workspace(a) as ws_a, Workspace(b) as ws_b:
        catalog_a = ws_a.catalog()
        assert answers(catalog_a) == A_ANSWERS
        catalog_b = ws_b.catalog()
        assert answers(catalog_b) == B_ANSWERS
        # A's functions, called after B was loaded, still import A's files.
        assert answers(catalog_a) == A_ANSWERS
        catalog_a.load()
        assert answers(catalog_a) == A_ANSWERS
        assert answers(catalog_b) == B_ANSWERS
        assert resolve_callable("pipeline.py:inside", a)(1) == "A:3"
        assert resolve_callable("pipeline.py:inside", b)(1) == "B:4"
    # Nothing of either workspace is known by a plain name.
    assert not {"lib", "shapes", "shapes.sides", "pipeline"} & set(sys.modules)


def test_an_edit_in_one_workspace_reloads_it_and_leaves_the_other_alone(folders):
    a, b = folders
    with Workspace(a) as ws_a, Workspace(b) as ws_b:
        catalog_a, catalog_b = ws_a.catalog(), ws_b.catalog()
        sides = a / "shapes" / "sides.py"
        sides.write_text(sides.read_text().replace("SIDES = 3", "SIDES = 5"))
        assert catalog_a.reload() == ["pipeline.py"]
        assert catalog_a.get("pipeline.py:inside").func(1) == "A:5"
        assert catalog_b.reload() == []
        assert answers(catalog_b) == B_ANSWERS


def test_a_fingerprint_follows_its_own_workspaces_imports(folders):
    a, b = folders
    with Workspace(a) as ws_a, Workspace(b) as ws_b:
        inside_a = ws_a.catalog().get("pipeline.py:inside")
        before = code_fingerprint(inside_a.func)
        assert before == inside_a.fingerprint
        ws_b.catalog()
        assert code_fingerprint(inside_a.func) == before


def a_flow(workspace: Workspace) -> tuple[Flow, str, str]:
    catalog = workspace.catalog()
    flow = Flow("Made", catalog=catalog)
    top = flow.create_node(catalog.get("pipeline.py:at_the_top")).id
    inside = flow.create_node(catalog.get("pipeline.py:inside")).id
    flow.set_value(top, "times", 2)
    flow.set_value(inside, "times", 2)
    return flow, top, inside


def run_values(loop, engine, flow, top, inside) -> tuple[str, str]:
    result, _ = run(loop, engine, flow, use_cache=False, executor="local", max_workers=1)
    assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}
    read = engine.cache.store.read
    return read(result.nodes[top].outputs["result"]), read(result.nodes[inside].outputs["result"])


def test_runs_of_each_workspace_inline_in_one_process_use_its_own_files(loop, folders):
    a, b = folders
    with Workspace(a) as ws_a, Workspace(b) as ws_b:
        engine_a = Engine(ws_a, executor=InlineExecutor())
        engine_b = Engine(ws_b, executor=InlineExecutor())
        flow_a, flow_b = a_flow(ws_a), a_flow(ws_b)
        assert run_values(loop, engine_a, *flow_a) == ("AA/A-shape", "AA:3")
        assert run_values(loop, engine_b, *flow_b) == ("BB/B-shape", "BB:4")
        assert run_values(loop, engine_a, *flow_a) == ("AA/A-shape", "AA:3")


def test_one_worker_process_runs_nodes_of_both_workspaces_with_their_own_files(loop, folders, local_executor):
    a, b = folders
    with Workspace(a) as ws_a, Workspace(b) as ws_b:
        engine_a = Engine(ws_a, executor=local_executor)
        engine_b = Engine(ws_b, executor=local_executor)
        flow_a, flow_b = a_flow(ws_a), a_flow(ws_b)
        for _ in range(2):  # the workers remember functions: A, B, then A and B again
            assert run_values(loop, engine_a, *flow_a) == ("AA/A-shape", "AA:3")
            assert run_values(loop, engine_b, *flow_b) == ("BB/B-shape", "BB:4")


def test_each_workspace_runs_in_worker_processes_of_its_own(loop, folders):
    a, b = folders
    with Workspace(a) as ws_a, Workspace(b) as ws_b:
        engine_a, engine_b = Engine(ws_a), Engine(ws_b)
        try:
            assert run_values(loop, engine_a, *a_flow(ws_a)) == ("AA/A-shape", "AA:3")
            assert run_values(loop, engine_b, *a_flow(ws_b)) == ("BB/B-shape", "BB:4")
        finally:
            loop.run_until_complete(engine_a.close())
            loop.run_until_complete(engine_b.close())


def test_the_loader_keeps_a_bounded_number_of_folders_and_an_evicted_one_still_imports(tmp_path):
    folders = []
    for index in range(loader.MAX_FOLDERS + 5):
        folder = tmp_path / f"ws{index}"
        folder.mkdir()
        (folder / "lib.py").write_text(f"def make() -> int:\n    return {index}\n")
        folders.append(folder)
        assert loader.import_workspace_file(folder / "lib.py").make() == index
    assert len(loader._importers) <= loader.MAX_FOLDERS
    assert folders[0].resolve() not in loader._importers
    assert resolve_callable("lib.py:make", folders[0])() == 0
    assert resolve_callable("lib.py:make", folders[-1])() == loader.MAX_FOLDERS + 4


def test_standard_and_installed_modules_come_before_a_workspace_file_of_the_same_name(tmp_path):
    import json

    import numpy

    (tmp_path / "json.py").write_text("WHO = 'the workspace'\n")
    (tmp_path / "numpy.py").write_text("WHO = 'the workspace'\n")
    (tmp_path / "helpers.py").write_text("WHO = 'the workspace'\n")
    (tmp_path / "uses.py").write_text(
        "import json\nimport numpy\nimport helpers\n\n\ndef which():\n    return json, numpy, helpers.WHO\n"
    )
    assert resolve_callable("uses.py:which", tmp_path)() == (json, numpy, "the workspace")


def test_a_module_the_workspace_lists_may_be_one_of_its_packages(folders):
    a, b = folders
    catalog_a, catalog_b = Catalog(a, ["shapes.sides"]), Catalog(b, ["shapes.sides"])
    catalog_a.load()
    catalog_b.load()
    assert catalog_a.get("shapes.sides:count").func() == 3
    assert catalog_b.get("shapes.sides:count").func() == 4
    assert resolve_callable("shapes.sides:count", a)() == 3
    assert resolve_callable("shapes:KIND", b) == "B-shape"


def test_a_pickle_of_its_classes_loads_where_only_the_workspace_is_known(tmp_path):
    import pickle
    import subprocess

    (tmp_path / "my-things.py").write_text("class Thing:\n    def __init__(self, n):\n        self.n = n\n")
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "__init__.py").write_text("")
    (tmp_path / "kit" / "parts.py").write_text(
        "class Part:\n    def __init__(self, n):\n        self.n = n\n"
    )
    (tmp_path / "make.py").write_text("import kit.parts\n\n\ndef make():\n    return kit.parts.Part(2)\n")
    thing = loader.import_workspace_file(tmp_path / "my-things.py").Thing(1)
    part = resolve_callable("make.py:make", tmp_path)()
    data = pickle.dumps([thing, part])
    script = (
        "import pickle, sys\n"
        "from plait.runtime.nodes.loader import workspace_importer\n"
        f"workspace_importer({str(tmp_path)!r})\n"
        "things = pickle.loads(sys.stdin.buffer.read())\n"
        "print([(type(t).__name__, t.n) for t in things])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "[('Thing', 1), ('Part', 2)]"


DYNAMIC = """
    import importlib

    lib = importlib.import_module("lib")


    def by_name(times: int = 1) -> str:
        return lib.make(times) + importlib.import_module("lib").make(1)
"""


@contextlib.contextmanager
def both_with(folders, monkeypatch, name: str, text: str):
    """Both workspaces with the file `name`, their catalogs loaded, neither folder importable."""
    # As in the window or `plait run`: neither folder is on sys.path (nor the working folder).
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    a, b = folders
    for folder in folders:
        (folder / name).write_text(textwrap.dedent(text))
    with Workspace(a) as ws_a, Workspace(b) as ws_b:
        catalog_a, catalog_b = ws_a.catalog(), ws_b.catalog()
        assert not [lib.error for lib in (*catalog_a.libraries, *catalog_b.libraries) if lib.error]
        yield catalog_a, catalog_b


def test_importlib_finds_each_workspaces_own_file_by_its_plain_name(folders, monkeypatch):
    with both_with(folders, monkeypatch, "dynamic.py", DYNAMIC) as (catalog_a, catalog_b):
        assert catalog_a.get("dynamic.py:by_name").func(2) == "AAA"
        assert catalog_b.get("dynamic.py:by_name").func(2) == "BBB"
        # The same module `import lib` gives that code, never registered by its plain name.
        assert not {"lib", "dynamic"} & set(sys.modules)
    assert importlib.util.find_spec("lib") is None  # outside a workspace's code, no such module


DOTTED = """
    import importlib
    from importlib import import_module


    def sides(times: int = 1) -> int:
        return importlib.import_module("shapes.sides").count() * times


    def relative(times: int = 1) -> int:
        return import_module(".sides", "shapes").SIDES * times
"""


def test_importlib_finds_a_submodule_of_each_workspaces_own_package_by_its_dotted_name(folders, monkeypatch):
    a, _ = folders
    with both_with(folders, monkeypatch, "dotted.py", DOTTED) as (catalog_a, catalog_b):
        assert catalog_a.get("dotted.py:sides").func(2) == 6
        assert catalog_b.get("dotted.py:sides").func(2) == 8
        assert catalog_a.get("dotted.py:relative").func(1) == 3
        assert catalog_b.get("dotted.py:relative").func(1) == 4
        assert not {"shapes", "shapes.sides", "dotted"} & set(sys.modules)
        # Keyed as the standard library's import_module, and by the file it names.
        before = catalog_a.get("dotted.py:sides").fingerprint
        sides = a / "shapes" / "sides.py"
        sides.write_text(sides.read_text().replace("SIDES = 3", "SIDES = 5"))
        catalog_a.reload()
        after = catalog_a.get("dotted.py:sides")
        assert after.func(2) == 10 and after.fingerprint != before


def test_a_node_importing_a_submodule_by_name_runs_in_a_worker_with_the_files_latest_code(
    folders, loop, local_executor
):
    a, _ = folders
    (a / "dotted.py").write_text(textwrap.dedent(DOTTED))
    sides = a / "shapes" / "sides.py"
    with Workspace(a) as ws:
        seen = []
        for count in (3, 7):
            sides.write_text(re.sub(r"SIDES = \d+", f"SIDES = {count}", sides.read_text()))
            catalog = ws.catalog()
            flow = Flow("dotted", catalog=catalog)
            node = flow.create_node(catalog.get("dotted.py:sides"))
            engine = Engine(ws, catalog, executor=local_executor)
            result, _ = run(loop, engine, flow)
            assert result.nodes[node.id].state == "completed", result.nodes[node.id].error
            seen.append(engine.cache.store.read(result.nodes[node.id].outputs["result"]))
    assert seen == [3, 7]


def test_a_module_imported_by_name_counts_in_the_key_of_the_code_that_imports_it(folders, monkeypatch):
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    a, _ = folders
    (a / "dynamic.py").write_text(
        textwrap.dedent("""
            import importlib


            def by_name(times: int = 1) -> str:
                return importlib.import_module("lib").make(times)


            def worked_out(name: str = "lib") -> str:
                return importlib.import_module(name).make(1)
        """)
    )
    with Workspace(a) as ws:
        catalog = ws.catalog()
        by_name, worked_out = catalog.get("dynamic.py:by_name"), catalog.get("dynamic.py:worked_out")
        assert by_name.func(2) == "AA"
        assert any("by a name it works out when it runs" in note for note in worked_out.code_notes)
        before = by_name.fingerprint
        lib = a / "lib.py"
        lib.write_text(lib.read_text().replace('"A"', '"Z"'))
        catalog.reload()
        after = catalog.get("dynamic.py:by_name")
        assert after.func(2) == "ZZ" and after.fingerprint != before  # no stale result
