"""Child processes of Plait (engine workers, the library process): starting and ending them."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator


def describe_exit(code: int | None, what: str = "the worker process") -> str:
    """Why a child process ended, in words (a signal by name and meaning)."""
    if code is None:
        return f"{what} stopped answering"
    if code < 0:
        try:
            sig = signal.Signals(-code)
            meaning = {
                signal.SIGSEGV: "segmentation fault",
                signal.SIGKILL: "killed, perhaps for running out of memory",
                signal.SIGABRT: "aborted",
                signal.SIGBUS: "bus error",
                signal.SIGFPE: "arithmetic error",
            }.get(sig)
            return f"{what} was killed by {sig.name}" + (f" ({meaning})" if meaning else "")
        except ValueError:
            return f"{what} was killed by signal {-code}"
    return f"{what} exited with code {code}"


@contextlib.contextmanager
def plain_main() -> Iterator[None]:
    """Start workers without re-running the caller's main script in them.

    Spawn normally imports the parent's `__main__` in every child: slow for
    the window, and fatal for a script without an `if __name__` guard.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def exit_with_parent() -> None:
    """End this worker when the process that started it is gone (killed, crashed)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="plait-parent-watch").start()
