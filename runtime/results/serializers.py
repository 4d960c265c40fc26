"""Serializers: how each kind of value is stored as bytes, and short summaries of values.

Tried in order, the first that accepts a value stores it: DataFrames, arrays,
plain JSON, and pickle for everything else. `register_serializer` adds one.
"""

from __future__ import annotations

import json
import pickle
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# -- serializers ----------------------------------------------------------------


def _is_plain_json(value: Any, depth: int = 0) -> bool:
    """True when JSON gives back exactly this value (no tuples, no int keys, no NaN)."""
    if depth > 50:
        return False
    if value is None or isinstance(value, (bool, str)):
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
    # Parquet needs string column names; anything else is pickled as it is.
    return all(isinstance(c, str) for c in value.columns)


def _is_array(value: Any) -> bool:
    return _module_type(value, "numpy", "ndarray") and value.dtype.kind != "O"


def _dump_parquet(value: Any, fh: Any) -> None:
    value.to_parquet(fh)


def _load_parquet(fh: Any) -> Any:
    import pandas

    return pandas.read_parquet(fh)


def _dump_npy(value: Any, fh: Any) -> None:
    import numpy

    numpy.save(fh, value, allow_pickle=False)


def _load_npy(fh: Any) -> Any:
    import numpy

    return numpy.load(fh, allow_pickle=False)


def _dump_json(value: Any, fh: Any) -> None:
    fh.write(json.dumps(value, separators=(",", ":")).encode())


def _load_json(fh: Any) -> Any:
    return json.loads(fh.read())


def _dump_pickle(value: Any, fh: Any) -> None:
    import cloudpickle

    cloudpickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load_pickle(fh: Any) -> Any:
    return pickle.load(fh)


# Tried in order; the first that accepts a value stores it.
SERIALIZERS: list[Serializer] = [
    Serializer("parquet", ".parquet", _is_dataframe, _dump_parquet, _load_parquet),
    Serializer("npy", ".npy", _is_array, _dump_npy, _load_npy),
    Serializer("json", ".json", _is_plain_json, _dump_json, _load_json),
    Serializer("pickle", ".pkl", lambda value: True, _dump_pickle, _load_pickle),
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
    return summary
