"""Plait's built-in nodes: each one's behaviour, its palette group, and a reader that reruns on edits."""

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from plait.runtime.engine import events as ev
from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow
from plait.runtime.nodes import tables as b
from plait.runtime.nodes.context import using_workspace
from plait.runtime.workspace.store import Workspace

B = "plait.runtime.builtins:"


@pytest.fixture
def table():
    return pd.DataFrame({"name": ["a", "b", "c"], "stars": [5, 50, 500], "lang": ["x", "y", "x"]})


@pytest.mark.parametrize("suffix", ["csv", "tsv", "parquet", "json", "jsonl", "xlsx"])
def test_write_then_read_a_table_in_each_format(tmp_path, table, suffix):
    path = tmp_path / "deep" / f"table.{suffix}"
    written = b.write_table(table, path)
    assert written == str(path) and path.is_file()
    assert not list(path.parent.glob(".*.partial"))
    pd.testing.assert_frame_equal(b.read_table(path), table)


def test_read_table_flattens_api_shaped_json(tmp_path):
    path = tmp_path / "repos.json"
    path.write_text(
        json.dumps(
            {
                "total_count": 2,
                "items": [{"name": "a", "owner": {"login": "ann"}}, {"name": "b", "owner": {"login": "bob"}}],
            }
        )
    )
    read = b.read_table(path)
    assert list(read.columns) == ["name", "owner.login"]
    assert read["owner.login"].tolist() == ["ann", "bob"]


def test_the_read_table_node_opens_an_excel_sheet_in_a_run(loop, tmp_path, table):
    with Workspace(tmp_path / "ws") as ws:
        table.to_excel(ws.folder / "sheet.xlsx", index=False)  # openpyxl is in the data extra
        catalog = ws.catalog()
        flow = Flow("excel", catalog=catalog)
        read = flow.create_node(catalog.get(B + "read_table"))
        flow.set_value(read.id, "path", "sheet.xlsx")
        engine = Engine(ws, catalog, executor=InlineExecutor())
        result = loop.run_until_complete(engine.run(flow, options=RunOptions(executor="inline")))
        loop.run_until_complete(engine.close())
        assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}
        pd.testing.assert_frame_equal(engine.cache.store.read(result.nodes[read.id].outputs["result"]), table)


def test_read_table_says_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the flow that writes it first"):
        b.read_table(tmp_path / "missing.csv")
    (tmp_path / "notes.xyz").write_text("?")
    with pytest.raises(ValueError, match="cannot tell the format of notes.xyz"):
        b.read_table(tmp_path / "notes.xyz")
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install openpyxl"):
            b.read_table(tmp_path / "sheet.xlsx")


def test_relative_paths_are_relative_to_the_workspace(tmp_path, table, monkeypatch):
    monkeypatch.chdir("/")
    with using_workspace(tmp_path):
        b.write_table(table, "out/t.csv")
        assert (tmp_path / "out" / "t.csv").is_file()
        assert len(b.read_table("out/t.csv")) == 3


def test_select_filter_and_expression(table):
    picked = b.select_columns(table, ["stars", "name"], {"stars": "count"})
    assert list(picked.columns) == ["count", "name"]
    with pytest.raises(KeyError, match="no column.*'size'.*its columns are name, stars, lang"):
        b.select_columns(table, ["size"])
    assert b.filter_rows(table, "stars >= @value", 50)["name"].tolist() == ["b", "c"]
    with pytest.raises(ValueError, match="the query 'stars >>> 1' failed"):
        b.filter_rows(table, "stars >>> 1")
    assert b.python_expression("x.stars.sum() * y", table, 2) == 1110
    assert b.python_expression("np.sqrt(x) + math.pi", 4.0) == pytest.approx(5.14159, 1e-4)
    with pytest.raises(SyntaxError, match="is not valid Python"):
        b.python_expression("x +")


def test_get_item_reaches_keys_indexes_fields_and_columns(table):
    value = {"model": {"weights": [1.5, 2.5]}, "pair": (3, 4), 7: "seven"}
    assert b.get_item(value, "model.weights.1") == 2.5
    assert b.get_item(value, "pair.-1") == 4
    assert b.get_item(value, "7") == "seven"
    assert b.get_item(table, "stars").tolist() == [5, 50, 500]
    assert b.get_item(1 + 2j, "imag") == 2.0
    with pytest.raises(KeyError, match=r"the value\['model'\] has no key 'bias'; its keys are 'weights'"):
        b.get_item(value, "model.bias")
    with pytest.raises(IndexError, match="has 2 items; there is no item 5"):
        b.get_item(value, "pair.5")


def test_plot_returns_a_figure_for_tables_and_lists(tmp_path, table):
    from matplotlib.figure import Figure

    figure = b.plot(table, "bar", x="name", y="stars", title="Stars")
    assert isinstance(figure, Figure) and figure.axes[0].get_title() == "Stars"
    figure.savefig(tmp_path / "stars.png")
    assert (tmp_path / "stars.png").stat().st_size > 0
    assert isinstance(b.plot([3, 1, 2], "line"), Figure)
    with pytest.raises(ValueError, match="scatter plot of a table needs"):
        b.plot(table, "scatter")


def test_the_builtins_are_in_every_workspace_catalog_under_their_own_group(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        catalog = ws.catalog()
    keys = {
        "read_table",
        "write_table",
        "select_columns",
        "filter_rows",
        "get_item",
        "python_expression",
        "plot",
    }
    for key in keys:
        spec = catalog.get(B + key)
        assert spec is not None and spec.module == "Plait: data", key
    reader = catalog.get(B + "read_table")
    assert reader.title == "Read table" and reader.outputs[0].type_name == "DataFrame"
    assert reader.input("format").choices[0] == "auto"


def test_loading_the_builtins_imports_neither_pandas_nor_matplotlib():
    code = textwrap.dedent("""
        import sys
        from plait.runtime.nodes.libraries import load_module_library
        library = load_module_library("plait.runtime.builtins")
        assert library.error is None and len(library.specs) == 7, library
        print(sorted(m for m in ("pandas", "matplotlib", "numpy") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_editing_the_csv_reruns_the_reader_and_its_cone_only(loop, tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b\n1,2\n3,4\n")
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        engine = Engine(ws, catalog, executor=InlineExecutor())
        flow = Flow("reader", catalog=catalog)
        read = flow.create_node(catalog.get(B + "read_table"))
        flow.set_value(read.id, "path", "data.csv")
        total = flow.create_node(catalog.get(B + "python_expression"))
        flow.set_value(total.id, "expression", "int(x.a.sum())")
        flow.connect(read.id, "result", total.id, "x")
        other = flow.create_node(catalog.get(B + "python_expression"), title="Unrelated")
        flow.set_value(other.id, "expression", "41 + 1")

        def run():
            with using_workspace(folder):
                result = loop.run_until_complete(engine.run(flow, None, RunOptions()))
            assert result.ok, {n: r.error for n, r in result.nodes.items()}
            value = engine.cache.store.read(result.nodes[total.id].outputs["result"])
            return {n: r.state for n, r in result.nodes.items()}, value

        assert run() == ({read.id: ev.COMPLETED, total.id: ev.COMPLETED, other.id: ev.COMPLETED}, 4)
        assert run()[0] == dict.fromkeys(flow.nodes, ev.CACHED)
        (folder / "data.csv").write_text("a,b\n1,2\n30,4\n")
        states, value = run()
        assert value == 31
        assert states == {read.id: ev.COMPLETED, total.id: ev.COMPLETED, other.id: ev.CACHED}
        loop.run_until_complete(engine.close())
