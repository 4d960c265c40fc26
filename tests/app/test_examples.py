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
    done = subprocess.run([PLAIT, *args], capture_output=True, text=True, timeout=timeout, cwd="/",
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return done


def states(done) -> dict[str, str]:
    assert done.returncode in (0, 1), done.stderr
    return {n["id"]: n["state"] for n in json.loads(done.stdout)["nodes"]}


@pytest.fixture
def example(tmp_path):
    def copy(name):
        folder = tmp_path / name
        shutil.copytree(examples_folder() / name, folder)
        return folder
    return copy


def test_the_iris_flows_run_print_the_accuracy_cache_and_rerun_only_the_split_cone(example):
    iris = str(example("iris"))
    engineering = plait("run", "data-engineering", "-w", iris)
    assert engineering.returncode == 0, engineering.stdout + engineering.stderr
    assert (Path(iris) / "outputs" / "iris_encoded.csv").is_file()

    science = plait("run", "data-science", "-w", iris)
    assert science.returncode == 0, science.stdout + science.stderr
    assert "Accuracy │ Accuracy: " in science.stdout
    assert "test flowers" in science.stdout

    assert set(states(plait("run", "data-engineering", "-w", iris, "--json")).values()) == {"cached"}
    again = plait("run", "data-science", "-w", iris)
    assert "9 cached)" in again.stdout and "Accuracy" in again.stdout  # shown though cached

    changed = states(plait("run", "data-science", "-w", iris, "--param", "test_data_ratio=0.3",
                           "--json"))
    rerun = {n for n, s in changed.items() if s == "completed"}
    assert rerun == {"test_data_ratio", "split_data", "train_model", "predict", "accuracy",
                     "plot_loss"}
    assert {n for n, s in changed.items() if s == "cached"} == {
        "read_encoded", "num_train_iter", "learning_rate"}


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
    fixed = states(plait("run", "resilience", "-w", resilience, "--param", "max_missing=2",
                         "--json"))
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
    for title in ("Read encoded table", "Split data", "Train model", "Predict", "Accuracy",
                  "test_data_ratio", "learning_rate", "num_train_iter", "Plot training loss"):
        assert title in svg
    png = tmp_path / "science.png"
    assert plait("export", "data-science", "-w", iris, "-o", str(png)).returncode == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    script = plait("export", "data-science", "-w", iris, "--to", "py").stdout
    compile(script, "data_science.py", "exec")

    other = str(tmp_path / "other")
    imported = plait("import", str(document), "-w", other)
    assert imported.returncode == 0, imported.stderr
    assert "Imported 'data-science' as a new flow" in imported.stdout
    assert "which this workspace does not offer" in imported.stderr  # iris.py is not there
    again = plait("import", str(document), "-w", other)
    assert "is unchanged (version 1)" in again.stdout
    document.write_text('{"format": "plait-flow", "version": 99}')
    refused = plait("import", str(document), "-w", other)
    assert refused.returncode == 2 and "written by a newer Plait" in refused.stderr
    assert "Traceback" not in refused.stderr
