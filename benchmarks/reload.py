"""Hot reload through the library process: from saving a file to its palette entry updating.

    QT_QPA_PLATFORM=offscreen python benchmarks/reload.py [--repeat 7] [--functions 20]

Opens the window on a workspace with one library of N functions (loaded in
the library process, as the window always loads a trusted workspace), then
repeatedly saves the file with one function renamed and waits until the
palette lists the new name. Prints the median, min and max of that time
(target under 1 s for 20 functions; it includes the window's 300 ms wait for
saves to settle), and the same for a reload called directly, without the
file watcher.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PLAIT_CONFIG_DIR", tempfile.mkdtemp(prefix="plait-config-"))


def library(functions: int, generation: int) -> str:
    lines = ['"""A library of small nodes."""', "import math", ""]
    for i in range(functions):
        name = f"f{i}_v{generation}" if i == 0 else f"f{i}"
        lines += [
            f"def {name}(x: float, scale: float = {i}.0) -> float:",
            f'    """Node {i}: scales x."""',
            "    return math.sqrt(abs(x)) * scale",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--functions", type=int, default=20)
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from plait.app.main import event_loop
    from plait.app.window import MainWindow
    from plait.runtime.workspace.store import Workspace

    app = QApplication(sys.argv[:1])
    asyncio.events._set_running_loop(event_loop())
    folder = Path(tempfile.mkdtemp(prefix="plait-reload-")) / "ws"
    Workspace(folder).close()
    path = folder / "nodes.py"
    path.write_text(library(args.functions, 0))
    window = MainWindow(QSettings(str(folder.parent / "settings.ini"), QSettings.IniFormat))
    window.open_workspace(folder)
    window.show()
    assert window.catalog.loader.pid is not None, "the libraries did not load in the library process"

    def wait_for(key: str, limit: float = 30.0) -> None:
        deadline = time.perf_counter() + limit
        while key not in window.palette_widget.keys():
            if time.perf_counter() > deadline:
                raise SystemExit(f"the palette never showed {key}")
            app.processEvents()
            time.sleep(0.002)

    watched, direct = [], []
    for generation in range(1, 2 * args.repeat + 1):
        text = library(args.functions, generation)
        key = f"nodes.py:f0_v{generation}"
        start = time.perf_counter()
        path.write_text(text)
        if generation % 2:
            wait_for(key)
            watched.append(time.perf_counter() - start)
        else:
            window.workspaces.reload_libraries()
            wait_for(key)
            direct.append(time.perf_counter() - start)

    def figures(times: list[float]) -> str:
        return (
            f"median {statistics.median(times) * 1000:.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {len(times)} saves)"
        )

    print(f"Hot reload of a {args.functions}-function library in the library process:")
    print(f"  save -> palette, through the file watcher: {figures(watched)}")
    print(f"  save -> palette, reload called at once:    {figures(direct)}")
    window.catalog.close()
    os._exit(0)


if __name__ == "__main__":
    main()
