"""Where a new node goes when nobody points at a spot: free space, beside the selection.

Plain geometry on (x, y, width, height) rectangles in scene coordinates, so the
rule can be read and tested without a scene.
"""

from __future__ import annotations

from collections.abc import Iterable

Rect = tuple[float, float, float, float]

GAP = 48.0  # room left around a placed node: wires and port names need it
STEP = 24.0  # how finely the search moves a candidate up and down
REACH = 40  # candidates tried in each direction before giving up on free space


def _clear(x: float, y: float, w: float, h: float, taken: list[Rect]) -> bool:
    return all(
        x + w + GAP <= tx or tx + tw + GAP <= x or y + h + GAP <= ty or ty + th + GAP <= y
        for tx, ty, tw, th in taken
    )


def _near(start: float) -> Iterable[float]:
    """start, then ever further above and below it."""
    yield start
    for k in range(1, REACH + 1):
        yield start + k * STEP
        yield start - k * STEP


def beside(selection: Rect, size: tuple[float, float], taken: Iterable[Rect]) -> tuple[float, float]:
    """Top-left of the free spot nearest to the right of `selection`, level with its top first."""
    sx, sy, sw, _ = selection
    w, h = size
    taken = list(taken)
    for column in range(REACH):
        x = sx + sw + GAP + column * (w + GAP) / 2
        for y in _near(sy):
            if _clear(x, y, w, h, taken):
                return (x, y)
    return (sx + sw + GAP, sy)


def around(
    centre: tuple[float, float], size: tuple[float, float], taken: Iterable[Rect]
) -> tuple[float, float]:
    """Top-left of the free spot nearest to a node centred on `centre`."""
    w, h = size
    x0, y0 = centre[0] - w / 2, centre[1] - h / 2
    taken = list(taken)
    spots = sorted(
        ((x0 + i * STEP, y0 + j * STEP) for i in range(-REACH, REACH + 1) for j in range(-REACH, REACH + 1)),
        key=lambda p: (p[0] - x0) ** 2 + (p[1] - y0) ** 2,
    )
    return next((p for p in spots if _clear(*p, w, h, taken)), (x0, y0))
