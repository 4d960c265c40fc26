"""Why a node runs, in a user's words: a library upgrade, an expired result, never cached."""

import importlib
import sys
import textwrap
import time

from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.explain import explain_flow
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow
from plait.runtime.keys import fingerprint
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.workspace.store import Workspace

LIBRARY = textwrap.dedent("""
    import fakelib
    from plait.runtime import node


    def uses_library(x: float = 1.0) -> float:
        return x + fakelib.VALUE


    @node(cache_expiration=0.05)
    def short_lived(x: float = 1.0) -> float:
        return x * 2


    @node(cache="never")
    def every_time(x: float = 1.0) -> float:
        return x * 3
""")


def install(site, version):
    for old in site.glob("fakelib-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"fakelib-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakelib\nVersion: {version}\n")
    (info / "top_level.txt").write_text("fakelib\n")
    (site / "fakelib").mkdir(exist_ok=True)
    (site / "fakelib" / "__init__.py").write_text(f"VALUE = {len(version)}\n")


def test_upgrade_expiry_and_never_are_named(tmp_path, loop):
    # Installed as packages are: in a site-packages folder (code elsewhere counts by source).
    site, folder = tmp_path / "lib" / "site-packages", tmp_path / "ws"
    site.mkdir(parents=True)
    folder.mkdir()
    install(site, "2.2.3")
    (folder / "lib.py").write_text(LIBRARY)
    sys.path.insert(0, str(site))
    fingerprint.refresh_distributions()
    try:
        catalog = Catalog(folder)
        catalog.load()
        with Workspace(folder) as ws:
            engine = Engine(ws, catalog, executor=InlineExecutor())
            flow = Flow("why", catalog=catalog)
            for name in ("uses_library", "short_lived", "every_time"):
                flow.create_node(catalog.get(f"lib.py:{name}"))
            assert loop.run_until_complete(engine.run(flow, None, RunOptions())).ok

            # An upgrade, seen by a new process: everything imports afresh.
            install(site, "3.1.1")
            importlib.reload(sys.modules["fakelib"])
            fingerprint.refresh_distributions()
            catalog.load()
            time.sleep(0.1)  # past the short-lived node's expiry
            found = {e.title: e for e in explain_flow(ws, flow, engine.cache)}
            assert found["Uses library"].state == "will run"
            assert found["Uses library"].reasons == ["fakelib 2.2.3 → 3.1.1"]
            assert found["Short lived"].state == "will run"
            assert len(found["Short lived"].reasons) == 1
            assert found["Short lived"].reasons[0].startswith("its cached result expired ")
            assert found["Short lived"].reasons[0].endswith(" ago")
            assert found["Every time"].reasons == ["never cached"]
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("fakelib", None)
        fingerprint.refresh_distributions()


def test_a_parameter_recorded_under_its_former_digest_is_said_to_be_keyed_anew():
    from types import SimpleNamespace

    from plait.runtime.engine.explain import _differences

    flow = SimpleNamespace(nodes={})
    shown = {"x": ["p", "1.0"]}

    def parts(digest):
        return {"parameters": shown, "inputs": {"x": ["parameter_1", "value", digest]}}

    # Keyed by the value's own digest then, by the digest its value is stored with now.
    was, now = parts("5d41402abc4b2a76b9719d911017c592"), parts("json:9113e79b")
    assert _differences(flow, was, now, True) == [
        "parameter p is keyed anew by this version of Plait: it runs this once"
    ]
    # The same as shown but another value (a long one is shown cut): it changed.
    assert _differences(flow, parts("json:0001"), now, True) == ["parameter p changed"]
    assert _differences(flow, now, now, True) == []
