"""Nodes sent ahead of their inputs: a cluster (Dask) starts them once their inputs are done.

On an executor that says `ahead`, a run sends a node as soon as each of its
inputs is computed or being computed: its task is given the upstream nodes'
tasks in place of their values, and the cluster runs it when they end, with no
round trip through the scheduling process per node, down a whole chain. The
node's worker works out its cache key from its inputs' digests (`merkle`).

What a run does for such nodes lives here: which may go, when their start is
told (after their inputs' ends, as on any executor), their keys once their
inputs are known here, and what happens when an input fails after all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
from typing import TYPE_CHECKING

from plait.runtime.engine import events as ev
from plait.runtime.engine.subflows import is_subflow
from plait.runtime.engine.worker import Outcome

if TYPE_CHECKING:
    from plait.runtime.engine.scheduler import Run


class Ahead:
    """A run's nodes sent ahead of their inputs."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.enabled = bool(getattr(run.executor, "ahead", False))
        self.sent: set[str] = set()  # nodes whose task was made before their inputs were done
        self._ended: dict[str, asyncio.Future[None]] = {}  # node -> done when it reaches a final state
        self._announcing: dict[str, asyncio.Future[None]] = {}  # node -> its start, to be emitted
        self._stored_types: set[str] | None = None  # node types with results in the cache
        self._order: dict[str, int] | None = None  # node -> its place in the plan's order

    def send(self, after: list[str]) -> None:
        """Start the nodes after these that may go before their inputs are done."""
        if not after or not self.enabled:
            return
        run, plan = self.run, self.run.plan
        if self._order is None:
            self._order = {n: i for i, n in enumerate(plan.order)}
        order = self._order
        todo = [(order[c], c) for c in {c for n in after for c in plan.downstream[n]}]
        heapq.heapify(todo)  # in the plan's order, so a node goes after those it needs
        seen = {c for _, c in todo}
        while todo:
            _, child = heapq.heappop(todo)
            if child in run._running or run.nodes[child].state != ev.PENDING or not self._may_go(child):
                continue
            if not all(
                run.nodes[u].state in ev.SUCCESS_STATES or (u in run._running and self._plain_call(u))
                for u in plan.upstream[child]
            ):
                continue
            run._start(child)
            for later in plan.downstream[child] - seen:
                seen.add(later)
                heapq.heappush(todo, (order[later], later))

    def _plain_call(self, node_id: str) -> bool:
        """A node that is one call of its function: no parameter, output, subflow or mapping."""
        flow = self.run.flow
        node = flow.nodes[node_id]
        return not (
            node.is_parameter or node.is_output or is_subflow(node.spec_key) or flow.options(node_id).map_over
        )

    def _may_go(self, node_id: str) -> bool:
        """Whether a node may be sent before its inputs are computed.

        Not when the cache may answer for it once they are: an upstream that
        reruns and gives the same value leaves it cached, so a node whose type
        has results in the cache waits for its inputs, as on any executor.
        """
        run = self.run
        if not self._plain_call(node_id):
            return False
        if not run._cacheable(node_id):
            return True
        if self._stored_types is None:
            types = {run.flow.nodes[n].spec_key for n in run.plan.order}
            self._stored_types = run.engine.cache.stored_types(types)
        return run.flow.nodes[node_id].spec_key not in self._stored_types

    def ended(self, node_id: str) -> None:
        """A node reached a final state: what waits for it goes on."""
        waiting = self._ended.pop(node_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    async def _inputs_ended(self, node_id: str) -> None:
        nodes = self.run.nodes
        loop = asyncio.get_running_loop()
        for source in sorted(self.run.plan.upstream[node_id]):
            if nodes[source].state not in ev.FINAL_STATES:
                await self._ended.setdefault(source, loop.create_future())

    async def failed_input(self, node_id: str) -> str | None:
        """Wait until every upstream node of a node has ended; one that did not succeed, if any."""
        await self._inputs_ended(node_id)
        nodes = self.run.nodes
        upstream = sorted(self.run.plan.upstream[node_id])
        return next((u for u in upstream if nodes[u].state not in ev.SUCCESS_STATES), None)

    def announce(self, node_id: str, started: ev.NodeStarted) -> None:
        """Emit a node's start; for one sent ahead, after the ends of the inputs it waited for.

        Its worker starts it once they are done, which the cluster may say
        before their own outcomes are through here: the run's events still tell
        every node's inputs ending before the node starts.
        """
        run = self.run
        if all(run.nodes[u].state in ev.FINAL_STATES for u in run.plan.upstream[node_id]):
            run._emit(self._keyed(node_id, started))
            return

        async def after_inputs() -> None:
            await self._inputs_ended(node_id)
            if run.nodes[node_id].state not in ev.FINAL_STATES:
                run._emit(self._keyed(node_id, started))

        self._announcing[node_id] = asyncio.ensure_future(after_inputs())

    def _keyed(self, node_id: str, started: ev.NodeStarted) -> ev.NodeStarted:
        """A start with the node's key: its worker's, or, its inputs known here, worked out here."""
        run = self.run
        if started.cache_key or any(
            run.nodes[u].state not in ev.SUCCESS_STATES for u in run.plan.upstream[node_id]
        ):
            return started
        return dataclasses.replace(started, cache_key=run.plan.resolve(node_id, run._outputs_of))

    async def announced(self, node_id: str) -> None:
        """Wait until a start held back for its inputs is emitted, so nothing overtakes it."""
        announcing = self._announcing.pop(node_id, None)
        if announcing is not None:
            await announcing

    async def keyed(self, node_id: str, outcome: Outcome) -> bool:
        """A node sent ahead ended: work out its key here once its inputs are done.

        False when one of them did not succeed after all: the node is skipped.
        """
        run = self.run
        failed = await self.failed_input(node_id)
        if failed is not None:
            run._skip(node_id, failed)
            return False
        key = run.plan.resolve(node_id, run._outputs_of)
        if outcome.planned_key and outcome.planned_key != key:
            run.plan.keys[node_id] = outcome.planned_key  # what its outputs are stored under
        return True
