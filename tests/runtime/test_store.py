import sqlite3
import subprocess
import sys
import textwrap

import pytest
import sqlite_utils

from plait.runtime.flow.model import Flow
from plait.runtime.workspace.migrations import MIGRATIONS, SCHEMA_VERSION
from plait.runtime.workspace.store import FlowNotFound, Workspace, WorkspaceError, default_workspace_path
from tests.runtime.specs import catalog


def big_flow(n=50) -> Flow:
    """A chain of scale nodes fed by parameters, with constants on the way."""
    f = Flow("big", catalog=catalog(), description="fifty nodes")
    factor = f.add_parameter("factor", "float", 1.5, "multiplier", position=(0, 0))
    start = f.add_parameter("start", "float", 2.0, position=(0, 100))
    prev = start
    for i in range(n - 2):
        s = f.create_node(f.catalog["t:scale"], position=(i * 180.25, (i % 7) * 90.5))
        f.connect(prev.id, "value" if prev.is_parameter else "result", s.id, "x")
        if i % 3 == 0:
            f.connect(factor.id, "value", s.id, "factor")
        else:
            f.set_value(s.id, "factor", i / 10)
        if i % 5 == 0:
            f.set_option(s.id, "retries", 2)
        prev = s
    f.set_flow_field("extras", {"frames": [{"title": "all", "nodes": list(f.nodes)[:3]}]})
    return f


@pytest.fixture
def ws(tmp_path):
    with Workspace(tmp_path / "ws") as w:
        yield w


def test_a_new_workspace_has_its_database_and_data_folder(tmp_path):
    with Workspace(tmp_path / "new") as w:
        assert (w.folder / "plait.sqlite").is_file() and (w.folder / ".plait").is_dir()
        assert w.schema_version == SCHEMA_VERSION
        assert w.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert w.conn.execute("pragma foreign_keys").fetchone()[0] == 1
        assert w.conn.execute("pragma busy_timeout").fetchone()[0] > 0
        assert {"runs", "node_runs", "logs", "cache_entries"} <= set(w.db.table_names())


def test_a_50_node_flow_round_trips_equal(ws):
    flow = big_flow()
    assert len(flow.nodes) == 50 and len(flow.parameters()) == 2
    assert ws.save_flow(flow) == 1
    loaded = ws.load_flow("big", catalog=catalog())
    assert loaded.content() == flow.content()
    assert (loaded.id, loaded.name, loaded.version) == (flow.id, "big", 1)
    assert loaded.validate() == []
    assert loaded.parameters() == flow.parameters()


def test_saving_an_unchanged_flow_writes_nothing(ws):
    flow = big_flow(5)
    ws.save_flow(flow)
    changes = ws.conn.total_changes
    assert ws.save_flow(flow) == 1
    assert ws.save_flow(ws.load_flow("big", catalog=catalog())) == 1
    assert ws.conn.total_changes == changes
    assert [v.version for v in ws.versions("big")] == [1]


def test_each_changed_save_is_a_new_immutable_version(ws):
    flow = big_flow(5)
    ws.save_flow(flow)
    node = next(n for n in flow.nodes.values() if not n.is_parameter)
    flow.set_value(node.id, "factor", 9.0)
    assert ws.save_flow(flow) == 2
    flow.move(node.id, 1, 1)
    assert ws.save_flow(flow) == 3
    v1 = ws.load_flow("big", version=1, catalog=catalog())
    assert v1.nodes[node.id].values.get("factor") != 9.0
    assert ws.load_flow("big").nodes[node.id].position == (1.0, 1.0)
    versions = ws.versions("big")
    assert [(v.version, v.nodes) for v in versions] == [(1, 5), (2, 5), (3, 5)]
    with pytest.raises(FlowNotFound, match="no version 7"):
        ws.load_flow("big", version=7)


def test_flows_are_listed_renamed_duplicated_and_deleted(ws):
    ws.save_flow(big_flow(3))
    other = Flow("alpha")
    ws.save_flow(other)
    assert [f.name for f in ws.flows()] == ["alpha", "big"]
    ws.rename_flow("big", "beta")
    assert ws.load_flow("beta").name == "beta"
    with pytest.raises(WorkspaceError, match="already has a flow named 'alpha'"):
        ws.rename_flow("beta", "alpha")
    copy = ws.duplicate_flow("beta")
    assert copy.name == "beta copy" and copy.id != ws.flow_info("beta").id
    assert ws.load_flow("beta copy").content() == ws.load_flow("beta").content()
    ws.delete_flow("beta")
    assert [f.name for f in ws.flows()] == ["alpha", "beta copy"]
    with pytest.raises(FlowNotFound, match="no flow 'beta'.*alpha"):
        ws.load_flow("beta")


def test_saving_a_second_flow_under_a_taken_name_is_refused(ws):
    ws.save_flow(Flow("same"))
    with pytest.raises(WorkspaceError, match="another flow named 'same'"):
        ws.save_flow(Flow("same"))


def test_a_1000_node_flow_loads_in_bulk(ws):
    f = Flow("large", catalog=catalog())
    nodes = [f.create_node(f.catalog["t:add"], (i, i)) for i in range(1000)]
    for i in range(1, 1000):
        f.connect(nodes[(i - 1) // 2].id, "result", nodes[i].id, "a")
    for i in range(501, 1000):
        f.connect(nodes[i - 501].id, "result", nodes[i].id, "b")
    assert len(f.edges) == 1498
    ws.save_flow(f)
    loaded = ws.load_flow("large", catalog=catalog())
    assert loaded.content() == f.content()


def test_the_first_schema_is_migrated_with_its_flows_kept(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    db = sqlite_utils.Database(folder / "plait.sqlite")
    with db.conn:
        MIGRATIONS[1](db)
        db["meta"].insert({"key": "schema_version", "value": "1"}, replace=True)
        db["flows"].insert(
            {
                "id": "f1",
                "name": "legacy",
                "description": "",
                "latest_version": 1,
                "created": 0.0,
                "updated": 0.0,
            }
        )
        db["flow_versions"].insert(
            {"flow_id": "f1", "version": 1, "saved": 0.0, "description": "", "digest": "x", "extras": "{}"}
        )
        db["nodes"].insert(
            {
                "flow_id": "f1",
                "version": 1,
                "id": "p",
                "spec_key": "plait:parameter",
                "title": "n",
                "x": 0.0,
                "y": 0.0,
                "options": "{}",
                "constants": '{"name": "n", "type": "int", "default": 3}',
            }
        )
    db.conn.close()
    with Workspace(folder) as w:
        assert w.schema_version == SCHEMA_VERSION
        assert "runs" in w.db.table_names()
        assert w.load_flow("legacy").parameters()[0].default == 3


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_database_from_a_newer_plait_is_refused_and_left_untouched(tmp_path):
    folder = tmp_path / "future"
    with Workspace(folder) as w:
        w.save_flow(Flow("kept"))
        w.conn.execute("update meta set value='99' where key='schema_version'")
        w.conn.execute("pragma wal_checkpoint(truncate)")
    before = _snapshot(folder)
    with pytest.raises(WorkspaceError, match="newer Plait.*schema 99"):
        Workspace(folder)
    assert _snapshot(folder) == before


def test_a_file_that_is_not_a_database_is_refused_and_left_untouched(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "plait.sqlite").write_bytes(b"name,age\nada,36\n" * 100)
    before = _snapshot(folder)
    with pytest.raises(WorkspaceError, match="not a Plait workspace database"):
        Workspace(folder)
    assert _snapshot(folder) == before


def test_another_programs_sqlite_database_is_refused_and_left_untouched(tmp_path):
    folder = tmp_path / "foreign"
    folder.mkdir()
    conn = sqlite3.connect(folder / "plait.sqlite")
    conn.execute("create table customers(id, name)")
    conn.commit()
    conn.close()
    before = _snapshot(folder)
    with pytest.raises(WorkspaceError, match="not a Plait workspace"):
        Workspace(folder)
    assert _snapshot(folder) == before


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace(tmp_path / "f")


def test_settings_are_kept_in_the_workspace(ws):
    assert ws.get_setting("libraries", []) == []
    ws.set_setting("libraries", ["json"])
    assert ws.get_setting("libraries") == ["json"]


def test_the_default_workspace_is_created_on_first_use_with_the_examples(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAIT_WORKSPACE", str(tmp_path / "home" / "ws"))
    assert default_workspace_path() == tmp_path / "home" / "ws"
    with Workspace.default() as w:
        assert (tmp_path / "home" / "ws" / "plait.sqlite").is_file()
        assert {"data-engineering", "data-science"} <= {f.name for f in w.flows()}
        assert (w.folder / "iris.csv").is_file()


def test_the_default_workspace_lives_in_the_user_data_folder(monkeypatch):
    monkeypatch.delenv("PLAIT_WORKSPACE", raising=False)
    import platformdirs

    assert default_workspace_path().parent == platformdirs.user_data_path("plait", appauthor=False)


WRITER = textwrap.dedent("""
    import sys
    from plait.runtime.flow.model import Flow
    from plait.runtime.workspace.store import Workspace
    folder, who, shared_id = sys.argv[1], sys.argv[2], sys.argv[3]
    ws = Workspace(folder)
    own = Flow("flow-" + who)
    shared = Flow("shared", id=shared_id)
    for i in range(40):
        own.add_parameter(f"p{i}", "int", i)
        ws.save_flow(own)
        shared.set_flow_field("description", f"{who} {i}")
        ws.save_flow(shared)
    ws.close()
""")


def test_two_processes_save_to_one_workspace_at_once_with_nothing_lost(tmp_path):
    folder = tmp_path / "shared"
    Workspace(folder).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), who, "s1"]) for who in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with Workspace(folder) as w:
        for who in ("a", "b"):
            versions = w.versions(f"flow-{who}")
            assert [v.version for v in versions] == list(range(1, 41))
            assert len(w.load_flow(f"flow-{who}").parameters()) == 40
        shared = [v.version for v in w.versions("shared")]
        # Every save changed the description, so every one is a version of its own.
        assert shared == list(range(1, 81))
        descriptions = {
            r[0] for r in w.conn.execute("select description from flow_versions where flow_id='s1'")
        }
        assert descriptions == {f"{who} {i}" for who in "ab" for i in range(40)}


def test_the_history_finds_runs_by_id_prefix_and_reads_their_log_lines(ws):
    history = ws.history
    with ws.transaction():
        history.record(
            [
                ("abc123", "f", "flow", 1, "completed", "{}", 1.0, "inline", None, None, 1, "here"),
                ("abd456", "f", "flow", 1, "completed", "{}", 2.0, "inline", None, None, 1, "here"),
            ],
            [],
            [
                ("abc123", "a", 1.5, "INFO", "stdout", "first"),
                ("abc123", "b", 1.2, "ERROR", "stderr", "second"),
                ("abd456", "a", 2.5, "INFO", "stdout", "elsewhere"),
            ],
        )
    assert history.run_ids("ab") == ["abd456", "abc123"]
    assert history.run_ids("abc") == ["abc123"]
    assert history.run_ids("x") == []
    # In the order they were written, whatever their times say.
    assert history.log_lines("abc123") == [
        (1.5, "a", "INFO", "stdout", "first"),
        (1.2, "b", "ERROR", "stderr", "second"),
    ]
    assert history.log_lines("abc123", node_id="b") == [(1.2, "b", "ERROR", "stderr", "second")]
    assert history.log_lines("abc123", limit=1) == [(1.5, "a", "INFO", "stdout", "first")]
