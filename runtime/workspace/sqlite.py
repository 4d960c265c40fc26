"""sqlite-utils, imported without the data libraries it would drag in.

sqlite-utils imports pandas and numpy when they are installed, only to
accept DataFrames in `insert`, which Plait never does. That costs about
0.3 s and 90 MB in every process that opens a workspace, including the
scheduler of a `plait run`, so they are hidden from it while it loads.
"""

from __future__ import annotations

import sys

_HIDDEN = ("pandas", "numpy")


def _load():  # type: ignore[no-untyped-def]
    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    hidden = [name for name in _HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        import sqlite_utils
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]
    return sqlite_utils


sqlite_utils = _load()
Database = sqlite_utils.Database
Table = sqlite_utils.db.Table
