"""How `plait run` starts its workers and leaves: they import the flow's code ahead of its
tasks, and the process ends as the interpreter would, only without taking every module apart."""

from __future__ import annotations

import json
import textwrap

import pytest

from plait.runtime.workspace.store import Workspace
from tests.app.running import NOTED, noted_flow, noted_imports
from tests.app.test_cli import plait


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "ws"
    Workspace(folder).close()
    noted_flow(folder)
    return folder


def test_every_worker_imports_the_flows_code_before_any_task_comes(folder):
    ran = plait("run", "noted", "-w", str(folder), "--max-workers", "2", "--json")
    assert ran.returncode == 0, ran.stderr
    [node] = json.loads(ran.stdout)["nodes"]
    ran_on = int(node["outputs"]["result"]["preview"])
    noted = noted_imports(folder)
    workers = [pid for pid, side in noted if side == "worker"]
    # One node, two workers: the one that never got a task imported the code too, and
    # the one that ran it did not import it again for its task.
    assert len(workers) == 2 and len(set(workers)) == 2, noted
    assert ran_on in workers
    assert [side for _, side in noted].count("other") == 1  # the command's own process


def test_code_a_worker_cannot_import_ahead_fails_its_node_with_the_reason(folder):
    (folder / "broken").touch()
    ran = plait("run", "noted", "-w", str(folder), "--max-workers", "2")
    assert ran.returncode == 1
    assert "the worker cannot import me" in ran.stdout
    assert "Traceback" not in ran.stderr


def test_a_run_leaves_after_the_exit_functions_and_with_its_output_whole(folder):
    (folder / "noted.py").write_text(
        NOTED
        + textwrap.dedent("""
            import atexit


            def _bye() -> None:
                if not os.environ.get("PLAIT_WORKER"):
                    Path(__file__).with_name("bye.txt").write_text("said")


            atexit.register(_bye)
        """)
    )
    ran = plait("run", "noted", "-w", str(folder))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.rstrip().endswith("(1 completed)")
    assert (folder / "bye.txt").read_text() == "said"
    failed = plait("run", "nothing-here", "-w", str(folder))
    assert failed.returncode == 2 and "has no flow 'nothing-here'" in failed.stderr
