"""Node libraries: workspace files and modules, import errors, reloading, resolving keys."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plait.runtime.nodes.libraries import (
    Catalog,
    LibraryImportError,
    NodeNotFoundError,
    load_libraries,
    resolve_callable,
    workspace_module_name,
)
from plait.runtime.nodes.spec import NodeSpec

PIPELINE = """
    from dataclasses import dataclass
    from os.path import join  # imported: not a node

    from plait.runtime.nodes.decorator import node


    @dataclass
    class Table:
        rows: list


    def _private_helper(x):
        return x


    def load_data(path: str, limit: int = 10) -> Table:
        '''Load rows from a file.'''
        return Table([path] * limit)


    @node(title="Count rows")
    def count(table: Table) -> int:
        return len(table.rows)


    alias = count  # the same function again: listed once
"""

BROKEN_SYNTAX = """
    def oops(:
        pass
"""

RAISES = """
    def fine():
        return 1

    raise RuntimeError("the library is misconfigured")
"""

BAD_NODE = """
    from plait.runtime.nodes.decorator import node


    @node(outputs=("a", "b", "c"))
    def wrong_count() -> tuple[int, int]:
        return 1, 2


    def good(x: int) -> int:
        return x
"""


@pytest.fixture(autouse=True)
def _restore_interpreter_state():
    """Loading libraries adds modules and a sys.path entry; keep tests independent."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if hasattr(sys.modules[name], "__plait_signature__"):  # private names and aliases
            del sys.modules[name]


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def by_name(libraries):
    return {library.name: library for library in libraries}


def test_public_functions_defined_in_a_workspace_file_become_nodes(tmp_path):
    write(tmp_path, "pipeline.py", PIPELINE)
    (library,) = load_libraries(tmp_path, [])
    assert library.error is None and library.problems == []
    assert library.name == "pipeline.py" and library.path == tmp_path / "pipeline.py"
    assert [spec.key for spec in library.specs] == ["pipeline.py:load_data", "pipeline.py:count"]
    load_data, count = library.specs
    assert load_data.module == "pipeline.py"
    assert [(p.name, p.default) for p in load_data.inputs][1] == ("limit", 10)
    assert load_data.doc == "Load rows from a file."
    assert count.title == "Count rows"


def test_private_and_dotted_files_are_not_libraries(tmp_path):
    write(tmp_path, "_helpers.py", "def helper():\n    return 1\n")
    write(tmp_path, ".hidden.py", "def hidden():\n    return 1\n")
    write(tmp_path, "notes.txt", "not python")
    assert load_libraries(tmp_path, []) == []


def test_a_library_with_a_syntax_error_is_reported_while_the_others_load(tmp_path):
    write(tmp_path, "pipeline.py", PIPELINE)
    write(tmp_path, "broken.py", BROKEN_SYNTAX)
    libraries = by_name(load_libraries(tmp_path, ["json"]))
    broken = libraries["broken.py"]
    assert broken.specs == []
    assert "SyntaxError" in broken.error and "broken.py" in broken.error
    assert libraries["pipeline.py"].error is None and len(libraries["pipeline.py"].specs) == 2
    assert libraries["json"].error is None


def test_an_exception_at_import_is_reported_with_the_users_line(tmp_path):
    write(tmp_path, "raises.py", RAISES)
    (library,) = load_libraries(tmp_path, [])
    assert "RuntimeError: the library is misconfigured" in library.error
    assert "raises.py" in library.error
    assert "libraries.py" not in library.error  # Plait's own frames are trimmed
    assert workspace_module_name(tmp_path / "raises.py") not in sys.modules


def test_a_function_that_cannot_be_a_node_is_a_problem_not_a_failure(tmp_path):
    write(tmp_path, "mixed.py", BAD_NODE)
    (library,) = load_libraries(tmp_path, [])
    assert library.error is None
    assert [spec.key for spec in library.specs] == ["mixed.py:good"]
    assert len(library.problems) == 1 and library.problems[0].startswith("wrong_count:")


def test_importable_modules_are_libraries_keyed_by_module_name():
    libraries = by_name(load_libraries(None, ["json", "no_such_module_plait_test"]))
    keys = {spec.key for spec in libraries["json"].specs}
    assert {"json:dumps", "json:loads"} <= keys
    assert all(spec.module == "json" for spec in libraries["json"].specs)
    assert "ModuleNotFoundError" in libraries["no_such_module_plait_test"].error


def test_classes_defined_in_a_workspace_file_pickle_by_reference(tmp_path):
    write(tmp_path, "pipeline.py", PIPELINE)
    (library,) = load_libraries(tmp_path, [])
    table = library.specs[0].func("a.csv", 2)
    assert pickle.loads(pickle.dumps(table)) == table


def test_catalog_gets_specs_by_key_and_keeps_built_ins(tmp_path):
    write(tmp_path, "pipeline.py", PIPELINE)
    catalog = Catalog(tmp_path, ["json"])
    builtin = NodeSpec(key="plait:parameter", title="Parameter", builtin=True)
    catalog.add(builtin)
    catalog.load()
    assert catalog.get("plait:parameter") is builtin
    assert catalog.get("pipeline.py:count").title == "Count rows"
    assert catalog.get("nothing:here") is None
    assert "json:dumps" in catalog
    assert catalog.specs()[0] is builtin
    assert [library.name for library in catalog.libraries] == ["pipeline.py", "json"]


def test_reload_picks_up_a_changed_file(tmp_path):
    path = write(tmp_path, "pipeline.py", PIPELINE)
    catalog = Catalog(tmp_path)
    catalog.load()
    assert catalog.reload() == []
    path.write_text(path.read_text().replace("limit: int = 10", "limit: int = 10, skip: int = 0"))
    assert catalog.reload() == ["pipeline.py"]
    assert [p.name for p in catalog.get("pipeline.py:load_data").inputs] == [
        "path",
        "limit",
        "skip",
    ]


def test_reload_sees_an_edit_that_keeps_size_and_time(tmp_path):
    path = write(tmp_path, "same.py", "def f(x: int = 1):\n    return x\n")
    catalog = Catalog(tmp_path)
    catalog.load()
    stat = path.stat()
    path.write_text("def f(x: int = 2):\n    return x\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # a save within the same tick
    assert catalog.reload() == ["same.py"]
    assert catalog.get("same.py:f").inputs[0].default == 2
    assert catalog.get("same.py:f").func() == 2


def test_reload_reports_new_fixed_and_removed_files(tmp_path):
    broken = write(tmp_path, "broken.py", BROKEN_SYNTAX)
    catalog = Catalog(tmp_path)
    catalog.load()
    write(tmp_path, "extra.py", "def extra():\n    return 1\n")
    broken.write_text("def mended():\n    return 2\n")
    assert sorted(catalog.reload()) == ["broken.py", "extra.py"]
    assert catalog.library("broken.py").error is None
    assert catalog.get("broken.py:mended") is not None
    (tmp_path / "extra.py").unlink()
    assert catalog.reload() == ["extra.py"]
    assert catalog.get("extra.py:extra") is None and catalog.library("extra.py") is None


def test_resolve_callable_finds_workspace_and_module_functions(tmp_path):
    write(tmp_path, "pipeline.py", PIPELINE)
    load_data = resolve_callable("pipeline.py:load_data", tmp_path)
    assert load_data("x", 1).rows == ["x"]
    import json

    assert resolve_callable("json:dumps") is json.dumps


def test_resolve_callable_works_in_a_fresh_process(tmp_path):
    write(tmp_path, "pipeline.py", PIPELINE)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from plait.runtime.nodes.libraries import resolve_callable\n"
        "count = resolve_callable('pipeline.py:count', Path(sys.argv[1]))\n"
        "load = resolve_callable('pipeline.py:load_data', Path(sys.argv[1]))\n"
        "print(count(load('p', 3)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "3"


def test_resolve_callable_explains_what_is_missing(tmp_path):
    write(tmp_path, "pipeline.py", PIPELINE)
    write(tmp_path, "raises.py", RAISES)
    with pytest.raises(NodeNotFoundError, match="renamed or removed"):
        resolve_callable("pipeline.py:gone", tmp_path)
    with pytest.raises(NodeNotFoundError, match="not in the workspace"):
        resolve_callable("absent.py:f", tmp_path)
    with pytest.raises(NodeNotFoundError, match="no workspace"):
        resolve_callable("pipeline.py:count", None)
    with pytest.raises(NodeNotFoundError, match="not installed"):
        resolve_callable("no_such_module_plait_test:f")
    with pytest.raises(NodeNotFoundError, match="not a node key"):
        resolve_callable("nocolon")
    with pytest.raises(LibraryImportError, match="misconfigured"):
        resolve_callable("raises.py:fine", tmp_path)


HELPERS = """
    SCALE = 2


    class Table:
        def __init__(self, rows):
            self.rows = rows


    def clean(x):
        return x * SCALE
"""

USES_HELPERS = """
    import helpers
    from _private_helpers import shout


    def tidy(x: int) -> int:
        return helpers.clean(x)


    def make_table(n: int):
        return helpers.Table(list(range(n)))


    def loud(text: str) -> str:
        return shout(text)
"""


def test_workspace_files_import_each_other_as_one_module(tmp_path):
    write(tmp_path, "helpers.py", HELPERS)
    write(tmp_path, "_private_helpers.py", "def shout(text):\n    return text.upper()\n")
    write(tmp_path, "uses.py", USES_HELPERS)
    libraries = by_name(load_libraries(tmp_path, []))
    assert libraries["uses.py"].error is None
    uses = {spec.key: spec for spec in libraries["uses.py"].specs}
    assert uses["uses.py:loud"].func("hi") == "HI"
    table = uses["uses.py:make_table"].func(2)
    helpers_table = next(s for s in libraries["helpers.py"].specs if s.key == "helpers.py:clean")
    # `import helpers` is the same module object as the helpers.py library.
    assert isinstance(table, helpers_table.func.__globals__["Table"])


def test_editing_an_imported_helper_file_changes_its_users_and_reloads_them(tmp_path):
    helpers = write(tmp_path, "helpers.py", HELPERS)
    write(tmp_path, "_private_helpers.py", "def shout(text):\n    return text.upper()\n")
    write(tmp_path, "uses.py", USES_HELPERS)
    catalog = Catalog(tmp_path)
    catalog.load()
    before = catalog.get("uses.py:tidy")
    helpers.write_text(helpers.read_text().replace("SCALE = 2", "SCALE = 3"))
    changed = catalog.reload()
    assert "helpers.py" in changed and "uses.py" in changed
    after = catalog.get("uses.py:tidy")
    assert after.fingerprint != before.fingerprint
    assert after.func(1) == 3


def test_resolve_callable_sees_an_edited_file_in_a_long_lived_process(tmp_path):
    helpers = write(tmp_path, "helpers.py", HELPERS)
    write(tmp_path, "_private_helpers.py", "def shout(text):\n    return text.upper()\n")
    write(tmp_path, "uses.py", USES_HELPERS)
    assert resolve_callable("uses.py:tidy", tmp_path)(1) == 2
    helpers.write_text(helpers.read_text().replace("SCALE = 2", "SCALE = 5"))
    assert resolve_callable("uses.py:tidy", tmp_path)(1) == 5


def test_a_package_of_the_workspace_imports_fresh_and_its_edits_reload_its_users(tmp_path):
    write(tmp_path, "mypkg/__init__.py", "from mypkg.tools import g  # noqa: F401\n")
    tools = write(tmp_path, "mypkg/tools.py", "def g(x):\n    return x * 2\n")
    write(
        tmp_path,
        "uses.py",
        "from mypkg import tools\n\n\ndef twice(x: int = 1) -> int:\n    return tools.g(x)\n",
    )
    catalog = Catalog(tmp_path)
    catalog.load()
    assert not [lib.error for lib in catalog.libraries if lib.error]
    before = catalog.get("uses.py:twice")
    assert before.func(5) == 10
    tools.write_text("def g(x):\n    return x * 3\n")
    assert "uses.py" in catalog.reload()
    after = catalog.get("uses.py:twice")
    assert after.func(5) == 15
    assert after.fingerprint != before.fingerprint
    # The package is not a library itself (only files directly in the folder are).
    assert not any(lib.name.startswith("mypkg") for lib in catalog.libraries)
