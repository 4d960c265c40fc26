"""Nodes that pass large arrays, for the tests of background writes, affinity and the memory budget.

Each says where it ran (its worker's process id) and how it got its input
(from the producer's memory or from the memory-mapped file).
"""

from __future__ import annotations

import mmap
import os
import time
from pathlib import Path

from plait.runtime.nodes.decorator import node

MB = 1024 * 1024


def hold_the_next_write(gate: str) -> None:
    """Stop this worker's next background write after its first piece (the .npy header), until `gate` exists.

    It writes its process id to `gate`.writing when it stops, so a test knows
    the write is under way and which process to kill.
    """
    from plait.runtime.results import blobs

    original = blobs._write_piece

    def first_piece(fh, piece) -> None:
        blobs._write_piece = original
        original(fh, piece)
        fh.flush()
        Path(gate + ".writing").write_text(str(os.getpid()))
        while not Path(gate).exists():
            time.sleep(0.01)

    blobs._write_piece = first_piece


@node(outputs=("a", "pid"))
def produce(mb: int = 20, seed: float = 1.0, gate: str = "") -> tuple:
    """An array of `mb` megabytes filled with `seed`, and the process it was made in."""
    import numpy

    if gate:
        hold_the_next_write(gate)
    return numpy.full(mb * MB // 8, seed), os.getpid()


def _mapped(array) -> bool:
    base = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def _how(a) -> dict:
    return {
        "pid": os.getpid(),
        "mapped": _mapped(a),
        "writeable": bool(a.flags.writeable),
        "sum": float(a.sum()),
    }


def inspect(a, wait_for: str = "", mark: str = "") -> dict:
    """Where this ran and how it got `a`; waits for the file `wait_for`, then makes the file `mark`."""
    how = _how(a)
    if mark:
        Path(mark).write_text("done")
    while wait_for and not Path(wait_for).exists():
        time.sleep(0.01)
    return how


def inspect_three(a, b, c) -> dict:
    return {"a": _how(a), "b": _how(b), "c": _how(c)}


def change_in_place(a) -> float:
    a[0] = -1.0
    return float(a[0])


def table(mb: int = 20):
    """A DataFrame of `mb` megabytes of floats."""
    import numpy
    import pandas

    return pandas.DataFrame({"x": numpy.arange(mb * MB // 8, dtype="float64")})


def change_table(df, then: str = "") -> dict:
    """Changes its input in place, then makes the file `then`; where it ran and what it saw."""
    df.loc[0, "x"] = -1.0
    df["y"] = 1.0
    if then:
        Path(then).write_text("changed")
    return {"pid": os.getpid(), "first": float(df.loc[0, "x"]), "columns": list(df.columns)}


def read_table(df, after: str = "") -> dict:
    """Waits for the file `after`, then says what it sees."""
    while after and not Path(after).exists():
        time.sleep(0.01)
    return {"pid": os.getpid(), "first": float(df.loc[0, "x"]), "columns": list(df.columns)}


def arrays(n: int = 3, mb: int = 20) -> list:
    """`n` arrays of `mb` megabytes, the i-th filled with i."""
    import numpy

    return [numpy.full(mb * MB // 8, float(i)) for i in range(n)]


def where_and_sum(a) -> dict:
    return _how(a)
