"""Libraries read from source (restricted) and imported in the library process (the window)."""

from __future__ import annotations

import pickle
import sys
import textwrap
import typing

import pytest

from plait.runtime.nodes.host import HostLoader, dumps_plain, loads_plain
from plait.runtime.nodes.libraries import Catalog, ReadLoader
from plait.runtime.nodes.reading import imported_modules, read_file_specs
from plait.runtime.nodes.spec import OUTPUT_NONE, OUTPUT_SEQUENCE, REQUIRED

SOURCE = textwrap.dedent('''
    """Nodes, read but never run."""
    import json
    import os.path
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from helpers import clean
    from . import sibling

    raise SystemExit("this file must never run while it is read")


    @node(title="Load the data", retries=2, outputs=("train", "test"))
    def load(path: str = "data.csv", *, limit: int = 10, frame: pd.DataFrame = None) -> tuple:
        """Read rows.

        Args:
            path: where the rows are
        """


    async def fetch(url, *extra, **options) -> None:
        pass


    def _private(x):
        pass
''')


def test_a_file_is_read_into_specs_without_running_it(tmp_path):
    path = tmp_path / "nodes.py"
    path.write_text(SOURCE)
    specs, problems = read_file_specs(path, prefix="nodes.py", group="nodes.py")
    assert not problems
    assert [s.key for s in specs] == ["nodes.py:load", "nodes.py:fetch"]
    load, fetch = specs
    assert load.title == "Load the data" and load.options.retries == 2
    assert [p.name for p in load.outputs] == ["train", "test"] and load.output_style == OUTPUT_SEQUENCE
    ports = {p.name: p for p in load.inputs}
    assert ports["path"].annotation is str and ports["path"].default == "data.csv"
    assert ports["path"].description == "where the rows are"
    assert ports["limit"].default == 10 and ports["limit"].kind == "keyword_only"
    assert ports["frame"].annotation == typing.ForwardRef("pd.DataFrame")  # the text, never evaluated
    assert load.doc == "Read rows."
    assert fetch.output_style == OUTPUT_NONE and not fetch.outputs
    assert [p.wireable for p in fetch.inputs] == [True, False, False]
    assert fetch.inputs[0].default is REQUIRED


def test_a_file_that_does_not_parse_is_a_library_error_with_its_line(tmp_path):
    (tmp_path / "broken.py").write_text("x = 1\ndef oops(:\n    pass\n")
    catalog = Catalog(tmp_path, loader=ReadLoader())
    catalog.load()
    library = catalog.library("broken.py")
    assert library.restricted and "SyntaxError" in library.error and "line 2" in library.error


def test_the_modules_a_folder_imports_are_listed_without_its_own_or_the_standard_library(tmp_path):
    (tmp_path / "nodes.py").write_text(SOURCE)
    (tmp_path / "helpers.py").write_text("import numpy\n")
    listed = imported_modules(sorted(tmp_path.glob("*.py")), tmp_path)
    assert listed == ["numpy", "pandas", "sklearn"]


def test_plain_data_never_names_user_code_and_reading_refuses_it():
    module = type(sys)("_plait_ws_0123456789ab_nodes")
    exec("class Result:\n    pass\n", module.__dict__)  # noqa: S102 - a stand-in for a workspace file
    sys.modules[module.__name__] = module
    try:
        Result = module.Result
        Result.__module__ = module.__name__
        plain = loads_plain(dumps_plain({"type": Result, "value": Result(), "ok": int}))
        assert plain["type"] == typing.ForwardRef("Result") and plain["ok"] is int
        assert repr(plain["value"]).startswith("<_plait_ws_")
        with pytest.raises(pickle.UnpicklingError, match="refusing to import"):
            loads_plain(pickle.dumps(Result))
    finally:
        del sys.modules[module.__name__]


def test_the_library_process_keeps_user_code_out_of_this_process(tmp_path):
    (tmp_path / "nodes.py").write_text(
        textwrap.dedent("""
        from typing import NamedTuple

        from plait.runtime import node


        class Pair(NamedTuple):
            left: int
            right: str


        @node(cache_key=lambda values: values.get("n", 0) // 10)
        def split(n: int = 3) -> Pair:
            return Pair(n, str(n))
        """)
    )
    loader = HostLoader(tmp_path, timeout=30)
    try:
        catalog = Catalog(tmp_path, loader=loader)
        catalog.load()
        spec = catalog.get("nodes.py:split")
        assert [p.name for p in spec.outputs] == ["left", "right"] and spec.fingerprint
        assert spec.func is None
        assert not [name for name in sys.modules if name.startswith("_plait_ws_") and name.endswith("_nodes")]
        # The cache_key function runs there too, and agrees with what an import here gives.
        from plait.runtime.keys.values import value_key

        assert spec.cache_key({"n": 25}).digest == value_key(2)
    finally:
        loader.close()
    assert loader.pid is None


@pytest.mark.parametrize("example", ["iris", "resilience", "trending"])
def test_the_shipped_examples_load_in_the_library_process_and_read_as_they_import(example):
    from plait.runtime.workspace.examples import examples_folder

    folder = examples_folder() / example
    if not folder.is_dir():
        pytest.skip(f"no {example} example")
    imported = Catalog(folder)
    imported.load()
    hosted = Catalog(folder, loader=HostLoader(folder))
    try:
        hosted.load()
        assert [(lib.name, lib.error) for lib in hosted.libraries if lib.error] == []
        ports = lambda c: {  # noqa: E731
            s.key: ([p.name for p in s.inputs], [p.name for p in s.outputs])
            for s in c.specs()
            if ".py:" in s.key
        }
        assert ports(hosted) == ports(imported) != {}
        read = Catalog(folder, loader=ReadLoader())
        read.load()  # restricted: the same ports, so a saved flow's wires stay drawn
        assert ports(read) == ports(imported)
    finally:
        hosted.close()


def test_a_hint_only_type_checkers_import_travels_as_its_text():
    hint = typing.ForwardRef("np.ndarray")
    assert loads_plain(dumps_plain({"annotation": hint})) == {"annotation": typing.ForwardRef("np.ndarray")}


def test_a_wire_the_source_does_not_show_is_kept_until_the_workspace_is_trusted(tmp_path):
    from plait.runtime.flow.model import Edge, Flow, Node

    (tmp_path / "made.py").write_text(
        textwrap.dedent("""
            from plait.runtime import node

            NAMES = ("left", "right")


            @node(outputs=NAMES)
            def halves(x: int = 4) -> tuple:
                return x // 2, x - x // 2


            def show(value: int) -> str:
                return str(value)
        """)
    )
    nodes = [
        Node("h", "made.py:halves", "Halves", (0.0, 0.0)),
        Node("s", "made.py:show", "Show", (300.0, 0.0)),
    ]
    edges = [Edge("h", "left", "s", "value")]
    imported = Catalog(tmp_path)
    imported.load()
    assert Flow.from_parts("f", nodes, edges, catalog=imported).validate() == []
    read = Catalog(tmp_path, loader=ReadLoader())
    read.load()
    problems = [p.message for p in Flow.from_parts("f", nodes, edges, catalog=read).validate()]
    assert problems == [
        "a wire leaves output 'left' of 'Halves', which reading its source (it has not run) "
        "does not show: trust the workspace to check it; the wire is kept"
    ]
