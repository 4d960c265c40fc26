"""Split by key: a dict output's keys as outputs of their own, checked at every run."""

from __future__ import annotations

import json
import textwrap
from typing import Any, TypedDict

import pytest

from plait.runtime.engine.executors import InlineExecutor
from plait.runtime.engine.explain import explain_flow
from plait.runtime.engine.scheduler import Engine
from plait.runtime.export.scripts import export_script
from plait.runtime.flow.model import Flow, FlowError
from plait.runtime.nodes.introspect import spec_from_callable
from plait.runtime.nodes.libraries import Catalog
from plait.runtime.nodes.spec import Port
from plait.runtime.nodes.splitting import KeyPort, key_ports, split_outputs
from plait.runtime.results.blobs import summarize
from plait.runtime.workspace.documents import DocumentError, export_flow, parse_flow
from tests.runtime.running import run

HERE = "tests.runtime.test_split_keys:"


def parts(n: int = 3, drop: str = "") -> dict:
    made = {"train": list(range(n)), "test": [n], "sizes": {"n": n}}
    made.pop(drop, None)
    return made


def count(items: list) -> int:
    return len(items)


class Scores(TypedDict):
    accuracy: float
    loss: float


@pytest.fixture
def split_catalog():
    catalog = Catalog()
    for fn in (parts, count):
        catalog.add(spec_from_callable(fn))
    return catalog


@pytest.fixture
def engine(workspace, split_catalog):
    return Engine(workspace, split_catalog, executor=InlineExecutor())


def split_flow(catalog) -> Flow:
    f = Flow("splits", catalog=catalog)
    f.create_node(catalog.get(HERE + "parts"), node_id="parts")
    f.create_node(catalog.get(HERE + "count"), node_id="count")
    f.set_option("parts", "split", {"result": ["train", "test"]})
    f.connect("parts", "train", "count", "items")
    return f


def test_the_split_keys_are_outputs_named_by_key_beside_the_whole_dict(split_catalog):
    f = split_flow(split_catalog)
    ports = [(p.name, p.type_name) for p in f.outputs("parts")]
    assert ports == [("result", "dict"), ("train", "Any"), ("test", "Any")]
    assert f.output_port("parts", "test").description == "the item 'test' of output 'result' (split by key)"
    f.set_option("parts", "split", {})
    assert [p.name for p in f.outputs("parts")] == ["result"]


def test_a_key_port_takes_the_item_type_its_dict_hint_gives():
    typed = split_outputs((Port("result", dict[str, float]),), {"result": ["mean"]})
    assert [(p.name, p.annotation) for p in typed] == [("result", dict[str, float]), ("mean", float)]
    keyed = split_outputs((Port("result", Scores),), {"result": ["loss", "other"]})
    assert [(p.name, p.annotation) for p in keyed] == [("result", Scores), ("loss", float), ("other", Any)]


def test_key_port_names_are_free_port_names_made_of_word_characters():
    made = key_ports(["result", "train"], {"result": ["train", "my key", "result", "", "ünï"]})
    assert made == [
        KeyPort("result_train", "result", "train"),
        KeyPort("my_key", "result", "my key"),
        KeyPort("result_result", "result", "result"),
        KeyPort("key", "result", ""),
        KeyPort("ünï", "result", "ünï"),
    ]
    assert key_ports(["result"], {"gone": ["a"]}) == []  # an output the node no longer has


def test_a_split_option_must_be_lists_of_distinct_text_keys(split_catalog):
    f = split_flow(split_catalog)
    for bad in (["train"], {"result": "train"}, {"result": [1]}, {"result": ["a", "a"]}):
        with pytest.raises(FlowError, match="option 'split' maps an output's name to a list"):
            f.set_option("parts", "split", bad)
    text = export_flow(f)
    assert "parts.train -> count.items" in text
    doc = json.loads(text)
    doc["nodes"][1]["options"] = {"split": {"result": "train"}}
    with pytest.raises(DocumentError, match="node 'parts': option 'split' maps"):
        parse_flow(json.dumps(doc))


def test_a_run_gives_each_key_on_its_port_and_a_missing_key_fails_the_node_naming_it(
    loop, engine, split_catalog
):
    f = split_flow(split_catalog)
    result, _ = run(loop, engine, f)
    assert result.ok, {n: r.error for n, r in result.nodes.items()}
    read = engine.cache.store.read
    assert read(result.nodes["count"].outputs["result"]) == 3
    assert read(result.nodes["parts"].outputs["test"]) == [3]
    summary = result.nodes["parts"].outputs["result"].summary
    assert summary["keys"] == ["train", "test", "sizes"]  # what the window offers to split

    f.set_value("parts", "drop", "test")
    failed, _ = run(loop, engine, f)
    node = failed.nodes["parts"]
    assert node.state == "failed"
    assert node.error.startswith("node 'Parts' is split by key on output 'result'")
    assert "has no key 'test' (its keys: train, sizes)" in node.error
    assert failed.nodes["count"].state == "skipped"


def test_splitting_runs_the_node_again_and_says_why(loop, engine, split_catalog, workspace):
    f = Flow("splits", catalog=split_catalog)
    f.create_node(split_catalog.get(HERE + "parts"), node_id="parts")
    first, _ = run(loop, engine, f)
    assert first.nodes["parts"].state == "completed"
    f.set_option("parts", "split", {"result": ["sizes"]})
    reasons = {e.node_id: e for e in explain_flow(workspace, f, engine.cache)}["parts"]
    assert reasons.state == "will run"
    assert "the keys its outputs are split by changed" in reasons.reasons
    again, _ = run(loop, engine, f)
    assert again.nodes["parts"].state == "completed"
    assert engine.cache.store.read(again.nodes["parts"].outputs["sizes"]) == {"n": 3}
    third, _ = run(loop, engine, f)
    assert third.nodes["parts"].state == "cached"


def test_a_value_that_is_not_a_dict_fails_a_split_output():
    from plait.runtime.nodes.splitting import MissingKey, take_keys

    with pytest.raises(MissingKey, match="this run gave a list, not a dict: choose Join keys"):
        take_keys("Parts", {"result": [1, 2]}, [KeyPort("a", "result", "a")])


def test_summaries_list_at_most_the_keys_that_can_be_split():
    many = {f"k{i}": i for i in range(100)}
    assert len(summarize(many)["keys"]) == 65 and summarize(many)["length"] == 100
    assert summarize({1: "a", "b": 2})["keys"] == ["b"]
    assert "keys" not in summarize([1, 2])


def test_a_mapped_node_splits_each_item_and_gathers_each_key_into_a_list(loop, engine, split_catalog):
    f = Flow("mapped", catalog=split_catalog)
    f.create_node(split_catalog.get(HERE + "parts"), node_id="parts")
    f.set_option("parts", "map_over", "n")
    f.set_value("parts", "n", [1, 2])
    f.set_option("parts", "split", {"result": ["test"]})
    assert f.output_port("parts", "test").type_name == "list"
    result, _ = run(loop, engine, f)
    assert result.ok, {n: r.error for n, r in result.nodes.items()}
    assert engine.cache.store.read(result.nodes["parts"].outputs["test"]) == [[1], [2]]


def test_an_exported_script_takes_the_split_keys_too(tmp_path, monkeypatch):
    from plait.runtime.workspace.store import Workspace

    monkeypatch.chdir(tmp_path)  # the script moves into its workspace folder

    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "dicts.py").write_text(
        textwrap.dedent("""
        def parts(n: int = 3) -> dict:
            return {"train": list(range(n)), "test": [n]}

        def count(items: list) -> int:
            return len(items)
        """)
    )
    with Workspace(folder) as ws:
        catalog = ws.catalog()
        f = Flow("splits", catalog=catalog)
        f.create_node(catalog.get("dicts.py:parts"), node_id="parts")
        f.create_node(catalog.get("dicts.py:count"), node_id="count")
        f.set_option("parts", "split", {"result": ["train"]})
        f.connect("parts", "train", "count", "items")
        ws.save_flow(f)
        script = export_script(f, folder)
    assert "parts_train = parts_result['train']" in script
    namespace: dict = {}
    exec(compile(script, "splits.py", "exec"), namespace)  # noqa: S102 - the script under test
    assert namespace["main"]([]) == {"count": {"result": 3}}


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "Run the node first: Split by key takes the keys its last run gave on 'result'"),
        ([1, 2], "The last run gave a list on 'result', not a dict"),
        ({}, "The dict on 'result' was empty in the last run"),
        ({1: "a"}, "Only a dict whose keys are all text is split by key"),
        ({f"k{i}": i for i in range(65)}, "has 65 keys; Split by key makes at most 64 outputs"),
    ],
)
def test_the_keys_offered_come_from_the_stored_summary_or_a_reason_why_not(value, why):
    from plait.runtime.nodes.splitting import offered_keys

    keys, reason = offered_keys(None if value is None else summarize(value), "result")
    assert keys is None and why in reason
    assert offered_keys(summarize({"a": 1, "b": 2}), "result") == (["a", "b"], "")
    old = {"type": "dict", "length": 2, "preview": "{...}"}  # stored before summaries listed keys
    assert offered_keys(old, "result")[1].startswith("Run the node again")


def test_a_subflow_node_split_by_key_is_a_problem_that_says_where_to_split(split_catalog, workspace):
    from plait.runtime.flow.validation import UNSPLITTABLE
    from plait.runtime.workspace.catalog import FlowCatalog, subflow_key

    flows = FlowCatalog(split_catalog, workspace)
    child = Flow("make parts", catalog=flows)
    child.create_node(split_catalog.get(HERE + "parts"), node_id="parts")
    out = child.add_output("made")
    child.connect("parts", "result", out.id, "value")
    workspace.save_flow(child)
    parent = Flow("parent", catalog=flows)
    sub = parent.create_node(flows.get(subflow_key(child.id)))
    parent.set_option(sub.id, "split", {"made": ["train"]})
    problems = [p for p in parent.validate() if p.kind == UNSPLITTABLE]
    assert [(p.node_id, p.message) for p in problems] == [
        (
            sub.id,
            "node 'make parts' runs a flow, whose outputs are not split by key: choose Join keys "
            "on its output, and split the output inside that flow instead",
        )
    ]
