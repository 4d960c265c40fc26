"""The example workspaces through `plait` from a fresh shell: run, cache, export and import."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plait.runtime.workspace.examples import examples_folder

PLAIT = str(Path(sys.executable).with_name("plait"))


def plait(*args, timeout=180):
    done = subprocess.run(
        [PLAIT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return done


def states(done) -> dict[str, str]:
    assert done.returncode in (0, 1), done.stderr
    return {n["id"]: n["state"] for n in json.loads(done.stdout)["nodes"]}


@pytest.fixture
def example(tmp_path):
    def copy(name, folder_name=None):
        folder = tmp_path / (folder_name or name)
        shutil.copytree(examples_folder() / name, folder)
        return folder

    return copy


def test_the_iris_data_science_flow_runs_first_on_a_fresh_copy_and_then_is_cached(example):
    iris = example("iris")
    assert not (iris / ".plait").exists() and not (iris / "plait.sqlite").exists()
    science = plait("run", "data-science", "-w", str(iris))
    assert science.returncode == 0, science.stdout + science.stderr
    assert "running flow 'data-engineering' as run" in science.stdout  # its subflow ran inside
    assert "Accuracy │ Accuracy: " in science.stdout
    assert "test flowers" in science.stdout
    assert (iris / "outputs" / "iris_encoded.csv").is_file()

    again = plait("run", "data-science", "-w", str(iris), "--json")
    assert set(states(again).values()) == {"cached"}
    assert "9 cached)" in plait("run", "data-science", "-w", str(iris)).stdout
    # The subflow's nodes ran with their own keys, so its flow run alone is cached too.
    engineering = plait("run", "data-engineering", "-w", str(iris), "--json")
    assert set(states(engineering).values()) == {"cached"}


def readme_example_commands() -> list[list[str]]:
    """The `plait run` lines of the README's "The examples" section, as argument lists."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The examples", 1)[1].split("\n#", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split()[1:] for line in block.splitlines() if line.startswith("plait run ")]


def test_the_readme_example_commands_work_in_either_order_on_a_fresh_copy(example):
    commands = readme_example_commands()
    assert {c[1] for c in commands} == {"data-engineering", "data-science"}
    for order in (commands, commands[::-1]):
        iris = example("iris", "forward" if order is commands else "backward")
        for command in order:
            args = [str(iris) if a == "resources/examples/iris" else a for a in command]
            done = plait(*args)
            assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}{done.stderr}"


def test_the_iris_flows_run_print_the_accuracy_cache_and_rerun_only_the_split_cone(example):
    iris = str(example("iris"))
    engineering = plait("run", "data-engineering", "-w", iris)
    assert engineering.returncode == 0, engineering.stdout + engineering.stderr
    assert (Path(iris) / "outputs" / "iris_encoded.csv").is_file()

    science = plait("run", "data-science", "-w", iris)
    assert science.returncode == 0, science.stdout + science.stderr
    assert "Accuracy │ Accuracy: " in science.stdout
    assert "9 cached)" not in science.stdout  # data-engineering's nodes were, the rest ran

    again = plait("run", "data-science", "-w", iris)
    assert "9 cached)" in again.stdout and "Accuracy" in again.stdout  # shown though cached

    changed = states(plait("run", "data-science", "-w", iris, "--param", "test_data_ratio=0.3", "--json"))
    rerun = {n for n, s in changed.items() if s == "completed"}
    assert rerun == {"test_data_ratio", "split_data", "train_model", "predict", "accuracy", "plot_loss"}
    assert {n for n, s in changed.items() if s == "cached"} == {
        "data_engineering",
        "num_train_iter",
        "learning_rate",
    }


def test_trending_saves_a_csv_and_resilience_fails_until_fixed(example):
    trending = example("trending")
    done = plait("run", "trending", "-w", str(trending), "--executor", "inline")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (trending / "outputs" / "trending.csv").read_text().splitlines()
    assert lines[0] == "full_name,owner,language,stars,forks" and len(lines) == 11

    resilience = str(example("resilience"))
    first = plait("run", "resilience", "-w", resilience)
    assert first.returncode == 1
    assert "attempt 1 failed (ConnectionError" in first.stdout
    assert "2 readings are missing (Oslo day 3, Oslo day 6)" in first.stdout
    fixed = states(plait("run", "resilience", "-w", resilience, "--param", "max_missing=2", "--json"))
    assert fixed["download"] == fixed["measure"] == "cached"
    assert fixed["check_quality"] == fixed["summarise"] == "completed"


def test_export_and_import_from_the_command_line(example, tmp_path):
    iris = str(example("iris"))
    document = tmp_path / "science.json"
    exported = plait("export", "data-science", "-w", iris, "-o", str(document))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(document.read_text())["format"] == "plait-flow"
    assert plait("export", "data-science", "-w", iris).stdout == document.read_text()

    svg = plait("export", "data-science", "-w", iris, "--to", "svg").stdout
    for title in (
        "data&#45;engineering",
        "Split data",
        "Train model",
        "Predict",
        "Accuracy",
        "test_data_ratio",
        "learning_rate",
        "num_train_iter",
        "Plot training loss",
    ):
        assert title in svg
    png = tmp_path / "science.png"
    assert plait("export", "data-science", "-w", iris, "-o", str(png)).returncode == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    script = plait("export", "data-science", "-w", iris, "--to", "py").stdout
    compile(script, "data_science.py", "exec")

    other = str(tmp_path / "other")
    refused = plait("import", str(document), "-w", other)  # iris.py is not there
    assert refused.returncode == 2 and "would not run, so nothing was imported" in refused.stderr
    assert "has type 'iris.py:" in refused.stderr and "which is not available" in refused.stderr
    imported = plait("import", str(document), "-w", other, "--force")
    assert imported.returncode == 0, imported.stderr
    assert "Imported 'data-science' as a new flow" in imported.stdout
    assert "warning: node" in imported.stderr and "which is not available" in imported.stderr
    again = plait("import", str(document), "-w", other, "--force")
    assert "is unchanged (version 1)" in again.stdout
    document.write_text('{"format": "plait-flow", "version": 99}')
    refused = plait("import", str(document), "-w", other)
    assert refused.returncode == 2 and "written by a newer Plait" in refused.stderr
    assert "Traceback" not in refused.stderr
