"""A flow made by a `@flow` script, in the window: the traced wiring, laid out, its nodes available."""

from __future__ import annotations

import os
import subprocess
import sys

from plait.runtime.workspace.store import Workspace
from tests.runtime.test_flow_scripts import SCRIPT


def test_a_script_flow_opens_on_the_canvas_with_its_traced_wires_after_the_script_exited(
    tmp_path, make_window, settings
):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = tmp_path / "pipeline.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    script.unlink()
    with Workspace(workspace) as ws:
        other = ws.duplicate_flow("numbers", "numbers copy")  # saved later: the window's usual pick
    settings.setValue(f"last_flow/{workspace.resolve()}", other.id)

    window = make_window(workspace, flow="numbers")
    flow = window.document.flow
    assert flow.name == "numbers"
    assert {str(edge) for edge in window.scene.edges} == {
        "count.value -> make.count",
        "make.result -> halves.values",
        "make.result -> stats.values",
        "halves.left -> total.values",
        "halves.right -> total_2.values",
        "stats.result -> get_high.container",
        "total.result -> output_left.value",
        "total_2.result -> output_right.value",
        "get_high.result -> output_high.value",
    }
    # Every node's type comes from the library file the script left in the workspace.
    assert all(flow.spec(node) is not None for node in flow.nodes.values())
    # The palette offers the script's functions under the flow's name.
    item = window.palette_widget.item_for("numbers_flow.py:halves")
    assert item is not None and item.parent().text(0) == "numbers"
    # Laid out left to right by the wires, no two nodes on one spot.
    x = {node_id: node.position[0] for node_id, node in flow.nodes.items()}
    assert x["count"] < x["make"] < x["halves"] < x["total"] < x["output_left"]
    assert len({node.position for node in flow.nodes.values()}) == len(flow.nodes)
    assert not flow.validate()


def test_plait_takes_a_flow_after_the_workspace_folder_and_nothing_more(tmp_path, capsys):
    import pytest

    from plait.app.cli import main

    with pytest.raises(SystemExit):
        main([str(tmp_path), "numbers", "extra"])
    assert "unexpected arguments after" in capsys.readouterr().err
