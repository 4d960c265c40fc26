"""Mapping: a node run once per item of one of its inputs.

The mapped input is split into items by a worker (the scheduler never loads
the list); each item is cached under a key made from its own content, so
adding one item to a list runs one item. Items run in parallel up to the
executor's slots; the node's output is the list of item results in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import TYPE_CHECKING, Any

from plait.runtime.engine import events as ev
from plait.runtime.engine.worker import Task

if TYPE_CHECKING:
    from plait.runtime.engine.scheduler import Run


def item_key(base: str, digest: str) -> str:
    return hashlib.sha256(f"{base}:{digest}".encode()).hexdigest()


async def execute_mapped(run: Run, node_id: str, options: Any) -> None:
    node = run.nodes[node_id]
    port = options.map_over
    began = time.perf_counter()
    node.attempts = 1
    run._emit(ev.NodeStarted(run.id, node_id, 1, time.time(), run.plan.keys[node_id]))
    while True:
        template = run._task(node_id, 1)
        source = template.inputs.get(port)
        if source is None:
            run._finish(
                node_id,
                ev.FAILED,
                error_type="ValueError",
                error_message=f"node '{node.title}' maps over input '{port}', which has no wire and no value",
            )
            return
        split = _step(run, node_id, template, "split", {port: source})
        outcome = await run.executor.run(split, lambda m: None)
        # A damaged list is recomputed upstream, then split again (with its new reference).
        if not (outcome.corrupt_input and await run.repair(node_id, port)):
            break
    if not outcome.ok:
        run._finish(
            node_id,
            ev.FAILED,
            duration=time.perf_counter() - began,
            error_type=outcome.error_type,
            error_message=outcome.error_message,
            traceback=outcome.traceback,
        )
        return
    items = outcome.items or []
    base = run.plan.item_base[node_id]
    keys = [item_key(base, digest) for _, digest in items]
    use_cache = run.options.use_cache and node_id not in run.plan.forced
    hits = run.engine.cache.lookup(keys) if use_cache and keys else {}
    results: list[dict | None] = [hits[k].outputs if k in hits else None for k in keys]
    failures: list[tuple[int, Any]] = []
    total = len(items)

    def report() -> None:
        done = sum(r is not None for r in results) + len(failures)
        message = f"{done}/{total} items" + (f", {len(failures)} failed" if failures else "")
        run._emit(ev.NodeProgress(run.id, node_id, done, total, message, time.time()))

    if hits:
        for key in hits:
            run.engine.recorder.touch(key)
        run.log(node_id, f"[plait] {len(hits)} of {total} items cached")
    report()

    async def one(index: int) -> None:
        ref, _ = items[index]

        def make(attempt: int) -> Task:
            # An item's result is read by the gather step.
            return run._task(
                node_id,
                attempt,
                override={port: ("ref", ref)},
                key=keys[index],
                context={"index": index},
                hold=True,
            )

        item_outcome, _ = await run.attempts(node_id, make, options)
        if item_outcome.ok:
            run.store_entry(node_id, item_outcome.key or keys[index], item_outcome.outputs, options)
            results[index] = item_outcome.outputs
        else:
            failures.append((index, item_outcome))
            run.log(
                node_id,
                f"[plait] item {index} failed: {item_outcome.error_type}: {item_outcome.error_message}",
                "ERROR",
            )
        report()

    await asyncio.gather(*(one(i) for i in range(total) if results[i] is None))
    node.duration = time.perf_counter() - began
    if failures:
        failures.sort(key=lambda f: f[0])
        index, first = failures[0]
        run._finish(
            node_id,
            ev.FAILED,
            duration=node.duration,
            error_type=first.error_type,
            error_message=f"{len(failures)} of {total} items failed (first, item "
            f"{index}: {first.error_type}: {first.error_message})",
            traceback=first.traceback,
        )
        return
    repaired: set[int] = set()
    while True:
        gathered = await _gather(run, node_id, template, results)
        damaged = gathered.corrupt_input
        index = int(damaged.rsplit("#", 1)[1]) if damaged else -1
        if index < 0 or index in repaired:
            break
        # A cached item's stored result is damaged: forget it and compute that item again
        # (once: an item damaged again right after it was made is a failure, not a loop).
        repaired.add(index)
        run.engine.cache.delete([keys[index]])
        run.log(node_id, f"[plait] the stored result of item {index} was damaged; recomputing it", "WARNING")
        results[index] = None
        await one(index)
        if results[index] is None:
            break
    node.duration = time.perf_counter() - began
    if not gathered.ok:
        run._finish(
            node_id,
            ev.FAILED,
            duration=node.duration,
            error_type=gathered.error_type,
            error_message=gathered.error_message,
            traceback=gathered.traceback,
        )
        return
    run.store_entry(node_id, run.plan.keys[node_id], gathered.outputs, options)
    _release(run, [ref for ref, _ in items] + [r for result in results if result for r in result.values()])
    run._finish(node_id, ev.COMPLETED, outputs=gathered.outputs, duration=node.duration)


def _release(run: Run, refs: list[Any]) -> None:
    """The items and their results are gathered: a worker holding them may drop them."""
    release = getattr(run.executor, "release", None)
    if release is not None:
        for ref in refs:
            release(ref)


def _step(run: Run, node_id: str, template: Task, kind: str, inputs: dict[str, Any]) -> Task:
    """A mapped node's split or gather step, run in a worker under the node's own key."""
    return Task(
        id=f"{template.id}:{kind}",
        run_id=run.id,
        node_id=node_id,
        title=run.nodes[node_id].title,
        spec_key=template.spec_key,
        key=run.plan.keys[node_id],
        cache_folder=template.cache_folder,
        workspace=template.workspace,
        inputs=inputs,
        kind=kind,
        # A split's items are read by the item tasks; a gather's list by the node's consumers.
        hold=kind == "split" or bool(run.plan.downstream[node_id]),
    )


async def _gather(run: Run, node_id: str, template: Task, results: list[dict | None]) -> Any:
    """Collect the items' results into the node's outputs, in a worker."""
    ports = template.outputs + tuple(k.name for k in template.keys)
    gather = _step(
        run,
        node_id,
        template,
        "gather",
        {p: ("refs", [r[p] for r in results if r is not None]) for p in ports},
    )
    return await run.executor.run(gather, lambda m: None)
