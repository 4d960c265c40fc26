"""stdout, stderr and tqdm belong to the process until a node runs in it, and come back after."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from plait.runtime.engine import events as ev
from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.scheduler import Engine
from plait.runtime.flow.model import Flow
from plait.runtime.workspace.store import Workspace
from tests.runtime.running import run


def test_importing_plait_runtime_leaves_stdout_stderr_and_tqdm_alone():
    script = textwrap.dedent(
        """
        import importlib, json, pkgutil, sys
        import tqdm.std

        def state():
            return (sys.stdout, sys.stderr, dict(vars(tqdm.std.tqdm)), list(sys.meta_path), list(sys.path))

        before = state()
        import plait.runtime
        from plait.runtime import Catalog, Engine, Flow, Workspace, node, progress  # noqa: F401

        skipped = {
            "plait.runtime.engine.dask_executor",
            "plait.runtime.engine.dask_cluster",  # imports distributed, as only a Dask run does
            "plait.runtime.schedules.service",
        }
        for module in pkgutil.walk_packages(plait.runtime.__path__, "plait.runtime."):
            if module.name not in skipped:
                importlib.import_module(module.name)
        after = state()
        print(json.dumps([a is b or a == b for a, b in zip(before, after)]))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [True] * 5


NODES = """
    import sys

    from tqdm import tqdm


    def chatty(n: int = 3) -> int:
        print("from the node")
        print("to stderr", file=sys.stderr)
        return sum(1 for _ in tqdm(range(n), desc="counting"))
"""


def test_a_node_run_inline_takes_over_output_and_tqdm_only_while_it_runs(loop, tmp_path):
    import tqdm.std

    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "chat.py").write_text(textwrap.dedent(NODES))

    def bar_methods():
        return [vars(tqdm.std.tqdm).get(name) for name in ("__init__", "update", "close")]

    stdout, stderr, bar = sys.stdout, sys.stderr, bar_methods()
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        flow = Flow("Chat", catalog=catalog)
        node = flow.create_node(catalog.get("chat.py:chatty")).id
        result, seen = run(loop, Engine(ws, executor=InlineExecutor()), flow)
    assert result.ok
    lines = {(line.stream, line.message) for e in seen if isinstance(e, ev.NodeLog) for line in e.lines}
    assert {("stdout", "from the node"), ("stderr", "to stderr")} <= lines
    bars = [e for e in seen if isinstance(e, ev.NodeProgress) and e.node_id == node]
    assert bars and (bars[-1].done, bars[-1].total, bars[-1].message) == (3, 3, "counting")
    assert (sys.stdout, sys.stderr, bar_methods()) == (stdout, stderr, bar)
