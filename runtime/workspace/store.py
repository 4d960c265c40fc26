"""The workspace: a folder with `plait.sqlite`, `.plait/` and the user's node libraries.

Each save of a changed flow writes a new immutable version; runs point at the
exact version that ran. Several processes (the window, `plait run`,
`plait serve`) may use one workspace at once: writes take SQLite's write lock
up front (`BEGIN IMMEDIATE`) and wait for each other.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from plait.runtime.flow.model import Edge, Flow, Node, SpecSource
from plait.runtime.workspace.history import RunHistory
from plait.runtime.workspace.migrations import MIGRATIONS, SCHEMA_VERSION
from plait.runtime.workspace.private import create_private_file, private_dir, tighten_workspace
from plait.runtime.workspace.sqlite import Database

DB_NAME = "plait.sqlite"
DATA_DIR = ".plait"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000


class WorkspaceError(Exception):
    """A workspace that cannot be opened or an operation it refuses."""


class FlowNotFound(WorkspaceError):
    pass


@dataclass(frozen=True)
class FlowInfo:
    id: str
    name: str
    description: str
    latest_version: int
    created: float
    updated: float


@dataclass(frozen=True)
class VersionInfo:
    flow_id: str
    version: int
    saved: float
    nodes: int
    edges: int


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) is not running anything.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def default_workspace_path() -> Path:
    """The workspace Plait opens when given none (PLAIT_WORKSPACE overrides it)."""
    env = os.environ.get("PLAIT_WORKSPACE")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_data_path("plait", appauthor=False) / "workspace"


def _check_database_file(path: Path) -> None:
    """Refuse, before anything writes to it, a file that is not a Plait database."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise WorkspaceError(
            f"{path} is not a Plait workspace database (it is not an SQLite file). "
            "Move it away or open another folder; Plait has not changed it."
        )
    # With no write-ahead log beside it, everything is in the file itself and
    # `immutable` reads it without creating -wal/-shm files next to it.
    wal = path.with_name(path.name + "-wal")
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if wal.exists() else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
            if not tables:
                return
            if "meta" not in tables:
                raise WorkspaceError(
                    f"{path} is an SQLite database but not a Plait workspace. "
                    "Open another folder; Plait has not changed it."
                )
            row = conn.execute("select value from meta where key='schema_version'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise
        raise WorkspaceError(
            f"{path} cannot be read as a Plait workspace database ({exc}). Plait has not changed it."
        ) from None
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise WorkspaceError(
            f"{path} was written by a newer Plait (workspace schema {version}; this Plait "
            f"reads up to {SCHEMA_VERSION}). Upgrade Plait to open it; the file is unchanged."
        )


def open_workspace(folder: str | os.PathLike[str] | None) -> Workspace:
    """A workspace folder, or the default one, which gets the examples when first made."""
    if folder is not None:
        return Workspace(folder)
    path = default_workspace_path()
    if not (path / DB_NAME).exists():
        from plait.runtime.workspace.examples import install_examples

        install_examples(path)
    return Workspace(path)


class Workspace:
    """A Plait workspace folder and its database."""

    def __init__(self, folder: str | os.PathLike[str], *, create: bool = True) -> None:
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.exists():
            if not create:
                raise WorkspaceError(f"workspace folder {self.folder} does not exist")
            self.folder.mkdir(parents=True)
        elif not self.folder.is_dir():
            raise WorkspaceError(f"{self.folder} is a file, not a workspace folder")
        self.db_path = self.folder / DB_NAME
        self.data_dir = self.folder / DATA_DIR
        _check_database_file(self.db_path)
        # SQLite gives its -wal and -shm files the database file's own mode.
        create_private_file(self.db_path)
        tighten_workspace(
            self.folder,
            [self.db_path] + [self.db_path.with_name(DB_NAME + suffix) for suffix in ("-wal", "-shm")],
            self.data_dir,
        )
        conn = sqlite3.connect(
            self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("pragma foreign_keys = on")
        conn.execute("pragma journal_mode = wal")
        conn.execute("pragma synchronous = normal")
        self.conn = conn
        self.db = Database(conn)
        self.history = RunHistory(conn, self.db)
        private_dir(self.data_dir)
        self._migrate()
        # When runs were found crashed: the earliest start among them, so the results
        # written since can be checked (`plait.runtime.results.cache.verify_after_crash`).
        self.crashed_since: float | None = None
        self.mark_crashed_runs()
        # A folder that ships flow documents (flows/*.json, as the examples do) gets
        # them imported on first open, so no database needs to be committed.
        from plait.runtime.workspace.documents import seed_from_documents

        seed_from_documents(self)

    @classmethod
    def default(cls) -> Workspace:
        """The default workspace in the user data folder, created with the examples."""
        return open_workspace(None)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and schema -------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the lock from the start."""
        with self.history.transaction():
            yield self.conn

    @property
    def schema_version(self) -> int:
        if "meta" not in self.db.table_names():
            return 0
        row = self.conn.execute("select value from meta where key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, upto: int = SCHEMA_VERSION) -> None:
        with self.transaction() as conn:
            current = self.schema_version
            if current > SCHEMA_VERSION:  # another process upgraded it meanwhile
                raise WorkspaceError(
                    f"{self.db_path} was written by a newer Plait (schema {current}); "
                    "upgrade Plait to open it"
                )
            for number in range(current + 1, upto + 1):
                MIGRATIONS[number](self.db)
                conn.execute(
                    "insert or replace into meta(key, value) values ('schema_version', ?)", (str(number),)
                )

    # -- runs left behind ------------------------------------------------------

    def mark_crashed_runs(self) -> int:
        """Mark as crashed the runs still 'running' whose process on this host is gone."""
        host = socket.gethostname()
        crashed = []
        for run_id, pid, run_host, started in self.history.running_here():
            if run_host == host and pid and not _process_alive(pid):
                crashed.append(run_id)
                began = started or 0.0
                self.crashed_since = min(self.crashed_since or began, began)
        if crashed:
            now = time.time()
            with self.transaction():
                self.history.mark_crashed(crashed, now)
        return len(crashed)

    # -- node libraries ----------------------------------------------------------

    def catalog(self) -> Any:
        """Every node type this workspace offers: its own *.py files and listed modules."""
        from plait.runtime.nodes.libraries import Catalog, library_modules
        from plait.runtime.workspace.catalog import FlowCatalog

        # Plait's built-in nodes first, then the modules the workspace lists.
        catalog = Catalog(self.folder, library_modules(self.get_setting("libraries", []) or []))
        catalog.load()
        return FlowCatalog(catalog, self)

    # -- settings ----------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("select value from settings where key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as conn:
            conn.execute(
                "insert or replace into settings(key, value) values (?, ?)", (key, json.dumps(value))
            )

    # -- flows -------------------------------------------------------------

    def flows(self) -> list[FlowInfo]:
        rows = self.conn.execute(
            "select id, name, description, latest_version, created, updated from flows "
            "order by name collate nocase"
        ).fetchall()
        return [FlowInfo(*row) for row in rows]

    def has_flow(self, flow_id: str) -> bool:
        """Whether a flow with this id has been saved here."""
        return self.conn.execute("select 1 from flows where id=?", (flow_id,)).fetchone() is not None

    def flow_info(self, name_or_id: str) -> FlowInfo:
        row = self.conn.execute(
            "select id, name, description, latest_version, created, updated from flows "
            "where id = ? or name = ? order by id = ? desc limit 1",
            (name_or_id, name_or_id, name_or_id),
        ).fetchone()
        if row is None:
            known = ", ".join(f.name for f in self.flows()) or "none yet"
            raise FlowNotFound(f"workspace {self.folder} has no flow '{name_or_id}' (flows: {known})")
        return FlowInfo(*row)

    def versions(self, name_or_id: str) -> list[VersionInfo]:
        info = self.flow_info(name_or_id)
        rows = self.conn.execute(
            "select v.flow_id, v.version, v.saved,"
            " (select count(*) from nodes n where n.flow_id=v.flow_id and n.version=v.version),"
            " (select count(*) from edges e where e.flow_id=v.flow_id and e.version=v.version)"
            " from flow_versions v where v.flow_id=? order by v.version",
            (info.id,),
        ).fetchall()
        return [VersionInfo(*row) for row in rows]

    def save_flow(self, flow: Flow) -> int:
        """Save `flow` as a new version and return it; an unchanged flow writes nothing."""
        name = flow.name.strip()
        if not name:
            raise WorkspaceError("a flow needs a name before it can be saved")
        digest = flow.digest()
        now = time.time()
        with self.transaction() as conn:
            clash = conn.execute("select id from flows where name=? and id<>?", (name, flow.id)).fetchone()
            if clash:
                raise WorkspaceError(
                    f"workspace {self.folder} already has another flow named '{name}'; "
                    "rename this one before saving"
                )
            row = conn.execute("select latest_version from flows where id=?", (flow.id,)).fetchone()
            latest = row[0] if row else 0
            if row is None:
                conn.execute(
                    "insert into flows(id, name, description, latest_version, created,"
                    " updated) values (?, ?, ?, 0, ?, ?)",
                    (flow.id, name, flow.description, now, now),
                )
            elif latest:
                last = conn.execute(
                    "select digest from flow_versions where flow_id=? and version=?", (flow.id, latest)
                ).fetchone()
                if last and last[0] == digest:
                    conn.execute("update flows set name=? where id=? and name<>?", (name, flow.id, name))
                    flow.version = latest
                    return latest
            version = latest + 1
            self._write_version(conn, flow, version, digest, now)
            conn.execute(
                "update flows set name=?, description=?, latest_version=?, updated=? where id=?",
                (name, flow.description, version, now, flow.id),
            )
        flow.version = version
        return version

    def _write_version(
        self, conn: sqlite3.Connection, flow: Flow, version: int, digest: str, now: float
    ) -> None:
        conn.execute(
            "insert into flow_versions(flow_id, version, saved, description, digest,"
            " extras) values (?, ?, ?, ?, ?, ?)",
            (flow.id, version, now, flow.description, digest, json.dumps(flow.extras)),
        )
        conn.executemany(
            "insert into nodes(flow_id, version, id, spec_key, title, x, y, constants, options)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    flow.id,
                    version,
                    n.id,
                    n.spec_key,
                    n.title,
                    n.position[0],
                    n.position[1],
                    json.dumps(n.values),
                    json.dumps(n.options),
                )
                for n in flow.nodes.values()
            ],
        )
        conn.executemany(
            "insert into edges(flow_id, version, source, source_port, target, target_port)"
            " values (?, ?, ?, ?, ?, ?)",
            [(flow.id, version, e.source, e.source_port, e.target, e.target_port) for e in flow.edges],
        )

    def load_flow(
        self, name_or_id: str, version: int | None = None, catalog: SpecSource | None = None
    ) -> Flow:
        """Load the latest (or a given) version of a flow, in bulk."""
        info = self.flow_info(name_or_id)
        version = version or info.latest_version
        row = self.conn.execute(
            "select description, extras from flow_versions where flow_id=? and version=?", (info.id, version)
        ).fetchone()
        if row is None:
            raise FlowNotFound(
                f"flow '{info.name}' has no version {version} (latest is {info.latest_version})"
            )
        nodes = [
            Node(r[0], r[1], r[2], (r[3], r[4]), json.loads(r[5]), json.loads(r[6]))
            for r in self.conn.execute(
                "select id, spec_key, title, x, y, constants, options from nodes "
                "where flow_id=? and version=?",
                (info.id, version),
            )
        ]
        edges = [
            Edge(*r)
            for r in self.conn.execute(
                "select source, source_port, target, target_port from edges where flow_id=? and version=?",
                (info.id, version),
            )
        ]
        return Flow.from_parts(
            info.name,
            nodes,
            edges,
            id=info.id,
            description=row[0],
            catalog=catalog,
            version=version,
            extras=json.loads(row[1]),
        )

    def rename_flow(self, name_or_id: str, new_name: str) -> None:
        info = self.flow_info(name_or_id)
        new_name = new_name.strip()
        if not new_name:
            raise WorkspaceError("a flow needs a non-empty name")
        with self.transaction() as conn:
            if conn.execute("select 1 from flows where name=? and id<>?", (new_name, info.id)).fetchone():
                raise WorkspaceError(
                    f"workspace {self.folder} already has a flow named '{new_name}'; choose another name"
                )
            conn.execute("update flows set name=?, updated=? where id=?", (new_name, time.time(), info.id))

    def duplicate_flow(self, name_or_id: str, new_name: str | None = None) -> Flow:
        """Save a copy of a flow's latest version as a new flow, and return it."""
        flow = self.load_flow(name_or_id)
        copy = flow.copy()
        copy.id = uuid.uuid4().hex
        copy.version = 0
        taken = {f.name for f in self.flows()}
        base = new_name or f"{flow.name} copy"
        copy.name, n = base, 2
        while new_name is None and copy.name in taken:
            copy.name, n = f"{base} {n}", n + 1
        self.save_flow(copy)
        return copy

    def delete_flow(self, name_or_id: str) -> None:
        """Delete a flow and its versions; the records of its runs are kept."""
        info = self.flow_info(name_or_id)
        with self.transaction() as conn:
            for table in ("edges", "nodes", "flow_versions", "flows"):
                column = "id" if table == "flows" else "flow_id"
                conn.execute(f"delete from {table} where {column}=?", (info.id,))
