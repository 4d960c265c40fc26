import collections.abc
import enum
import inspect
import pathlib
from collections.abc import Sequence
from typing import Annotated, Any, ForwardRef, Literal, Optional, TypedDict, Union

import pytest
from pandas import DataFrame

from plait.runtime.nodes.port_types import (
    DOUBTFUL,
    IMPOSSIBLE,
    OK,
    Fit,
    is_compatible,
    type_name,
    wire_fit,
)


class Colour(enum.Enum):
    RED = 1


class Base:
    pass


class Child(Base):
    pass


class Row(TypedDict):
    a: int


@pytest.mark.parametrize(
    "source, target",
    [
        (bool, int),
        (int, Any),
        (int, Optional[int]),
        (list[int], list),
        (list, list[int]),
        (Child, Base),
        (list, Sequence),
        (dict, collections.abc.Mapping),
        (Row, dict),
        (pathlib.PosixPath, pathlib.Path),
        (Literal["a"], str),
        (Colour, Colour),
        (Annotated[int, "n"], Union[int, str]),
        (Union[int, bool], int),
        ("DataFrame", "pd.DataFrame"),
        (ForwardRef("np.ndarray"), "np.ndarray"),
        (Any, Any),
        (Any, inspect.Parameter.empty),
    ],
)
def test_hints_that_agree_fit(source, target):
    assert wire_fit(source, target) == Fit(OK)


@pytest.mark.parametrize(
    "source, target",
    [
        (int, float),
        (str, pathlib.Path),
        (Any, int),
        (inspect.Parameter.empty, str),
        (tuple[DataFrame, dict], DataFrame),
        (tuple[DataFrame, dict], "pd.DataFrame"),
        ("SomeForwardRef", int),
        (Optional[int], int),
        (str, Literal["a", "b"]),
        (Base, Child),
        (Union[int, str], int),
        (str, Colour),
        (list, tuple),
        (Sequence, str),
    ],
)
def test_hints_that_may_disagree_at_run_time_are_allowed_with_a_reason(source, target):
    fit = wire_fit(source, target)
    assert fit.verdict == DOUBTFUL and fit.allowed and fit.reason
    assert is_compatible(source, target)


@pytest.mark.parametrize(
    "source, target",
    [
        (str, int),
        (float, int),
        (list, dict),
        (dict[str, int], list),
        (int, Literal["a"]),
        (Literal["a"], Literal["b"]),
        (DataFrame, bool),
        ("DataFrame", bool),
        ("pd.DataFrame", bool),
        (ForwardRef("pd.DataFrame"), int),
        (bool, "pd.DataFrame"),
        (list, str),
        (None, int),
    ],
)
def test_types_that_can_never_match_are_refused_with_a_reason(source, target):
    fit = wire_fit(source, target)
    assert fit.verdict == IMPOSSIBLE and not fit.allowed and fit.reason
    assert not is_compatible(source, target)


def test_the_reasons_name_the_types():
    assert wire_fit(DataFrame, bool).reason == "a DataFrame is never a bool"
    assert wire_fit(int, float).reason == "an int is given where a float is expected"
    assert "Path when the node runs" in wire_fit(str, pathlib.Path).reason
    assert "anything (Any)" in wire_fit(Any, int).reason


def test_type_names_are_short():
    assert type_name(Optional[int]) == "Optional[int]"
    assert type_name(list[int]) == "list[int]"
    assert type_name(Annotated[float, "x"]) == "float"
    assert type_name(Any) == "Any"
    assert type_name(Literal["a", "b"]) == "Literal['a', 'b']"
