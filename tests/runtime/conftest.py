import asyncio

import pytest

from plait.runtime.engine.executors import InlineExecutor, LocalExecutor
from plait.runtime.engine.scheduler import Engine
from plait.runtime.nodes.introspect import spec_from_callable
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.workspace.store import Workspace
from tests.runtime import nodes as node_functions


@pytest.fixture(scope="session")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def local_executor(loop):
    """One pool of two worker processes shared by the engine tests, as the window shares it."""
    executor = LocalExecutor(2)
    loop.run_until_complete(executor.start())
    yield executor
    loop.run_until_complete(executor.close())


@pytest.fixture
def catalog():
    catalog = Catalog()
    for name in dir(node_functions):
        fn = getattr(node_functions, name)
        if callable(fn) and getattr(fn, "__module__", "") == node_functions.__name__:
            catalog.add(spec_from_callable(fn))
    return catalog


@pytest.fixture
def workspace(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        yield ws


@pytest.fixture
def engine(workspace, catalog, local_executor):
    return Engine(workspace, catalog, executor=local_executor)


@pytest.fixture
def inline_engine(workspace, catalog):
    return Engine(workspace, catalog, executor=InlineExecutor())


# The Dask tests' cluster: distributed is optional, so it is imported only when asked for.


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes for one test module.

    It runs on its own loop thread, like a real one elsewhere: the tests' loop
    only runs while a test does.
    """
    distributed = pytest.importorskip("distributed")
    from tests.runtime.dask_support import warm_up

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    with distributed.Client(cluster) as client:
        client.run(warm_up)
    yield cluster
    cluster.close()


@pytest.fixture
def dask_engine(loop, cluster, workspace, catalog):
    from plait.runtime.engine.dask_executor import DaskExecutor

    executor = DaskExecutor(cluster.scheduler_address, workspace=str(workspace.folder))
    yield Engine(workspace, catalog, executor=executor)
    loop.run_until_complete(executor.close())


@pytest.fixture
def recorder(cluster):
    """What the cluster's scheduler is given during a test (`TaskRecorder`)."""
    from tests.runtime.dask_support import TaskRecorder

    plugin = TaskRecorder(cluster.scheduler)
    cluster.scheduler.add_plugin(plugin, name="plait-test-recorder")
    yield plugin
    cluster.scheduler.remove_plugin(name="plait-test-recorder")
