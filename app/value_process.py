"""Pickled results are opened in a child process, never in the window's.

Reading a pickle runs the code its bytes name: for a value of the user's own
class, that means importing the workspace file that defines it. The window
does not import workspace code (see `plait.runtime.nodes.host`), so the
outputs dock opens a pickled value here: a short-lived child process reads
it (importing the workspace's files by their private module names), makes the
preview, and sends back plain data, with anything of the user's code replaced
by its repr. "Save as…" of such a value is written by the child too. JSON,
`.npy` and Parquet values are read in the window as before.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from plait.runtime.nodes.host import dumps_plain, loads_plain
from plait.runtime.nodes.processes import describe_exit, plain_main
from plait.runtime.results.blobs import OutputRef

TIMEOUT = 120.0  # seconds to read and preview one value


class ValueProcessError(RuntimeError):
    """The child process could not open the value (the message says why)."""


def _read(folder: str, cache_folder: str, meta: dict[str, Any], data: bytes | None) -> Any:
    from plait.runtime.nodes.loader import workspace_importer
    from plait.runtime.results import blobs

    # The workspace's modules (files and packages) import here by their private names.
    workspace_importer(folder)
    return blobs.ResultStore(cache_folder).read(OutputRef.from_meta(meta, data))


def _child(
    conn: Any, job: str, folder: str, cache_folder: str, meta: dict, data: bytes | None, path: str
) -> None:
    import traceback

    try:
        value = _read(folder, cache_folder, meta, data)
        if job == "preview":
            from plait.widgets.previews import prepare

            reply = ("ok", dumps_plain(prepare(value)))
        else:
            from plait.app.past_runs import save_value

            reply = ("ok", dumps_plain(str(save_value(value, path))))
    except BaseException as exc:  # noqa: BLE001 - told to the window, which stays up
        reply = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
    conn.send(reply)
    conn.close()


def _run(job: str, folder: Path, cache_folder: Path, ref: OutputRef, path: str = "") -> Any:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=_child,
        args=(child, job, str(folder), str(cache_folder), ref.meta(), ref.data, path),
        daemon=True,
        name="plait-value",
    )
    with plain_main():
        process.start()
    child.close()
    try:
        if not parent.poll(TIMEOUT):
            process.kill()
            raise ValueProcessError(f"opening the value took longer than {TIMEOUT:g} s")
        try:
            reply = parent.recv()
        except EOFError:
            process.join(timeout=5)
            raise ValueProcessError(
                describe_exit(process.exitcode, "the process opening the value")
            ) from None
    finally:
        parent.close()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
    if reply[0] != "ok":
        raise ValueProcessError(reply[1])
    return loads_plain(reply[1])


def preview_pickled(folder: Path, cache_folder: Path, ref: OutputRef) -> Any:
    """The preview of a pickled value, made in a child process (plain data only)."""
    return _run("preview", folder, cache_folder, ref)


def save_pickled(folder: Path, cache_folder: Path, ref: OutputRef, path: str) -> Path:
    """Write a pickled value to a file from a child process; the path written."""
    return Path(_run("save", folder, cache_folder, ref, path))
