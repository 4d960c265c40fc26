"""Guards against a Qt binding that aborts the process under load.

PySide6 6.12.0 on CPython 3.11 dies with "Fatal Python error: none_dealloc"
after a few thousand calls of a method returning None. The calls run in a
child process so that such a crash fails this test instead of the suite.
"""

import subprocess
import sys
import textwrap

CALLS = 100_000

SCRIPT = textwrap.dedent(f"""
    from PySide6.QtWidgets import QApplication, QGraphicsRectItem
    app = QApplication([])
    item = QGraphicsRectItem(0, 0, 10, 10)
    for i in range({CALLS}):
        item.setPos(i % 100, i % 50)
    print("survived", item.pos().x())
""")


def test_a_hundred_thousand_void_qt_calls_do_not_abort_the_process():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "survived" in result.stdout
