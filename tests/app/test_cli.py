"""`plait` from a fresh shell: flows, run, runs, and clear refusals."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from plait.runtime.flow.model import Flow
from plait.runtime.workspace.store import Workspace

PLAIT = str(Path(sys.executable).with_name("plait"))
ROOT = Path(__file__).resolve().parents[2]

LIBRARY = textwrap.dedent("""
    import time


    def make(n: int = 3) -> list:
        \"\"\"A list of n numbers.\"\"\"
        print(f"making {n}")
        return list(range(n))


    def total(items: list, scale: float = 1.0) -> float:
        return sum(items) * scale


    def nap(x: float, seconds: float = 0.0) -> float:
        time.sleep(seconds)
        return x


    def hang(x: float = 0.0) -> float:
        \"\"\"Never returns; its thread pool's worker would be joined as the process exits.\"\"\"
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(time.sleep, 3600)
        return x
""")


def plait(*args, cwd=None, env=None, timeout=120):
    return subprocess.run(
        [PLAIT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or "/",
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "pipeline.py").write_text(LIBRARY)
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        f = Flow("numbers", catalog=catalog)
        n = f.add_parameter("n", "int", 3, "how many numbers")
        scale = f.add_parameter("scale", "float", 1.0)
        m = f.create_node(catalog.get("pipeline.py:make"))
        t = f.create_node(catalog.get("pipeline.py:total"))
        s = f.create_node(catalog.get("pipeline.py:nap"))
        f.connect(n.id, "value", m.id, "n")
        f.connect(m.id, "result", t.id, "items")
        f.connect(scale.id, "value", t.id, "scale")
        f.connect(t.id, "result", s.id, "x")
        pause = f.add_parameter("pause", "float", 0.0)
        f.connect(pause.id, "value", s.id, "seconds")
        ws.save_flow(f)
    return folder


def test_version_and_flows(folder):
    assert plait("--version").stdout.startswith("plait ")
    listed = plait("flows", "-w", str(folder))
    assert listed.returncode == 0
    assert "numbers" in listed.stdout and "1" in listed.stdout


def test_run_with_parameters_from_the_command_line_and_a_file(folder, tmp_path):
    first = plait("run", "numbers", "-w", str(folder), "--param", "n=4", "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["state"] == "completed" and doc["parameters"]["n"] == 4
    states = {n["title"]: n["state"] for n in doc["nodes"]}
    assert states == {
        "n": "completed",
        "scale": "completed",
        "pause": "completed",
        "Make": "completed",
        "Total": "completed",
        "Nap": "completed",
    }
    total = next(n for n in doc["nodes"] if n["title"] == "Total")
    assert total["outputs"]["result"]["preview"] == "6.0"
    assert set(total) >= {"id", "title", "state", "attempts", "duration"}

    params = tmp_path / "params.json"
    params.write_text(json.dumps({"n": 4, "scale": 2.5}))
    second = plait("run", "numbers", "-w", str(folder), "--params-file", str(params), "--json")
    doc = json.loads(second.stdout)
    states = {n["title"]: n["state"] for n in doc["nodes"]}
    assert states["Make"] == "cached" and states["Total"] == "completed"
    assert next(n for n in doc["nodes"] if n["title"] == "Total")["outputs"]["result"]["preview"] == "15.0"

    again = plait("run", "numbers", "-w", str(folder), "--params-file", str(params))
    assert again.returncode == 0
    assert "6 cached" in again.stdout and "completed in" in again.stdout


def test_run_refuses_an_unknown_flow_parameter_and_wrong_type(folder):
    unknown_flow = plait("run", "nope", "-w", str(folder))
    assert unknown_flow.returncode != 0
    assert "has no flow 'nope' (flows: numbers)" in unknown_flow.stderr
    unknown_param = plait("run", "numbers", "-w", str(folder), "--param", "count=3")
    assert unknown_param.returncode != 0
    assert "has no parameter 'count' (parameters: n, pause, scale)" in unknown_param.stderr
    wrong = plait("run", "numbers", "-w", str(folder), "--param", "n=three")
    assert wrong.returncode != 0
    assert "parameter 'n' expects int, got 'three'" in wrong.stderr
    assert "Traceback" not in unknown_flow.stderr + unknown_param.stderr + wrong.stderr
    bad_file = plait("run", "numbers", "-w", str(folder), "--params-file", "/nonexistent.json")
    assert bad_file.returncode != 0 and "cannot read parameters file" in bad_file.stderr


def test_a_failing_node_makes_the_exit_status_one(folder):
    (folder / "pipeline.py").write_text(
        LIBRARY.replace('print(f"making {n}")', 'raise RuntimeError("no numbers today")')
    )
    result = plait("run", "numbers", "-w", str(folder))
    assert result.returncode == 1
    assert "no numbers today" in result.stdout and "failed" in result.stdout


def test_runs_lists_past_runs(folder):
    plait("run", "numbers", "-w", str(folder))
    listed = plait("runs", "-w", str(folder))
    assert listed.returncode == 0
    assert "numbers" in listed.stdout and "completed" in listed.stdout


def test_a_killed_run_is_marked_crashed_and_the_next_run_reuses_what_finished(folder):
    proc = subprocess.Popen(
        [PLAIT, "run", "numbers", "-w", str(folder), "--param", "pause=60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    db = folder / "plait.sqlite"
    for _ in range(600):
        time.sleep(0.05)
        with sqlite3.connect(db) as conn:
            states = dict(conn.execute("select title, state from node_runs"))
        if states.get("Total") == "completed" and states.get("Nap") == "running":
            break
    else:
        proc.kill()
        raise AssertionError(f"the run never reached the long node: {states}")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with Workspace(folder) as ws:
        state, error = ws.conn.execute("select state, error from runs").fetchone()
        assert state == "crashed" and "ended without finishing" in error
        nodes = dict(ws.conn.execute("select title, state from node_runs"))
        assert nodes["Nap"] == "crashed" and nodes["Total"] == "completed"
    rerun = plait("run", "numbers", "-w", str(folder), "--json")
    doc = json.loads(rerun.stdout)
    states = {n["title"]: n["state"] for n in doc["nodes"]}
    assert states["Make"] == "cached" and states["Total"] == "cached"
    assert states["Nap"] == "completed"


def test_no_display_is_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([PLAIT, str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "no display available" in result.stderr


def test_serve_runs_a_scheduled_flow_and_stops_cleanly_on_sigterm(folder):
    from plait.runtime.schedules.schedule import add_schedule

    with Workspace(folder) as ws:
        # Every minute, created 59 s ago: the first slot comes a second after serve starts.
        add_schedule(ws, "numbers", "interval", "1m", parameters={"pause": 30}, now=time.time() - 59)
    proc = subprocess.Popen(
        [PLAIT, "serve", "-w", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    db = folder / "plait.sqlite"
    for _ in range(600):
        time.sleep(0.05)
        with sqlite3.connect(db) as conn:
            nap = conn.execute("select state from node_runs where title='Nap'").fetchone()
        if nap == ("running",):
            break
    else:
        proc.kill()
        raise AssertionError("the scheduled run never started: " + proc.stderr.read())
    # Serving schedules, with a run going in worker processes, opens no network port.
    import psutil

    served = psutil.Process(proc.pid)
    listening = []
    for process in [served, *served.children(recursive=True)]:
        try:
            listening += [c for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:  # a helper process that has just ended
            continue
    assert listening == []
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "started run" in err and "stopped" in err
    with Workspace(folder) as ws:
        run_id, state, ended = ws.conn.execute("select id, state, ended from runs").fetchone()
        assert state == "cancelled" and ended is not None
        states = dict(ws.conn.execute("select title, state from node_runs"))
        assert states["Nap"] == "cancelled" and states["Total"] == "completed"
        slot = ws.conn.execute("select state, run_id from schedule_slots").fetchone()
        assert slot == ("started", run_id)


def test_run_on_dask_serves_a_dashboard_only_when_asked_and_prints_its_local_address(folder):
    pytest.importorskip("distributed")
    plain = plait("run", "numbers", "-w", str(folder), "--executor", "dask", "--max-workers", "1")
    assert plain.returncode == 0, plain.stderr
    assert "dashboard" not in plain.stderr
    shown = plait(
        "run",
        "numbers",
        "-w",
        str(folder),
        "--executor",
        "dask",
        "--max-workers",
        "1",
        "--no-cache",
        "--dashboard",
    )
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"plait: Dask dashboard at http://127\.0\.0\.1:\d+/status", shown.stderr)
    wrong = plait("run", "numbers", "-w", str(folder), "--dashboard")
    assert wrong.returncode == 2
    assert "--dashboard is the Dask cluster's; add --executor dask" in wrong.stderr


def _hanging_flow(folder, timeout=None):
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        f = Flow("stuck", catalog=catalog)
        s = f.create_node(catalog.get("pipeline.py:hang"))
        if timeout:
            f.set_option(s.id, "timeout", timeout)
        ws.save_flow(f)


def _recorded(folder):
    with sqlite3.connect(folder / "plait.sqlite") as conn:
        run = conn.execute("select state, ended from runs").fetchone()
        node = conn.execute("select state, ended, error_message from node_runs").fetchone()
    return run, node


def test_an_inline_node_that_hangs_past_its_timeout_does_not_keep_plait_run_alive(folder):
    _hanging_flow(folder, timeout=1.0)
    done = plait("run", "stuck", "-w", str(folder), "--executor", "inline", timeout=90)
    assert done.returncode == 1, done.stderr
    assert "timed_out" in done.stdout and "was abandoned (an inline node cannot be killed)" in done.stdout
    assert "an inline node cannot be killed, only abandoned: Hang" in done.stderr
    (run_state, run_ended), (node_state, node_ended, error) = _recorded(folder)
    assert run_state == "failed" and run_ended is not None
    assert node_state == "timed_out" and node_ended is not None and "timeout of 1 s" in error


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_plait_run_answers_a_signal_with_an_inline_node_stuck(folder, sig):
    _hanging_flow(folder)
    proc = subprocess.Popen(
        [PLAIT, "run", "stuck", "-w", str(folder), "--executor", "inline"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):
        time.sleep(0.05)
        try:
            if _recorded(folder)[1][0] == "running":
                break
        except (sqlite3.OperationalError, TypeError):  # no tables, or no node run yet
            continue
    else:
        proc.kill()
        raise AssertionError("the node never started: " + proc.communicate()[1])
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("plait run did not exit after the signal: " + proc.communicate()[1]) from None
    assert proc.returncode == 1, err
    assert "cancelled" in out and "an inline node cannot be killed, only abandoned: Hang" in err
    (run_state, run_ended), (node_state, node_ended, _) = _recorded(folder)
    assert run_state == "cancelled" and run_ended is not None
    assert node_state == "cancelled" and node_ended is not None


def test_every_subcommand_has_its_own_usage_line_and_a_help_for_each_option():
    import argparse

    from plait.app.cli import build_parser

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from walk(child, [*path, name])
        yield path, parser

    seen = 0
    for path, parser in walk(build_parser(), []):
        if not path:
            continue
        seen += 1
        usage = parser.format_usage()
        assert usage.startswith(f"usage: plait {' '.join(path)} "), usage
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"plait {' '.join(path)}: {action.dest} has no help line"
    assert seen >= 10


def test_a_library_that_imports_a_sibling_with_importlib_loads_and_runs(tmp_path):
    # Code from elsewhere often finds its plugins by name: importlib.import_module("helpers").
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "helpers.py").write_text("X = 21\n")
    (folder / "dynamic.py").write_text(
        textwrap.dedent("""
            import importlib

            helpers = importlib.import_module("helpers")


            def twice() -> int:
                return helpers.X + importlib.import_module("helpers").X
        """)
    )
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        flow = Flow("dynamic", catalog=catalog)
        flow.create_node(catalog.get("dynamic.py:twice"))
        ws.save_flow(flow)
    done = plait("run", "dynamic", "-w", str(folder))  # from "/": the folder is on no path
    assert done.returncode == 0, done.stdout + done.stderr
    assert "→ 42" in done.stdout
    assert "changed while the run was going" not in done.stdout + done.stderr
