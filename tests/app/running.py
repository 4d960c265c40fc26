"""A node library and flows for the tests that run flows from the window."""

from __future__ import annotations

import textwrap

from plait.runtime.flow.model import Flow
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.workspace.store import Workspace

LIBRARY = textwrap.dedent('''
    """Nodes the run tests drive."""
    import time

    import pandas as pd

    from plait.runtime import progress


    def make_table(rows: int = 5, scale: float = 1.0) -> pd.DataFrame:
        """A small table."""
        print(f"making {rows} rows")
        return pd.DataFrame({"x": list(range(rows)), "y": [i * scale for i in range(rows)]})


    def summarize(table: pd.DataFrame) -> dict:
        """Totals of a table."""
        return {"rows": len(table), "total": float(table["y"].sum())}


    def double(x: int) -> int:
        """Twice x."""
        print(f"doubling {x}")
        return 2 * x


    def boom(x: int) -> int:
        """Always fails."""
        raise ValueError(f"boom at {x}")


    def nap(seconds: float = 60.0) -> float:
        """Sleeps a long while, reporting progress."""
        steps = int(seconds * 10)
        for i in range(steps):
            progress(i + 1, steps, f"step {i + 1}")
            time.sleep(0.1)
        return seconds
''')


def write_library(folder) -> Catalog:
    (folder / "jobs.py").write_text(LIBRARY)
    catalog = Catalog(folder)
    catalog.load()
    return catalog


def save(folder, flow: Flow) -> str:
    with Workspace(folder) as ws:
        ws.save_flow(flow)
    return flow.id


def table_flow(folder) -> dict[str, str]:
    """Parameters rows, scale and factor: rows/scale -> make_table -> summarize; factor -> double."""
    catalog = write_library(folder)
    flow = Flow("Tables", catalog=catalog)
    rows = flow.add_parameter("rows", "int", 5, "How many rows to make", position=(0, 0)).id
    scale = flow.add_parameter("scale", "float", 1.0, position=(0, 120)).id
    factor = flow.add_parameter("factor", "int", 3, "What to double", position=(0, 260)).id
    table = flow.create_node(catalog.get("jobs.py:make_table"), (240, 0)).id
    summary = flow.create_node(catalog.get("jobs.py:summarize"), (480, 0)).id
    double = flow.create_node(catalog.get("jobs.py:double"), (240, 260)).id
    flow.connect(rows, "value", table, "rows")
    flow.connect(scale, "value", table, "scale")
    flow.connect(table, "result", summary, "table")
    flow.connect(factor, "value", double, "x")
    save(folder, flow)
    return {
        "flow": flow.id,
        "rows": rows,
        "scale": scale,
        "factor": factor,
        "table": table,
        "summary": summary,
        "double": double,
    }


def failing_flow(folder) -> dict[str, str]:
    """No parameters: a failing node beside an independent branch."""
    catalog = write_library(folder)
    flow = Flow("Failing", catalog=catalog)
    bad = flow.create_node(catalog.get("jobs.py:boom"), (0, 0)).id
    flow.set_value(bad, "x", 3)
    good = flow.create_node(catalog.get("jobs.py:double"), (0, 200)).id
    flow.set_value(good, "x", 4)
    table = flow.create_node(catalog.get("jobs.py:make_table"), (0, 400)).id
    after = flow.create_node(catalog.get("jobs.py:summarize"), (240, 400)).id
    flow.connect(table, "result", after, "table")
    save(folder, flow)
    return {"flow": flow.id, "bad": bad, "good": good, "table": table, "after": after}


def napping_flow(folder) -> dict[str, str]:
    catalog = write_library(folder)
    flow = Flow("Napping", catalog=catalog)
    nap = flow.create_node(catalog.get("jobs.py:nap"), (0, 0)).id
    save(folder, flow)
    return {"flow": flow.id, "nap": nap}


# Each process that imports it notes its id (and whether it is a worker); `where` says
# which worker ran it. A file `broken` beside it makes a worker's import fail.
NOTED = textwrap.dedent("""
    import os
    from pathlib import Path

    with open(Path(__file__).with_name("imports.txt"), "a") as notes:
        notes.write(f"{os.getpid()} {'worker' if os.environ.get('PLAIT_WORKER') else 'other'}\\n")
    if os.environ.get("PLAIT_WORKER") and Path(__file__).with_name("broken").exists():
        raise RuntimeError("the worker cannot import me")


    def where(x: int = 0) -> int:
        return os.getpid()
""")


def noted_flow(folder, parameter: bool = False) -> str:
    """One node of `noted.py` (fed by a parameter x, if asked); no import noted yet."""
    (folder / "noted.py").write_text(NOTED)
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("noted", catalog=catalog)
    node = flow.create_node(catalog.get("noted.py:where"), (240, 0)).id
    if parameter:
        x = flow.add_parameter("x", "int", 1, position=(0, 0)).id
        flow.connect(x, "value", node, "x")
    save(folder, flow)
    (folder / "imports.txt").unlink()  # the catalog's, above
    return flow.id


def noted_imports(folder) -> list[tuple[int, str]]:
    """(process id, "worker" or "other") of each import of `noted.py`, in order."""
    path = folder / "imports.txt"
    words = path.read_text().split() if path.exists() else []
    return [(int(pid), side) for pid, side in zip(words[::2], words[1::2], strict=True)]
