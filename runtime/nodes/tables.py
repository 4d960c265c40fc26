"""Plait's standard nodes for table work: read, write, select, filter, pick, compute, plot.

Every workspace's palette offers these under "Plait: data". They are plain
functions like any user's nodes. pandas and matplotlib are imported inside
them, in the worker that runs them, so loading the palette stays fast; the
annotations name those types as text for the same reason.

Relative paths are relative to the workspace folder, so a flow keeps working
when its folder is copied or cloned elsewhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from plait.runtime.nodes.decorator import node

if TYPE_CHECKING:  # for readers and type checkers; the palette shows the names as written
    from matplotlib.figure import Figure
    from pandas import DataFrame

# The palette group these nodes appear under (read by runtime.libraries).
__plait_group__ = "Plait: data"

TableFormat = Literal["auto", "csv", "tsv", "parquet", "json", "jsonl", "excel"]
PlotKind = Literal["line", "scatter", "bar", "barh", "hist"]

_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "excel",
    ".xls": "excel",
    ".xlsm": "excel",
}


def _resolve(path: str | os.PathLike[str]) -> Path:
    try:
        from plait.runtime.nodes.context import resolve_path
    except ImportError:  # copied into an exported script: relative to its working folder
        return Path(path).expanduser()
    return resolve_path(path)


def _format_of(path: Path, format: str) -> str:
    if format != "auto":
        return format
    found = _FORMATS.get(path.suffix.lower())
    if found is None:
        known = ", ".join(sorted(_FORMATS))
        raise ValueError(
            f"cannot tell the format of {path.name} from its extension; "
            f"use one of {known}, or set the format input"
        )
    return found


def _excel_engine_check(path: Path) -> None:
    import importlib.util

    engine = "xlrd" if path.suffix.lower() == ".xls" else "openpyxl"
    if importlib.util.find_spec(engine) is None:
        raise ImportError(
            f"{path.name} is an Excel file, and pandas needs the '{engine}' "
            f"package for it: install it with `pip install {engine}`"
        )


def _records(data: Any) -> Any:
    """The list of records in a JSON document: itself, or the one list of objects inside it."""
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
    return data


# The file it reads counts in its cache key as every node input naming a file does.
@node(title="Read table")
def read_table(path: Path, format: TableFormat = "auto") -> DataFrame:
    """Read a table from a CSV, TSV, Parquet, JSON, JSON Lines or Excel file.

    Args:
        path: The file; a relative path is relative to the workspace folder.
        format: The file format; "auto" tells it from the extension.

    Nested JSON objects become dotted columns (`owner.login`); a JSON object
    holding one list of records (as web APIs return) reads that list.
    """
    import pandas as pd

    resolved = _resolve(path)
    if not resolved.is_file():
        raise FileNotFoundError(f"no file {resolved}: check the path, or run the flow that writes it first")
    kind = _format_of(resolved, format)
    if kind == "csv":
        return pd.read_csv(resolved)
    if kind == "tsv":
        return pd.read_csv(resolved, sep="\t")
    if kind == "parquet":
        return pd.read_parquet(resolved)
    if kind == "jsonl":
        return pd.read_json(resolved, lines=True)
    if kind == "json":
        with open(resolved, encoding="utf-8") as fh:
            data = _records(json.load(fh))
        if isinstance(data, list):
            return pd.json_normalize(data)
        return pd.DataFrame(data)
    if kind == "excel":
        _excel_engine_check(resolved)
        return pd.read_excel(resolved)
    raise ValueError(f"unknown table format {format!r}")


@node(title="Write table", track_files=False)  # it writes the file it names
def write_table(table: DataFrame, path: Path, index: bool = False) -> str:
    """Write a table to a file whose extension says the format; returns the file's path.

    Args:
        table: The table to write.
        path: The file to write (.csv, .tsv, .parquet, .json, .jsonl or .xlsx);
            a relative path is relative to the workspace folder. Folders are created.
        index: Whether to write the row index as a column too.

    The file is written under a temporary name and renamed into place, so a
    reader never sees half a file.
    """
    resolved = _resolve(path)
    kind = _format_of(resolved, "auto")
    resolved.parent.mkdir(parents=True, exist_ok=True)
    partial = resolved.with_name(f".{resolved.name}.partial")
    try:
        if kind in ("csv", "tsv"):
            table.to_csv(partial, index=index, sep="\t" if kind == "tsv" else ",")
        elif kind == "parquet":
            table.to_parquet(partial, index=index)
        elif kind in ("json", "jsonl"):
            # Records carry no index; keep it as a column when asked.
            rows = table.reset_index() if index else table
            rows.to_json(
                partial,
                orient="records",
                lines=kind == "jsonl",
                indent=None if kind == "jsonl" else 2,
                force_ascii=False,
            )
        else:
            _excel_engine_check(resolved)
            table.to_excel(partial, index=index)
        os.replace(partial, resolved)
    finally:
        partial.unlink(missing_ok=True)
    return str(resolved)


def _missing_columns(table: Any, wanted: Sequence[str]) -> None:
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise KeyError(
            f"the table has no column(s) {', '.join(map(repr, missing))}; "
            f"its columns are {', '.join(map(str, table.columns))}"
        )


@node(title="Select columns")
def select_columns(table: DataFrame, columns: list[str], rename: dict[str, str] | None = None) -> DataFrame:
    """Keep some columns, in the order given, optionally renaming them.

    Args:
        table: The table.
        columns: The columns to keep.
        rename: New names by old name, e.g. {"owner.login": "owner"}.
    """
    if isinstance(columns, str):
        columns = [columns]
    _missing_columns(table, columns)
    selected = table[list(columns)]
    return selected.rename(columns=dict(rename)) if rename else selected


@node(title="Filter rows")
def filter_rows(table: DataFrame, query: str, value: Any = None) -> DataFrame:
    """Keep the rows where a pandas query holds, e.g. `stars > 1000 and language == "Python"`.

    Args:
        table: The table.
        query: A pandas query over the column names; backquote names with
            spaces or dots (`owner.login`).
        value: Anything the query refers to as `@value` (wire a parameter here).
    """
    try:
        return table.query(query, local_dict={"value": value})
    except Exception as exc:
        raise ValueError(
            f"the query {query!r} failed: {type(exc).__name__}: {exc}; "
            f"columns are {', '.join(map(str, table.columns))}"
        ) from exc


def _get_one(container: Any, part: str, where: str) -> Any:
    if isinstance(container, Mapping):
        if part in container:
            return container[part]
        if part.lstrip("-").isdigit() and int(part) in container:
            return container[int(part)]
        keys = ", ".join(map(repr, list(container)[:20]))
        raise KeyError(f"{where} has no key {part!r}; its keys are {keys}")
    if hasattr(container, "columns") and part in getattr(container, "columns", ()):
        return container[part]  # a DataFrame column
    if isinstance(container, Sequence) and not isinstance(container, str) and part.lstrip("-").isdigit():
        index = int(part)
        if -len(container) <= index < len(container):
            return container[index]
        raise IndexError(f"{where} has {len(container)} items; there is no item {index}")
    if hasattr(container, part):
        return getattr(container, part)
    raise KeyError(f"{where} ({type(container).__name__}) has no item or field {part!r}")


@node(title="Get item")
def get_item(container: Any, key: str) -> Any:
    """Take one item or field out of a value: a dict key, a list index, an attribute, a column.

    Args:
        container: A dict, list, tuple, table or object.
        key: The key, index or attribute name; dots go deeper (`model.weights.0`).
    """
    value, where = container, "the value"
    for part in str(key).split("."):
        value = _get_one(value, part, where)
        where = f"{where}[{part!r}]"
    return value


def _expression_names(expression: str) -> dict[str, Any]:
    """Modules an expression may use by their usual names, imported only when it does."""
    import math
    import statistics

    names: dict[str, Any] = {"math": math, "statistics": statistics, "json": json}
    if "np." in expression:
        import numpy as np

        names["np"] = np
    if "pd." in expression:
        import pandas as pd

        names["pd"] = pd
    return names


@node(title="Python expression")
def python_expression(expression: str, x: Any = None, y: Any = None, z: Any = None) -> Any:
    """Evaluate a Python expression of the inputs x, y and z, e.g. `x.sort_values("stars").head(y)`.

    Args:
        expression: The expression; `math`, `statistics`, `json`, and `np` and
            `pd` (numpy, pandas) are available by those names.
        x: The first input.
        y: The second input.
        z: The third input.
    """
    scope = {**_expression_names(expression), "x": x, "y": y, "z": z}
    try:
        code = compile(expression, "<expression>", "eval")
    except SyntaxError as exc:
        raise SyntaxError(f"the expression {expression!r} is not valid Python: {exc.msg}") from None
    return eval(code, scope)  # noqa: S307 - evaluating the user's own expression is the point


@node(title="Plot")
def plot(
    data: Any,
    kind: PlotKind = "line",
    x: str | None = None,
    y: str | None = None,
    title: str = "",
    width: float = 6.4,
    height: float = 4.0,
) -> Figure:
    """Plot a table, a column or a list of numbers and return the matplotlib figure.

    Args:
        data: A table (its columns), a series, or a list or array of numbers.
        kind: line, scatter, bar, barh (horizontal bars) or hist.
        x: For a table: the column along the x axis (scatter needs it).
        y: For a table: the column (or columns, comma-separated) to plot.
        title: The figure's title.
        width: Width in inches.
        height: Height in inches.
    """
    # A bare Figure draws with the Agg canvas: no pyplot, no GUI backend, no
    # global figure list that keeps every plot alive.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    if hasattr(data, "plot") and hasattr(data, "index"):  # a pandas table or series
        columns = [c.strip() for c in y.split(",")] if y else None
        if columns is not None and hasattr(data, "columns"):
            _missing_columns(data, columns + ([x] if x else []))
        if kind == "scatter" and not (x and columns):
            raise ValueError("a scatter plot of a table needs the x and y columns")
        target = columns[0] if kind == "scatter" and columns else columns
        data.plot(kind=kind, x=x, y=target, ax=axes, legend=kind != "hist")
    else:
        import numpy as np

        values = np.asarray(data)
        positions = np.arange(len(values))
        if kind == "line":
            axes.plot(values)
        elif kind == "scatter":
            axes.scatter(positions, values)
        elif kind == "bar":
            axes.bar(positions, values)
        elif kind == "barh":
            axes.barh(positions, values)
        else:
            axes.hist(values)
    if title:
        axes.set_title(title)
    return figure
