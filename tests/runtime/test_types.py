import collections.abc
import enum
import pathlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Optional, TypedDict, Union

import pytest

from plait.runtime.nodes.port_types import is_compatible, type_name


class Colour(enum.Enum):
    RED = 1


class Base:
    pass


class Child(Base):
    pass


class Row(TypedDict):
    a: int


@pytest.mark.parametrize("source, target", [
    (int, float), (bool, int), (Any, int), (int, Any), ("SomeForwardRef", int),
    (int, Optional[int]), (Optional[int], int), (list[int], list), (list, list[int]),
    (Child, Base), (list, Sequence), (dict, collections.abc.Mapping), (Row, dict),
    (pathlib.PosixPath, pathlib.Path), (Literal["a"], str), (str, Literal["a", "b"]),
    (Colour, Colour), (Annotated[int, "n"], float), (int, Union[int, str]),
    (Union[int, float], float),
])
def test_compatible(source, target):
    assert is_compatible(source, target)


@pytest.mark.parametrize("source, target", [
    (str, int), (float, int), (Base, Child), (list, dict), (dict[str, int], list),
    (Union[int, str], int), (int, Literal["a"]), (Literal["a"], Literal["b"]), (str, Colour),
])
def test_incompatible(source, target):
    assert not is_compatible(source, target)


def test_type_names_are_short():
    assert type_name(Optional[int]) == "Optional[int]"
    assert type_name(list[int]) == "list[int]"
    assert type_name(Annotated[float, "x"]) == "float"
    assert type_name(Any) == "Any"
    assert type_name(Literal["a", "b"]) == "Literal['a', 'b']"
