"""`plait serve`: a headless process that runs a workspace's due schedules."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from plait.runtime.engine.plan import RunRefused
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.schedules.schedule import Due, Scheduler
from plait.runtime.workspace.store import Workspace, WorkspaceError

log = logging.getLogger("plait.serve")


class Service:
    """Ticks the scheduler and starts the runs of claimed slots on one engine."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        executor: str = "local",
        max_workers: int | None = None,
        address: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.workspace = workspace
        self.catalog = workspace.catalog()
        self.engine = Engine(workspace, self.catalog)
        self.scheduler = Scheduler(workspace, clock)
        self.options = RunOptions(executor=executor, max_workers=max_workers, address=address)
        self.stopping = asyncio.Event()
        self.started: list[str] = []

    def start_due(self, due: Due) -> None:
        schedule = due.schedule
        try:
            self.catalog.reload()
            self.engine.forget_functions()
            flow = self.workspace.load_flow(schedule.flow_id, catalog=self.catalog)
            run = self.engine.start(flow, schedule.parameters, self.options)
        except (RunRefused, WorkspaceError) as exc:
            self.scheduler.started(due, None, str(exc))
            log.error("schedule %s (%s): the run could not start: %s", schedule.id, schedule.describe(), exc)
            return
        self.scheduler.started(due, run.id)
        self.started.append(run.id)
        log.info(
            "schedule %s (%s): started run %s of flow '%s'",
            schedule.id,
            schedule.describe(),
            run.id[:8],
            flow.name,
        )
        run.task.add_done_callback(lambda task: self._finished(flow.name, task))

    def _finished(self, flow: str, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        result = task.result()
        log.info("run %s of flow '%s' %s in %.2fs", result.run_id[:8], flow, result.state, result.duration)

    async def run(self) -> None:
        log.info("serving schedules of %s", self.workspace.folder)
        while not self.stopping.is_set():
            for due in self.scheduler.tick():
                self.start_due(due)
            try:
                await asyncio.wait_for(self.stopping.wait(), self.scheduler.next_wake())
            except asyncio.TimeoutError:
                pass
        await self.shutdown()

    async def shutdown(self) -> None:
        running = list(self.engine.runs.values())
        if running:
            log.info("stopping: cancelling %d running run(s)", len(running))
        await self.engine.close()
        log.info("stopped")

    def stop(self) -> None:
        self.stopping.set()
