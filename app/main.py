"""Starting the window."""

from __future__ import annotations

import sys


def run_window(path: str | None) -> int:
    print("plait: the designer window is not part of this build yet; "
          "use 'plait flows' to list a workspace's flows", file=sys.stderr)
    return 2
