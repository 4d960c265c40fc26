"""Flow documents: stable JSON that round-trips, imports as versions, and refuses what it cannot read."""

import json

import pytest

from plait.runtime.flow.model import Flow
from plait.runtime.workspace.documents import (
    DocumentError,
    export_flow,
    import_file,
    import_flow,
    parse_flow,
    seed_from_documents,
)
from plait.runtime.workspace.examples import example_names, install_examples
from plait.runtime.workspace.store import Workspace, WorkspaceError

K = "tests.runtime.nodes:"


@pytest.fixture
def flow(catalog):
    f = Flow(
        "numbers",
        catalog=catalog,
        description="Adds things up.",
        extras={"frames": [{"title": "inputs", "rect": [0, 0, 100, 50]}]},
    )
    x = f.add_parameter("x", "float", 2.5, "the start", position=(-200.123, 40.0), node_id="x")
    a = f.create_node(catalog.get(K + "add"), (10.456, 20.0))
    f.set_value(a.id, "b", 1.0)
    f.set_option(a.id, "retries", 2)
    s = f.create_node(catalog.get(K + "split"), (300.0, -15.5))
    t = f.create_node(catalog.get(K + "add"), (600.0, 0.0), title="Sum of parts")
    f.connect(x.id, "value", a.id, "a")
    f.connect(a.id, "result", s.id, "x")
    f.connect(s.id, "low", t.id, "a")
    f.connect(s.id, "high", t.id, "b")
    return f


def test_a_flow_round_trips_to_an_equal_content(flow):
    text = export_flow(flow)
    back = parse_flow(text)
    assert back.content() == flow.content()
    assert (back.id, back.name) == (flow.id, flow.name)
    assert export_flow(back) == text


def test_the_document_is_stable_sorted_and_one_node_per_block(flow):
    text = export_flow(flow)
    assert text == export_flow(flow.copy())
    doc = json.loads(text)
    assert doc["format"] == "plait-flow" and doc["version"] == 1
    assert list(doc) == sorted(doc)
    assert [n["id"] for n in doc["nodes"]] == sorted(flow.nodes)
    assert all(list(n) == sorted(n) for n in doc["nodes"])
    # Each node opens its own block and each wire is one line.
    assert text.count('\n    {\n      "id": ') == len(flow.nodes)
    assert '      "position": [10.46, 20],\n' in text
    assert '    "split_1.high -> add_2.b",\n' in text
    assert text.endswith("}\n")


def test_import_saves_a_new_version_of_the_flow_with_the_same_id(flow, tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        first = import_flow(export_flow(flow), ws)
        assert first.version == 1
        assert ws.load_flow("numbers").content() == flow.content()
        assert import_flow(export_flow(flow), ws).version == 1  # unchanged: no new version
        flow.move("add_1", 50.0, 50.0)
        flow.set_flow_field("name", "renamed")
        second = import_flow(export_flow(flow), ws)
        assert (second.id, second.version) == (flow.id, 2)
        assert [f.name for f in ws.flows()] == ["renamed"]


def test_import_matches_a_flow_by_name_when_the_id_is_new(flow, tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        original = import_flow(export_flow(flow), ws)
        doc = json.loads(export_flow(flow))
        doc["id"] = "someone-elses-id"
        doc["description"] = "edited elsewhere"
        again = import_flow(json.dumps(doc), ws)
        assert (again.id, again.version) == (original.id, 2)


def test_import_under_another_name_makes_a_copy(flow, tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        import_flow(export_flow(flow), ws)
        copy = import_flow(export_flow(flow), ws, name="numbers copy")
        assert copy.id != flow.id
        assert sorted(f.name for f in ws.flows()) == ["numbers", "numbers copy"]
        assert ws.load_flow("numbers copy").content() == flow.content()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(version=2), "written by a newer Plait (flow document version 2"),
        (lambda d: d.update(format="something"), "is not a Plait flow document"),
        (lambda d: d.pop("name"), 'has no "name"'),
        (lambda d: d["nodes"][0].update(colour="red"), "node 'add_1' has unknown field(s) 'colour'"),
        (lambda d: d["nodes"][0].update(position=[1]), "node 'add_1': \"position\" must be [x, y]"),
        (lambda d: d["nodes"][0].update(options={"speed": 3}), "node 'add_1': unknown option 'speed'"),
        (lambda d: d["nodes"][0].pop("type"), "node 'add_1' has no \"type\""),
        (lambda d: d["nodes"].append(dict(d["nodes"][0])), "two nodes have the id 'add_1'"),
        (lambda d: d["edges"].append("ghost.result -> add_1.b"), "refers to node 'ghost'"),
        (lambda d: d["edges"].append("x.value -> add_1.a"), "input 'a' of node 'add_1' has two wires"),
        (lambda d: d["edges"].append("add_1 to split_1"), "is not written as"),
        (
            lambda d: d["nodes"][-1]["values"].update(type="complex"),
            "parameter 'x' has unknown type 'complex'",
        ),
    ],
)
def test_a_bad_document_is_refused_naming_the_file_node_and_field(flow, change, message):
    doc = json.loads(export_flow(flow))
    doc["nodes"].sort(key=lambda n: n["id"] != "add_1")  # add_1 first, the parameter last
    change(doc)
    with pytest.raises(DocumentError) as raised:
        parse_flow(json.dumps(doc), source="flows/numbers.json")
    assert message in str(raised.value)
    assert "flows/numbers.json" in str(raised.value)
    assert isinstance(raised.value, WorkspaceError)


def test_broken_json_and_nan_are_refused_with_where(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "plait-flow",\n "version": 1,,}')
    with Workspace(tmp_path / "ws") as ws:
        with pytest.raises(DocumentError, match=r"broken.json is not valid JSON: .* line 2"):
            import_file(path, ws)
        with pytest.raises(DocumentError, match="NaN is not a JSON number"):
            import_flow('{"format": "plait-flow", "version": 1, "name": "n", "extras": {"a": NaN}}', ws)
        with pytest.raises(DocumentError, match="cannot read"):
            import_file(tmp_path / "missing.json", ws)
        assert ws.flows() == []


def test_a_folder_with_flow_documents_is_seeded_once_on_first_open(flow, tmp_path):
    folder = tmp_path / "shared"
    (folder / "flows").mkdir(parents=True)
    (folder / "flows" / "numbers.json").write_text(export_flow(flow))
    (folder / "flows" / "bad.json").write_text("{}")
    with Workspace(folder) as ws:  # opening imports the documents
        assert [f.name for f in ws.flows()] == ["numbers"]
        assert ws.load_flow("numbers").content() == flow.content()
        ws.delete_flow("numbers")
    with Workspace(folder) as ws:
        assert ws.flows() == []  # deleted flows stay deleted
        assert seed_from_documents(ws).flows == []


def test_a_bad_seed_document_is_reported_not_raised(flow, tmp_path):
    folder = tmp_path / "ws"
    (folder / "flows").mkdir(parents=True)
    (folder / "flows" / "a.json").write_text("not json")
    (folder / "flows" / "b.json").write_text(export_flow(flow))
    with Workspace(folder, create=True) as ws:
        assert [f.name for f in ws.flows()] == ["numbers"]
    with Workspace(tmp_path / "other") as ws:
        (ws.folder / "flows").mkdir()
        (ws.folder / "flows" / "a.json").write_text("not json")
        seeded = seed_from_documents(ws)
        assert seeded.flows == [] and "a.json is not valid JSON" in seeded.problems[0]


def test_the_examples_install_into_one_workspace_and_never_overwrite(tmp_path):
    target = tmp_path / "default"
    copied = install_examples(target)
    assert {"iris", "trending", "resilience"} <= set(example_names())
    assert (target / "iris.csv").is_file() and (target / "flows" / "data-science.json").is_file()
    assert not any(p.name.startswith("plait.sqlite") for p in copied)
    (target / "iris.py").write_text("# my own edits\n")
    assert install_examples(target) == []
    assert (target / "iris.py").read_text() == "# my own edits\n"
    with Workspace(target) as ws:
        names = {f.name for f in ws.flows()}
    assert {"data-engineering", "data-science", "trending", "resilience"} <= names
