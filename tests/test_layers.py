"""The layers stay honest: app -> widgets -> runtime, and runtime never imports Qt."""

import os
import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _run(config: Path, cwd: Path, pythonpath: str | None = None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [str(LINT), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_contracts_hold(tmp_path):
    # import-linter takes a root package for a top-level one or one whose parent is
    # a namespace package; `plait` is a regular package (it holds __version__) whose
    # layers live in folders of their own. So the contracts read the layers through
    # a namespace `plait` of links to those same folders.
    view = tmp_path / "view" / "plait"
    view.mkdir(parents=True)
    for layer in ("runtime", "widgets", "app"):
        (view / layer).symlink_to(ROOT / layer, target_is_directory=True)
    result = _run(ROOT / "pyproject.toml", tmp_path, str(tmp_path / "view"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken" in result.stdout


ROOMS = ("schedules", "export", "code", "engine", "results", "workspace", "flow", "nodes", "keys")


def _fake_layout(tmp_path, imports: dict[str, str]):
    """The same contracts over a copy of the layout, whose modules import what is given."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text[text.index("[tool.importlinter]") : text.index("[tool.ruff]")]
    (tmp_path / "contracts.toml").write_text(re.sub(r'"plait(\.|")', r'"fakeplait\1', section))
    pkg = tmp_path / "src" / "fakeplait"
    for layer in ("runtime", "widgets", "app", *(f"runtime/{room}" for room in ROOMS)):
        (pkg / layer).mkdir(parents=True, exist_ok=True)
        (pkg / layer / "__init__.py").write_text(imports.get(layer, ""))
    # Like plait, fakeplait is a namespace package: no __init__.py of its own.
    return _run(tmp_path / "contracts.toml", tmp_path, str(tmp_path / "src"))


def test_the_contract_breaks_when_the_runtime_imports_qt(tmp_path):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    result = _fake_layout(tmp_path, {"runtime/engine": "from PySide6 import QtCore\n"})
    assert "plait.runtime" in config["root_packages"]
    assert result.returncode != 0
    assert "fakeplait.runtime.engine -> PySide6" in result.stdout


def test_the_rooms_contract_breaks_when_a_lower_room_imports_a_higher_one(tmp_path):
    result = _fake_layout(tmp_path, {"runtime/nodes": "import fakeplait.runtime.engine\n"})
    assert result.returncode != 0
    assert "fakeplait.runtime.nodes -> fakeplait.runtime.engine" in result.stdout
    assert "2 kept, 1 broken" in result.stdout
