"""Running a subflow: a saved flow placed in another flow runs as a linked child run.

Flows as node types (`FlowCatalog`, `subflow_key`) live with the workspace,
in `plait.runtime.workspace.catalog`; they are importable from here too.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from plait.runtime.workspace.catalog import (  # noqa: F401 - the subflow vocabulary, here too
    SUBFLOW_PREFIX,
    FlowCatalog,
    is_subflow,
    subflow_key,
    subflow_spec,
)


async def execute_subflow(run: Any, node_id: str, options: Any) -> None:
    """Run a subflow node: its flow runs as a child run of this one, with the same engine."""
    from plait.runtime.engine import events as ev
    from plait.runtime.engine.scheduler import RunOptions

    node = run.flow.nodes[node_id]
    state = run.nodes[node_id]
    child_flow = run.flow.catalog.flow(node.spec_key[len(SUBFLOW_PREFIX) :])
    state.attempts = 1
    run._emit(ev.NodeStarted(run.id, node_id, 1, time.time(), run.plan.keys[node_id]))
    refs, values = {}, {}
    names = {p.name for p in child_flow.parameters()}
    for edge in run.flow.edges_into(node_id):
        source = run.nodes[edge.source]
        refs[edge.target_port] = (
            run.plan.input_digest(edge.source, edge.source_port, source.outputs),
            source.outputs[edge.source_port],
        )
    for name, value in node.values.items():
        if name in names and name not in refs:
            values[name] = value
    child_options = RunOptions(
        executor=run.options.executor,
        max_workers=run.options.max_workers,
        use_cache=run.options.use_cache,
        log_limit=run.log_limit,
        parent_run=run.id,
        parent_node=node_id,
    )
    child = run.engine.start(child_flow, values, child_options, refs=refs)
    run.log(node_id, f"[plait] running flow '{child_flow.name}' as run {child.id[:8]}")
    try:
        async for event in child.events():
            if isinstance(event, ev.NodeLog):
                # The inner nodes' lines are the subflow node's too, each after its inner node's title.
                title = child.nodes[event.node_id].title if event.node_id in child.nodes else event.node_id
                run._emit(
                    ev.NodeLog(
                        run.id,
                        node_id,
                        tuple(
                            dataclasses.replace(line, message=f"{title} │ {line.message}")
                            for line in event.lines
                        ),
                    )
                )
            elif isinstance(event, ev.NodeFinished):
                done = sum(1 for n in child.nodes.values() if n.state in ev.FINAL_STATES)
                run._emit(
                    ev.NodeProgress(
                        run.id,
                        node_id,
                        done,
                        len(child.nodes),
                        f"{done}/{len(child.nodes)} nodes of '{child_flow.name}'",
                        event.time,
                    )
                )
        result = await child.wait()
    except BaseException:
        child.cancel()
        await child.wait()
        raise
    if not result.ok:
        failed = [
            n
            for n in result.nodes.values()
            if n.state not in ev.SUCCESS_STATES and n.error and n.state != ev.SKIPPED
        ]
        first = f"; '{failed[0].title}': {failed[0].error}" if failed else ""
        run._finish(
            node_id,
            ev.FAILED,
            error_type="SubflowFailed",
            error_message=f"flow '{child_flow.name}' {result.state}{first}",
            duration=result.duration,
        )
        return
    outputs = {}
    for output_id, name in child_flow.output_names():
        produced = result.nodes[output_id].outputs.get("value")
        if produced is not None:
            outputs[name] = produced
    # Not cached as a whole: the child run's nodes are, each by its own key, so a
    # `never`, expiring or file-reading node inside reruns as it would at top level.
    run._finish(
        node_id,
        ev.CACHED
        if all(
            n.state in (ev.CACHED,) or child_flow.nodes[n.node_id].is_parameter for n in result.nodes.values()
        )
        else ev.COMPLETED,
        outputs=outputs,
        duration=result.duration,
    )
