"""Relative paths in node code resolve against the workspace folder, whichever executor runs it."""

import os

import pytest

from plait.runtime.engine.executors import InlineExecutor, LocalExecutor
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow

K = "tests.runtime.nodes:"


def _touching(catalog, x=1.0):
    flow = Flow("touching", catalog=catalog)
    node = flow.create_node(catalog.get(K + "touch"))
    flow.set_value(node.id, "x", x)
    flow.set_value(node.id, "path", "written.txt")  # relative: the workspace's file
    return flow


def _run(loop, engine, flow, executor):
    result = loop.run_until_complete(engine.run(flow, options=RunOptions(executor=executor)))
    assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}


def test_a_worker_process_writes_a_relative_path_into_the_workspace(loop, workspace, catalog, local_executor):
    here = os.getcwd()
    _run(loop, Engine(workspace, catalog, executor=local_executor), _touching(catalog), "local")
    assert (workspace.folder / "written.txt").read_text() == "1.0\n"
    assert not os.path.exists(os.path.join(here, "written.txt"))


def test_a_fresh_worker_pool_starts_in_its_workspace(loop, workspace, catalog):
    executor = LocalExecutor(1, str(workspace.folder))
    try:
        _run(loop, Engine(workspace, catalog, executor=executor), _touching(catalog, 2.0), "local")
    finally:
        loop.run_until_complete(executor.close())
    assert (workspace.folder / "written.txt").read_text() == "2.0\n"


def test_the_inline_executor_runs_nodes_in_the_workspace_and_comes_back(loop, workspace, catalog):
    here = os.getcwd()
    _run(loop, Engine(workspace, catalog, executor=InlineExecutor()), _touching(catalog, 3.0), "inline")
    assert (workspace.folder / "written.txt").read_text() == "3.0\n"
    assert os.getcwd() == here  # this process's own folder is as it was


def test_dask_workers_resolve_relative_paths_in_the_workspace(loop, workspace, catalog):
    distributed = pytest.importorskip("distributed")
    from plait.runtime.engine.dask_executor import DaskExecutor

    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    executor = DaskExecutor(cluster.scheduler_address, workspace=str(workspace.folder))
    try:
        _run(loop, Engine(workspace, catalog, executor=executor), _touching(catalog, 4.0), "dask")
    finally:
        loop.run_until_complete(executor.close())
        cluster.close()
    assert (workspace.folder / "written.txt").read_text() == "4.0\n"
