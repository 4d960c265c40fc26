import datetime

import pytest

from plait.runtime.flow.model import Flow
from plait.runtime.schedules import schedule as sch
from plait.runtime.workspace.store import Workspace

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc).timestamp()


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def ws(workspace):
    workspace.save_flow(Flow("nightly"))
    workspace.save_flow(Flow("report"))
    return workspace


def slots(ws, schedule):
    return [(s["slot"] - T0, s["state"]) for s in sch.slot_rows(ws, schedule.id)]


def test_intervals_parse_and_bad_ones_are_refused():
    assert sch.parse_interval("15m") == 900 and sch.parse_interval("2h") == 7200
    assert sch.parse_interval("90") == 90
    with pytest.raises(sch.ScheduleError, match="not an interval"):
        sch.parse_interval("soon")


def test_an_interval_fires_at_its_slots(ws):
    clock = Clock()
    schedule = sch.add_schedule(ws, "nightly", "interval", "10m", now=clock())
    scheduler = sch.Scheduler(ws, clock)
    assert scheduler.tick() == []
    clock.now = T0 + 599
    assert scheduler.tick() == []
    clock.now = T0 + 601
    due = scheduler.tick()
    assert [d.slot - T0 for d in due] == [600]
    assert scheduler.tick() == []  # claimed once
    clock.now = T0 + 1205
    assert [d.slot - T0 for d in scheduler.tick()] == [1200]
    assert slots(ws, schedule) == [(600, "claimed"), (1200, "claimed")]


def test_cron_fires_at_its_slots_in_its_time_zone(ws):
    clock = Clock(T0)  # 12:00 UTC = 13:00 in Paris
    schedule = sch.add_schedule(ws, "nightly", "cron", "30 13 * * *", timezone="Europe/Paris", now=clock())
    scheduler = sch.Scheduler(ws, clock)
    clock.now = T0 + 29 * 60
    assert scheduler.tick() == []
    clock.now = T0 + 30 * 60 + 5
    assert [d.slot - T0 for d in scheduler.tick()] == [30 * 60]
    upcoming = schedule.upcoming(clock.now, 5)
    assert [u - T0 for u in upcoming] == [30 * 60 + 86400 * k for k in range(1, 6)]
    with pytest.raises(sch.ScheduleError, match="not a cron expression"):
        sch.add_schedule(ws, "nightly", "cron", "every day")
    with pytest.raises(sch.ScheduleError, match="not a time zone"):
        sch.add_schedule(ws, "nightly", "cron", "0 3 * * *", timezone="Mars/Olympus")


def test_missed_slots_run_once_or_are_skipped_by_setting(ws):
    clock = Clock()
    once = sch.add_schedule(ws, "nightly", "interval", "1h", now=clock())
    skip = sch.add_schedule(ws, "report", "interval", "1h", missed="skip", now=clock())
    scheduler = sch.Scheduler(ws, clock)
    clock.now = T0 + 5 * 3600 + 1800  # the machine was off for five slots
    due = scheduler.tick()
    assert [(d.schedule.id, d.slot - T0) for d in due] == [(once.id, 5 * 3600)]
    assert slots(ws, once) == [(h * 3600, "missed") for h in range(1, 5)] + [(5 * 3600, "claimed")]
    assert slots(ws, skip) == [(h * 3600, "skipped") for h in range(1, 6)]


def test_the_after_flow_trigger_fires_only_after_a_successful_run(ws):
    clock = Clock()
    schedule = sch.add_schedule(ws, "report", "after", "nightly", now=clock())
    scheduler = sch.Scheduler(ws, clock)
    nightly = ws.flow_info("nightly").id

    def finished(run_id, state, ended):
        ws.conn.execute(
            "insert into runs(id, flow_id, flow_name, flow_version, state, started,"
            " ended) values (?, ?, 'nightly', 1, ?, ?, ?)",
            (run_id, nightly, state, ended - 5, ended),
        )

    finished("r1", "failed", T0 + 10)
    clock.now = T0 + 20
    assert scheduler.tick() == []
    finished("r2", "completed", T0 + 30)
    clock.now = T0 + 40
    due = scheduler.tick()
    assert [(d.schedule.id, d.slot - T0) for d in due] == [(schedule.id, 30)]
    assert scheduler.tick() == []
    with pytest.raises(sch.ScheduleError, match="after itself"):
        sch.add_schedule(ws, "report", "after", "report")


def test_an_overlapping_slot_is_skipped_and_recorded(ws):
    clock = Clock()
    schedule = sch.add_schedule(ws, "nightly", "interval", "1m", now=clock())
    scheduler = sch.Scheduler(ws, clock)
    clock.now = T0 + 61
    (due,) = scheduler.tick()
    scheduler.started(due, "run-1")
    ws.conn.execute(
        "insert into runs(id, flow_id, flow_name, flow_version, state, started) "
        "values ('run-1', ?, 'nightly', 1, 'running', ?)",
        (schedule.flow_id, T0 + 61),
    )
    clock.now = T0 + 121
    assert scheduler.tick() == []
    rows = sch.slot_rows(ws, schedule.id)
    assert [(r["state"], r["run_id"]) for r in rows] == [("started", "run-1"), ("skipped", None)]
    assert rows[1]["reason"] == "the previous run of the flow was still going"


def test_two_schedulers_on_one_workspace_start_each_slot_exactly_once(ws, tmp_path):
    clock = Clock()
    sch.add_schedule(ws, "nightly", "interval", "1m", now=clock())
    other = Workspace(ws.folder)
    first, second = sch.Scheduler(ws, clock, "a"), sch.Scheduler(other, clock, "b")
    claimed = []
    for minute in range(1, 31):
        clock.now = T0 + minute * 60 + 1
        order = (first, second) if minute % 2 else (second, first)
        for scheduler in order:
            claimed += [(scheduler.name, d.slot) for d in scheduler.tick()]
    assert sorted(slot for _, slot in claimed) == [T0 + m * 60 for m in range(1, 31)]
    assert {name for name, _ in claimed} == {"a", "b"}
    other.close()


def test_disabled_and_removed_schedules_do_not_fire(ws):
    clock = Clock()
    schedule = sch.add_schedule(ws, "nightly", "interval", "1m", now=clock())
    sch.set_enabled(ws, schedule.id, False)
    scheduler = sch.Scheduler(ws, clock)
    clock.now = T0 + 61
    assert scheduler.tick() == []
    sch.remove_schedule(ws, schedule.id)
    assert sch.schedules(ws) == []
    with pytest.raises(sch.ScheduleError, match="no schedule"):
        sch.remove_schedule(ws, schedule.id)


def test_describe_reads_like_a_person_would_say_it(ws):
    assert sch.add_schedule(ws, "nightly", "interval", "15m").describe() == "every 15m"
    assert sch.add_schedule(ws, "nightly", "cron", "0 3 * * *").describe() == "cron '0 3 * * *' (UTC)"
