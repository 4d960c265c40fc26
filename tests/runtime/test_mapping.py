from plait.runtime.engine import events as ev
from plait.runtime.flow.model import Flow
from tests.runtime.running import run

K = "tests.runtime.nodes:"


def mapped_flow(catalog, fn="square", n=5):
    flow = Flow("map", catalog=catalog)
    count = flow.add_parameter("n", "int", n)
    source = flow.create_node(catalog.get(K + "numbers"))
    flow.connect(count.id, "value", source.id, "n")
    target = flow.create_node(catalog.get(K + fn))
    flow.set_option(target.id, "map_over", "x")
    flow.connect(source.id, "result", target.id, "x")  # a list into a mapped float input
    return flow, target


def test_a_mapped_node_runs_once_per_item_and_returns_results_in_order(loop, engine, catalog):
    flow, target = mapped_flow(catalog)
    result, seen = run(loop, engine, flow)
    assert result.ok
    assert engine.cache.store.read(result.nodes[target.id].outputs["result"]) == [0.0, 1.0, 4.0, 9.0, 16.0]
    progress = [e for e in seen if isinstance(e, ev.NodeProgress) and e.node_id == target.id]
    assert (progress[-1].done, progress[-1].total, progress[-1].message) == (5, 5, "5/5 items")
    printed = {line.message for e in seen if isinstance(e, ev.NodeLog) for line in e.lines}
    assert {f"squaring {float(i)}" for i in range(5)} <= printed


def test_each_item_is_cached_on_its_own(loop, engine, catalog):
    flow, target = mapped_flow(catalog, n=4)
    run(loop, engine, flow)
    again, _ = run(loop, engine, flow)
    assert again.nodes[target.id].state == ev.CACHED
    grown, seen = run(loop, engine, flow, {"n": 6})
    assert grown.nodes[target.id].state == ev.COMPLETED
    assert engine.cache.store.read(grown.nodes[target.id].outputs["result"])[-1] == 25.0
    printed = [line.message for e in seen if isinstance(e, ev.NodeLog) for line in e.lines]
    assert "[plait] 4 of 6 items cached" in printed
    assert sorted(m for m in printed if m.startswith("squaring")) == ["squaring 4.0", "squaring 5.0"]


def test_a_failing_item_fails_only_that_item_and_the_node_says_how_many(loop, engine, catalog):
    flow, target = mapped_flow(catalog, fn="invert", n=4)  # 1/0 for the first item
    result, _ = run(loop, engine, flow)
    node = result.nodes[target.id]
    assert node.state == ev.FAILED
    assert node.error.startswith("1 of 4 items failed (first, item 0: ZeroDivisionError")
    # The items that worked are cached: a rerun tries only the failed one again.
    again, seen = run(loop, engine, flow)
    printed = [line.message for e in seen if isinstance(e, ev.NodeLog) for line in e.lines]
    assert "[plait] 3 of 4 items cached" in printed
    assert again.nodes[target.id].error.startswith("1 of 4 items failed")


def test_mapped_items_save_one_file_each(loop, engine, catalog, workspace):
    flow, target = mapped_flow(catalog, n=3)
    flow.set_option(target.id, "save_to", "items/{node}-{index}-{x}.json")
    result, _ = run(loop, engine, flow)
    assert result.ok
    names = sorted(p.name for p in (workspace.folder / "items").iterdir())
    assert names == ["Square-0-0.0.json", "Square-1-1.0.json", "Square-2-2.0.json"]


def test_a_mapped_node_with_several_outputs_gives_a_list_per_output(loop, engine, catalog):
    flow = Flow("multi", catalog=catalog)
    source = flow.create_node(catalog.get(K + "numbers"))
    flow.set_value(source.id, "n", 3)
    target = flow.create_node(catalog.get(K + "double_and_half"))  # @node(map_over="x")
    flow.connect(source.id, "result", target.id, "x")
    result, _ = run(loop, engine, flow)
    outputs = result.nodes[target.id].outputs
    assert engine.cache.store.read(outputs["double"]) == [0.0, 2.0, 4.0]
    assert engine.cache.store.read(outputs["half"]) == [0.0, 0.5, 1.0]


def test_mapping_over_something_that_is_not_a_list_fails_clearly(loop, engine, catalog):
    flow = Flow("bad", catalog=catalog)
    target = flow.create_node(catalog.get(K + "square"))
    flow.set_option(target.id, "map_over", "x")
    flow.set_value(target.id, "x", "text")
    result, _ = run(loop, engine, flow)
    assert "maps over input 'x', which needs a list" in result.nodes[target.id].error


def test_a_local_function_mapped_over_items_is_pickled_once_for_all_of_them(
    loop, engine, catalog, monkeypatch
):
    import cloudpickle

    from plait.runtime.nodes.introspect import spec_from_callable

    offset = 10.0

    def shifted(x: float) -> float:
        return x + offset

    catalog.add(spec_from_callable(shifted))
    flow = Flow("local", catalog=catalog)
    source = flow.create_node(catalog.get(K + "numbers"))
    flow.set_value(source.id, "n", 4)
    key = f"{__name__}:{shifted.__qualname__}"
    target = flow.create_node(catalog.get(key))
    flow.set_option(target.id, "map_over", "x")
    flow.connect(source.id, "result", target.id, "x")
    pickled = []
    dumps = cloudpickle.dumps
    monkeypatch.setattr(cloudpickle, "dumps", lambda fn, *a, **k: pickled.append(fn) or dumps(fn, *a, **k))
    result, _ = run(loop, engine, flow)
    assert result.ok, {n: r.error for n, r in result.nodes.items()}
    assert engine.cache.store.read(result.nodes[target.id].outputs["result"]) == [10.0, 11.0, 12.0, 13.0]
    assert pickled == [shifted]
