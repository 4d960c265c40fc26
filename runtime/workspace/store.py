"""The workspace: a folder with `plait.sqlite`, `.plait/` and the user's node libraries.

Each save of a changed flow writes a new immutable version; runs point at the
exact version that ran. Several processes (the window, `plait run`,
`plait serve`) may use one workspace at once: writes take SQLite's write lock
up front (`BEGIN IMMEDIATE`) and wait for each other.
"""

from __future__ import annotations

import itertools
import json
import logging
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
BUSY_TIMEOUT_MS = 30_000
log = logging.getLogger("plait.runtime.workspace")
_FLOW_COLUMNS = "id, name, description, latest_version, created, updated"


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
    # The file is read through SQLite only, never with open(): closing a descriptor of
    # its own drops every lock this process holds on the file, its open connections'
    # too, and another process's checkpoint then runs under them: a corrupt database.
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
        if "file is not a database" in str(exc):  # SQLITE_NOTADB: not an SQLite header
            raise WorkspaceError(
                f"{path} is not a Plait workspace database (it is not an SQLite file). "
                "Move it away or open another folder; Plait has not changed it."
            ) from None
        raise WorkspaceError(
            f"{path} cannot be read as a Plait workspace database ({exc}). Plait has not changed it."
        ) from None
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise WorkspaceError(
            f"{path} was written by a newer Plait (workspace schema {version}; this Plait "
            f"reads up to {SCHEMA_VERSION}). Upgrade Plait to open it; the file is unchanged."
        )


def _remember_if_made_here(folder: Path) -> None:
    """A workspace Plait creates in a folder with no code yet is its user's own: trust it."""
    from plait.runtime.nodes.loader import workspace_sources
    from plait.runtime.workspace import trust

    if workspace_sources(folder):
        return  # someone else's code was here first: the window asks before running it
    try:
        trust.trust(folder, reason="created by Plait on this computer")
    except OSError as exc:  # an unwritable config folder must not stop the workspace
        log.warning("Could not remember %s as a workspace made here: %s", folder, exc)


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
        if not self.db_path.exists() and create:
            _remember_if_made_here(self.folder)
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
        self.db = Database(conn, execute_plugins=False)  # no plugin code runs on a workspace
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
        with self.transaction():
            current = self.schema_version
            if current > SCHEMA_VERSION:  # another process upgraded it meanwhile
                raise WorkspaceError(
                    f"{self.db_path} was written by a newer Plait (schema {current}); "
                    "upgrade Plait to open it"
                )
            for number in range(current + 1, upto + 1):
                MIGRATIONS[number](self.db)
                self.db["meta"].insert({"key": "schema_version", "value": str(number)}, replace=True)

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

    def catalog(self, *, loader: Any = None) -> Any:
        """Every node type this workspace offers: its own *.py files and listed modules.

        `loader` says how libraries load: imported here by default (`plait run`),
        `"read"` from source without running them, `"process"` in a library
        process of their own (the window), or a loader object.
        """
        from plait.runtime.nodes.libraries import Catalog, ReadLoader, library_modules
        from plait.runtime.workspace.catalog import FlowCatalog

        listed = self.get_setting("libraries", []) or []
        if loader == "read":
            loader = ReadLoader()
        elif loader == "process":
            from plait.runtime.nodes.host import DEFAULT_TIMEOUT, HostLoader

            timeout = self.get_setting("library_timeout", DEFAULT_TIMEOUT)
            loader = HostLoader(self.folder, timeout=float(timeout), user_packages=tuple(listed))
        # Plait's built-in nodes first, then the modules the workspace lists.
        catalog = Catalog(self.folder, library_modules(listed), loader=loader)
        catalog.load()
        return FlowCatalog(catalog, self)

    # -- settings ----------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        for row in self.db["settings"].rows_where("key=?", (key,), select="value"):
            return json.loads(row["value"])
        return default

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction():
            self.db["settings"].insert({"key": key, "value": json.dumps(value)}, replace=True)

    # -- flows -------------------------------------------------------------

    def flows(self) -> list[FlowInfo]:
        rows = self.db["flows"].rows_where(select=_FLOW_COLUMNS, order_by="name collate nocase")
        return [FlowInfo(**row) for row in rows]

    def has_flow(self, flow_id: str) -> bool:
        """Whether a flow with this id has been saved here."""
        return self.db["flows"].count_where("id=?", (flow_id,)) > 0

    def flow_info(self, name_or_id: str) -> FlowInfo:
        # The id wins over a flow whose name happens to be that id.
        for row in self.db.query(
            f"select {_FLOW_COLUMNS} from flows where id = :flow or name = :flow"
            " order by id = :flow desc limit 1",
            {"flow": name_or_id},
        ):
            return FlowInfo(**row)
        known = ", ".join(f.name for f in self.flows()) or "none yet"
        raise FlowNotFound(f"workspace {self.folder} has no flow '{name_or_id}' (flows: {known})")

    def spec_keys(self, name_or_id: str) -> list[str]:
        """The functions the latest version of a flow's nodes call, read without loading it."""
        info = self.flow_info(name_or_id)
        rows = self.db["nodes"].rows_where(
            "flow_id=? and version=?",
            (info.id, info.latest_version),
            select="distinct spec_key",
            order_by="spec_key",
        )
        return [row["spec_key"] for row in rows]

    def versions(self, name_or_id: str) -> list[VersionInfo]:
        info = self.flow_info(name_or_id)
        rows = self.db.query(
            "select v.flow_id, v.version, v.saved,"
            " (select count(*) from nodes n where n.flow_id=v.flow_id and n.version=v.version) as nodes,"
            " (select count(*) from edges e where e.flow_id=v.flow_id and e.version=v.version) as edges"
            " from flow_versions v where v.flow_id=? order by v.version",
            (info.id,),
        )
        return [VersionInfo(**row) for row in rows]

    def save_flow(self, flow: Flow) -> int:
        """Save `flow` as a new version and return it; an unchanged flow writes nothing."""
        name = flow.name.strip()
        if not name:
            raise WorkspaceError("a flow needs a name before it can be saved")
        digest = flow.digest()
        now = time.time()
        flows = self.db["flows"]
        with self.transaction():
            if flows.count_where("name=? and id<>?", (name, flow.id)):
                raise WorkspaceError(
                    f"workspace {self.folder} already has another flow named '{name}'; "
                    "rename this one before saving"
                )
            row = next(flows.rows_where("id=?", (flow.id,), select="latest_version, name"), None)
            latest = row["latest_version"] if row else 0
            if row is None:
                flows.insert(
                    {
                        "id": flow.id,
                        "name": name,
                        "description": flow.description,
                        "latest_version": 0,
                        "created": now,
                        "updated": now,
                    }
                )
            elif latest:
                last = next(
                    self.db["flow_versions"].rows_where(
                        "flow_id=? and version=?", (flow.id, latest), select="digest"
                    ),
                    None,
                )
                if last and last["digest"] == digest:
                    if row["name"] != name:
                        flows.update(flow.id, {"name": name})
                    flow.version = latest
                    return latest
            version = latest + 1
            self._write_version(flow, version, digest, now)
            flows.update(
                flow.id,
                {"name": name, "description": flow.description, "latest_version": version, "updated": now},
            )
        flow.version = version
        return version

    def _write_version(self, flow: Flow, version: int, digest: str, now: float) -> None:
        self.db["flow_versions"].insert(
            {
                "flow_id": flow.id,
                "version": version,
                "saved": now,
                "description": flow.description,
                "digest": digest,
                "extras": json.dumps(flow.extras),
            }
        )
        self.db["nodes"].insert_all(
            itertools.chain(
                [("flow_id", "version", "id", "spec_key", "title", "x", "y", "constants", "options")],
                (
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
                ),
            )
        )
        self.db["edges"].insert_all(
            itertools.chain(
                [("flow_id", "version", "source", "source_port", "target", "target_port")],
                ((flow.id, version, e.source, e.source_port, e.target, e.target_port) for e in flow.edges),
            )
        )

    def load_flow(
        self, name_or_id: str, version: int | None = None, catalog: SpecSource | None = None
    ) -> Flow:
        """Load the latest (or a given) version of a flow, in bulk."""
        info = self.flow_info(name_or_id)
        version = version or info.latest_version
        row = next(
            self.db["flow_versions"].rows_where(
                "flow_id=? and version=?", (info.id, version), select="description, extras"
            ),
            None,
        )
        if row is None:
            raise FlowNotFound(
                f"flow '{info.name}' has no version {version} (latest is {info.latest_version})"
            )
        nodes = [
            Node(
                r["id"],
                r["spec_key"],
                r["title"],
                (r["x"], r["y"]),
                json.loads(r["constants"]),
                json.loads(r["options"]),
            )
            for r in self.db["nodes"].rows_where(
                "flow_id=? and version=?",
                (info.id, version),
                select="id, spec_key, title, x, y, constants, options",
            )
        ]
        edges = [
            Edge(r["source"], r["source_port"], r["target"], r["target_port"])
            for r in self.db["edges"].rows_where(
                "flow_id=? and version=?",
                (info.id, version),
                select="source, source_port, target, target_port",
            )
        ]
        return Flow.from_parts(
            info.name,
            nodes,
            edges,
            id=info.id,
            description=row["description"],
            catalog=catalog,
            version=version,
            extras=json.loads(row["extras"]),
        )

    def rename_flow(self, name_or_id: str, new_name: str) -> None:
        info = self.flow_info(name_or_id)
        new_name = new_name.strip()
        if not new_name:
            raise WorkspaceError("a flow needs a non-empty name")
        flows = self.db["flows"]
        with self.transaction():
            if flows.count_where("name=? and id<>?", (new_name, info.id)):
                raise WorkspaceError(
                    f"workspace {self.folder} already has a flow named '{new_name}'; choose another name"
                )
            flows.update(info.id, {"name": new_name, "updated": time.time()})

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
        with self.transaction():
            for table in ("edges", "nodes", "flow_versions", "flows"):
                column = "id" if table == "flows" else "flow_id"
                self.db[table].delete_where(f"{column}=?", (info.id,))
