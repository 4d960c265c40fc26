"""`@flow` in a script run by Python: its functions outlive it, for `plait run` and the window."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plait.runtime import load
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.workspace.examples import examples_folder

PLAIT = str(Path(sys.executable).with_name("plait"))

SCRIPT = textwrap.dedent('''
    import json
    import sys
    from typing import NamedTuple

    from plait.runtime import flow

    SCALE = 2


    class Halves(NamedTuple):
        left: list
        right: list


    def make(count: int) -> list:
        return list(range(count))


    def halves(values: list) -> Halves:
        middle = len(values) // 2
        return Halves(values[:middle], values[middle:])


    def total(values: list, factor: int = 1) -> float:
        print(f"adding {len(values)} numbers")
        return float(sum(values)) * factor * SCALE


    def stats(values: list) -> dict:
        return {"low": min(values), "high": max(values)}


    @flow
    def numbers(count: int = 10):
        """Split some numbers in two and add up each half."""
        values = make(count)
        parts = halves(values)
        return {"left": total(parts.left), "right": total(parts[1], factor=3), "high": stats(values)["high"]}


    if __name__ == "__main__":
        print("RESULT", json.dumps(numbers(**json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})))
        print("STATES", json.dumps(numbers.run().states))
''')


def python(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def plait(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PLAIT, *args], capture_output=True, text=True, timeout=240, cwd="/")


def printed(done: subprocess.CompletedProcess, label: str):
    line = next(line for line in done.stdout.splitlines() if line.startswith(label + " "))
    return json.loads(line[len(label) + 1 :])


@pytest.fixture
def project(tmp_path):
    """A script in one folder, run from a workspace folder (the default workspace: the current one)."""
    scripts, workspace = tmp_path / "scripts", tmp_path / "ws"
    scripts.mkdir()
    workspace.mkdir()
    (scripts / "pipeline.py").write_text(SCRIPT)
    return scripts / "pipeline.py", workspace


def test_a_script_flow_runs_cached_the_second_time_and_from_plait_run_once_the_script_is_gone(project):
    script, workspace = project
    first = python(script, cwd=workspace)
    assert printed(first, "RESULT") == {"left": 20.0, "right": 210.0, "high": 9}
    assert "  Total │ adding 5 numbers" in first.stdout  # node logs, under the node's title
    # The run inside the same script, and a second run of the script: all reused.
    assert set(printed(first, "STATES").values()) <= {"cached", "completed"}
    assert {printed(first, "STATES")[t] for t in ("Make", "Halves", "Total", "Total 2", "Get high")} == {
        "cached"
    }
    second = python(script, cwd=workspace)
    assert printed(second, "RESULT") == {"left": 20.0, "right": 210.0, "high": 9}
    assert "adding" not in second.stdout  # nothing ran again

    listed = plait("flows", "-w", str(workspace))
    assert listed.returncode == 0 and "numbers" in listed.stdout
    module = workspace / "numbers_flow.py"
    assert module.read_text().startswith("# Written by Plait's @flow from pipeline.py")
    catalog = Catalog(workspace)
    catalog.load()
    assert {s.key: s.module for s in catalog.specs() if s.key.startswith("numbers_flow.py:")} == {
        f"numbers_flow.py:{name}": "numbers" for name in ("make", "halves", "total", "stats")
    }

    script.unlink()  # the functions live on in the workspace
    again = plait("run", "numbers", "-w", str(workspace), "--param", "count=4", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    nodes = {n["title"]: n for n in json.loads(again.stdout)["nodes"]}
    assert nodes["Total"]["state"] == "completed"
    assert nodes["left"]["outputs"]["value"]["preview"] == "2.0"
    assert nodes["right"]["outputs"]["value"]["preview"] == "30.0"
    assert load("numbers", "Get high", workspace=workspace) == 3


def test_editing_a_function_in_the_script_updates_its_module_and_reruns_that_node_only(project):
    script, workspace = project
    python(script, cwd=workspace)
    # The same value, by other code: Stats reruns, what reads its value stays cached.
    script.write_text(SCRIPT.replace('"high": max(values)', '"high": sorted(values)[-1]'))
    edited = python(script, cwd=workspace)
    assert '"high": sorted(values)[-1]' in (workspace / "numbers_flow.py").read_text()
    assert printed(edited, "RESULT") == {"left": 20.0, "right": 210.0, "high": 9}
    runs = plait("runs", "numbers", "-w", str(workspace))
    assert runs.returncode == 0
    # Only Stats ran in the edited script's first run; everything else came from the cache.
    from plait.runtime.workspace.store import Workspace

    with Workspace(workspace) as ws:
        run_id = ws.conn.execute(
            "select id from runs where flow_name='numbers' order by started desc limit 1 offset 1"
        ).fetchone()[0]
        ran = {
            t
            for t, s in ws.conn.execute("select title, state from node_runs where run_id=?", (run_id,))
            if s == "completed" and t not in ("count", "left", "right", "high")
        }
        assert ran == {"Stats"}
        assert ws.flow_info("numbers").latest_version == 1  # the graph did not change


IRIS_FLOW = textwrap.dedent('''

    # -- the pipeline, in the shape of Prefect's tutorial: its split returns a dict --------

    from plait.runtime import flow
    from plait.runtime.nodes.tables import read_table


    def split_as_dict(data: pd.DataFrame, test_data_ratio: float = 0.2) -> dict:
        """The train and test rows, as a dict (as the tutorial's split_data returns them)."""
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
        print("ACCURACY", iris(test_data_ratio=0.3))
''')


def test_the_iris_pipeline_as_a_flow_gives_the_accuracy_of_the_saved_example(tmp_path):
    example = tmp_path / "iris"
    shutil.copytree(examples_folder() / "iris", example)
    saved = plait("run", "data-science", "-w", str(example), "--param", "test_data_ratio=0.3")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    expected = load("data-science", "Accuracy", workspace=example)

    workspace = tmp_path / "ws"
    workspace.mkdir()
    shutil.copy(example / "iris.csv", workspace / "iris.csv")
    script = tmp_path / "iris_pipeline.py"
    # The example's functions, unchanged, with the flow below them.
    script.write_text((examples_folder() / "iris" / "iris.py").read_text() + IRIS_FLOW)
    done = python(script, cwd=workspace)
    assert printed(done, "ACCURACY") == pytest.approx(expected)
    assert "  Accuracy │ Accuracy: " in done.stdout
    assert 0.9 < expected <= 1.0
    from plait.runtime.workspace.store import Workspace

    with Workspace(workspace) as ws:
        flow = ws.load_flow("iris-code")
    edges = {str(e) for e in flow.edges}
    assert "split_as_dict.result -> get_x_train.container" in edges
    assert "get_x_train.result -> train_model.X_train" in edges
    assert "train_model.model -> predict.model" in edges  # a NamedTuple's field, wired directly
    assert "test_data_ratio.value -> split_as_dict.test_data_ratio" in edges


def test_a_script_inside_the_workspace_is_its_own_library_and_is_not_run_again_when_imported(tmp_path):
    workspace = tmp_path / "project"
    workspace.mkdir()
    script = workspace / "pipeline.py"
    script.write_text(SCRIPT)
    done = python(script, cwd=workspace)
    assert printed(done, "RESULT") == {"left": 20.0, "right": 210.0, "high": 9}
    assert not (workspace / "numbers_flow.py").exists()  # its nodes name pipeline.py itself
    from plait.runtime.workspace.store import Workspace

    with Workspace(workspace) as ws:
        keys = {n.spec_key for n in ws.load_flow("numbers").nodes.values() if ":" in n.spec_key}
    assert "pipeline.py:halves" in keys
    # `plait run` imports pipeline.py to find the nodes; the flow call in it does not run there.
    again = plait("run", "numbers", "-w", str(workspace), "--no-cache")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(1 cached, 9 completed)" in again.stdout  # the parameter, and every node run anew
    assert "RESULT" not in again.stdout
