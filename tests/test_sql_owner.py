"""SQL lives in three modules: the run history, the store and the migrations.

Every other module reads and writes the workspace database through
`Workspace` (flows, versions, settings) or `RunHistory` (runs, node runs,
logs, cache entries, schedules), so a schema change touches one place.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("app", "widgets", "runtime", "packaging")
ALLOWED = {
    # The run tables' repository: every query and write of runs, node runs, logs,
    # cache entries and schedules, and the connections it opens for other threads.
    "runtime/workspace/history.py",
    # The store: the workspace connection's set-up and transactions, and the
    # flows' own tables (flows, versions, settings).
    "runtime/workspace/store.py",
    # Numbered schema changes.
    "runtime/workspace/migrations.py",
}
SQL = re.compile(r"\bsqlite3\b|\.execute(many|script)?\(")


def sql_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if SQL.search(line)]


def test_no_sql_outside_the_history_the_store_and_the_migrations():
    found = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name not in ALLOWED and (lines := sql_lines(path)):
                found[name] = lines
    assert found == {}, "SQL outside the run history, the store and the migrations: " + repr(found)


def test_the_check_sees_the_sql_it_allows():
    # Guards the test itself: a pattern or a path gone wrong would find nothing anywhere.
    assert sql_lines(ROOT / "runtime/workspace/history.py")
    assert sql_lines(ROOT / "runtime/workspace/store.py")
    assert all((ROOT / name).exists() for name in ALLOWED)
    assert SQL.search("conn.execute('select 1')") and SQL.search("import sqlite3")
    assert not SQL.search("await self._execute(node_id)")
