"""Progress reporting from inside node code.

`progress()` is a no-op outside a Plait run, so node functions stay plain
Python that runs anywhere. tqdm bars report too, while a node runs: the
capture installs the patch (`install_tqdm_hook`) and takes it away again
(`remove_tqdm_hook`); importing this module changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_local = threading.local()
_MIN_INTERVAL = 0.1  # seconds between reports, except the last one


def _reporter() -> Callable[[float, float | None, str | None], None] | None:
    return getattr(_local, "reporter", None)


def set_reporter(reporter: Callable[[float, float | None, str | None], None] | None) -> None:
    """Route this thread's progress() calls to `reporter` (the worker does this)."""
    _local.reporter = reporter
    _local.last = 0.0


def progress(done: float, total: float | None = None, message: str | None = None) -> None:
    """Report how far the running node is: `done` of `total` (if known), with a message."""
    reporter = _reporter()
    if reporter is None:
        return
    now = time.monotonic()
    finished = total is not None and done >= total
    if not finished and now - getattr(_local, "last", 0.0) < _MIN_INTERVAL:
        return
    _local.last = now
    reporter(float(done), None if total is None else float(total), message)


def _patch_tqdm() -> None:
    """Make tqdm bars inside node code report as the node's progress, silently."""
    try:
        from tqdm import std
    except ImportError:
        return
    if getattr(std.tqdm, "_plait_originals", None) is not None:
        return
    original_init = std.tqdm.__init__
    original_update = std.tqdm.update

    class _Null:
        def write(self, text: str) -> None:
            pass

        def flush(self) -> None:
            pass

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _reporter() is not None:
            kwargs["file"] = _Null()  # the bar's redraws are not log lines
        original_init(self, *args, **kwargs)
        if _reporter() is not None and not self.disable:
            progress(self.n, self.total, self.desc or None)

    def update(self, n=1):  # type: ignore[no-untyped-def]
        result = original_update(self, n)
        if _reporter() is not None:
            progress(self.n, self.total, self.desc or None)
        return result

    original_close = std.tqdm.close

    def close(self):  # type: ignore[no-untyped-def]
        # Iterating a bar updates it only now and then; its end is reported here.
        if _reporter() is not None and not self.disable and not getattr(self, "_plait_closed", 0):
            self._plait_closed = 1
            progress(self.n, self.total if self.total is not None else self.n, self.desc or None)
        return original_close(self)

    # The class's own entries (tqdm's __init__ is a partialmethod), to put back as they were.
    std.tqdm._plait_originals = {name: vars(std.tqdm).get(name) for name in ("__init__", "update", "close")}
    std.tqdm.__init__ = __init__
    std.tqdm.update = update
    std.tqdm.close = close


def _unpatch_tqdm() -> None:
    import sys

    std = sys.modules.get("tqdm.std")
    originals = getattr(getattr(std, "tqdm", None), "_plait_originals", None)
    if originals is None:
        return
    for name, entry in originals.items():
        if entry is None:
            delattr(std.tqdm, name)  # it was inherited
        else:
            setattr(std.tqdm, name, entry)
    del std.tqdm._plait_originals


class _TqdmFinder:
    """Patches tqdm right after node code first imports it."""

    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        import sys

        if name != "tqdm.std":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                original = spec.loader.exec_module

                def exec_module(module):  # type: ignore[no-untyped-def]
                    original(module)
                    _patch_tqdm()

                spec.loader.exec_module = exec_module
                return spec
        return None


def install_tqdm_hook() -> None:
    """Patch tqdm now if it is imported, or as soon as node code imports it."""
    import sys

    if "tqdm.std" in sys.modules:
        _patch_tqdm()
    elif not any(isinstance(f, _TqdmFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _TqdmFinder())


def remove_tqdm_hook() -> None:
    """Give tqdm back as it was, and stop watching for its import."""
    import sys

    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _TqdmFinder)]
    _unpatch_tqdm()
