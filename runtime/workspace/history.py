"""Run history: the one place that reads and writes a workspace's run tables.

`RunHistory` owns the runs, node runs and logs, the cache index's entries and
stored small values, and the schedules with their slots. The recorder writes a
run's events through it, the result cache indexes its entries through it, and
the command line, the window, the explainer, the drawings and the schedules
read through it; nothing else holds SQL for these tables. The workspace's own
connection comes from the store (`Workspace.history`); a thread that must not
share it opens one of its own with `RunHistory.opened`.

Calls that write expect the caller's transaction (`Workspace.transaction`),
so a batch of rows is one commit.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from plait.runtime.workspace.sqlite import Database, Table

DatabaseError = sqlite3.Error  # what a damaged, locked or missing database raises
_CHUNK = 500  # keys per query, well under SQLite's parameter limit
RUN_COLUMNS = (
    "id",
    "flow_id",
    "flow_name",
    "flow_version",
    "state",
    "parameters",
    "started",
    "executor",
    "parent_run",
    "parent_node",
    "pid",
    "host",
)
LOG_COLUMNS = ("run_id", "node_id", "time", "level", "stream", "message")
CACHE_COLUMNS = ("key", "spec_key", "created", "last_used", "size", "expires", "outputs")
SCHEDULE_COLUMNS = (
    "id",
    "flow_id",
    "kind",
    "expression",
    "timezone",
    "parameters",
    "enabled",
    "missed",
    "created",
    "last_slot",
)
_RUN_ROW_KEYS = (
    "id",
    "flow",
    "version",
    "state",
    "started",
    "ended",
    "parameters",
    "executor",
    "parent_run",
    "nodes",
    "cached",
    "failed",
)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _marks(chunk: list[str]) -> str:
    return ",".join("?" * len(chunk))


class RunHistory:
    """The run tables of one workspace database, over one connection."""

    def __init__(self, conn: sqlite3.Connection, db: Database | None = None) -> None:
        self.conn = conn
        self.db = db if db is not None else Database(conn, execute_plugins=False)
        self._tables: dict[str, Table] = {}

    def _table(self, name: str) -> Table:
        # sqlite-utils looks the name up among the views on every `db[name]`; once is enough.
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = self.db.table(name)
        return table

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query, as dicts: one statement, no savepoint, no lookups of the schema."""
        cursor = self.db.execute(sql, args)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor]

    def _first(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    @classmethod
    @contextmanager
    def opened(
        cls, db_path: str | Path, *, writable: bool = False, timeout: float = 10.0
    ) -> Iterator[RunHistory]:
        """The history of a workspace database on a connection of its own, closed afterwards.

        For work off the thread that owns the workspace's connection (the
        window reads past runs in a thread; the crash check writes in one).
        """
        if writable:
            conn = sqlite3.connect(db_path, timeout=timeout, isolation_level=None)
        else:
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=timeout)
            conn.execute(f"pragma busy_timeout = {int(timeout * 1000)}")
        try:
            yield cls(conn)
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction on this history's own connection (see `opened`)."""
        self.conn.execute("begin immediate")
        try:
            yield
        except BaseException:
            self.conn.execute("rollback")
            raise
        else:
            self.conn.execute("commit")

    # -- writing a run ------------------------------------------------------------

    def record(self, runs: list[tuple], node_rows: list[dict[str, Any]], logs: list[tuple]) -> None:
        """New runs (rows of `RUN_COLUMNS`), node runs (inserted or updated column by
        column) and log lines (rows of `LOG_COLUMNS`), in the caller's transaction."""
        if runs:
            self._table("runs").insert_all(itertools.chain([RUN_COLUMNS], runs))
        # Node runs and log lines come by the thousand: plain statements, as sqlite-utils
        # spends about 40 µs a row making its own (measured on a run of 1,001 cached nodes).
        by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
        for row in node_rows:  # rows with the same columns go in one statement
            by_columns.setdefault(tuple(row), []).append(list(row.values()))
        for columns, values in by_columns.items():
            updates = ", ".join(f"{c}=excluded.{c}" for c in columns if c not in ("run_id", "node_id"))
            self.conn.executemany(
                f"insert into node_runs({', '.join(columns)}) values ({', '.join('?' * len(columns))})"
                f" on conflict(run_id, node_id) do update set {updates}",
                values,
            )
        if logs:
            self.conn.executemany(
                f"insert into logs({', '.join(LOG_COLUMNS)}) values ({', '.join('?' * len(LOG_COLUMNS))})",
                logs,
            )

    def finish(self, updates: list[tuple]) -> None:
        """(state, ended, error, run id) of runs that finished."""
        self.conn.executemany("update runs set state=?, ended=?, error=? where id=?", updates)

    def running_here(self) -> list[tuple[str, int | None, str | None, float | None]]:
        """(run id, pid, host, started) of the runs still marked running."""
        return [
            (r["id"], r["pid"], r["host"], r["started"])
            for r in self._table("runs").rows_where("state='running'", select="id, pid, host, started")
        ]

    def mark_crashed(self, run_ids: list[str], now: float) -> None:
        """Mark runs, and their unfinished node runs, as crashed (in the caller's transaction)."""
        for run_id in run_ids:
            self.db.execute(
                "update runs set state='crashed', ended=coalesce(ended, ?),"
                " error='the process running it ended without finishing it'"
                " where id=?",
                (now, run_id),
            )
            self.db.execute(
                "update node_runs set state='crashed', ended=coalesce(ended, ?)"
                " where run_id=? and state in ('pending', 'running', 'retrying')",
                (now, run_id),
            )

    # -- reading runs -------------------------------------------------------------

    def runs(self, flow_id: str | None = None, limit: int = 50) -> list[dict]:
        """Past runs (of one flow, or all), newest first, with per-state node counts."""
        sql = (
            "select r.id, r.flow_name, r.flow_version, r.state, r.started, r.ended, r.parameters,"
            " r.executor, r.parent_run,"
            " (select count(*) from node_runs n where n.run_id=r.id) as nodes,"
            " (select count(*) from node_runs n where n.run_id=r.id and n.cached=1) as cached,"
            " (select count(*) from node_runs n where n.run_id=r.id and n.state='failed') as failed"
            " from runs r"
        )
        args: list[Any] = []
        if flow_id:
            sql += " where r.flow_id=?"
            args.append(flow_id)
        sql += " order by r.started desc limit ?"
        args.append(limit)
        return [dict(zip(_RUN_ROW_KEYS, row.values(), strict=True)) for row in self.db.query(sql, args)]

    def signature(self) -> tuple:
        """A value that changes whenever a run starts, ends or is added: for polling."""
        row = next(
            self.db.query(
                "select count(*) as runs, max(started) as started, max(ended) as ended,"
                " sum(state='running') as running from runs"
            )
        )
        return tuple(row.values())

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run's row (parameters decoded), or None when there is no such run."""
        for row in self._table("runs").rows_where(
            "id=?",
            (run_id,),
            select="id, flow_id, flow_name, flow_version, state, started, ended, parameters, error",
        ):
            row["parameters"] = json.loads(row["parameters"] or "{}")
            return row
        return None

    def run_ids(self, prefix: str, limit: int = 2) -> list[str]:
        """Ids of the runs whose id starts with `prefix` (as `plait runs` shows them), newest first.

        Ask for two to tell a unique prefix from an ambiguous one.
        """
        return [
            row["id"]
            for row in self._table("runs").rows_where(
                "substr(id, 1, length(?)) = ?",
                (prefix, prefix),
                select="id",
                order_by="started desc",
                limit=limit,
            )
        ]

    def latest_run_id(self, flow_id: str) -> str | None:
        """The newest run of a flow, or None when it never ran."""
        for row in self._table("runs").rows_where(
            "flow_id=?", (flow_id,), select="id", order_by="started desc", limit=1
        ):
            return row["id"]
        return None

    def node_runs(self, run_id: str) -> list[dict[str, Any]]:
        """A run's node runs: states, attempts, times, cache keys, result references, errors."""
        return list(
            self._table("node_runs").rows_where(
                "run_id=?",
                (run_id,),
                select="node_id, title, state, attempts, started, ended, cache_key, result_ref,"
                " error_type, error_message, traceback",
            )
        )

    def log_lines(
        self, run_id: str, node_id: str | None = None, limit: int | None = None, latest: bool = False
    ) -> list[tuple]:
        """A run's log lines in the order they came: (time, node id, level, stream, message);
        with a `limit`, its first lines, or its `latest`."""
        where, args = "run_id=?", [run_id]
        if node_id is not None:
            where += " and node_id=?"
            args.append(node_id)
        rows = [
            tuple(row.values())
            for row in self._table("logs").rows_where(
                where,
                args,
                select="time, node_id, level, stream, message",
                order_by="id desc" if latest else "id",
                limit=limit,
            )
        ]
        return rows[::-1] if latest else rows

    def log_count(self, run_id: str) -> int:
        """How many log lines a run has."""
        return self._table("logs").count_where("run_id=?", [run_id])

    def find_run(self, run_id: str) -> dict[str, Any] | None:
        """The newest run whose id is or starts with `run_id`: id, flow, state, ended and its nodes.

        `nodes` maps each node id to its title; `failures` each node that failed, timed out
        or crashed to its `ended` time, `error_type`, `error_message` and `traceback`.
        """
        row = self.conn.execute(
            "select id, flow_name, state, ended from runs where substr(id, 1, ?)=?"
            " order by started desc limit 1",
            (len(run_id), run_id),
        ).fetchone()
        if row is None:
            return None
        found = dict(zip(("id", "flow", "state", "ended"), row, strict=True))
        found["nodes"] = dict(
            self.conn.execute("select node_id, title from node_runs where run_id=?", (found["id"],))
        )
        found["failures"] = {
            node_id: dict(zip(("ended", "error_type", "error_message", "traceback"), rest, strict=True))
            for node_id, *rest in self.conn.execute(
                "select node_id, ended, error_type, error_message, traceback from node_runs"
                " where run_id=? and state in ('failed', 'timed_out', 'crashed')",
                (found["id"],),
            )
        }
        return found

    def log_entries(self, run_id: str, node: str | None = None, after: int = 0) -> list[dict]:
        """A run's log lines in order with their line ids and node titles (only `node`'s, when
        given), those after line id `after`: what `plait logs` prints and follows."""
        sql = (
            "select l.id, l.time, l.node_id, coalesce(n.title, l.node_id), l.level, l.stream, l.message"
            " from logs l left join node_runs n on n.run_id=l.run_id and n.node_id=l.node_id"
            " where l.run_id=? and l.id>?"
        )
        args: list[Any] = [run_id, after]
        if node is not None:
            sql += " and l.node_id=?"
            args.append(node)
        keys = ("id", "time", "node_id", "title", "level", "stream", "message")
        return [dict(zip(keys, row, strict=True)) for row in self.conn.execute(sql + " order by l.id", args)]

    def flow_runs(self, flow_id: str, prefix: str | None = None) -> list[tuple[str, str]]:
        """(id, state) of a flow's own runs (not as a subflow), newest first; only ids
        starting with `prefix` when given, else only the newest."""
        if prefix is None:
            sql = (
                "select id, state from runs where flow_id=? and parent_run is null"
                " order by started desc limit 1"
            )
            return [tuple(r) for r in self.conn.execute(sql, (flow_id,))]
        sql = "select id, state from runs where flow_id=? and id like ? order by started desc"
        return [tuple(r) for r in self.conn.execute(sql, (flow_id, f"{prefix}%"))]

    def node_results(self, run_id: str) -> list[tuple]:
        """(node_id, title, state, cache_key, result_ref) of each node of a run."""
        return self.conn.execute(
            "select node_id, title, state, cache_key, result_ref from node_runs where run_id=?", (run_id,)
        ).fetchall()

    def last_states(self, flow_id: str) -> dict[str, str]:
        """Node id -> state in the newest run of a flow, or {} when it never ran."""
        run_id = self.latest_run_id(flow_id)
        if run_id is None:
            return {}
        return {
            row["node_id"]: row["state"]
            for row in self._table("node_runs").rows_where("run_id=?", (run_id,), select="node_id, state")
        }

    def last_key_parts(self, flow_id: str) -> dict[str, dict[str, Any]]:
        """Each node's key, key parts and state from the last run of the flow that keyed it.

        A node served from the cache has the parts of the node run that computed its key.
        """
        rows = self.db.query(
            "select node_id, cache_key, coalesce(key_parts, (select k.key_parts from node_runs k"
            " where k.cache_key=latest.cache_key and k.key_parts is not null limit 1)) as parts, state"
            " from (select n.node_id, n.cache_key, n.key_parts, n.state, row_number() over"
            " (partition by n.node_id order by r.started desc) as rank from node_runs n"
            " join runs r on r.id=n.run_id where r.flow_id=? and n.cache_key is not null) as latest"
            " where rank=1",
            (flow_id,),
        )
        return {
            row["node_id"]: {
                "key": row["cache_key"],
                "parts": json.loads(row["parts"]),
                "state": row["state"],
            }
            for row in rows
            if row["parts"]
        }

    def last_cache_key(self, flow_id: str, node_id: str) -> str | None:
        """The cache key of a node in the newest run of its flow that keyed it."""
        for row in self.db.query(
            "select n.cache_key from node_runs n join runs r on r.id=n.run_id where r.flow_id=?"
            " and n.node_id=? and n.cache_key is not null order by r.started desc limit 1",
            (flow_id, node_id),
        ):
            return row["cache_key"]
        return None

    def latest_result(self, flow_id: str, node_id: str) -> dict[str, Any] | None:
        """The newest node run of a node in a flow that stored a result:
        run_id, state, cache_key and result_ref."""
        for row in self.db.query(
            "select n.run_id, n.state, n.cache_key, n.result_ref from node_runs n"
            " join runs r on r.id = n.run_id where r.flow_id=? and n.node_id=?"
            " and n.result_ref is not null order by coalesce(n.ended, r.started) desc limit 1",
            (flow_id, node_id),
        ):
            return row
        return None

    def maker_of(self, cache_key: str) -> tuple[str, float] | None:
        """(run id, time) of the run that computed the value cached under a key."""
        for row in self._table("node_runs").rows_where(
            "cache_key=? and cached=0 and state in ('completed', 'checkpoint')",
            (cache_key,),
            select="run_id, coalesce(ended, started) as time",
            order_by="ended desc",
            limit=1,
        ):
            return row["run_id"], row["time"]
        return None

    def completed_between(self, flow_id: str, after: float, upto: float) -> list[float]:
        """When the runs of a flow that completed in (after, upto] ended, in order."""
        return [
            row["ended"]
            for row in self._table("runs").rows_where(
                "flow_id=? and state='completed' and ended>? and ended<=?",
                (flow_id, after, upto),
                select="ended",
                order_by="ended",
            )
        ]

    def is_running(self, flow_id: str) -> bool:
        """Whether a run of the flow is going (here or in another process)."""
        return bool(self._table("runs").count_where("flow_id=? and state='running'", (flow_id,)))

    # -- the cache index ------------------------------------------------------------
    # Planning looks keys up once per node: these reads are one plain statement each.

    def cache_entries(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        """The cache index rows (`CACHE_COLUMNS`) of these keys, with their outputs decoded."""
        rows: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(set(keys))):
            rows += self._rows(
                f"select {', '.join(CACHE_COLUMNS)} from cache_entries where key in ({_marks(chunk)})", chunk
            )
        for row in rows:
            row["outputs"] = json.loads(row["outputs"])
        return rows

    def cached_spec_keys(self, spec_keys: Iterable[str]) -> set[str]:
        """Those of these node types that have entries in the cache index."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(spec_keys))):
            found.update(
                row["spec_key"]
                for row in self._rows(
                    f"select distinct spec_key from cache_entries where spec_key in ({_marks(chunk)})", chunk
                )
            )
        return found

    def inline_values(self, keys: Iterable[str]) -> dict[tuple[str, str], bytes]:
        """(key, port) -> bytes of the small values stored in the index under these keys."""
        found: dict[tuple[str, str], bytes] = {}
        for chunk in _chunks(sorted(set(keys))):
            for row in self._rows(
                f"select key, port, data from cache_values where key in ({_marks(chunk)})", chunk
            ):
                found[(row["key"], row["port"])] = row["data"]
        return found

    def inline_value(self, key: str, port: str) -> bytes | None:
        row = self._first("select data from cache_values where key=? and port=?", (key, port))
        return row["data"] if row else None

    def cache_expiry(self, key: str) -> tuple[float | None] | None:
        """(expires,) of an entry, live or not; None when no entry has this key."""
        row = self._first("select expires from cache_entries where key=?", (key,))
        return (row["expires"],) if row else None

    def put_cache_entries(self, entries: list[dict[str, Any]], values: list[tuple[str, str, bytes]]) -> None:
        """Index entries (rows of `CACHE_COLUMNS`, outputs as a dict) and their small values,
        replacing what was under the same keys; in the caller's transaction."""
        # Plain statements, like node runs: a computed node writes one entry, a run thousands.
        if entries:
            self.conn.executemany(
                f"insert or replace into cache_entries({', '.join(CACHE_COLUMNS)})"
                f" values ({', '.join('?' * len(CACHE_COLUMNS))})",
                [
                    [json.dumps(entry[c]) if c == "outputs" else entry.get(c) for c in CACHE_COLUMNS]
                    for entry in entries
                ],
            )
        if values:
            self.conn.executemany(
                "insert or replace into cache_values(key, port, data) values (?, ?, ?)", values
            )

    def touch_cache_entries(self, keys: list[str], now: float) -> None:
        """Mark entries as just used (in the caller's transaction)."""
        self.conn.executemany(
            "update cache_entries set last_used=? where key=?", [(now, key) for key in keys]
        )

    def delete_cache_entries(self, keys: Iterable[str]) -> None:
        """Forget entries and their small values (in the caller's transaction)."""
        for chunk in _chunks(list(keys)):
            self._table("cache_values").delete_where(f"key in ({_marks(chunk)})", chunk)
            self._table("cache_entries").delete_where(f"key in ({_marks(chunk)})", chunk)

    def cache_size(self) -> int:
        """Bytes the cache index accounts for."""
        return next(self.db.query("select coalesce(sum(size), 0) as size from cache_entries"))["size"]

    def cache_by_age(self) -> Iterator[tuple[str, int]]:
        """(key, size) of every entry, least recently used first."""
        for row in self._table("cache_entries").rows_where(select="key, size", order_by="last_used, created"):
            yield row["key"], row["size"]

    def cache_written_since(self, since: float) -> list[tuple[str, dict[str, Any]]]:
        """(key, outputs) of the entries written at or after a time."""
        return [
            (row["key"], json.loads(row["outputs"]))
            for row in self._table("cache_entries").rows_where(
                "created >= ?", (since,), select="key, outputs"
            )
        ]

    # -- schedules ------------------------------------------------------------------

    def add_schedule(self, row: dict[str, Any]) -> None:
        """A new schedule (a row of `SCHEDULE_COLUMNS`), in the caller's transaction."""
        self._table("schedules").insert(row)

    def schedules(self, flow_id: str | None = None) -> list[dict[str, Any]]:
        """The schedules (of one flow, or all), oldest first."""
        where, args = (None, []) if flow_id is None else ("flow_id=?", [flow_id])
        return list(
            self._table("schedules").rows_where(
                where, args, select=", ".join(SCHEDULE_COLUMNS), order_by="created"
            )
        )

    def set_schedule_enabled(self, schedule_id: str, enabled: bool) -> bool:
        """Turn a schedule on or off; False when there is no such schedule."""
        cursor = self.db.execute("update schedules set enabled=? where id=?", (int(enabled), schedule_id))
        return cursor.rowcount > 0

    def delete_schedule(self, schedule_id: str) -> bool:
        """Delete a schedule and its slots; False when there is no such schedule."""
        self._table("schedule_slots").delete_where("schedule_id=?", (schedule_id,))
        return self.db.execute("delete from schedules where id=?", (schedule_id,)).rowcount > 0

    def slots(self, schedule_id: str) -> list[dict[str, Any]]:
        """What became of each slot of a schedule, oldest first."""
        return list(
            self._table("schedule_slots").rows_where(
                "schedule_id=?",
                (schedule_id,),
                select="slot, state, reason, run_id, claimed_by",
                order_by="slot",
            )
        )

    def claim_slot(
        self, schedule_id: str, slot: float, state: str, reason: str | None, claimed_by: str, now: float
    ) -> bool:
        """Insert a slot's row unless a process did first; True when this call inserted it."""
        cursor = self.db.execute(
            "insert or ignore into schedule_slots(schedule_id, slot, state, reason, claimed_by,"
            " claimed_at) values (?,?,?,?,?,?)",
            (schedule_id, slot, state, reason, claimed_by, now),
        )
        return cursor.rowcount == 1

    def advance_schedule(self, schedule_id: str, slot: float) -> None:
        """Remember the latest slot a schedule has looked at."""
        self.db.execute(
            "update schedules set last_slot=max(coalesce(last_slot, 0), ?) where id=?", (slot, schedule_id)
        )

    def slot_started(self, schedule_id: str, slot: float, run_id: str | None, error: str | None) -> None:
        """Record what became of a claimed slot: the run it started, or why it could not."""
        self.db.execute(
            "update schedule_slots set state=?, run_id=?, reason=? where schedule_id=? and slot=?",
            ("started" if run_id else "failed", run_id, error, schedule_id, slot),
        )
