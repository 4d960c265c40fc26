"""Run history: the runs, node runs and logs of a workspace, read and written here.

The engine's recorder (`plait.runtime.engine.recorder`) writes a run's
events through `write_records` and `finish_runs`; the command line, the
window and the explainer read them with the queries below.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from plait.runtime.workspace.store import Workspace


def write_records(
    conn: sqlite3.Connection, runs: list[tuple], node_rows: list[dict[str, Any]], logs: list[tuple]
) -> None:
    """New runs, node runs (inserted or updated column by column) and log lines, in one go."""
    conn.executemany(
        "insert into runs(id, flow_id, flow_name, flow_version, state, parameters, started,"
        " executor, parent_run, parent_node, pid, host) values (?,?,?,?,?,?,?,?,?,?,?,?)",
        runs,
    )
    by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
    for row in node_rows:  # rows with the same columns go in one statement
        by_columns.setdefault(tuple(row), []).append(list(row.values()))
    for columns, values in by_columns.items():
        updates_sql = ", ".join(f"{c}=excluded.{c}" for c in columns if c not in ("run_id", "node_id"))
        conn.executemany(
            f"insert into node_runs({', '.join(columns)}) values ({', '.join('?' * len(columns))})"
            f" on conflict(run_id, node_id) do update set {updates_sql}",
            values,
        )
    conn.executemany(
        "insert into logs(run_id, node_id, time, level, stream, message) values (?,?,?,?,?,?)", logs
    )


def finish_runs(conn: sqlite3.Connection, updates: list[tuple]) -> None:
    """(state, ended, error, run id) of runs that finished."""
    conn.executemany("update runs set state=?, ended=?, error=? where id=?", updates)


def run_rows(workspace: Workspace, flow: str | None = None, limit: int = 50) -> list[dict]:
    """Past runs, newest first, with per-state node counts."""
    sql = (
        "select r.id, r.flow_name, r.flow_version, r.state, r.started, r.ended, r.parameters,"
        " r.executor, r.parent_run,"
        " (select count(*) from node_runs n where n.run_id=r.id),"
        " (select count(*) from node_runs n where n.run_id=r.id and n.cached=1),"
        " (select count(*) from node_runs n where n.run_id=r.id and n.state='failed')"
        " from runs r"
    )
    args: list[Any] = []
    if flow:
        info = workspace.flow_info(flow)
        sql += " where r.flow_id=?"
        args.append(info.id)
    sql += " order by r.started desc limit ?"
    args.append(limit)
    keys = (
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
    return [dict(zip(keys, row, strict=False)) for row in workspace.conn.execute(sql, args)]


def last_key_parts(workspace: Workspace, flow_id: str) -> dict[str, dict[str, Any]]:
    """Each node's key, key parts and state from the last run of the flow that keyed it.

    A node served from the cache has the parts of the node run that computed its key.
    """
    rows = workspace.conn.execute(
        "select node_id, cache_key, coalesce(key_parts, (select k.key_parts from node_runs k"
        " where k.cache_key=latest.cache_key and k.key_parts is not null limit 1)), state"
        " from (select n.node_id, n.cache_key, n.key_parts, n.state, row_number() over"
        " (partition by n.node_id order by r.started desc) as rank from node_runs n"
        " join runs r on r.id=n.run_id where r.flow_id=? and n.cache_key is not null) as latest"
        " where rank=1",
        (flow_id,),
    )
    return {
        node_id: {"key": key, "parts": json.loads(parts), "state": state}
        for node_id, key, parts, state in rows
        if parts
    }


def last_states(workspace: Workspace, flow_id: str) -> dict[str, str]:
    """Node id -> state in the newest run of a flow, or {} when it never ran."""
    row = workspace.conn.execute(
        "select id from runs where flow_id=? order by started desc limit 1", (flow_id,)
    ).fetchone()
    if row is None:
        return {}
    return dict(workspace.conn.execute("select node_id, state from node_runs where run_id=?", (row[0],)))


def find_run(workspace: Workspace, run_id: str) -> dict[str, Any] | None:
    """The newest run whose id is or starts with `run_id`: id, flow, state, ended and its nodes.

    `nodes` maps each node id to its title; `failures` each node that failed, timed out
    or crashed to its `ended` time, `error_type`, `error_message` and `traceback`.
    """
    row = workspace.conn.execute(
        "select id, flow_name, state, ended from runs where substr(id, 1, ?)=? order by started desc limit 1",
        (len(run_id), run_id),
    ).fetchone()
    if row is None:
        return None
    found = dict(zip(("id", "flow", "state", "ended"), row, strict=True))
    found["nodes"] = dict(
        workspace.conn.execute("select node_id, title from node_runs where run_id=?", (found["id"],))
    )
    found["failures"] = {
        node_id: dict(zip(("ended", "error_type", "error_message", "traceback"), rest, strict=True))
        for node_id, *rest in workspace.conn.execute(
            "select node_id, ended, error_type, error_message, traceback from node_runs"
            " where run_id=? and state in ('failed', 'timed_out', 'crashed')",
            (found["id"],),
        )
    }
    return found


def log_lines(workspace: Workspace, run_id: str, node: str | None = None, after: int = 0) -> list[dict]:
    """A run's log lines in order (only node id `node`'s, when given), those after line id `after`."""
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
    return [dict(zip(keys, row, strict=True)) for row in workspace.conn.execute(sql + " order by l.id", args)]
