"""Value digests: one hash per Python value, the same in every process.

A digest says "this value, exactly": NaN and None differ, `[1]` and `(1,)`
differ, a dict's order counts (code that iterates it sees the order), a set
is sorted (its order is the process's hash seed, not the value), and arrays
and tables are hashed by their content. A value the hasher cannot read
reliably raises `Unhashable`, and the caller falls back to something coarser
that over-invalidates; a digest is never made from an address or a repr that
differs between processes.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import hashlib
import math
import pathlib
import pickle
import re
import struct
import sys
import types
import uuid
from collections.abc import Callable
from typing import Any

_DEPTH = 40
# A module may say the name keys know it by: a workspace package's modules, imported under
# private names, count by the names their users write (`mypkg.tools`), as installed ones do.
KEY_NAME_ATTRIBUTE = "__plait_key_name__"


class Unhashable(Exception):
    """A value with no reliable content digest (an open file, a lock, a generator...)."""


def _h() -> Any:
    return hashlib.blake2b(digest_size=20)


def value_digest(value: Any, code: Callable[[Any], str] | None = None) -> str:
    """A hex digest of `value`'s content; `code(fn)` digests functions and classes met inside."""
    digest = _h()
    kind = type(value)
    if kind is int or kind is str:  # most constants: the same bytes, without a walker
        name = b"\x00\x03int" if kind is int else b"\x00\x03str"
        data = str(value).encode() if kind is int else value.encode("utf-8", "surrogatepass")
        digest.update(name + len(data).to_bytes(8, "big") + data)
    else:
        _Hasher(digest.update, code).add(value, 0)
    return digest.hexdigest()


def value_key(value: Any) -> str:
    """A value's digest for a cache key; one with no reliable digest counts by its pickle.

    Past that (a value pickle refuses), a digest unique to this call: such a
    value never matches anything, so it reruns rather than going stale.
    """
    try:
        return value_digest(value)
    except (Unhashable, RecursionError):
        try:
            return "pickle:" + hashlib.sha256(pickle.dumps(value, protocol=5)).hexdigest()
        except Exception:  # noqa: BLE001
            return "unique:" + uuid.uuid4().hex


def module_key_name(name: str) -> str:
    """The name a module counts under in keys: the one it declares, else its own."""
    declared = getattr(sys.modules.get(name), KEY_NAME_ATTRIBUTE, None)
    return declared if isinstance(declared, str) else name


def _type_name(kind: type) -> str:
    module = kind.__module__
    return f"{module_key_name(module) if isinstance(module, str) else module}:{kind.__qualname__}"


def _module_top(kind: type) -> str:
    return (getattr(kind, "__module__", "") or "").split(".")[0]


class _Hasher:
    def __init__(self, feed: Callable[[bytes], None], code: Callable[[Any], str] | None) -> None:
        self.feed = feed
        self.code = code
        self._active: set[int] = set()

    def tag(self, name: str, data: bytes = b"") -> None:
        head = name.encode()
        self.feed(len(head).to_bytes(2, "big") + head + len(data).to_bytes(8, "big") + data)

    def add(self, value: Any, depth: int) -> None:
        if depth > _DEPTH:
            raise Unhashable("nested too deeply")
        kind = type(value)
        if value is None or value is Ellipsis or value is NotImplemented:
            self.tag(repr(value))
        elif kind is bool:
            self.tag("bool", b"1" if value else b"0")
        elif kind is int:
            self.tag("int", str(value).encode())
        elif kind is float:
            # NaN has several bit patterns; all of them are one value to Python code.
            self.tag("float", b"nan" if math.isnan(value) else struct.pack(">d", value))
        elif kind is complex:
            self.tag("complex")
            self.add(value.real, depth + 1)
            self.add(value.imag, depth + 1)
        elif kind is str:
            self.tag("str", value.encode("utf-8", "surrogatepass"))
        elif kind in (bytes, bytearray):
            self.tag(kind.__name__, bytes(value))
        elif kind in (list, tuple):
            self._sequence(kind.__name__, value, depth)
        elif kind is dict:
            self._mapping("dict", value, depth)
        elif kind in (set, frozenset):
            items = sorted(value_digest(v, self.code) for v in value)
            self.tag(kind.__name__, "".join(items).encode())
        elif isinstance(value, pathlib.PurePath):
            self.tag(f"path {kind.__name__}", str(value).encode())
        elif isinstance(value, enum.Enum):
            self.tag(f"enum {_type_name(kind)}", value.name.encode())
        elif isinstance(
            value,
            (
                datetime.datetime,
                datetime.date,
                datetime.time,
                datetime.timedelta,
                fractions.Fraction,
                decimal.Decimal,
                uuid.UUID,
                range,
                slice,
            ),
        ):
            self.tag(f"{kind.__module__}:{kind.__qualname__}", repr(value).encode())
        elif isinstance(value, re.Pattern):
            self.tag("pattern", repr((value.pattern, value.flags)).encode())
        elif isinstance(
            value, (types.FunctionType, types.BuiltinFunctionType, type, types.MethodType)
        ) or _is_partial(value):
            if self.code is None:
                raise Unhashable(f"code ({kind.__name__}) met where only data was expected")
            self.tag("code", self.code(value).encode())
        elif isinstance(value, types.ModuleType):
            self.tag("module", module_key_name(value.__name__).encode())
        elif _module_top(kind) == "numpy" and kind.__name__ == "ndarray":
            self._array(value)
        elif _module_top(kind) == "numpy" and hasattr(value, "dtype") and hasattr(value, "item"):
            self.tag(f"numpy scalar {value.dtype.str}", value.tobytes())
        elif _module_top(kind) == "pandas" and kind.__name__ in ("DataFrame", "Series", "Index"):
            self._pandas(value, depth)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            self._object(value, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, depth)
        elif isinstance(value, tuple) and hasattr(kind, "_fields"):  # a NamedTuple
            self._object(value, dict(zip(kind._fields, value, strict=False)), depth)
        elif isinstance(value, (list, tuple, dict, set, frozenset)):  # subclasses
            self._object(
                value,
                {
                    "items": kind.__base__(value)
                    if kind.__base__ in (list, tuple, set, frozenset)
                    else dict(value),
                    "state": getattr(value, "__dict__", {}),
                },
                depth,
            )
        else:
            self._other(value, depth)

    def _sequence(self, name: str, items: Any, depth: int) -> None:
        self.tag(name, str(len(items)).encode())
        for item in items:
            self.add(item, depth + 1)

    def _mapping(self, name: str, value: dict, depth: int) -> None:
        self.tag(name, str(len(value)).encode())
        for key, item in value.items():
            self.add(key, depth + 1)
            self.add(item, depth + 1)

    def _object(self, value: Any, state: dict, depth: int) -> None:
        kind = type(value)
        if id(value) in self._active:
            raise Unhashable("a value that contains itself")
        self._active.add(id(value))
        try:
            if self.code is not None and _module_top(kind) not in sys.stdlib_module_names:
                # The class by its code, not by the module name it was imported under.
                self.tag(f"object {kind.__qualname__}", self.code(kind).encode())
            else:
                self.tag(f"object {kind.__module__}:{kind.__qualname__}")
            self._mapping("state", state, depth)
        finally:
            self._active.discard(id(value))

    def _array(self, array: Any) -> None:
        if array.dtype.hasobject:
            self.tag(f"object array {array.shape}")
            for item in array.ravel().tolist():
                self.add(item, 1)
            return
        import numpy

        self.tag(f"ndarray {array.dtype.str} {array.shape}")
        data = numpy.ascontiguousarray(array)
        # Hash in slices so a big array is never copied whole.
        flat = data.reshape(-1).view(numpy.uint8) if data.size else data.reshape(-1)
        step = 1 << 24
        for start in range(0, flat.size, step):
            self.feed(memoryview(flat[start : start + step]))

    def _pandas(self, value: Any, depth: int) -> None:
        import pandas

        kind = type(value).__name__
        self.tag(f"pandas {kind}")
        if kind == "DataFrame":
            self.add([str(c) for c in value.columns], depth + 1)
            self.add([str(t) for t in value.dtypes], depth + 1)
        else:
            self.add(str(value.dtype), depth + 1)
            self.add(str(getattr(value, "name", None)), depth + 1)
        try:
            hashed = pandas.util.hash_pandas_object(value, index=kind != "Index")
        except TypeError:  # unhashable cells (lists): pickle is exact for those
            self.tag("pickle", _pickled(value))
            return
        self._array(hashed.to_numpy())

    def _other(self, value: Any, depth: int) -> None:
        kind = type(value)
        state = getattr(value, "__dict__", None)
        default_state = getattr(object, "__getstate__", None)
        plain = (
            kind.__reduce_ex__ is object.__reduce_ex__
            and getattr(kind, "__getstate__", default_state) is default_state
            and not hasattr(kind, "__slots__")
        )
        if isinstance(state, dict) and plain:
            self._object(value, dict(state), depth)  # its class's code, then its fields
            return
        self.tag(f"pickle {_type_name(kind)}", _pickled(value))
        if self.code is not None and _module_top(kind) not in sys.stdlib_module_names:
            self.tag("class", self.code(kind).encode())


def _is_partial(value: Any) -> bool:
    import functools

    return isinstance(value, functools.partial)


def _pickled(value: Any) -> bytes:
    try:
        return pickle.dumps(value, protocol=5)
    except Exception as exc:  # noqa: BLE001 - whatever pickle refuses, we cannot hash
        raise Unhashable(f"{type(value).__qualname__} cannot be pickled: {exc}") from exc
