"""A workspace stays sound when this process opens it again while another process writes to it."""

import subprocess
import sys

from plait.runtime.workspace.history import RunHistory
from plait.runtime.workspace.store import Workspace

# Another process (a `plait run`) writing many rows, in many transactions.
WRITER = """
import sys
from plait.runtime.workspace.store import Workspace

with Workspace(sys.argv[1]) as ws:
    for i in range(100):
        with ws.transaction():
            ws.conn.executemany(
                "insert into settings(key, value) values (?, ?)",
                [(f"{sys.argv[2]}-{i}-{j}", '"' + "x" * 200 + '"') for j in range(200)],
            )
"""


def test_opening_a_workspace_again_never_drops_the_locks_of_a_connection_still_open(tmp_path):
    folder = tmp_path / "ws"
    Workspace(folder).close()
    readers = []
    try:
        for round in range(3):
            # The window keeps connections of its own (past runs read in a thread) while it
            # opens the workspace again; a `plait run` in another process writes meanwhile.
            with Workspace(folder) as ws:
                ws.set_setting("round", round)
            subprocess.run([sys.executable, "-c", WRITER, str(folder), str(round)], check=True, timeout=120)
            opened = RunHistory.opened(folder / "plait.sqlite")
            history = opened.__enter__()
            readers.append(opened)
            (count,) = history.conn.execute(
                "select count(*) from settings where key like ?", (f"{round}-%",)
            ).fetchone()
            assert count == 100 * 200
    finally:
        for opened in readers:
            opened.__exit__(None, None, None)
    with Workspace(folder) as ws:
        assert ws.conn.execute("pragma integrity_check").fetchall() == [("ok",)]
