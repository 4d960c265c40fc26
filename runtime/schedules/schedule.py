"""Schedules: run a flow every N minutes, on a cron expression, or after another flow.

Schedules live in the workspace. A `Scheduler` looks at the clock (injected,
so tests can drive it), works out which slots are due, and claims each slot
by inserting its row in `schedule_slots` inside one transaction: whichever
process (the window, `plait serve`) inserts it first starts it, so a slot runs
exactly once however many schedulers watch the workspace.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plait.runtime.workspace.store import Workspace, WorkspaceError

INTERVAL = "interval"
CRON = "cron"
AFTER = "after"
KINDS = (INTERVAL, CRON, AFTER)
MISSED_RUN_ONCE = "run_once"
MISSED_SKIP = "skip"
GRACE = 90.0  # seconds a slot may be late and still count as on time
MAX_SLOTS = 1000  # slots looked at per schedule and tick, after a long sleep

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ScheduleError(WorkspaceError):
    """A schedule that cannot be made as asked; the message says why."""


def parse_interval(text: str) -> float:
    """'90s', '5m', '2h', '1d' or plain seconds -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise ScheduleError(f"'{text}' is not an interval: use a number with s, m, h or d, such as 15m or 2h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def time_zone(name: str) -> datetime.tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"'{name}' is not a time zone (use a name such as Europe/Paris or UTC)") from None


@dataclass
class Schedule:
    id: str
    flow_id: str
    kind: str
    expression: str  # seconds for interval, a cron expression, or the flow id to follow
    timezone: str = "UTC"
    parameters: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    missed: str = MISSED_RUN_ONCE
    created: float = 0.0
    last_slot: float | None = None

    def describe(self) -> str:
        if self.kind == INTERVAL:
            seconds = float(self.expression)
            for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
                if seconds % size == 0:
                    return f"every {seconds / size:g}{unit}"
            return f"every {seconds:g}s"
        if self.kind == CRON:
            return f"cron '{self.expression}' ({self.timezone})"
        return f"after flow {self.expression} succeeds"

    def slots_between(self, start: float, end: float) -> list[float]:
        """Clock slots in (start, end], oldest first (not for 'after' schedules)."""
        slots: list[float] = []
        if self.kind == INTERVAL:
            step = float(self.expression)
            k = int((start - self.created) // step) + 1
            while len(slots) < MAX_SLOTS:
                slot = self.created + k * step
                if slot > end:
                    break
                if slot > start:
                    slots.append(slot)
                k += 1
        elif self.kind == CRON:
            from croniter import croniter

            zone = time_zone(self.timezone)
            it = croniter(self.expression, datetime.datetime.fromtimestamp(start, zone))
            while len(slots) < MAX_SLOTS:
                slot = it.get_next(datetime.datetime).timestamp()
                if slot > end:
                    break
                slots.append(slot)
        return slots

    def upcoming(self, now: float, count: int = 5) -> list[float]:
        """The next few slot times, for a preview."""
        if self.kind == AFTER:
            return []
        horizon = now + (float(self.expression) * (count + 1) if self.kind == INTERVAL else 400 * 86400)
        return self.slots_between(now, horizon)[:count]


def _row(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "flow_id": schedule.flow_id,
        "kind": schedule.kind,
        "expression": schedule.expression,
        "timezone": schedule.timezone,
        "parameters": json.dumps(schedule.parameters),
        "enabled": int(schedule.enabled),
        "missed": schedule.missed,
        "created": schedule.created,
        "last_slot": schedule.last_slot,
    }


def _from_row(row: dict[str, Any]) -> Schedule:
    return Schedule(
        row["id"],
        row["flow_id"],
        row["kind"],
        row["expression"],
        row["timezone"],
        json.loads(row["parameters"] or "{}"),
        bool(row["enabled"]),
        row["missed"],
        row["created"],
        row["last_slot"],
    )


def add_schedule(
    workspace: Workspace,
    flow: str,
    kind: str,
    expression: str,
    *,
    timezone: str = "UTC",
    parameters: dict[str, Any] | None = None,
    missed: str = MISSED_RUN_ONCE,
    now: float | None = None,
) -> Schedule:
    """Check and store a new schedule for a flow (by name or id)."""
    info = workspace.flow_info(flow)
    if kind not in KINDS:
        raise ScheduleError(f"a schedule is one of {', '.join(KINDS)}, not '{kind}'")
    if missed not in (MISSED_RUN_ONCE, MISSED_SKIP):
        raise ScheduleError(f"missed slots are '{MISSED_RUN_ONCE}' or '{MISSED_SKIP}', not '{missed}'")
    time_zone(timezone)
    if kind == INTERVAL:
        expression = str(parse_interval(expression))
    elif kind == CRON:
        from croniter import croniter

        if not croniter.is_valid(expression):
            raise ScheduleError(
                f"'{expression}' is not a cron expression (five fields: "
                "minute hour day-of-month month day-of-week, e.g. '0 3 * * *')"
            )
    else:
        followed = workspace.flow_info(expression)
        if followed.id == info.id:
            raise ScheduleError(f"flow '{info.name}' cannot be scheduled after itself")
        expression = followed.id
    now = time.time() if now is None else now
    schedule = Schedule(
        uuid.uuid4().hex[:12],
        info.id,
        kind,
        expression,
        timezone,
        dict(parameters or {}),
        True,
        missed,
        now,
        None,
    )
    with workspace.transaction():
        workspace.history.add_schedule(_row(schedule))
    return schedule


def schedules(workspace: Workspace, flow: str | None = None) -> list[Schedule]:
    flow_id = workspace.flow_info(flow).id if flow else None
    return [_from_row(r) for r in workspace.history.schedules(flow_id)]


def set_enabled(workspace: Workspace, schedule_id: str, enabled: bool) -> None:
    with workspace.transaction():
        if not workspace.history.set_schedule_enabled(schedule_id, enabled):
            raise ScheduleError(f"workspace {workspace.folder} has no schedule '{schedule_id}'")


def remove_schedule(workspace: Workspace, schedule_id: str) -> None:
    with workspace.transaction():
        if not workspace.history.delete_schedule(schedule_id):
            raise ScheduleError(f"workspace {workspace.folder} has no schedule '{schedule_id}'")


def slot_rows(workspace: Workspace, schedule_id: str) -> list[dict[str, Any]]:
    return workspace.history.slots(schedule_id)


@dataclass(frozen=True)
class Due:
    """A slot this scheduler claimed and must start now."""

    schedule: Schedule
    slot: float


class Scheduler:
    """Finds due slots and claims them; `starter` starts a run and returns its id."""

    def __init__(
        self, workspace: Workspace, clock: Callable[[], float] = time.time, name: str | None = None
    ) -> None:
        self.workspace = workspace
        self.clock = clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"

    def tick(self) -> list[Due]:
        """Claim every slot due now; record missed, skipped and overlapping ones."""
        now = self.clock()
        claimed: list[Due] = []
        for schedule in schedules(self.workspace):
            if schedule.enabled:
                claimed.extend(self._tick_one(schedule, now))
        return claimed

    def _due(self, schedule: Schedule, now: float) -> list[float]:
        start = schedule.last_slot if schedule.last_slot is not None else schedule.created
        if schedule.kind != AFTER:
            return schedule.slots_between(start, now)
        return self.workspace.history.completed_between(schedule.expression, start, now)[:MAX_SLOTS]

    def _tick_one(self, schedule: Schedule, now: float) -> list[Due]:
        due = self._due(schedule, now)
        if not due:
            return []
        late = [t for t in due if now - t > GRACE]
        on_time = [t for t in due if now - t <= GRACE]
        records: list[tuple[float, str, str]] = []  # slot, state, reason
        to_run: float | None = None
        if on_time:
            to_run = on_time[-1]
            records += [(t, "missed", "a later slot ran instead") for t in on_time[:-1]]
            records += [(t, "missed", "a later slot ran instead") for t in late]
        elif schedule.missed == MISSED_RUN_ONCE:
            to_run = late[-1]
            records += [(t, "missed", "run once for all missed slots") for t in late[:-1]]
        else:
            records += [(t, "skipped", "missed while nothing was running schedules") for t in late]
        if to_run is not None and self._still_running(schedule.flow_id):
            records.append((to_run, "skipped", "the previous run of the flow was still going"))
            to_run = None
        claimed: list[Due] = []
        history = self.workspace.history
        with self.workspace.transaction():
            for slot, state, reason in records:
                history.claim_slot(schedule.id, slot, state, reason, self.name, now)
            if to_run is not None and history.claim_slot(
                schedule.id, to_run, "claimed", None, self.name, now
            ):
                claimed.append(Due(schedule, to_run))
            history.advance_schedule(schedule.id, max(due))
        return claimed

    def _still_running(self, flow_id: str) -> bool:
        return self.workspace.history.is_running(flow_id)

    def started(self, due: Due, run_id: str | None, error: str | None = None) -> None:
        """Record what became of a claimed slot."""
        with self.workspace.transaction():
            self.workspace.history.slot_started(due.schedule.id, due.slot, run_id, error)

    def next_wake(self, ceiling: float = 30.0) -> float:
        """Seconds until the next clock slot, at most `ceiling` (after-flow needs polling)."""
        now = self.clock()
        soonest = ceiling
        for schedule in schedules(self.workspace):
            if schedule.enabled and schedule.kind != AFTER:
                upcoming = schedule.upcoming(now, 1)
                if upcoming:
                    soonest = min(soonest, max(0.05, upcoming[0] - now))
            elif schedule.enabled:
                soonest = min(soonest, 2.0)
        return soonest
