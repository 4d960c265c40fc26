"""Wire routes that go around nodes instead of through them.

A wire is a chain of cubic Bézier segments given by its control points
(3n + 1 of them). The plain S curve is kept when it crosses no node; otherwise
the wire leaves its output, runs along a horizontal lane clear of the nodes in
its way, and turns into its input. Node rectangles sit in a grid of cells, so a
wire asks only the cells it passes through: routing stays cheap for big flows.

Plain Python, no Qt: the scene turns points into paths.
"""

from __future__ import annotations

from collections.abc import Iterable

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # left, top, right, bottom

CELL = 160.0  # grid cell size in scene units: about one node
CLEAR = 10.0  # how far a wire keeps from a node it passes
TURN = 30.0  # horizontal room a wire takes to turn onto or off its lane
SAMPLES = 14  # points tested along each curved segment
MAX_LANES = 24  # lanes tried before a wire keeps its plain curve


def s_curve(start: Point, end: Point) -> list[Point]:
    """The plain left-to-right S curve from an output to an input."""
    (x0, y0), (x1, y1) = start, end
    dx = max(40.0, abs(x1 - x0) * 0.5)
    return [start, (x0 + dx, y0), (x1 - dx, y1), end]


class Obstacles:
    """Node rectangles by grid cell (for points) and by row of cells (for lanes and corridors)."""

    def __init__(self) -> None:
        self.rects: dict[str, Rect] = {}
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._rows: dict[int, set[str]] = {}

    @staticmethod
    def _rows_of(top: float, bottom: float) -> range:
        return range(int(top // CELL), int(bottom // CELL) + 1)

    def _span(self, rect: Rect) -> Iterable[tuple[int, int]]:
        left, top, right, bottom = rect
        for cx in range(int(left // CELL), int(right // CELL) + 1):
            for cy in self._rows_of(top, bottom):
                yield cx, cy

    def set(self, key: str, rect: Rect) -> None:
        old = self.rects.get(key)
        if old == rect:
            return
        if old is not None:
            self.remove(key)
        self.rects[key] = rect
        for cell in self._span(rect):
            self._cells.setdefault(cell, set()).add(key)
        for cy in self._rows_of(rect[1], rect[3]):
            self._rows.setdefault(cy, set()).add(key)

    def remove(self, key: str) -> None:
        rect = self.rects.pop(key, None)
        if rect is None:
            return
        for index, where in ((self._cells, self._span(rect)), (self._rows, self._rows_of(rect[1], rect[3]))):
            for place in where:
                keys = index.get(place)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[place]

    def at(self, x: float, y: float) -> set[str]:
        return self._cells.get((int(x // CELL), int(y // CELL)), set())

    def within(self, rect: Rect) -> list[str]:
        """Keys of the rectangles that overlap `rect`."""
        left, top, right, bottom = rect
        keys: set[str] = set()
        for cy in self._rows_of(top, bottom):
            keys |= self._rows.get(cy, set())
        rects = self.rects
        return [
            k
            for k in keys
            if rects[k][0] < right and left < rects[k][2] and rects[k][1] < bottom and top < rects[k][3]
        ]


def _cubic(p0: Point, p1: Point, p2: Point, p3: Point, n: int) -> Iterable[Point]:
    for i in range(1, n):
        t = i / n
        u = 1.0 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        yield (a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1])


class _Check:
    """Does a chain of segments touch a node? Its own ends' nodes count only inside."""

    def __init__(self, obstacles: Obstacles, ends: tuple[str, str]) -> None:
        self.obstacles = obstacles
        self.ends = ends

    def hits(self, x: float, y: float) -> bool:
        rects = self.obstacles.rects
        for key in self.obstacles.at(x, y):
            left, top, right, bottom = rects[key]
            margin = 0.0 if key in self.ends else CLEAR
            if left - margin < x < right + margin and top - margin < y < bottom + margin:
                return True
        return False

    def path_hits(self, points: list[Point]) -> bool:
        for i in range(0, len(points) - 1, 3):
            p0, p1, p2, p3 = points[i : i + 4]
            if p0[1] == p3[1] == p1[1] == p2[1]:  # a lane: test it as a line
                if self.lane_hits(p0[0], p3[0], p0[1]):
                    return True
                continue
            if any(self.hits(x, y) for x, y in _cubic(p0, p1, p2, p3, SAMPLES)):
                return True
        return False

    def lane_hits(self, xa: float, xb: float, y: float) -> bool:
        left, right = min(xa, xb), max(xa, xb)
        rects = self.obstacles.rects
        for key in self.obstacles.within((left, y - CLEAR, right, y + CLEAR)):
            r_left, r_top, r_right, r_bottom = rects[key]
            margin = 0.0 if key in self.ends else CLEAR
            if r_top - margin < y < r_bottom + margin and r_left - margin < right and left < r_right + margin:
                return True
        return False


def _lane_route(start: Point, end: Point, lane: float) -> list[Point]:
    (x0, y0), (x1, y1) = start, end
    if x1 - x0 >= 4 * TURN:  # forward: S turns onto and off the lane
        xa, xb = x0 + 2 * TURN, x1 - 2 * TURN
        return [
            start,
            (x0 + TURN, y0),
            (xa - TURN, lane),
            (xa, lane),
            (xa + (xb - xa) / 3, lane),
            (xb - (xb - xa) / 3, lane),
            (xb, lane),
            (xb + TURN, lane),
            (x1 - TURN, y1),
            end,
        ]
    # Backward (or nearly above): out to the right, along the lane leftwards, in from the left.
    loop = 2 * TURN
    xa, xb = x0 + TURN, x1 - TURN
    return [
        start,
        (x0 + loop, y0),
        (xa + loop, lane),
        (xa, lane),
        (xa + (xb - xa) / 3, lane),
        (xb - (xb - xa) / 3, lane),
        (xb, lane),
        (xb - loop, lane),
        (x1 - loop, y1),
        end,
    ]


def route(start: Point, end: Point, obstacles: Obstacles, ends: tuple[str, str] = ("", "")) -> list[Point]:
    """Control points of a wire from `start` to `end` that crosses no node it can avoid.

    `ends` names the wire's own source and target nodes: the wire may touch
    their edges (its ports are there) but not pass through them.
    """
    check = _Check(obstacles, ends)
    plain = s_curve(start, end)
    if not check.path_hits(plain):
        return plain
    (x0, y0), (x1, y1) = start, end
    corridor = (min(x0, x1) - 2 * TURN, min(y0, y1) - CLEAR, max(x0, x1) + 2 * TURN, max(y0, y1) + CLEAR)
    lanes = set()
    rects = obstacles.rects
    for key in obstacles.within(corridor):
        _, top, _, bottom = rects[key]
        lanes.add(top - 2 * CLEAR)
        lanes.add(bottom + 2 * CLEAR)
    for key in ends:  # a backward wire goes over or under its own nodes
        if key in rects:
            lanes.add(rects[key][1] - 2 * CLEAR)
            lanes.add(rects[key][3] + 2 * CLEAR)
    for lane in sorted(lanes, key=lambda y: abs(y - y0) + abs(y - y1))[:MAX_LANES]:
        points = _lane_route(start, end, lane)
        # The straight run first: it is the cheap test and the one that fails most.
        if not check.lane_hits(points[3][0], points[6][0], lane) and not check.path_hits(points):
            return points
    return plain
