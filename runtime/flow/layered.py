"""A layered layout for big flows: columns by wiring, few crossings, nothing overlapping.

Graphviz `dot` lays a flow out beautifully but its cost grows much faster than
the flow (about a second at 1,000 nodes, close to a minute at 5,000). This is
the classic layered (Sugiyama) recipe cut down to steps that stay near linear:

1. columns: the ranking `dot` makes (every wire at least one column long, all
   of them as short as they can be together), by networkx's network simplex;
2. a wire that spans several columns gets a waypoint in each column between,
   which keeps room for it and lets it take part in ordering;
3. order within a column: a few barycentre sweeps (each node goes to the mean
   place of its neighbours in the column before, then after), the order with
   the fewest crossings kept;
4. heights: each column placed as near its neighbours' centres as it can be
   without overlapping, in order (pool-adjacent-violators, linear);
5. wire routes: S curves between columns, straight runs through the
   waypoints, as Bézier control points like Graphviz's.

Nodes without any wire go in a grid under the columns rather than in one tall column.

Plain data in and out, no Qt, so it runs in a process of its own.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from itertools import pairwise

Point = tuple[float, float]
Progress = Callable[[str, float], None]  # (phase, fraction of the whole done)

DEFAULT_SIZE = (180.0, 80.0)
COLUMN_GAP = 110.0  # room between columns for the wires to turn
NODE_GAP = 28.0  # between two nodes in a column
LANE_GAP = 12.0  # between a wire's waypoint and its neighbour in a column
SWEEPS = 4  # barycentre passes each way
PLACEMENTS = 4  # alternating passes that settle the heights


def layered_layout(
    node_ids: Sequence[str],
    edges: Sequence[tuple[str, str]],
    sizes: dict[str, tuple[float, float]],
    progress: Progress | None = None,
) -> tuple[dict[str, Point], dict[int, list[Point]]]:
    """Top-left positions for every node in columns left to right, and routes by edge index.

    `sizes` gives each node's (width, height); a node missing from it takes
    DEFAULT_SIZE. A wire that closes a cycle gets no route (it runs backwards);
    every other wire runs from a column to one further right. The result
    depends only on the arguments, never on hashing or timing.
    """
    report = progress or (lambda phase, done: None)
    report("choosing columns", 0.0)
    index = {node_id: i for i, node_id in enumerate(node_ids)}
    pairs: dict[tuple[int, int], list[int]] = {}  # wires by the (source, target) they join
    for number, (source, target) in enumerate(edges):
        if source not in index or target not in index:
            raise ValueError(f"wire {number} joins '{source}' to '{target}', and not both are nodes")
        if source != target:
            pairs.setdefault((index[source], index[target]), []).append(number)
    n = len(node_ids)
    backward = _closing_cycles(n, list(pairs))
    # A wire that closes a cycle is laid out as if it ran the other way.
    forward = {pair for pair in pairs if pair not in backward} | {(t, s) for s, t in backward}
    column = _columns(n, forward)

    report("making room for long wires", 0.5)
    layers, up, down, chains = _with_waypoints(n, column, forward)
    width = [sizes.get(node_id, DEFAULT_SIZE)[0] for node_id in node_ids]
    height = [sizes.get(node_id, DEFAULT_SIZE)[1] for node_id in node_ids]

    def sweep_done(i: int) -> None:
        report("ordering columns", round(0.55 + 0.3 * i / (2 * SWEEPS), 3))

    layers = _order(layers, up, down, sweep_done)

    report("placing nodes", 0.85)
    heights = height + [0.0] * (len(up) - n)  # a waypoint takes no room but its gap
    top = _place(layers, up, down, heights, n)

    report("routing wires", 0.92)
    lefts, column_widths = [], []
    x = 0.0
    for layer in layers:
        column_width = max((width[v] for v in layer if v < n), default=DEFAULT_SIZE[0])
        lefts.append(x)
        column_widths.append(column_width)
        x += column_width + COLUMN_GAP
    positions = {}
    for v, node_id in enumerate(node_ids):
        k = column[v]
        if k >= 0:
            positions[node_id] = (round(lefts[k] + (column_widths[k] - width[v]) / 2, 1), round(top[v], 1))
    below = max((top[v] + height[v] for v in range(n) if column[v] >= 0), default=0.0) + COLUMN_GAP
    alone = [v for v in range(n) if column[v] < 0]
    for v, place in zip(
        alone, _grid([width[v] for v in alone], [height[v] for v in alone], len(layers)), strict=True
    ):
        positions[node_ids[v]] = (round(place[0], 1), round(below + place[1], 1))
    routes: dict[int, list[Point]] = {}
    for (s, t), numbers in pairs.items():
        if (s, t) in backward:
            continue
        sx, sy = positions[node_ids[s]]
        tx, ty = positions[node_ids[t]]
        points: list[Point] = [(sx + width[s], sy + height[s] / 2)]
        for w in chains.get((s, t), ()):
            k = column[w]
            lane = top[w]
            _curve_to(points, (lefts[k], lane))
            _line_to(points, (lefts[k] + column_widths[k], lane))
        _curve_to(points, (tx, ty + height[t] / 2))
        for number in numbers:
            routes[number] = list(points)
    return positions, routes


def _closing_cycles(n: int, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Pairs that close a cycle: a depth-first search's back edges (none in a valid flow)."""
    succ: list[list[int]] = [[] for _ in range(n)]
    for s, t in pairs:
        succ[s].append(t)
    state = [0] * n  # 0 unseen, 1 on the current path, 2 finished
    back = set()
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            v, children = stack[-1]
            for w in children:
                if state[w] == 0:
                    state[w] = 1
                    stack.append((w, iter(succ[w])))
                    break
                if state[w] == 1:
                    back.add((v, w))
            else:
                state[v] = 2
                stack.pop()
    return back


def _columns(n: int, forward: set[tuple[int, int]]) -> list[int]:
    """Each node's column: every wire goes at least one column right, and all wires
    together span as few columns as they can (the ranking `dot` makes).

    That is a linear programme whose dual is a min-cost flow: networkx's network
    simplex solves it, and the wires that carry flow must span exactly one column.
    The least columns meeting both kinds of constraint are an optimal ranking.
    Far fewer waypoints than topological generations give (a fifth to a fortieth
    on random flows), and waypoints are most of the work that follows.
    """
    wires = sorted(forward)
    demand = [0] * n
    for s, t in wires:
        demand[s] += 1
        demand[t] -= 1
    import networkx as nx  # here, not with the module: only big flows are laid out this way

    graph = nx.DiGraph()
    graph.add_nodes_from((v, {"demand": demand[v]}) for v in range(n))
    graph.add_edges_from((t, s, {"weight": -1}) for s, t in wires)
    _, flow = nx.network_simplex(graph)
    # Constraints column[b] >= column[a] + step, by a; relaxed until none is broken.
    after: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for s, t in wires:
        after[s].append((t, 1))
        if flow[t][s] > 0:
            after[t].append((s, -1))
    column = [0] * n
    queue = deque(range(n))
    queued = [True] * n
    while queue:
        a = queue.popleft()
        queued[a] = False
        for b, step in after[a]:
            if column[b] < column[a] + step:
                column[b] = column[a] + step
                if not queued[b]:
                    queued[b] = True
                    queue.append(b)
    # Columns no node is in are closed up (it keeps every wire going right); a node
    # without wires is in none (-1).
    wired = {v for pair in wires for v in pair}
    renumber = {k: i for i, k in enumerate(sorted({column[v] for v in wired}))}
    return [renumber[column[v]] if v in wired else -1 for v in range(n)]


def _with_waypoints(
    n: int, column: list[int], forward: set[tuple[int, int]]
) -> tuple[list[list[int]], list[list[int]], list[list[int]], dict[tuple[int, int], list[int]]]:
    """Columns of nodes and waypoints (numbered from n), their neighbours up and down, and
    each long wire's chain of waypoints. Each waypoint's column is added to `column`."""
    count = max(column, default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(count)]
    for v in range(n):
        if column[v] >= 0:
            layers[column[v]].append(v)
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    chains: dict[tuple[int, int], list[int]] = {}
    for s, t in sorted(forward):
        previous = s
        chain = []
        for k in range(column[s] + 1, column[t]):
            w = len(up)
            up.append([previous])
            down.append([])
            down[previous].append(w)
            layers[k].append(w)
            column.append(k)
            chain.append(w)
            previous = w
        if chain:
            chains[(s, t)] = chain
        down[previous].append(t)
        up[t].append(previous)
    return layers, up, down, chains


def _order(
    layers: list[list[int]], up: list[list[int]], down: list[list[int]], sweep_done: Callable[[int], None]
) -> list[list[int]]:
    """Reorder each column by barycentres, down then up, keeping the order with fewest crossings."""
    place = [0.0] * len(up)

    def number(layer: list[int]) -> None:
        scale = 1.0 / len(layer)
        for i, v in enumerate(layer):
            place[v] = (i + 0.5) * scale

    for layer in layers:
        number(layer)
    best = [list(layer) for layer in layers]
    fewest = _crossings(layers, down, place)
    passes = 0
    for _ in range(SWEEPS):
        for ordering, neighbours in ((range(1, len(layers)), up), (range(len(layers) - 2, -1, -1), down)):
            for k in ordering:
                layer = layers[k]

                def key(v: int, neighbours: list[list[int]] = neighbours) -> float:
                    near = neighbours[v]
                    if not near:
                        return place[v]
                    return sum(place[w] for w in near) / len(near)

                layer.sort(key=key)
                number(layer)
            passes += 1
            sweep_done(passes)
            crossings = _crossings(layers, down, place)
            if crossings < fewest:
                fewest = crossings
                best = [list(layer) for layer in layers]
            if fewest == 0:
                return best
    return best


def _crossings(layers: list[list[int]], down: list[list[int]], place: list[float]) -> int:
    """How many pairs of wires cross between neighbouring columns (Barth, Jünger and Mutzel's count)."""
    total = 0
    for k in range(len(layers) - 1):
        below = layers[k + 1]
        size = len(below)
        rank = {v: i for i, v in enumerate(below)}
        targets: list[int] = []
        for v in layers[k]:
            targets.extend(sorted(rank[w] for w in down[v]))
        # Count the inversions in `targets` with a Fenwick tree over the lower column.
        tree = [0] * (size + 1)
        seen = 0
        for r in targets:
            i = r + 1
            smaller_or_equal = 0
            while i > 0:
                smaller_or_equal += tree[i]
                i -= i & -i
            total += seen - smaller_or_equal
            seen += 1
            i = r + 1
            while i <= size:
                tree[i] += 1
                i += i & -i
    return total


def _place(
    layers: list[list[int]], up: list[list[int]], down: list[list[int]], heights: list[float], n: int
) -> list[float]:
    """Tops for nodes and waypoints: each column in its order, pulled towards its neighbours."""
    top = [0.0] * len(up)
    for layer in layers:
        gaps = _gaps(layer, n)
        y = 0.0
        for v, gap in zip(layer, gaps, strict=True):
            top[v] = y
            y += heights[v] + gap
        shift = -(y - (gaps[-1] if gaps else 0.0)) / 2  # centred on zero
        for v in layer:
            top[v] += shift
    for i in range(PLACEMENTS):
        downward = i % 2 == 0
        ordering = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for k in ordering:
            layer = layers[k]
            wanted = []
            for v in layer:
                near = up[v] if downward else down[v]
                if i >= 2:
                    near = up[v] + down[v]
                if near:
                    centre = sum(top[w] + heights[w] / 2 for w in near) / len(near)
                    wanted.append(centre - heights[v] / 2)
                else:
                    wanted.append(top[v])
            for v, y in zip(layer, _pack(wanted, [heights[v] for v in layer], _gaps(layer, n)), strict=True):
                top[v] = y
    return top


def _gaps(layer: list[int], n: int) -> list[float]:
    """The room after each member of a column (the last one's unused)."""
    gaps = []
    for a, b in pairwise(layer):
        gaps.append(NODE_GAP if a < n and b < n else LANE_GAP)
    gaps.append(0.0)
    return gaps


def _pack(wanted: list[float], heights: list[float], gaps: list[float]) -> list[float]:
    """Tops as near `wanted` as they can be (least squares) keeping the order without overlaps.

    With offset_i the room the members above i take, top_i = z_i + offset_i and
    the constraint is z non-decreasing: an isotonic regression, solved by pooling
    adjacent violators in one pass.
    """
    offsets = []
    room = 0.0
    for h, g in zip(heights, gaps, strict=True):
        offsets.append(room)
        room += h + g
    blocks: list[list[float]] = []  # [mean, count]
    for w, offset in zip(wanted, offsets, strict=True):
        blocks.append([w - offset, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            previous = blocks[-1]
            total = previous[1] + count
            previous[0] = (previous[0] * previous[1] + mean * count) / total
            previous[1] = total
    tops = []
    i = 0
    for mean, count in blocks:
        for _ in range(int(count)):
            tops.append(mean + offsets[i])
            i += 1
    return tops


def _grid(widths: list[float], heights: list[float], columns: int) -> list[Point]:
    """Top-left corners, from (0, 0), for nodes without wires: rows at least as wide as the
    layout's columns, and about square when there are many."""
    if not widths:
        return []
    per_row = max(columns, math.ceil(math.sqrt(len(widths))))
    cell = max(widths) + COLUMN_GAP
    places = []
    y = 0.0
    for start in range(0, len(widths), per_row):
        row = range(start, min(start + per_row, len(widths)))
        places += [((i - start) * cell, y) for i in row]
        y += max(heights[i] for i in row) + NODE_GAP
    return places


def _curve_to(points: list[Point], end: Point) -> None:
    """Add a left-to-right S curve from the last point to `end`."""
    x0, y0 = points[-1]
    x1, y1 = end
    dx = max(20.0, (x1 - x0) * 0.5)
    points += [(x0 + dx, y0), (x1 - dx, y1), end]


def _line_to(points: list[Point], end: Point) -> None:
    """Add a straight run from the last point to `end`."""
    (x0, y0), (x1, y1) = points[-1], end
    dx, dy = (x1 - x0) / 3, (y1 - y0) / 3
    points += [(x0 + dx, y0 + dy), (x0 + 2 * dx, y0 + 2 * dy), end]
