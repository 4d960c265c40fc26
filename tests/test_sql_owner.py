"""SQL lives in the run history, the store's connection set-up and the migrations.

Every other module reads and writes the workspace database through
`RunHistory` (runs, node runs, logs, cache entries, schedules) or `Workspace`
(flows, versions, settings, through sqlite-utils' tables), so a schema change
touches one place. The check looks for `sqlite3` and `execute(` (with
`executemany(` and `executescript(`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("app", "widgets", "runtime", "packaging")
ALLOWED = {
    # The run tables' repository: every query and write of runs, node runs, logs,
    # cache entries and schedules, and the connections it opens for other threads.
    "runtime/workspace/history.py": None,
    # Numbered schema changes.
    "runtime/workspace/migrations.py": None,
    # The store: only where it opens, checks and sets up its connection.
    "runtime/workspace/store.py": {
        "<imports>",
        "_check_database_file",
        "Workspace.__init__",
        "Workspace.transaction",
        "Workspace.schema_version",
    },
}
SQL = re.compile(r"\bsqlite3\b|\.execute(many|script)?\(")


def _places(tree: ast.Module) -> dict[int, str]:
    """Line -> the qualified name of the function around it, or '<imports>'."""
    places: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and not prefix:
                places[child.lineno] = "<imports>"
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    for line in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                        places[line] = name
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return places


def sql_outside(path: Path, allowed: set[str] | None = frozenset()) -> list[str]:
    """The lines of a module that use SQL where it is not allowed (None allows everywhere)."""
    if allowed is None:
        return []
    text = path.read_text(encoding="utf-8")
    places = _places(ast.parse(text))
    return [
        f"{n} ({places.get(n, 'module level')}): {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        if SQL.search(line) and places.get(n) not in allowed
    ]


def test_no_sql_outside_the_history_the_store_set_up_and_the_migrations():
    found = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            lines = sql_outside(path, ALLOWED.get(name, frozenset()))
            if lines:
                found[name] = lines
    assert found == {}, "SQL outside the run history, the store's set-up and the migrations: " + repr(found)


def test_the_check_sees_sql_where_it_is_not_allowed(tmp_path):
    # Guards the test itself: a pattern or a path gone wrong would find nothing anywhere.
    assert all((ROOT / name).exists() for name in ALLOWED)
    assert sql_outside(ROOT / "runtime/workspace/history.py")  # plenty, when nothing is allowed
    module = tmp_path / "m.py"
    module.write_text(
        "import sqlite3\n\n"
        "class Store:\n"
        "    def open(self):\n"
        "        self.conn = sqlite3.connect('x')\n\n"
        "    def flows(self):\n"
        "        return self.conn.execute('select 1')\n\n"
        "    async def run(self):\n"
        "        await self._execute('node')\n"
    )
    assert [line.split(":")[0] for line in sql_outside(module, {"<imports>", "Store.open"})] == [
        "8 (Store.flows)"
    ]
