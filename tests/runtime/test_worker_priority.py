"""Worker processes give way to the window: their nodes run at a lower CPU priority."""

import os

import pytest

from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.engine.worker import WORKER_NICENESS
from plait.runtime.flow.model import Flow

LIBRARY = '''
import os


def niceness() -> int:
    """How nice the process running this node is."""
    return os.nice(0)
'''


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no process niceness on this system")
def test_a_node_on_a_worker_runs_nicer_than_the_process_that_scheduled_it(loop, workspace):
    (workspace.folder / "nice.py").write_text(LIBRARY)
    library = workspace.catalog()
    flow = Flow("priority", catalog=library)
    node = flow.create_node(library.get("nice.py:niceness"))
    engine = Engine(workspace, library)
    try:
        result = loop.run_until_complete(
            engine.run(flow, options=RunOptions(executor="local", max_workers=1))
        )
    finally:
        loop.run_until_complete(engine.close())
    assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}
    ran_at = engine.cache.store.read(result.nodes[node.id].outputs["result"])
    assert ran_at == min(19, os.nice(0) + WORKER_NICENESS)
