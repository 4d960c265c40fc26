"""A workspace's database, data folder and results are readable by their owner only."""

import logging
import os
import stat

import pytest

from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.scheduler import Engine
from plait.runtime.flow.model import Flow
from plait.runtime.workspace.store import Workspace
from tests.runtime.running import run

K = "tests.runtime.nodes:"

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_workspace_and_a_run_in_it_make_only_private_files(tmp_path, catalog, loop, umask_022):
    with Workspace(tmp_path / "ws") as ws:
        engine = Engine(ws, catalog, executor=InlineExecutor())
        flow = Flow("private", catalog=catalog)
        big = flow.create_node(catalog.get(K + "big_array"))
        flow.set_value(big.id, "n", 100_000)  # large enough to be a file
        total = flow.create_node(catalog.get(K + "array_sum"))
        flow.connect(big.id, "result", total.id, "a")
        result, _ = run(loop, engine, flow)
        assert result.ok
        folder = ws.folder
        assert mode(folder / "plait.sqlite") == 0o600
        for suffix in ("-wal", "-shm"):  # there while the workspace is open
            assert mode(folder / f"plait.sqlite{suffix}") == 0o600
        assert mode(folder / ".plait") == 0o700
        blobs = [p for p in (folder / ".plait").rglob("*") if p.is_file()]
        assert blobs and all(mode(p) == 0o600 for p in blobs), [(p, oct(mode(p))) for p in blobs]
        folders = [p for p in (folder / ".plait").rglob("*") if p.is_dir()]
        assert folders and all(mode(p) == 0o700 for p in folders)
        loop.run_until_complete(engine.close())


def test_an_existing_workspace_open_to_others_is_made_private_when_opened(tmp_path, caplog, umask_022):
    with Workspace(tmp_path / "ws") as ws:
        folder = ws.folder
    (folder / ".plait" / "cache" / "ab").mkdir(parents=True)
    blob = folder / ".plait" / "cache" / "ab" / "old-result.json"
    blob.write_text("[1, 2]")
    for path, loose in [
        (folder / "plait.sqlite", 0o644),
        (folder / ".plait", 0o755),
        (folder / ".plait" / "cache", 0o755),
        (blob.parent, 0o755),
        (blob, 0o644),
    ]:
        os.chmod(path, loose)
    with caplog.at_level(logging.WARNING, logger="plait.runtime.workspace"):
        Workspace(folder).close()
    assert mode(folder / "plait.sqlite") == 0o600
    assert mode(folder / ".plait") == 0o700
    assert mode(blob.parent) == 0o700 and mode(blob) == 0o600
    (message,) = [r.getMessage() for r in caplog.records if "readable by you only" in r.getMessage()]
    assert str(folder) in message and "plait.sqlite" in message and ".plait" in message
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="plait.runtime.workspace"):
        Workspace(folder).close()  # nothing left to tighten: nothing said
    assert not [r for r in caplog.records if "readable by you only" in r.getMessage()]
