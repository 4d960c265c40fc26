"""The palette says why a library did not load (file, line, column) and which members are not nodes."""

import sys
import textwrap

import pytest
from PySide6.QtCore import Qt

from plait.runtime.nodes.libraries import Catalog
from plait.widgets.palette import ERROR_ROLE, PROBLEMS_ROLE, Palette

MIXED = """
    def fine(x: float) -> float:
        return x


    class Unreadable:
        @property
        def __signature__(self):
            raise RuntimeError("no signature here")

        def __call__(self, x):
            return x


    unreadable = Unreadable()
"""


@pytest.fixture(autouse=True)
def _restore_modules():
    modules = set(sys.modules)
    yield
    for name in set(sys.modules) - modules:
        if hasattr(sys.modules[name], "__plait_signature__"):
            del sys.modules[name]


def _item(palette, text):
    found = palette.tree.findItems(text, Qt.MatchStartsWith | Qt.MatchRecursive)
    assert found, f"no palette entry starting {text!r}"
    return found[0]


def test_the_palette_lists_a_librarys_non_nodes_and_a_syntax_errors_line(qtbot, tmp_path):
    (tmp_path / "mixed.py").write_text(textwrap.dedent(MIXED))
    (tmp_path / "broken.py").write_text("def fine():\n    return 1\n\ndef bad(:\n    pass\n")
    catalog = Catalog(tmp_path)
    catalog.load()
    palette = Palette()
    qtbot.addWidget(palette)
    palette.resize(360, 420)
    palette.set_catalog(catalog)
    palette.show()

    broken = _item(palette, "⚠ broken.py")
    assert f"({tmp_path / 'broken.py'}, line 4, column 9)" in broken.data(0, ERROR_ROLE)

    problems = _item(palette, "⚠ 1 member is not a node")
    assert problems.parent().text(0) == "mixed.py"
    assert problems.data(0, PROBLEMS_ROLE).startswith("unreadable: Cannot read the inputs")
    rect = palette.tree.visualItemRect(problems)
    qtbot.mouseClick(palette.tree.viewport(), Qt.LeftButton, pos=rect.center())
    assert palette.error.isVisible()
    assert palette.error.toPlainText().startswith("unreadable: Cannot read the inputs")
    assert "Why these members of mixed.py are not nodes" in palette.error_title.full_text
