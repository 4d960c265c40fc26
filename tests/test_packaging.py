"""What the package carries: one version, one import name, the resources the bundle needs."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

import plait
from plait.app.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_has_one_source(capsys):
    assert re.fullmatch(r"\d+\.\d+\.\d+(\S*)", plait.__version__)
    assert metadata.version("plait") == plait.__version__
    try:
        build_parser().parse_args(["--version"])
    except SystemExit:
        pass
    assert capsys.readouterr().out.strip() == f"plait {plait.__version__}"


def test_the_package_is_one_import_name():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {name.split(".")[0] for name in config["packages"]} == {"plait"}
    assert set(config["package-dir"]) <= set(config["packages"])


def test_every_folder_of_python_is_a_package_the_wheel_carries():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for name, folder in config["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base)
            if "__pycache__" in relative.parts or "examples" in relative.parts:
                continue
            found.add(".".join([name, *relative.parts]))
    assert found - set(config["packages"]) == set(), "add these to [tool.setuptools] packages"


def _spec_list(name: str) -> list[str]:
    """A list of strings assigned to `name` at the top of packaging/plait.spec."""
    import ast

    tree = ast.parse((ROOT / "packaging" / "plait.spec").read_text())
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in statement.targets
        ):
            return ast.literal_eval(statement.value)
    raise AssertionError(f"packaging/plait.spec assigns no {name}")


def test_the_bundle_spec_names_every_resource_folder_the_package_data_holds():
    resources = ROOT / "resources"
    held = {
        path.name
        for path in resources.iterdir()
        if path.is_dir()
        and path.name != "__pycache__"
        and any(p.is_file() and "__pycache__" not in p.parts for p in path.rglob("*"))
    }
    assert held, "resources/ holds no folders"
    assert set(_spec_list("RESOURCE_FOLDERS")) == held


def test_nothing_beside_the_bundle_spec_shadows_the_package():
    # PyInstaller puts the spec's folder first on sys.path: a packaging/plait/ there
    # would be the `plait` it bundles, without app, widgets or runtime.
    assert not (ROOT / "packaging" / "plait").exists()
    assert not (ROOT / "packaging" / "plait.py").exists()


def test_the_desktop_entry_and_its_icon_are_in_packaging():
    entry = (ROOT / "packaging" / "plait.desktop").read_text()
    assert "Icon=plait\n" in entry and "Exec=plait %f\n" in entry
    icon = ROOT / "packaging" / "plait.svg"
    assert icon.resolve() == (ROOT / "resources" / "icons" / "plait.svg").resolve()
