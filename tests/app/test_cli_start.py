"""How `plait run` starts its workers and leaves: they import the flow's code ahead of its
tasks, and the process ends as the interpreter would, only without taking every module apart."""

from __future__ import annotations

import textwrap

import pytest

from plait.runtime.flow.model import Flow
from plait.runtime.workspace.store import Workspace
from tests.app.test_cli import plait

# Each process that imports the module notes its id; the node says which worker ran it.
MODULE = textwrap.dedent("""
    import os
    from pathlib import Path

    with open(Path(__file__).with_name("imports.txt"), "a") as notes:
        notes.write(f"{os.getpid()} {'worker' if os.environ.get('PLAIT_WORKER') else 'main'}\\n")
    if os.environ.get("PLAIT_WORKER") and Path(__file__).with_name("broken").exists():
        raise RuntimeError("the worker cannot import me")


    def where() -> int:
        return os.getpid()
""")


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "noted.py").write_text(MODULE)
    with Workspace(folder) as ws:
        flow = Flow("one", catalog=ws.catalog())
        flow.create_node(flow.catalog.get("noted.py:where"))
        ws.save_flow(flow)
    (folder / "imports.txt").unlink()  # the catalog's import, above
    return folder


def imports(folder) -> list[tuple[int, str]]:
    lines = (folder / "imports.txt").read_text().split()
    return [(int(pid), side) for pid, side in zip(lines[::2], lines[1::2], strict=True)]


def test_every_worker_imports_the_flows_code_before_any_task_comes(folder):
    ran = plait("run", "one", "-w", str(folder), "--max-workers", "2", "--json")
    assert ran.returncode == 0, ran.stderr
    import json

    [node] = json.loads(ran.stdout)["nodes"]
    ran_on = int(node["outputs"]["result"]["preview"])
    noted = imports(folder)
    workers = [pid for pid, side in noted if side == "worker"]
    # One node, two workers: the one that never got a task imported the code too, and
    # the one that ran it did not import it again for its task.
    assert len(workers) == 2 and len(set(workers)) == 2, noted
    assert ran_on in workers
    assert [side for _, side in noted].count("main") == 1


def test_code_a_worker_cannot_import_ahead_fails_its_node_with_the_reason(folder):
    (folder / "broken").touch()
    ran = plait("run", "one", "-w", str(folder), "--max-workers", "2")
    assert ran.returncode == 1
    assert "the worker cannot import me" in ran.stdout
    assert "Traceback" not in ran.stderr


def test_a_run_leaves_after_the_exit_functions_and_with_its_output_whole(folder):
    (folder / "noted.py").write_text(
        MODULE
        + textwrap.dedent("""
            import atexit


            def _bye() -> None:
                if not os.environ.get("PLAIT_WORKER"):
                    Path(__file__).with_name("bye.txt").write_text("said")


            atexit.register(_bye)
        """)
    )
    ran = plait("run", "one", "-w", str(folder))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.rstrip().endswith("(1 completed)")
    assert (folder / "bye.txt").read_text() == "said"
    failed = plait("run", "nothing-here", "-w", str(folder))
    assert failed.returncode == 2 and "has no flow 'nothing-here'" in failed.stderr
