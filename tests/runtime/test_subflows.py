import pytest

from plait.runtime.engine import events as ev
from plait.runtime.engine.plan import RunRefused
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.engine.subflows import FlowCatalog, subflow_key
from plait.runtime.flow.model import Flow
from plait.runtime.flow.validation import SELF_INCLUDING

K = "tests.runtime.nodes:"


@pytest.fixture
def flows(catalog, workspace, local_executor):
    cat = FlowCatalog(catalog, workspace)
    child = Flow("double", catalog=cat)
    x = child.add_parameter("x", "float", 1.0)
    a = child.create_node(cat.get(K + "add"))
    child.connect(x.id, "value", a.id, "a")
    child.connect(x.id, "value", a.id, "b")
    out = child.add_output("doubled")
    child.connect(a.id, "result", out.id, "value")
    workspace.save_flow(child)
    return cat, child, Engine(workspace, cat, executor=local_executor)


def parent_flow(cat, child, name="parent"):
    parent = Flow(name, catalog=cat)
    n = parent.add_parameter("n", "float", 3.0)
    sub = parent.create_node(cat.get(subflow_key(child.id)))
    parent.connect(n.id, "value", sub.id, "x")
    after = parent.create_node(cat.get(K + "add"))
    parent.connect(sub.id, "doubled", after.id, "a")
    parent.set_value(after.id, "b", 0.5)
    return parent, sub, after


def test_a_saved_flow_is_a_node_type_with_its_parameters_and_outputs(flows):
    cat, child, _ = flows
    spec = cat.get(subflow_key(child.id))
    assert spec.title == "double" and spec.module == "Flows"
    assert [p.name for p in spec.inputs] == ["x"] and spec.inputs[0].annotation is float
    assert [p.name for p in spec.outputs] == ["doubled"]
    assert spec in cat.specs()


def test_a_subflow_node_runs_its_flow_as_a_linked_child_run(loop, flows, workspace):
    cat, child, engine = flows
    parent, sub, after = parent_flow(cat, child)
    result = loop.run_until_complete(engine.run(parent))
    assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}
    assert engine.cache.store.read(result.nodes[after.id].outputs["result"]) == 6.5
    runs = dict(workspace.conn.execute("select flow_name, parent_run from runs"))
    assert runs == {"parent": None, "double": result.run_id}
    assert (
        workspace.conn.execute("select parent_node from runs where flow_name='double'").fetchone()[0]
        == sub.id
    )
    again = loop.run_until_complete(engine.run(parent))
    assert again.nodes[sub.id].state == ev.CACHED
    # The child flow runs again as a linked run, and every node of it is served
    # from the cache by its own key (so a `never` node inside would rerun).
    assert workspace.conn.execute("select count(*) from runs").fetchone()[0] == 4
    child_run = workspace.conn.execute("select id from runs where parent_run=?", (again.run_id,)).fetchone()[
        0
    ]
    states = {
        s
        for (s,) in workspace.conn.execute(
            "select n.state from node_runs n where n.run_id=? and n.node_id not like 'param%'", (child_run,)
        )
    }
    assert states == {ev.CACHED}


def test_changing_the_child_flow_reruns_the_subflow_node(loop, flows, workspace):
    cat, child, engine = flows
    parent, sub, _ = parent_flow(cat, child)
    loop.run_until_complete(engine.run(parent))
    add = next(n for n in child.nodes.values() if n.spec_key == K + "add")
    child.disconnect(child.edge_into(add.id, "b"))
    child.set_value(add.id, "b", 100.0)
    workspace.save_flow(child)
    parent = Flow.from_parts(parent.name, parent.nodes.values(), parent.edges, catalog=cat)
    result = loop.run_until_complete(engine.run(parent))
    assert result.nodes[sub.id].state == ev.COMPLETED
    assert engine.cache.store.read(result.nodes[sub.id].outputs["doubled"]) == 103.0


def test_the_catalog_keeps_one_node_type_per_flow_however_often_it_is_saved(flows, workspace):
    cat, child, _ = flows
    seen = set()
    for step in range(6):
        child.set_flow_field("description", f"version {step}")
        workspace.save_flow(child)
        seen.add(cat.get(subflow_key(child.id)).doc)
    assert seen == {f"version {step}" for step in range(6)}
    assert len(cat._specs) == 1


def test_a_flow_that_would_include_itself_is_refused(loop, flows, workspace):
    cat, child, engine = flows
    parent, _, _ = parent_flow(cat, child)
    workspace.save_flow(parent)
    # Directly: the child's own node inside the child.
    child.create_node(cat.get(subflow_key(child.id)))
    problems = [p for p in child.validate() if p.kind == SELF_INCLUDING]
    assert problems and "would make flow 'double' include itself" in problems[0].message
    # Through another: double includes parent, which includes double.
    child2 = workspace.load_flow("double", catalog=cat)
    child2.create_node(cat.get(subflow_key(parent.id)))
    assert any(p.kind == SELF_INCLUDING for p in child2.validate())
    with pytest.raises(RunRefused, match="include itself"):
        loop.run_until_complete(engine.run(child2))


def test_a_failing_child_fails_the_subflow_node_with_its_error(loop, catalog, workspace, local_executor):
    cat = FlowCatalog(catalog, workspace)
    child = Flow("broken", catalog=cat)
    b = child.create_node(cat.get(K + "boom"))
    out = child.add_output("value")
    child.connect(b.id, "result", out.id, "value")
    workspace.save_flow(child)
    parent = Flow("uses broken", catalog=cat)
    sub = parent.create_node(cat.get(subflow_key(child.id)))
    engine = Engine(workspace, cat, executor=local_executor)
    result = loop.run_until_complete(engine.run(parent, None, RunOptions()))
    assert result.nodes[sub.id].state == ev.FAILED
    assert result.nodes[sub.id].error == "flow 'broken' failed; 'Boom': boom at 0.0"


def test_a_subflow_node_takes_its_child_runs_duration_and_shows_its_lines(
    loop, catalog, workspace, local_executor
):
    cat = FlowCatalog(catalog, workspace)
    child = Flow("talk", catalog=cat)
    x = child.add_parameter("x", "float", 1.0)
    talk = child.create_node(cat.get(K + "chatty"), title="Talker")
    child.connect(x.id, "value", talk.id, "x")
    child.set_value(talk.id, "lines", 2)
    out = child.add_output("said")
    child.connect(talk.id, "result", out.id, "value")
    workspace.save_flow(child)
    parent = Flow("outer", catalog=cat)
    sub = parent.create_node(cat.get(subflow_key(child.id)), title="Conversation")
    engine = Engine(workspace, cat, executor=local_executor)
    result = loop.run_until_complete(engine.run(parent))
    assert result.ok, {n: (r.state, r.error) for n, r in result.nodes.items()}
    started, ended = workspace.conn.execute(
        "select started, ended from runs where parent_run=?", (result.run_id,)
    ).fetchone()
    assert result.nodes[sub.id].duration == pytest.approx(ended - started)
    lines = [
        m
        for (m,) in workspace.conn.execute(
            "select message from logs where run_id=? and node_id=? order by id", (result.run_id, sub.id)
        )
    ]
    assert "Talker │ line 0 of 1.0" in lines and "Talker │ line 1 of 1.0" in lines
    assert "Talker │ to stderr" in lines
