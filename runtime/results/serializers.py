"""Serializers: how each kind of value is stored as bytes, and short summaries of values.

Tried in order, the first that accepts a value stores it: DataFrames, arrays,
plain JSON, and pickle for everything else. `register_serializer` adds one.
"""

from __future__ import annotations

import itertools
import json
import pickle
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.runtime.nodes.splitting import MAX_KEYS
from plait.runtime.results import checksums

# -- serializers ----------------------------------------------------------------


def _is_plain_json(value: Any, depth: int = 0) -> bool:
    """True when JSON gives back exactly this value (no tuples, no int keys, no NaN)."""
    if depth > 50:
        return False
    if value is None or type(value) in (bool, str):  # a str subclass (a StrEnum) comes back a str
        return True
    if isinstance(value, int):
        return type(value) is int
    if isinstance(value, float):
        return type(value) is float and value == value and value not in (float("inf"), float("-inf"))
    if type(value) is list:
        return all(_is_plain_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_plain_json(v, depth + 1) for k, v in value.items())
    return False


@dataclass(frozen=True)
class Serializer:
    name: str
    extension: str
    accepts: Callable[[Any], bool]
    dump: Callable[[Any, Any], None]  # (value, binary file) -> None
    load: Callable[[Any], Any]  # (binary file) -> value
    # The stored bytes as buffers the value already holds in memory (None when it has
    # none): a large value is then hashed on every core and written as it is, by a
    # worker in the background, without being serialized into a copy first.
    parts: Callable[[Any], list[Any] | None] | None = None
    # A large stored file read memory-mapped: every reader shares the page cache.
    mapped: Callable[[Path], Any] | None = None
    # What a consumer in the same process gets instead of the value itself, so that
    # it cannot change the value for anyone else (None: the value is not shared).
    share: Callable[[Any], Any] | None = None


def _module_type(value: Any, module: str, name: str) -> bool:
    cls = type(value)
    return cls.__name__ == name and cls.__module__.split(".")[0] == module


def _is_dataframe(value: Any) -> bool:
    if not _module_type(value, "pandas", "DataFrame"):
        return False
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    # Arrow keeps string column names; a frame with others is pickled as it is.
    return all(isinstance(c, str) for c in value.columns)


def _is_array(value: Any) -> bool:
    return _module_type(value, "numpy", "ndarray") and value.dtype.kind != "O"


# -- tables: Arrow IPC (Feather) files ---------------------------------------------


def _arrow_table(frame: Any) -> Any:
    import pyarrow

    return pyarrow.Table.from_pandas(frame)


def _write_arrow(table: Any, fh: Any) -> None:
    import pyarrow

    sink = fh if isinstance(fh, pyarrow.NativeFile) else pyarrow.PythonFile(fh, mode="w")
    with pyarrow.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _dump_arrow(value: Any, fh: Any) -> None:
    _write_arrow(_arrow_table(value), fh)


class _Parts:
    """A file-like object that keeps what is written to it: Arrow's own buffers, not copies."""

    closed = False

    def __init__(self) -> None:
        self.parts: list[Any] = []

    def write(self, data: Any) -> int:
        # Large writes are the table's column buffers, shared with it; small ones
        # (framing, metadata, padding) are copied, as they may be scratch space.
        self.parts.append(data if len(data) >= 65536 else bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _arrow_parts(value: Any) -> list[Any]:
    collected = _Parts()
    _write_arrow(_arrow_table(value), collected)
    return collected.parts


def _pandas_copy_on_write() -> bool:
    import pandas

    return int(pandas.__version__.split(".")[0]) >= 3


def _frame(table: Any) -> Any:
    """A DataFrame over a table's memory without copying it, still safe to change.

    Arrow's zero-copy columns are read-only; pandas 3 copies a column before
    writing to it when another frame shares it (copy-on-write), so the frame
    handed out is a shallow copy of one that holds the table, and keeps it alive.
    Older pandas writes in place: it gets its own copy of the columns.
    """
    if not _pandas_copy_on_write():
        return table.to_pandas()
    return _share_frame(table.to_pandas(split_blocks=True))


def _share_frame(frame: Any) -> Any:
    view = frame.copy(deep=False)
    object.__setattr__(view, "_plait_shares", frame)  # the frame whose columns it shares
    return view


def _load_arrow(fh: Any) -> Any:
    import pyarrow

    return pyarrow.ipc.open_file(pyarrow.py_buffer(fh.read())).read_all().to_pandas()


def _map_arrow(path: Path) -> Any:
    import pyarrow

    return _frame(pyarrow.ipc.open_file(pyarrow.memory_map(str(path), "r")).read_all())


def _share_arrow(value: Any) -> Any:
    return _share_frame(value) if _pandas_copy_on_write() else None


def _dump_parquet(value: Any, fh: Any) -> None:
    value.to_parquet(fh)


def _load_parquet(fh: Any) -> Any:
    import pandas

    return pandas.read_parquet(fh)


# -- arrays: .npy files -------------------------------------------------------------


def _dump_npy(value: Any, fh: Any) -> None:
    import numpy

    numpy.save(fh, value, allow_pickle=False)


def _load_npy(fh: Any) -> Any:
    import numpy

    return numpy.load(fh, allow_pickle=False)


def _npy_parts(value: Any) -> list[Any] | None:
    """The bytes `numpy.save` writes, as the header and the array's own memory."""
    import io

    import numpy
    from numpy.lib import format as npy

    if value.flags.c_contiguous:
        data = value
    elif value.flags.f_contiguous:
        data = value.T  # saved in Fortran order: the transpose's bytes, as numpy.save writes them
    else:
        return None  # numpy.save copies it piece by piece
    header = io.BytesIO()
    fields = npy.header_data_from_array_1_0(value)
    try:
        npy.write_array_header_1_0(header, fields)
    except ValueError:  # a header over 64 KiB (very many fields)
        header = io.BytesIO()
        try:
            npy.write_array_header_2_0(header, fields)
        except ValueError:
            return None
    except UnicodeEncodeError:  # field names beyond Latin-1: numpy.save's version 3
        return None
    return [header.getvalue(), data.reshape(-1).view(numpy.uint8)]


def _map_npy(path: Path) -> Any:
    import numpy

    return numpy.asarray(numpy.load(path, mmap_mode="r", allow_pickle=False))


def _share_npy(value: Any) -> Any:
    view = value.view()
    view.flags.writeable = False
    return view


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _dump_json(value: Any, fh: Any) -> None:
    fh.write(_json_bytes(value))


def _load_json(fh: Any) -> Any:
    return json.loads(fh.read())


def _dump_pickle(value: Any, fh: Any) -> None:
    import cloudpickle

    cloudpickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load_pickle(fh: Any) -> Any:
    return pickle.load(fh)


def _never(value: Any) -> bool:
    return False


# Tried in order; the first that accepts a value stores it.
SERIALIZERS: list[Serializer] = [
    Serializer(
        "arrow", ".arrow", _is_dataframe, _dump_arrow, _load_arrow, _arrow_parts, _map_arrow, _share_arrow
    ),
    Serializer("npy", ".npy", _is_array, _dump_npy, _load_npy, _npy_parts, _map_npy, _share_npy),
    Serializer("json", ".json", _is_plain_json, _dump_json, _load_json),
    Serializer("pickle", ".pkl", lambda value: True, _dump_pickle, _load_pickle),
    # Tables stored before Arrow files: still read, no longer written.
    Serializer("parquet", ".parquet", _never, _dump_parquet, _load_parquet),
]
_BY_NAME = {s.name: s for s in SERIALIZERS}


def register_serializer(serializer: Serializer, before: str = "pickle") -> None:
    """Add a serializer, tried before the one named `before`."""
    index = next(i for i, s in enumerate(SERIALIZERS) if s.name == before)
    SERIALIZERS.insert(index, serializer)
    _BY_NAME[serializer.name] = serializer


def serializer_for(value: Any) -> Serializer:
    for serializer in SERIALIZERS:
        try:
            if serializer.accepts(value):
                return serializer
        except Exception:  # noqa: BLE001 - a picky accepts() must not lose the value
            continue
    return _BY_NAME["pickle"]


def stored_digest(value: Any) -> str | None:
    """The content digest `value` would be stored with, when its stored bytes depend on
    the value alone (JSON); None for the rest, whose bytes may differ for equal values.

    A parameter keys its consumers by this digest, so a node fed 1.5 by a
    parameter and a node fed 1.5 by another node are the same computation.
    """
    if serializer_for(value).name != "json":
        return None
    digest = checksums.StreamHash()
    digest.update(_json_bytes(value))
    return f"json:{digest.hexdigest()}"


# -- summaries ------------------------------------------------------------------

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6


def summarize(value: Any) -> dict[str, Any]:
    """Type, shape or length and a one-line preview, cheap to compute for any value."""
    cls = type(value)
    summary: dict[str, Any] = {"type": cls.__name__}
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
        summary["shape"] = list(shape)
    if _module_type(value, "pandas", "DataFrame"):
        columns = [str(c) for c in value.columns[:8]]
        more = ", …" if len(value.columns) > 8 else ""
        summary["preview"] = f"{value.shape[0]} rows × {value.shape[1]} columns: {', '.join(columns)}{more}"
        summary["dtypes"] = {str(c): str(t) for c, t in list(value.dtypes.items())[:50]}
    elif _module_type(value, "numpy", "ndarray"):
        summary["dtype"] = str(value.dtype)
        summary["preview"] = f"array {tuple(value.shape)} of {value.dtype}"
    else:
        try:
            summary["length"] = len(value)
        except Exception:  # noqa: BLE001 - len() on arbitrary objects may raise anything
            pass
        try:
            summary["preview"] = _repr.repr(value)
        except Exception as exc:  # noqa: BLE001
            summary["preview"] = f"<{cls.__name__}: repr failed: {exc}>"
        if isinstance(value, Mapping):
            # Its text keys, for Split by key: the window offers them without loading the value.
            try:
                summary["keys"] = [k for k in itertools.islice(value, MAX_KEYS + 1) if isinstance(k, str)]
            except Exception:  # noqa: BLE001 - a user's mapping may fail to iterate
                pass
    return summary
