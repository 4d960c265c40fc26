"""Node functions the @flow tests trace: an importable module, as a user's package would be."""

from __future__ import annotations

from typing import NamedTuple

from plait.runtime import node


class Halves(NamedTuple):
    left: list
    right: list


def numbers(count: int = 4) -> list:
    return list(range(count))


def halves(values: list) -> Halves:
    middle = len(values) // 2
    return Halves(values[:middle], values[middle:])


def total(values: list, factor: float = 1.0) -> float:
    print(f"adding {len(values)} numbers")
    return sum(values) * factor


def summary(values: list) -> dict:
    return {"low": min(values), "high": max(values)}


def pair(values: list) -> tuple:
    return values[0], values[-1]


@node(outputs=("first", "last"))
def ends(values: list) -> tuple[int, int]:
    return values[0], values[-1]


@node(title="Explode")
def explode(values: list) -> list:
    raise ValueError(f"cannot take {len(values)} values")


@node
def constant() -> int:
    return 7
