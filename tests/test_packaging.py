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
