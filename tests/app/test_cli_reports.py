"""The command line tells everything: logs, errors in --json, checked imports, syntax error lines."""

import json
import sqlite3
import subprocess
import textwrap
import time

import pytest

from plait.runtime.flow.model import Flow
from plait.runtime.workspace.documents import export_flow
from plait.runtime.workspace.store import Workspace
from tests.app.test_cli import PLAIT, plait

LIBRARY = textwrap.dedent("""
    import time


    def make(n: int = 3) -> list:
        print(f"making {n}")
        return list(range(n))


    def wait(items: list, seconds: float = 0.0) -> int:
        for tick in range(3):
            print(f"tick {tick}", flush=True)
            time.sleep(seconds)
        print("done waiting")
        return len(items)


    def show(options: dict) -> dict:
        return options


    def boom(x: int) -> int:
        print("about to fail")
        raise ValueError(f"no good: {x}")
""")


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "steps.py").write_text(LIBRARY)
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        f = Flow("ticks", catalog=catalog)
        seconds = f.add_parameter("seconds", "float", 0.0)
        m = f.create_node(catalog.get("steps.py:make"))
        w = f.create_node(catalog.get("steps.py:wait"))
        f.connect(m.id, "result", w.id, "items")
        f.connect(seconds.id, "value", w.id, "seconds")
        ws.save_flow(f)
        g = Flow("failing", catalog=catalog)
        b = g.create_node(catalog.get("steps.py:boom"))
        g.set_value(b.id, "x", 7)
        ws.save_flow(g)
        h = Flow("options", catalog=catalog)
        options = h.add_parameter("options", "dict", {"test_size": 0.2, "kernel": "rbf"})
        s = h.create_node(catalog.get("steps.py:show"))
        h.connect(options.id, "value", s.id, "options")
        ws.save_flow(h)
    return folder


def test_logs_prints_the_last_runs_lines_of_a_flow_or_one_node(folder):
    assert plait("run", "ticks", "-w", str(folder)).returncode == 0
    every = plait("logs", "ticks", "-w", str(folder))
    assert every.returncode == 0, every.stderr
    lines = every.stdout.splitlines()
    assert [line.split("│ ", 1)[1] for line in lines] == [
        "making 3",
        "tick 0",
        "tick 1",
        "tick 2",
        "done waiting",
    ]
    assert "Make" in lines[0] and "Wait" in lines[1]
    one = plait("logs", "ticks", "make", "-w", str(folder))
    assert one.stdout.count("\n") == 1 and "making 3" in one.stdout


def test_logs_takes_a_run_id_or_its_start_and_names_what_is_missing(folder):
    plait("run", "ticks", "-w", str(folder))
    with sqlite3.connect(folder / "plait.sqlite") as conn:
        (run_id,) = conn.execute("select id from runs").fetchone()
    by_id = plait("logs", run_id[:8], "Wait", "-w", str(folder))
    assert by_id.returncode == 0 and "done waiting" in by_id.stdout and "making" not in by_id.stdout
    no_node = plait("logs", run_id, "Nothing", "-w", str(folder))
    assert no_node.returncode == 2
    assert "has no node 'Nothing' (its nodes: Make, Wait, seconds)" in no_node.stderr
    nothing = plait("logs", "zzz", "-w", str(folder))
    assert nothing.returncode == 2 and "no run or flow 'zzz'" in nothing.stderr
    assert "or a flow: failing, options, ticks" in nothing.stderr
    never = plait("logs", "failing", "-w", str(folder))
    assert never.returncode == 2 and "flow 'failing' has not run yet" in never.stderr


def test_logs_end_with_a_failed_nodes_traceback(folder):
    assert plait("run", "failing", "-w", str(folder)).returncode == 1
    shown = plait("logs", "failing", "-w", str(folder))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].endswith("Boom │ about to fail")
    assert all("Boom │ ERROR: " in line for line in lines[1:])
    assert 'raise ValueError(f"no good: {x}")' in shown.stdout
    assert lines[-1].endswith("ERROR: ValueError: no good: 7")
    assert "worker.py" not in shown.stdout


def test_logs_follow_prints_new_lines_until_the_run_ends(folder):
    run = subprocess.Popen(
        [PLAIT, "run", "ticks", "-w", str(folder), "--param", "seconds=1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            time.sleep(0.05)
            with sqlite3.connect(folder / "plait.sqlite") as conn:
                found = conn.execute("select state from runs").fetchall()
            if found:
                break
        assert found and found[0][0] == "running"
        followed = plait("logs", "ticks", "--follow", "-w", str(folder))
    finally:
        run.wait(timeout=120)
    assert followed.returncode == 0, followed.stderr
    assert "done waiting" in followed.stdout and "tick 2" in followed.stdout
    assert "completed" in followed.stderr


def test_run_json_gives_each_nodes_error_and_log_line_count(folder):
    result = plait("run", "failing", "-w", str(folder), "--json")
    assert result.returncode == 1
    (node,) = json.loads(result.stdout)["nodes"]
    assert node["state"] == "failed"
    assert node["error"] == "no good: 7" and node["error_type"] == "ValueError"
    assert 'raise ValueError(f"no good: {x}")' in node["traceback"]
    assert "worker.py" not in node["traceback"]  # from where the node's own code begins
    assert node["log_lines"] == 1
    done = json.loads(plait("run", "ticks", "-w", str(folder), "--json").stdout)
    counts = {n["title"]: n["log_lines"] for n in done["nodes"]}
    assert counts == {"seconds": 0, "Make": 1, "Wait": 4}
    assert all("error_type" not in n for n in done["nodes"])


def _document(folder, name="ticks") -> dict:
    with Workspace(folder) as ws:
        return json.loads(export_flow(ws.load_flow(name)))


def _versions(folder) -> list:
    with sqlite3.connect(folder / "plait.sqlite") as conn:
        return conn.execute("select flow_id, version from flow_versions order by 1, 2").fetchall()


def test_import_refuses_a_flow_that_would_not_run_and_changes_nothing(folder, tmp_path):
    doc = _document(folder)
    make = next(n for n in doc["nodes"] if n["type"] == "steps.py:make")
    wait = next(n for n in doc["nodes"] if n["type"] == "steps.py:wait")
    doc["edges"] += [
        f"{wait['id']}.result -> {make['id']}.n",  # a cycle
        f"{make['id']}.result -> {wait['id']}.nothing",  # an unknown port
    ]
    doc["nodes"].append({"id": "gone", "type": "steps.py:vanished", "title": "Gone"})
    doc["name"] = "broken ticks"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    before = _versions(folder)
    refused = plait("import", str(path), "-w", str(folder))
    assert refused.returncode == 2
    assert "would not run, so nothing was imported" in refused.stderr
    assert "form a cycle" in refused.stderr
    assert "input 'nothing' of 'Wait', which it no longer has" in refused.stderr
    assert "node 'Gone' has type 'steps.py:vanished', which is not available" in refused.stderr
    assert _versions(folder) == before
    assert "broken ticks" not in plait("flows", "-w", str(folder)).stdout

    fine = tmp_path / "fine.json"
    fine.write_text(json.dumps({**_document(folder), "name": "ticks copy", "id": "copy"}))
    accepted = plait("import", str(fine), "-w", str(folder))
    assert accepted.returncode == 0, accepted.stderr
    assert "Imported 'ticks copy' as a new flow" in accepted.stdout


def test_a_library_with_a_syntax_error_names_its_file_line_and_column(folder):
    (folder / "broken.py").write_text("def fine():\n    return 1\n\ndef bad(:\n    pass\n")
    result = plait("run", "ticks", "-w", str(folder))
    assert result.returncode == 0  # the other libraries still run
    assert (
        f"library broken.py failed to load: SyntaxError: invalid syntax ({folder / 'broken.py'}, "
        "line 4, column 9)" in result.stderr
    )


def test_a_dict_parameter_takes_one_key_at_a_time(folder):
    result = plait("run", "options", "-w", str(folder), "--param", "options.test_size=0.3", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["parameters"]["options"] == {"test_size": 0.3, "kernel": "rbf"}
    shown = next(n for n in doc["nodes"] if n["title"] == "Show")
    assert "0.3" in shown["outputs"]["result"]["preview"]
