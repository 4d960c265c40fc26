"""`@flow` in a Jupyter notebook: run by a real kernel, whose event loop is already running."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).with_name("notebooks") / "flow_twice.ipynb"


def _text(cell, stream: str | None = None) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream" and (stream is None or output.name == stream):
            parts.append(output.text)
        elif output.output_type == "execute_result" and stream is None:
            parts.append(output.data["text/plain"])
    return "".join(parts)


def _result(cell) -> str:
    return next(o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result")


def test_a_notebook_calls_a_flow_twice_with_logs_under_the_cell_and_the_cache_the_second_time(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    cells = notebook.cells
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    first = cells[3]
    assert _result(first) == "18.0"
    assert "  Total │ adding 3 numbers" in _text(first, "stdout")  # the node's log, under the cell
    bar = _text(first, "stderr")
    assert "adding: 100%" in bar and "6/6" in bar  # the progress bar: 6 nodes done
    assert "Warning" not in bar
    assert ast.literal_eval(_result(cells[4])) == {
        "Numbers": "cached",
        "Halves": "cached",
        "Total": "cached",
        "result": "cached",
    }
    assert _result(cells[5]) == "6.0"
    assert _result(cells[6]) == "6.0"
    # The cell's functions were saved into the workspace (the kernel's folder), for later runs.
    saved = (tmp_path / "adding_flow.py").read_text()
    assert "from a notebook" in saved and "def total(values: list, factor: float = 1.0)" in saved
    assert "class Halves(NamedTuple):" in saved  # a class of a cell, found in the cell's source
