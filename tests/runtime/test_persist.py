import json
import re
from pathlib import Path

import pytest

from plait.runtime.engine import events as ev
from plait.runtime.engine.scheduler import RunOptions
from plait.runtime.flow.model import Flow
from plait.runtime.results.persist import SavePathError, load, render_path, save

K = "tests.runtime.nodes:"


def run(loop, engine, flow, params=None, **options):
    return loop.run_until_complete(engine.run(flow, params, RunOptions(**options)))


def test_a_template_renders_flow_node_date_and_parameters(tmp_path):
    path = render_path(
        "out/{flow}/{node}-{n}-{date:%Y}.json",
        {"flow": "my flow", "node": "Load/data", "n": 3},
        "Load",
        tmp_path,
    )
    assert path.parent == tmp_path / "out" / "my flow"
    assert path.name.startswith("Load_data-3-20") and path.suffix == ".json"
    with pytest.raises(SavePathError, match=r"uses \{colour\}.*known: .*flow"):
        render_path("{colour}.json", {"flow": "f"}, "Load", tmp_path)
    with pytest.raises(SavePathError, match="needs an extension"):
        render_path("out/{flow}", {"flow": "f"}, "Load", tmp_path)


@pytest.mark.parametrize("name", ["v.json", "v.pkl", "v.txt"])
def test_values_round_trip_through_files(tmp_path, name):
    value = "hello" if name.endswith(".txt") else {"a": [1, 2]}
    save(value, tmp_path / name)
    assert load(tmp_path / name) == value


@pytest.mark.parametrize("name", ["t.csv", "t.parquet", "t.json", "t.pkl"])
def test_tables_round_trip_by_extension(tmp_path, name):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    save(frame, tmp_path / name)
    assert load(tmp_path / name).equals(frame)


def test_a_saved_output_is_written_where_the_template_says(loop, engine, catalog, workspace):
    flow = Flow("persist", catalog=catalog)
    x = flow.add_parameter("x", "float", 2.0)
    a = flow.create_node(catalog.get(K + "add"))
    flow.connect(x.id, "value", a.id, "a")
    flow.set_option(a.id, "save_to", "outputs/{flow}/{node}-{x}.json")
    result = run(loop, engine, flow, {"x": 4})
    assert result.ok
    saved = workspace.folder / "outputs" / "persist" / "Add-4.0.json"
    assert json.loads(saved.read_text()) == 4.0


def test_checkpoint_mode_reads_an_existing_file_instead_of_running(loop, engine, catalog, tmp_path):
    calls = tmp_path / "calls.txt"
    flow = Flow("checkpoint", catalog=catalog)
    t = flow.create_node(catalog.get(K + "touch"))
    flow.set_value(t.id, "x", 1.5)
    flow.set_value(t.id, "path", str(calls))
    flow.set_option(t.id, "save_to", str(tmp_path / "cp" / "{node}.json"))
    flow.set_option(t.id, "save_mode", "checkpoint")
    after = flow.create_node(catalog.get(K + "add"))
    flow.connect(t.id, "result", after.id, "a")
    first = run(loop, engine, flow)
    assert first.nodes[t.id].state == ev.COMPLETED
    second = run(loop, engine, flow, use_cache=False)
    assert second.nodes[t.id].state == ev.CHECKPOINT
    assert second.nodes[after.id].state == ev.COMPLETED
    assert calls.read_text().split() == ["1.5"]  # the function ran once
    assert engine.cache.store.read(second.nodes[after.id].outputs["result"]) == 1.5


def test_a_bad_template_fails_the_node_with_a_clear_message(loop, engine, catalog):
    flow = Flow("bad", catalog=catalog)
    a = flow.create_node(catalog.get(K + "add"))
    flow.set_value(a.id, "a", 1.0)
    flow.set_option(a.id, "save_to", "out/{nothing}.json")
    result = run(loop, engine, flow)
    assert result.nodes[a.id].state == ev.FAILED
    assert "uses {nothing}, which is not a parameter, an input" in result.nodes[a.id].error


# -- values do not move a saved file out of the workspace ------------------------------


@pytest.mark.parametrize(
    "template, values, why",
    [
        (
            "outputs/{a}/{b}/{name}.json",
            {"a": "..", "b": "..", "name": "x"},
            r"\{a\} is '\.\.', which climbs one folder up",
        ),
        ("{where}/out.json", {"where": "~"}, r"\{where\} is '~', which starts with '~'"),
        ("{where}/.ssh/keys.json", {"where": "~alice"}, r"\{where\} is '~alice'"),
        (
            "outputs/{name}.json",
            {"name": "/etc/cron.d/job"},
            r"\{name\} is '/etc/cron.d/job', which is an absolute path",
        ),
        ("outputs/{name}.json", {"name": "C:\\Windows\\x"}, "which is an absolute path"),
        ("{a}{b}/x.json", {"a": ".", "b": "."}, r"its values make it '\.\./x\.json'"),
    ],
)
def test_a_value_that_would_leave_the_workspace_is_refused(tmp_path, template, values, why):
    with pytest.raises(SavePathError) as refused:
        render_path(template, values, "Write report", tmp_path)
    message = str(refused.value)
    assert re.search(why, message), message
    assert f"the save-to path {template!r} of node 'Write report' would leave the workspace" in message


def test_values_that_only_look_odd_stay_inside(tmp_path):
    path = render_path("outputs/{a}-{b}/{c}.json", {"a": "..x", "b": "~me", "c": "a/../b"}, "Write", tmp_path)
    assert path == tmp_path / "outputs" / "..x-~me" / "a_.._b.json"


def test_a_template_that_names_another_folder_itself_is_allowed(tmp_path):
    elsewhere = tmp_path / "shared"
    absolute = render_path(
        str(elsewhere / "{flow}" / "{node}.json"),
        {"flow": "sales", "node": "Total"},
        "Total",
        tmp_path / "ws",
    )
    assert absolute == elsewhere / "sales" / "Total.json"
    home = render_path("~/plait-out/{node}.json", {"node": "Total"}, "Total", tmp_path / "ws")
    assert home == Path.home() / "plait-out" / "Total.json"
    up = render_path("../shared/{node}.json", {"node": "Total"}, "Total", tmp_path / "ws")
    assert up.resolve() == elsewhere / "Total.json"


def test_a_run_refuses_a_parameter_that_climbs_out_and_writes_nothing(loop, engine, catalog, workspace):
    flow = Flow("escape", catalog=catalog)
    flow.add_parameter("where", "str", "reports")  # unwired: a name the template uses
    a = flow.create_node(catalog.get(K + "add"))
    flow.set_value(a.id, "a", 1.0)
    flow.set_option(a.id, "save_to", "{where}/{where}/{node}.json")
    result = run(loop, engine, flow, {"where": ".."})
    assert result.nodes[a.id].state == ev.FAILED
    error = result.nodes[a.id].error
    assert "the save-to path '{where}/{where}/{node}.json' of node 'Add' would leave" in error
    assert not (workspace.folder.parent.parent / "Add.json").exists()
