"""Render the main window offscreen with an example flow, in both themes, to PNGs.

Also the Iris data-science flow at the zoom the window opens it with, and a
30-node flow after Auto-layout (Graphviz's wire routes), to check readability.

    QT_QPA_PLATFORM=offscreen python -m plait.app.screenshots docs/
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

EXAMPLE_LIBRARY = textwrap.dedent('''
    """Sales analysis nodes (an example library)."""
    from pathlib import Path
    from typing import Literal


    def load_sales(path: Path, sheet: str = "2024") -> list:
        """Read the sales rows from a CSV file."""
        return []


    def clean(rows: list, drop_missing: bool = True) -> list:
        """Drop rows with missing amounts and normalise region names."""
        return rows


    def by_region(rows: list, metric: Literal["sum", "mean", "max"] = "sum") -> dict:
        """Total the sales of each region."""
        return {}


    def top_n(table: dict, n: int = 5) -> list:
        """The n best regions."""
        return []


    def growth(rows: list, baseline: float) -> float:
        """Growth over the baseline, in percent."""
        return 0.0


    def report(top: list, growth: float, title: str = "Sales") -> str:
        """A one-page text report."""
        return ""
''')


def build_example(folder: Path) -> None:
    """A workspace with the example library and a saved flow using it."""
    from plait.runtime.flow.model import Flow
    from plait.runtime.nodes.libraries import Catalog
    from plait.runtime.workspace.store import Workspace

    Workspace(folder).close()  # made by Plait before its code: the user's own, trusted
    (folder / "sales.py").write_text(EXAMPLE_LIBRARY)
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("Regional sales", catalog=catalog)

    def add(name, x, y, **values):
        node = flow.create_node(catalog.get(f"sales.py:{name}"), (x, y))
        for key, value in values.items():
            flow.set_value(node.id, key, value)
        return node.id

    path = flow.add_parameter("csv_path", "path", "data/sales.csv", "Where the export is", position=(0, 0)).id
    baseline = flow.add_parameter("baseline", "float", 100.0, position=(0, 200)).id
    load = add("load_sales", 220, 0)
    clean = add("clean", 440, 0)
    regions = add("by_region", 660, -60)
    top = add("top_n", 880, -60, n=3)
    grow = add("growth", 660, 140)
    rep = add("report", 1100, 40, title="Q3 sales")
    for edge in (
        (path, "value", load, "path"),
        (load, "result", clean, "rows"),
        (clean, "result", regions, "rows"),
        (regions, "result", top, "table"),
        (clean, "result", grow, "rows"),
        (baseline, "value", grow, "baseline"),
        (top, "result", rep, "top"),
        (grow, "result", rep, "growth"),
    ):
        flow.connect(*edge)
    flow.set_flow_field(
        "extras",
        {"frames": [{"id": "prep", "title": "Preparation", "text": "", "rect": [200, -50, 450, 160]}]},
    )
    with Workspace(folder) as ws:
        ws.save_flow(flow)


def render(out_dir: Path) -> list[Path]:
    import asyncio

    from PySide6.QtCore import QSettings

    from plait.app.main import application, event_loop, open_window

    app = application()
    # The window loads outputs with asyncio: mark its loop running, as under `plait`.
    asyncio.events._set_running_loop(event_loop())
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "Sales analysis"
        folder.mkdir()
        build_example(folder)
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        for theme in ("light", "dark"):
            window = open_window(folder, settings)
            window.set_theme(theme)
            window.resize(1600, 900)
            app.processEvents()
            window.view.fit_view()
            # Select one node so the inspector shows what it edits.
            node_id = next(n for n in window.document.flow.nodes if n.startswith("by_region"))
            window.scene.select_nodes([node_id])
            app.processEvents()
            path = out_dir / f"screenshot-{theme}.png"
            window.grab().save(str(path))
            written.append(path)
            window.document.mark_saved()
            window.close()
            while window.runs._tasks or not window.shut_down:  # let loads in flight finish
                app.processEvents()
    asyncio.events._set_running_loop(None)
    return written


STEPS_LIBRARY = textwrap.dedent('''
    """Steps of a longer analysis (an example library for the layout screenshot)."""


    def read_source(path: str = "data.csv") -> list:
        return []


    def join(left: list, right: list, on: str = "id") -> list:
        return left + right


    def filter_rows(rows: list, threshold: float = 0.5) -> list:
        return rows


    def summarise(rows: list, by: str = "region", weights: list = ()) -> dict:
        return {}


    def score(table: dict, model: str = "linear") -> float:
        return 0.0
''')


def build_thirty(folder: Path) -> str:
    """A workspace whose 30-node flow was dropped any which way, for Auto-layout to tidy."""
    import random

    from plait.runtime.flow.model import Flow
    from plait.runtime.nodes.libraries import Catalog
    from plait.runtime.workspace.store import Workspace

    (folder / "steps.py").write_text(STEPS_LIBRARY)
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("Thirty steps", catalog=catalog)
    rng = random.Random(7)
    lists, tables = [], []  # node ids giving a list or a dict
    flow.add_parameter("threshold", "float", 0.5, position=(0, 0))
    for i in range(29):
        spot = (rng.uniform(0, 1400), rng.uniform(0, 900))
        kind = (
            "read_source"
            if i < 5
            else rng.choice(["join", "filter_rows", "filter_rows", "summarise", "score"])
        )
        node = flow.create_node(catalog.get(f"steps.py:{kind}"), spot)
        if kind == "join":
            a, b = rng.sample(lists, 2)
            flow.connect(a, "result", node.id, "left")
            flow.connect(b, "result", node.id, "right")
        elif kind in ("filter_rows", "summarise"):
            flow.connect(rng.choice(lists), "result", node.id, "rows")
        elif kind == "score":
            if not tables:
                continue
            flow.connect(rng.choice(tables), "result", node.id, "table")
        (tables if kind == "summarise" else lists if kind != "score" else []).append(node.id)
    param = next(p.node_id for p in flow.parameters())
    for node in flow.nodes.values():
        if node.spec_key == "steps.py:filter_rows" and rng.random() < 0.5:
            flow.connect(param, "value", node.id, "threshold")
    with Workspace(folder) as ws:
        ws.save_flow(flow)
    return flow.id


def render_readability(out_dir: Path) -> list[Path]:
    """The Iris data-science flow as the window opens it, and 30 nodes after Auto-layout."""
    import asyncio
    import shutil

    from PySide6.QtCore import QSettings

    from plait.app.main import application, event_loop, open_window
    from plait.runtime.workspace.examples import examples_folder

    app = application()
    asyncio.events._set_running_loop(event_loop())
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        iris = Path(tmp) / "iris"
        shutil.copytree(examples_folder() / "iris", iris)
        thirty = Path(tmp) / "Thirty steps"
        thirty.mkdir()
        flow_id = build_thirty(thirty)
        for folder, name, shot in (
            (iris, "data-science", "screenshot-iris-opening.png"),
            (thirty, flow_id, "screenshot-thirty-nodes.png"),
        ):
            window = open_window(folder, settings)
            window.resize(1600, 1000)
            window.workspaces.open_flow(window.workspace.flow_info(name).id, ask=False)
            for _ in range(5):
                app.processEvents()  # the opening fit follows the window's size
            if shot == "screenshot-thirty-nodes.png":
                window.editing.auto_layout()
                window.document.mark_saved()
            while window.scene.route_pending(budget_ms=50):
                app.processEvents()
            settle = time.monotonic() + 0.5  # the minimap redraws a moment after changes
            while time.monotonic() < settle:
                app.processEvents()
            path = out_dir / shot
            window.grab().save(str(path))
            written.append(path)
            window.close()
            while window.runs._tasks or not window.shut_down:
                app.processEvents()
    asyncio.events._set_running_loop(None)
    return written


IRIS_FLOW = textwrap.dedent('''

    from plait.runtime import flow
    from plait.runtime.nodes.tables import read_table


    def split_as_dict(data, test_data_ratio: float = 0.2) -> dict:
        """The train and test rows as a dict, as the Prefect tutorial's split_data returns them."""
        return split_data(data, test_data_ratio)._asdict()


    @flow(name="iris-code")
    def iris(test_data_ratio: float = 0.2, num_train_iter: int = 500, learning_rate: float = 0.5):
        data = read_table("iris.csv")
        classes = get_classes(data)
        encoded = encode_target(data, classes)
        parts = split_as_dict(encoded, test_data_ratio)
        training = train_model(parts["X_train"], parts["y_train"], num_train_iter, learning_rate)
        predictions = predict(training.model, parts["X_test"])
        return accuracy(predictions, parts["y_test"])


    if __name__ == "__main__":
        print(iris())
''')


def render_flow_in_code(out_dir: Path) -> list[Path]:
    """The Iris pipeline written as a @flow script, run once, then as the window shows it."""
    import asyncio
    import shutil
    import subprocess

    from PySide6.QtCore import QSettings

    from plait.app.main import application, event_loop, open_window
    from plait.runtime.workspace.examples import examples_folder

    app = application()
    asyncio.events._set_running_loop(event_loop())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "iris-in-code"
        folder.mkdir()
        shutil.copy(examples_folder() / "iris" / "iris.csv", folder / "iris.csv")
        script = Path(tmp) / "iris_pipeline.py"
        script.write_text((examples_folder() / "iris" / "iris.py").read_text() + IRIS_FLOW)
        subprocess.run([sys.executable, str(script)], cwd=folder, check=True, capture_output=True)
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        window = open_window(folder, settings, flow="iris-code")
        window.inspector_dock.hide()
        window.resize(1800, 860)
        for _ in range(5):
            app.processEvents()
        window.view.fit_view()
        while window.scene.route_pending(budget_ms=50):
            app.processEvents()
        settle = time.monotonic() + 0.5
        while time.monotonic() < settle:
            app.processEvents()
        path = out_dir / "screenshot-flow-in-code.png"
        window.grab().save(str(path))
        window.close()
        while window.runs._tasks or not window.shut_down:
            app.processEvents()
    asyncio.events._set_running_loop(None)
    return [path]


def main(argv: list[str] | None = None, draw=None) -> int:  # type: ignore[no-untyped-def]
    """Render screenshots into the folder named on the command line (default docs/)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0] if argv else "docs")
    out_dir.mkdir(parents=True, exist_ok=True)
    everything = lambda out: render(out) + render_readability(out) + render_flow_in_code(out)  # noqa: E731
    for path in (draw or everything)(out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
