"""Numbered schema migrations of the workspace database.

Each migration takes the database from the previous number to its own and
runs inside the caller's transaction. Never edit a released migration: add a
new one, so every older workspace can walk forward step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


def _m1_flows(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["settings"].create({"key": str, "value": str}, pk="key")
    db["flows"].create(
        {
            "id": str,
            "name": str,
            "description": str,
            "latest_version": int,
            "created": float,
            "updated": float,
        },
        pk="id",
        not_null={"name"},
    )
    db["flows"].create_index(["name"], unique=True)
    db["flow_versions"].create(
        {"flow_id": str, "version": int, "saved": float, "description": str, "digest": str, "extras": str},
        pk=("flow_id", "version"),
        foreign_keys=[("flow_id", "flows", "id")],
    )
    db["nodes"].create(
        {
            "flow_id": str,
            "version": int,
            "id": str,
            "spec_key": str,
            "title": str,
            "x": float,
            "y": float,
            "constants": str,
            "options": str,
        },
        pk=("flow_id", "version", "id"),
    )
    db["edges"].create(
        {
            "flow_id": str,
            "version": int,
            "source": str,
            "source_port": str,
            "target": str,
            "target_port": str,
        },
        pk=("flow_id", "version", "source", "source_port", "target", "target_port"),
    )
    # Composite keys into flow_versions: sqlite-utils declares single-column
    # foreign keys only, so these are enforced by saving in one transaction.


def _m2_runs(db: sqlite_utils.Database) -> None:
    db["runs"].create(
        {
            "id": str,
            "flow_id": str,
            "flow_name": str,
            "flow_version": int,
            "state": str,
            "parameters": str,
            "options": str,
            "started": float,
            "ended": float,
            "executor": str,
            "parent_run": str,
            "parent_node": str,
            "pid": int,
            "host": str,
            "error": str,
        },
        pk="id",
    )
    db["runs"].create_index(["flow_id", "started"])
    db["runs"].create_index(["state"])
    db["node_runs"].create(
        {
            "run_id": str,
            "node_id": str,
            "title": str,
            "state": str,
            "attempts": int,
            "started": float,
            "ended": float,
            "cache_key": str,
            "cached": int,
            "result_ref": str,
            "summary": str,
            "error_type": str,
            "error_message": str,
            "traceback": str,
        },
        pk=("run_id", "node_id"),
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["logs"].create(
        {
            "id": int,
            "run_id": str,
            "node_id": str,
            "time": float,
            "level": str,
            "stream": str,
            "message": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["logs"].create_index(["run_id", "node_id"])
    # One entry per node cache key; `outputs` maps each output port to how its
    # value is stored (serializer, size, checksum, summary, file or inline).
    db["cache_entries"].create(
        {
            "key": str,
            "spec_key": str,
            "created": float,
            "last_used": float,
            "size": int,
            "expires": float,
            "outputs": str,
        },
        pk="key",
    )
    db["cache_entries"].create_index(["last_used"])
    # Small values live here instead of in files.
    db["cache_values"].create(
        {"key": str, "port": str, "data": bytes},
        pk=("key", "port"),
        foreign_keys=[("key", "cache_entries", "key")],
    )


def _m3_schedules(db: sqlite_utils.Database) -> None:
    db["schedules"].create(
        {
            "id": str,
            "flow_id": str,
            "kind": str,
            "expression": str,
            "timezone": str,
            "parameters": str,
            "enabled": int,
            "missed": str,
            "created": float,
            "last_slot": float,
        },
        pk="id",
    )
    # One row per slot of a schedule: inserting it is how a process claims the slot,
    # so two schedulers on one workspace never start the same slot twice.
    db["schedule_slots"].create(
        {
            "schedule_id": str,
            "slot": float,
            "state": str,
            "reason": str,
            "run_id": str,
            "claimed_by": str,
            "claimed_at": float,
        },
        pk=("schedule_id", "slot"),
    )


def _m4_key_parts(db: sqlite_utils.Database) -> None:
    # What each node run's cache key was made of (code parts, values, files,
    # policy), so `plait explain` and the window can say why a node runs.
    # A node served from the cache records only its key: its parts are those of the
    # node run that computed that key, found by it.
    db["node_runs"].add_column("key_parts", str)
    db["node_runs"].create_index(["cache_key"])


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _m1_flows,
    2: _m2_runs,
    3: _m3_schedules,
    4: _m4_key_parts,
}
SCHEMA_VERSION = max(MIGRATIONS)
