"""Render the window during and after a real run, offscreen, to PNGs for the docs.

    QT_QPA_PLATFORM=offscreen python -m plait.app.run_screenshots docs/

A small sales workspace runs on worker processes: one picture while nodes
are running (progress bars, a completed node, the logs filling), one after
the run with a node's DataFrame in the outputs dock and its logs beside it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import textwrap
import time
from pathlib import Path

LIBRARY = textwrap.dedent('''
    """Sales analysis nodes that really run."""
    import time

    import pandas as pd

    from plait.runtime import progress

    REGIONS = ["North", "South", "East", "West", "Centre"]


    def load_sales(rows: int = 2000, seconds: float = 3.0) -> pd.DataFrame:
        """Read the sales rows (here: made up, slowly)."""
        steps = 20
        for i in range(steps):
            progress(i + 1, steps, f"chunk {i + 1} of {steps}")
            print(f"read chunk {i + 1}: {rows // steps} rows")
            time.sleep(seconds / steps)
        return pd.DataFrame({
            "order": range(rows),
            "region": [REGIONS[i % 5] for i in range(rows)],
            "amount": [round(10 + (i * 37 % 500) / 3, 2) for i in range(rows)],
            "returned": [i % 23 == 0 for i in range(rows)],
        })


    def clean(rows: pd.DataFrame, drop_returns: bool = True) -> pd.DataFrame:
        """Drop returned orders."""
        kept = rows[~rows["returned"]] if drop_returns else rows
        print(f"kept {len(kept)} of {len(rows)} orders")
        return kept.reset_index(drop=True)


    def by_region(rows: pd.DataFrame) -> pd.DataFrame:
        """Total and mean sales per region."""
        table = rows.groupby("region")["amount"].agg(["count", "sum", "mean"]).reset_index()
        print(table.to_string(index=False))
        return table


    def growth(rows: pd.DataFrame, baseline: float = 100.0, seconds: float = 4.0) -> float:
        """Growth of the mean order over a baseline, in percent."""
        for i in range(8):
            progress(i + 1, 8, "comparing months")
            time.sleep(seconds / 8)
        value = (rows["amount"].mean() - baseline) / baseline * 100
        print(f"growth: {value:.1f}%")
        return round(value, 2)


    def report(table: pd.DataFrame, growth: float, title: str = "Q3 sales") -> str:
        """A short text report."""
        best = table.sort_values("sum", ascending=False).iloc[0]
        text = f"{title}: best region {best['region']} ({best['sum']:.0f}); growth {growth}%"
        print(text)
        return text
''')


def build(folder: Path) -> dict[str, str]:
    """The workspace and its flow; returns the node ids by name."""
    from plait.runtime.flow.model import Flow
    from plait.runtime.nodes.libraries import Catalog
    from plait.runtime.workspace.store import Workspace

    (folder / "sales.py").write_text(LIBRARY)
    catalog = Catalog(folder)
    catalog.load()
    flow = Flow("Regional sales", catalog=catalog)
    ids = {
        "rows": flow.add_parameter("rows", "int", 2000, "Orders to read", position=(0, 0)).id,
        "baseline": flow.add_parameter(
            "baseline", "float", 100.0, "Mean order a year ago", position=(0, 170)
        ).id,
    }
    for name, x, y in (
        ("load_sales", 220, 0),
        ("clean", 460, 0),
        ("by_region", 700, -60),
        ("growth", 700, 110),
        ("report", 940, 20),
    ):
        ids[name] = flow.create_node(catalog.get(f"sales.py:{name}"), (x, y)).id
    for edge in (
        ("rows", "value", "load_sales", "rows"),
        ("load_sales", "result", "clean", "rows"),
        ("clean", "result", "by_region", "rows"),
        ("clean", "result", "growth", "rows"),
        ("baseline", "value", "growth", "baseline"),
        ("by_region", "result", "report", "table"),
        ("growth", "result", "report", "growth"),
    ):
        flow.connect(ids[edge[0]], edge[1], ids[edge[2]], edge[3])
    with Workspace(folder) as ws:
        ws.save_flow(flow)
    return ids


def _wait(app, condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the run took too long")
        app.processEvents()
        time.sleep(0.02)


def render(out_dir: Path) -> list[Path]:
    from PySide6.QtCore import QSettings, Qt

    from plait.app.main import application, event_loop, open_window
    from plait.widgets.parameter_dialog import RunChoices

    app = application()
    loop = event_loop()
    asyncio.events._set_running_loop(loop)  # as under `plait`, without blocking in exec()
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "Sales analysis"
        folder.mkdir()
        ids = build(folder)
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        window = open_window(folder, settings)
        window.questions.ask_cancel_runs = lambda count: True
        window.resize(1600, 1000)
        app.processEvents()
        window.resizeDocks([window.inspector_dock, window.palette_dock], [300, 230], Qt.Horizontal)
        window.resizeDocks([window.logs_dock_widget], [330], Qt.Vertical)
        window.resizeDocks([window.logs_dock_widget, window.outputs_dock_widget], [800, 700], Qt.Horizontal)
        app.processEvents()
        window.view.fit_view()
        flow = window.document.flow
        live = window.running.start_run(
            flow, {"rows": 2000, "baseline": 100.0}, RunChoices("local", "", 2, False)
        )
        growth = live.statuses[ids["growth"]]
        _wait(app, lambda: growth.state == "running" and (growth.fraction or 0) > 0.3)
        window.scene.select_nodes([ids["load_sales"]])
        window.scene.clearSelection()
        app.processEvents()
        path = out_dir / "screenshot-running.png"
        window.grab().save(str(path))
        written.append(path)
        _wait(app, lambda: live.finished)
        window.scene.select_nodes([ids["by_region"]])
        tab = window.outputs_dock.tab_by_port.get("result")
        _wait(app, lambda: tab is not None and tab.preview is not None)
        # The inspector says what the next run reuses once the explainer has run.
        _wait(app, lambda: bool(window.explainer.by_node))
        app.processEvents()
        path = out_dir / "screenshot-outputs.png"
        window.grab().save(str(path))
        written.append(path)
        window.close()
        _wait(app, lambda: window.shut_down)
    asyncio.events._set_running_loop(None)
    return written


def render_iris(out_dir: Path) -> list[Path]:
    """The Iris data-science flow after a run (data-engineering ran inside it), accuracy shown."""
    import shutil

    from PySide6.QtCore import QSettings, Qt

    from plait.app.main import application, event_loop, open_window
    from plait.runtime.workspace.examples import examples_folder
    from plait.widgets.parameter_dialog import RunChoices

    app = application()
    loop = event_loop()
    asyncio.events._set_running_loop(loop)
    path = out_dir / "screenshot-iris.png"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "iris"
        shutil.copytree(examples_folder() / "iris", folder)
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        window = open_window(folder, settings)
        window.questions.ask_cancel_runs = lambda count: True
        window.resize(1600, 1000)
        app.processEvents()
        window.resizeDocks([window.logs_dock_widget], [300], Qt.Vertical)
        window.workspaces.open_flow(window.workspace.flow_info("data-science").id)
        app.processEvents()
        flow = window.document.flow
        params = {p.name: p.default for p in flow.parameters()}
        live = window.running.start_run(flow, params, RunChoices("local", "", 2, False))
        _wait(app, lambda: live.finished)
        window.view.fit_view()
        accuracy = next(n.id for n in window.document.flow.nodes.values() if n.title == "Accuracy")
        window.scene.select_nodes([accuracy])
        tab = window.outputs_dock.tab_by_port.get("result")
        _wait(app, lambda: tab is not None and tab.preview is not None)
        settle = time.monotonic() + 0.5  # the inspector's "Next run" text wraps a moment later
        while time.monotonic() < settle:
            app.processEvents()
        window.grab().save(str(path))
        window.close()
        _wait(app, lambda: window.shut_down)
    asyncio.events._set_running_loop(None)
    return [path]


def main(argv: list[str] | None = None) -> int:
    from plait.app import screenshots

    return screenshots.main(argv, lambda out: render(out) + render_iris(out))


if __name__ == "__main__":
    sys.exit(main())
