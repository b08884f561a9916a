"""The dependency map: trains (or value streams) as nodes, dependencies aggregated into
one edge per provider→consumer pair, loops found as strongly connected components.

Built from three queries (value streams, trains, one row per dependency) and laid out
in Python, so the page and the API only render plain structures.

Layouts keep every edge off every node, so an edge never seems to end at a train it
merely passes:

- trains: the value streams are boxes in two facing columns with the edges in the
  "river" between them (a two-layer layout), and the edges within a column bowing out
  of its outer side. Value streams are split between the columns to balance their
  heights and send as many edges as possible across; the boxes and the trains inside
  them are ordered by the barycentre of their partners to reduce crossings, and each
  train spreads its edges along its side in the order of their other ends. With a
  value stream chosen, it takes a middle column and its partners the two sides.
- value streams: the nodes sit on an ellipse and the edges are chords bent towards
  its centre, one lane per direction.

The portfolio's real traffic is dense (on the large demo almost every train trades with
almost every other), so the map can leave out edges within a value stream or edges
with fewer than ``min_count`` dependencies; loops and hubs are still found on all of
them, and the numbers left out are reported.
"""

import itertools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import networkx as nx

from .models import COLOUR_SEVERITY, Dependency, Train, TrainKind, ValueStream, dependency_colour

NODE_W, NODE_H, NODE_GAP = 224, 38, 8
GROUP_PAD, GROUP_HEADER, GROUP_GAP = 10, 30, 24
MARGIN = 16
VS_NODE_W, VS_NODE_H = 236, 56
ARROW, ARROW_LARGE = 8, 13  # arrowhead lengths; the large one for edges wider than WIDE_EDGE
WIDE_EDGE = 4
MIN_WIDTH, MAX_WIDTH = 1.25, 6.5
VS_MIN_WIDTH, VS_MAX_WIDTH = 3.5, 9.0
LABEL_H, LABEL_CHAR_W = 16, 7
MAX_LABELS = 40
# The counts the automatic threshold steps through when a map has too many edges.
THRESHOLDS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500)


@dataclass
class MapNode:
    id: int
    label: str
    sublabel: str
    value_stream_id: int
    kind: str  # "art", "solution" or "value_stream"
    x: float = 0
    y: float = 0
    w: float = NODE_W
    h: float = NODE_H
    in_cycle: bool = False
    hub: bool = False
    gives: int = 0
    needs: int = 0
    internal: int = 0  # value streams only: dependencies between its own trains

    @property
    def cx(self):
        return self.x + self.w / 2

    @property
    def cy(self):
        return self.y + self.h / 2


@dataclass
class MapGroup:
    id: int
    label: str
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0


@dataclass
class MapEdge:
    provider: int
    consumer: int
    count: int
    colour: str
    colours: dict
    late: int
    cross_value_stream: bool
    in_cycle: bool = False
    path: str = ""
    label_x: float = 0
    label_y: float = 0
    labelled: bool = False  # whether label_x/label_y found a place clear of other labels and nodes
    width: float = MIN_WIDTH
    # Value streams: the edge drawn as parallel strands, one per colour as wide as its
    # share, (colour, path, width), worst first; empty when it has a single colour.
    strands: list = field(default_factory=list)

    @property
    def arrow(self) -> str:
        """The arrowhead size the path leaves room for: "lg" on wide edges."""
        return "lg" if self.width > WIDE_EDGE else "sm"


@dataclass
class MapCycle:
    members: list[str]
    example: list[str]
    member_ids: list[int] = field(default_factory=list)
    example_ids: list[int] = field(default_factory=list)


@dataclass
class DependencyMap:
    mode: str
    nodes: list[MapNode] = field(default_factory=list)
    groups: list[MapGroup] = field(default_factory=list)
    edges: list[MapEdge] = field(default_factory=list)
    cycles: list[MapCycle] = field(default_factory=list)
    width: float = 0
    height: float = 0
    dependency_count: int = 0
    colour_totals: dict = field(default_factory=dict)
    # Pairs found before leaving any out, and what was left out (not drawn).
    pair_count: int = 0
    hidden_pairs: int = 0
    hidden_internal_pairs: int = 0
    hidden_dependencies: int = 0
    min_count: int = 1
    include_internal: bool = True

    @property
    def hubs(self):
        return [n for n in self.nodes if n.hub]


def build_dependency_map(
    dependencies,
    *,
    portfolio,
    today,
    mode: str = "trains",
    value_stream_ids=None,
    include_internal: bool | None = True,
    min_count: int = 1,
    max_edges: int | None = None,
) -> DependencyMap:
    """Lay out the map of ``dependencies`` (an already filtered, visible queryset).

    mode "trains": one node per train; "value_streams": one per value stream, edges
    aggregated between value streams (dependencies inside one are counted on its node).
    ``value_stream_ids`` limits the nodes shown (trains outside them still appear when
    a shown dependency touches them). Edges within a value stream are drawn only with
    ``include_internal`` (None: only if there are no more than ``max_edges`` edges in
    all); edges of fewer than ``min_count`` dependencies are not drawn, and with
    ``max_edges`` that threshold rises (through THRESHOLDS) until no more than that many
    edges are drawn.
    """
    rows = list(
        dependencies.with_dates().values_list(
            "provider_id",
            "consumer_id",
            "provider__value_stream_id",
            "consumer__value_stream_id",
            "state",
            "committed_date",
            "needed_by_date",
        )
    )
    value_streams = {vs.pk: vs for vs in ValueStream.objects.filter(portfolio=portfolio).order_by("name")}
    trains = {
        t.pk: t
        for t in Train.objects.filter(value_stream__portfolio=portfolio)
        .order_by("-kind", "name")
        .only("pk", "name", "key", "kind", "value_stream_id")
    }
    result = DependencyMap(mode=mode, dependency_count=len(rows))
    colours = Counter()
    internal = Counter()
    aggregated: dict[tuple[int, int], dict] = {}
    for provider, consumer, provider_vs, consumer_vs, state, committed, needed in rows:
        colour = dependency_colour(state, committed, needed)
        colours[colour] += 1
        late = state in ("requested", "accepted", "committed") and (colour == "red" or needed < today)
        key = (provider_vs, consumer_vs) if mode == "value_streams" else (provider, consumer)
        if key[0] == key[1]:
            internal[key[0]] += 1  # inside one value stream: counted on its node, not drawn
            continue
        edge = aggregated.get(key)
        if edge is None:
            edge = aggregated[key] = {"count": 0, "colours": Counter(), "late": 0, "cross": provider_vs != consumer_vs}
        edge["count"] += 1
        edge["colours"][colour] += 1
        edge["late"] += late
    result.colour_totals = {c: colours.get(c, 0) for c in ("red", "amber", "green", "grey")}

    if mode == "value_streams":
        train_counts = Counter(t.value_stream_id for t in trains.values())
        nodes = {
            vs.pk: MapNode(
                id=vs.pk,
                label=vs.name,
                sublabel=f"{vs.key} · {train_counts[vs.pk]} train{'s' if train_counts[vs.pk] != 1 else ''}"
                f" · {internal[vs.pk]:,} within",
                value_stream_id=vs.pk,
                kind="value_stream",
                w=VS_NODE_W,
                h=VS_NODE_H,
                internal=internal[vs.pk],
            )
            for vs in value_streams.values()
            if value_stream_ids is None or vs.pk in value_stream_ids or any(vs.pk in k for k in aggregated)
        }
    else:
        touched = {p for p, _ in aggregated} | {c for _, c in aggregated}
        nodes = {
            t.pk: MapNode(
                id=t.pk,
                label=t.name,
                sublabel=t.key + (" · solution train" if t.kind == TrainKind.SOLUTION else ""),
                value_stream_id=t.value_stream_id,
                kind=t.kind,
            )
            for t in trains.values()
            if value_stream_ids is None or t.value_stream_id in value_stream_ids or t.pk in touched
        }
    edges = [
        MapEdge(
            provider=p,
            consumer=c,
            count=e["count"],
            colour=max(e["colours"], key=COLOUR_SEVERITY.__getitem__),
            colours=dict(e["colours"]),
            late=e["late"],
            cross_value_stream=e["cross"],
        )
        for (p, c), e in sorted(aggregated.items())
        if p in nodes and c in nodes
    ]

    # Loops and hubs are facts about all the dependencies, whatever is drawn.
    _analyse(nodes, edges, result)
    drawn = _choose_drawn(edges, result, include_internal=include_internal, min_count=min_count, max_edges=max_edges)
    if mode == "value_streams":
        _set_widths(drawn, thinnest=VS_MIN_WIDTH, widest=VS_MAX_WIDTH)  # room for the strands of each colour
    else:
        _set_widths(drawn)
    if mode == "value_streams":
        _layout_value_streams(nodes, drawn, result)
    else:
        _layout_trains(nodes, drawn, value_streams, result, focus=set(value_stream_ids or ()))
    _place_labels(nodes, drawn)
    result.nodes = list(nodes.values())
    # Thin edges first, so the bold ones (and their arrowheads) stay on top.
    result.edges = sorted(drawn, key=lambda e: (e.count, e.provider, e.consumer))
    return result


def _analyse(nodes: dict[int, MapNode], edges: list[MapEdge], result: DependencyMap) -> None:
    """Cycles as strongly connected components (one example loop each) and hubs."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((e.provider, e.consumer) for e in edges)
    components = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    in_cycle = set().union(*components) if components else set()
    for component in sorted(components, key=lambda c: (-len(c), min(c))):
        loop = nx.find_cycle(graph.subgraph(component))
        example_ids = [a for a, _ in loop] + [loop[0][0]]
        members = sorted(component, key=lambda n: nodes[n].label)
        result.cycles.append(
            MapCycle(
                members=[nodes[n].label for n in members],
                example=[nodes[n].label for n in example_ids],
                member_ids=members,
                example_ids=example_ids,
            )
        )
    for node_id, node in nodes.items():
        node.in_cycle = node_id in in_cycle
        node.gives = graph.out_degree(node_id)
        node.needs = graph.in_degree(node_id)
    component_of = {n: i for i, c in enumerate(components) for n in c}
    for edge in edges:
        edge.in_cycle = component_of.get(edge.provider, -1) == component_of.get(edge.consumer, -2)
    # A hub trades with many others: at least 4 partners, well above the typical node
    # and strictly above the mean (when every node trades with every other, none is).
    degrees = [n.gives + n.needs for n in nodes.values()]
    if degrees:
        mean = sum(degrees) / len(degrees)
        spread = math.sqrt(sum((d - mean) ** 2 for d in degrees) / len(degrees))
        threshold = max(4, mean + 1.5 * spread)
        for node in nodes.values():
            degree = node.gives + node.needs
            node.hub = degree >= threshold and degree > mean


def _choose_drawn(edges, result: DependencyMap, *, include_internal, min_count, max_edges) -> list[MapEdge]:
    if include_internal is None:
        include_internal = max_edges is None or len(edges) <= max_edges
    result.include_internal = include_internal
    candidates = [e for e in edges if include_internal or e.cross_value_stream]
    threshold = max(1, min_count)
    if max_edges is not None:
        for step in THRESHOLDS:
            if step >= threshold and sum(e.count >= step for e in candidates) <= max_edges:
                threshold = step
                break
        else:
            threshold = max(threshold, THRESHOLDS[-1])
    drawn = [e for e in candidates if e.count >= threshold]
    drawn_keys = {(e.provider, e.consumer) for e in drawn}
    hidden = [e for e in edges if (e.provider, e.consumer) not in drawn_keys]
    result.pair_count = len(edges)
    result.hidden_pairs = len(hidden)
    result.hidden_internal_pairs = sum(not e.cross_value_stream for e in hidden)
    result.hidden_dependencies = sum(e.count for e in hidden)
    result.min_count = threshold
    return drawn


def _set_widths(edges: list[MapEdge], *, thinnest: float = MIN_WIDTH, widest: float = MAX_WIDTH) -> None:
    """Thin for the smallest count drawn, bold for the largest (square root scale)."""
    if not edges:
        return
    low, high = min(e.count for e in edges), max(e.count for e in edges)
    for edge in edges:
        share = (edge.count - low) / (high - low) if high > low else 0.5 if low > 1 else 0
        edge.width = round(thinnest + (widest - thinnest) * math.sqrt(share), 1)


# --- Trains: two facing columns of value streams ----------------------------------


def _layout_trains(nodes, edges, value_streams, result: DependencyMap, *, focus: set[int]) -> None:
    by_group: dict[int, list[int]] = defaultdict(list)
    for node in nodes.values():  # already solution trains first, then by name
        by_group[node.value_stream_id].append(node.id)
    group_ids = [vs for vs in value_streams if vs in by_group]
    group_of = {n: nodes[n].value_stream_id for n in nodes}

    def group_height(vs):
        return GROUP_HEADER + len(by_group[vs]) * (NODE_H + NODE_GAP) - NODE_GAP + GROUP_PAD

    def column_height(column):
        return sum(group_height(vs) for vs in column) + GROUP_GAP * (len(column) - 1)

    between = Counter()
    for e in edges:
        a, b = group_of[e.provider], group_of[e.consumer]
        if a != b:
            between[min(a, b), max(a, b)] += 1
    columns = _columns(group_ids, group_height, between, focus, edges, group_of)

    partners: dict[int, Counter] = defaultdict(Counter)
    for e in edges:
        partners[e.provider][e.consumer] += 1
        partners[e.consumer][e.provider] += 1
    tallest = max(column_height(column) for column in columns)

    def top_of(column):
        """Shorter columns are centred against the tallest, so their edges fan out evenly."""
        return MARGIN + (tallest - column_height(column)) / 2

    def place():
        """Stack each column's boxes and trains top-down; return each train's centre y."""
        centre = {}
        for column in columns:
            y = top_of(column)
            for vs in column:
                for i, n in enumerate(by_group[vs]):
                    centre[n] = y + GROUP_HEADER + i * (NODE_H + NODE_GAP) + NODE_H / 2
                y += group_height(vs) + GROUP_GAP
        return centre

    def barycentre(members, centre, default):
        weight = total = 0
        for n in members:
            for m, k in partners[n].items():
                if group_of[m] != group_of[n]:
                    total += centre[m] * k
                    weight += k
        return total / weight if weight else default

    centre = place()
    for _ in range(6):
        for column in columns:
            for vs in column:
                by_group[vs].sort(key=lambda n: barycentre([n], centre, centre[n]))
            column.sort(key=lambda vs: barycentre(by_group[vs], centre, centre[by_group[vs][0]]))
            centre = place()

    column_of = {n: i for i, column in enumerate(columns) for vs in column for n in by_group[vs]}
    last = len(columns) - 1
    # Edges between trains of one column bow out on its outer side (the middle column's
    # into the river on its right), clear of the other edges as far as they can be.
    outer = [MARGIN, MARGIN]
    for e in edges:
        side = column_of[e.provider]
        if side == column_of[e.consumer] and side in (0, last) and last > 0:
            index = 0 if side == 0 else 1
            outer[index] = max(outer[index], _bow(centre[e.provider], centre[e.consumer]) + MARGIN)
    river_edges = Counter()
    for e in edges:
        a, b = column_of[e.provider], column_of[e.consumer]
        if a != b:
            river_edges[min(a, b)] += 1
        elif 0 < a < last:  # the middle column's bows run in the river on its right
            river_edges[a] += 1
    column_w = NODE_W + 2 * GROUP_PAD
    xs = [outer[0]]
    for i in range(last):
        xs.append(xs[-1] + column_w + _river_width(river_edges[i], rivers=last))
    for i, column in enumerate(columns):
        y = top_of(column)
        for vs in column:
            group = MapGroup(id=vs, label=value_streams[vs].name, x=xs[i], y=y, w=column_w, h=group_height(vs))
            result.groups.append(group)
            for row, n in enumerate(by_group[vs]):
                nodes[n].x = xs[i] + GROUP_PAD
                nodes[n].y = y + GROUP_HEADER + row * (NODE_H + NODE_GAP)
            y += group.h + GROUP_GAP
    result.width = xs[-1] + column_w + (outer[1] if last > 0 else MARGIN)
    result.height = MARGIN + tallest + MARGIN
    _route_river(nodes, edges, column_of, last)


def _bow(y1: float, y2: float) -> float:
    """How far an edge between two trains of one column bows out: more for trains further apart."""
    return min(120.0, 24 + abs(y1 - y2) * 0.3)


def _columns(group_ids, group_height, between: Counter, focus: set[int], edges, group_of) -> list[list[int]]:
    """The value streams of each column, left to right.

    With chosen (focus) value streams whose partners are in two or more others: the
    chosen ones in the middle, their partners split between the left and the right
    (only when no edge joins two partners, which would cross the middle). Otherwise two
    columns: the chosen ones on the left, or the split that balances the heights and
    keeps the fewest edges between boxes of one column."""
    chosen = [g for g in group_ids if g in focus]
    others = [g for g in group_ids if g not in focus]
    if chosen and others:
        partner_edges = any(group_of[e.provider] not in focus and group_of[e.consumer] not in focus for e in edges)
        if len(others) >= 2 and not partner_edges:
            left, right = _split(others, group_height, Counter())
            return [left, chosen, right]
        return [chosen, others]
    if len(group_ids) < 2:
        return [list(group_ids)]
    return list(_split(group_ids, group_height, between))


def _split(group_ids, group_height, between: Counter) -> tuple[list[int], list[int]]:
    """Two columns of value streams, as even in height as can be, with the fewest edges
    between boxes of the same column."""
    total_edges = sum(between.values()) or 1
    total_height = sum(group_height(g) for g in group_ids)
    if len(group_ids) > 12:  # beyond exhaustive search: the shorter column takes the next box
        left, right = [], []
        for g in sorted(group_ids, key=group_height, reverse=True):
            (left if sum(map(group_height, left)) <= sum(map(group_height, right)) else right).append(g)
        return left, right
    best, best_score = None, None
    first, rest = group_ids[0], group_ids[1:]
    for size in range(len(rest) + 1):
        for chosen in itertools.combinations(rest, size):
            left = {first, *chosen}
            if len(left) == len(group_ids):
                continue
            left_height = sum(group_height(g) for g in left)
            # How much taller the map gets than with perfectly even columns.
            excess = (max(left_height, total_height - left_height) - total_height / 2) / (total_height / 2)
            same_side = sum(k for (a, b), k in between.items() if (a in left) == (b in left))
            score = excess + same_side / total_edges
            if best_score is None or score < best_score - 1e-9:
                best, best_score = left, score
    return [g for g in group_ids if g in best], [g for g in group_ids if g not in best]


def _river_width(edge_count: int, *, rivers: int = 1) -> float:
    """Room for the edges between two columns: more edges, more room (up to a point);
    narrower when there are two rivers side by side."""
    narrowest = 300 if rivers == 1 else 200
    return min(680 if rivers == 1 else 520, max(narrowest, narrowest - 40 + 3.2 * edge_count))


def _route_river(nodes, edges, column_of, last: int) -> None:
    """An edge between two columns leaves a train's side facing the other column and
    enters the other's; an edge within a column bows out of the column's outer side
    (the middle column's right side). The ports along each side of a train are ordered
    by where the other ends are, so that the edges fan out without crossing each other
    at the train."""

    def outwards(column):
        return -1 if column == 0 and last > 0 else 1

    ports: dict[tuple[int, int], list[tuple[float, int, MapEdge]]] = defaultdict(list)
    bows: set[tuple[int, int]] = set()
    for e in edges:
        a, b = nodes[e.provider], nodes[e.consumer]
        ca, cb = column_of[a.id], column_of[b.id]
        if ca != cb:
            side_a, side_b = (1, -1) if ca < cb else (-1, 1)
        else:
            side_a = side_b = outwards(ca)
            bows.update({(a.id, side_a), (b.id, side_b)})
        ports[a.id, side_a].append((b.cy, 0, e))
        ports[b.id, side_b].append((a.cy, 1, e))
    port_y: dict[tuple[int, int, int], float] = {}
    for (node_id, side), attached in ports.items():
        node = nodes[node_id]
        if (node_id, side) in bows and all(column_of[e.provider] == column_of[e.consumer] for _, _, e in attached):
            # Nested bows: those going up above those going down; the nearer partner
            # nearest the middle of the side, so that bows do not cross.
            attached.sort(key=lambda item: (item[0] > node.cy, -item[0], item[1]))
        else:
            attached.sort(key=lambda item: (item[0], item[1]))
        spacing = min(7.0, (node.h - 10) / max(1, len(attached) - 1))
        first = node.cy - spacing * (len(attached) - 1) / 2
        for i, (_, end, e) in enumerate(attached):
            port_y[e.provider, e.consumer, end] = first + i * spacing
    for e in edges:
        a, b = nodes[e.provider], nodes[e.consumer]
        arrow = ARROW_LARGE if e.arrow == "lg" else ARROW
        y1, y2 = port_y[e.provider, e.consumer, 0], port_y[e.provider, e.consumer, 1]
        ca, cb = column_of[a.id], column_of[b.id]
        if ca != cb:
            rightwards = ca < cb
            x1 = a.x + a.w if rightwards else a.x
            x2 = b.x - arrow if rightwards else b.x + b.w + arrow
            dx = (x2 - x1) * 0.5
            c1, c2 = (x1 + dx, y1), (x2 - dx, y2)
        else:  # both in one column: a bow out of its side and back
            direction = outwards(ca)
            x1 = a.x if direction < 0 else a.x + a.w
            x_edge = b.x if direction < 0 else b.x + b.w
            x2 = x_edge + direction * arrow
            bow = direction * _bow(a.cy, b.cy)
            c1, c2 = (x1 + bow * 1.33, y1), (x_edge + bow * 1.33, y2)
        e.path = _cubic((x1, y1), c1, c2, (x2, y2))
        e._curve = ((x1, y1), c1, c2, (x2, y2))


# --- Value streams: an ellipse of nodes --------------------------------------------


def _layout_value_streams(nodes: dict[int, MapNode], edges: list[MapEdge], result: DependencyMap) -> None:
    order = _ring_order(list(nodes), edges)
    n = len(order)
    w, h = VS_NODE_W, VS_NODE_H
    if n == 1:
        rx = ry = 0.0
    else:
        rx, ry = max(200.0, 60.0 * n), max(110.0, 36.0 * n)
        while _ring_overlaps(n, rx, ry, w, h):
            rx, ry = rx * 1.08, ry * 1.08
    start = -math.pi / 2 + (math.pi / n if n % 2 == 0 else 0)
    cx, cy = MARGIN + rx + w / 2, MARGIN + ry + h / 2
    for i, node_id in enumerate(order):
        angle = start + 2 * math.pi * i / n
        node = nodes[node_id]
        node.x = cx + rx * math.cos(angle) - w / 2
        node.y = cy + ry * math.sin(angle) - h / 2
    # Fit the box to the nodes (an odd ring leaves part of the ellipse empty).
    left = min((n.x for n in nodes.values()), default=MARGIN) - MARGIN
    top = min((n.y for n in nodes.values()), default=MARGIN) - MARGIN
    for node in nodes.values():
        node.x, node.y = node.x - left, node.y - top
    result.width = max((n.x + n.w for n in nodes.values()), default=0) + MARGIN
    result.height = max((n.y + n.h for n in nodes.values()), default=0) + MARGIN
    _route_chords(nodes, edges, (cx - left, cy - top))


def _ring_positions(n, rx, ry):
    start = -math.pi / 2 + (math.pi / n if n % 2 == 0 else 0)
    return [(rx * math.cos(start + 2 * math.pi * i / n), ry * math.sin(start + 2 * math.pi * i / n)) for i in range(n)]


def _ring_overlaps(n, rx, ry, w, h) -> bool:
    """Whether two boxes on the ring come closer than a gap, or a box reaches so far in
    that chords between its neighbours would cross it."""
    points = _ring_positions(n, rx, ry)
    for (x1, y1), (x2, y2) in itertools.combinations(points, 2):
        if abs(x1 - x2) < w + 40 and abs(y1 - y2) < h + 36:
            return True
    return n > 3 and min(rx, ry) < 2.2 * h


def _ring_order(node_ids: list[int], edges: list[MapEdge]) -> list[int]:
    """Order around the ring: swap pairs while that shortens the edges (weighted by
    count) measured around the ring, which keeps partners close and chords short."""
    n = len(node_ids)
    if n < 4:
        return node_ids
    weight = Counter()
    for e in edges:
        weight[min(e.provider, e.consumer), max(e.provider, e.consumer)] += e.count

    def cost(order):
        index = {node: i for i, node in enumerate(order)}
        return sum(k * min(abs(index[a] - index[b]), n - abs(index[a] - index[b])) for (a, b), k in weight.items())

    order, best = list(node_ids), cost(node_ids)
    improved = True
    while improved:
        improved = False
        for i, j in itertools.combinations(range(n), 2):
            order[i], order[j] = order[j], order[i]
            trial = cost(order)
            if trial < best - 1e-9:
                best, improved = trial, True
            else:
                order[i], order[j] = order[j], order[i]
    return order


def _route_chords(nodes, edges, centre) -> None:
    """A chord per edge, bent towards the ring's centre; the two directions of a pair run
    side by side in their own lanes."""
    for e in edges:
        a, b = nodes[e.provider], nodes[e.consumer]
        low, high = (a, b) if a.id < b.id else (b, a)
        dx, dy = high.cx - low.cx, high.cy - low.cy
        length = math.hypot(dx, dy) or 1
        normal = (-dy / length, dx / length)
        lane = (e.width / 2 + 1.5) * (1 if a is low else -1)
        offset = (normal[0] * lane, normal[1] * lane)
        mx, my = (a.cx + b.cx) / 2, (a.cy + b.cy) / 2
        ix, iy = centre[0] - mx, centre[1] - my
        inward = math.hypot(ix, iy)
        bend = min(0.3 * inward, 0.18 * length)
        px = mx + offset[0] + (ix / inward * bend if inward > 1 else 0)
        py = my + offset[1] + (iy / inward * bend if inward > 1 else 0)
        start = _exit_point(a, (a.cx + offset[0], a.cy + offset[1]), (px, py))
        end = _exit_point(b, (b.cx + offset[0], b.cy + offset[1]), (px, py))
        arrow = ARROW_LARGE if e.arrow == "lg" else ARROW
        ex, ey = end[0] - px, end[1] - py
        elen = math.hypot(ex, ey) or 1
        end = (end[0] - ex / elen * arrow, end[1] - ey / elen * arrow)
        c1 = (start[0] + 2 / 3 * (px - start[0]), start[1] + 2 / 3 * (py - start[1]))
        c2 = (end[0] + 2 / 3 * (px - end[0]), end[1] + 2 / 3 * (py - end[1]))
        e.path = _cubic(start, c1, c2, end)
        e._curve = (start, c1, c2, end)
        e.strands = _strands(e, e._curve, normal)


def _strands(edge: MapEdge, curve, normal) -> list:
    """Between value streams nearly every edge has a late dependency somewhere, so the
    worst colour alone says little: split the edge's width between its colours, laid
    side by side along ``normal`` (the same for both directions of a pair, so that the
    two read alike)."""
    shares = sorted(
        ((colour, n) for colour, n in edge.colours.items() if n), key=lambda item: -COLOUR_SEVERITY[item[0]]
    )
    if len(shares) < 2:
        return []
    widths = [max(0.8, edge.width * n / edge.count) for _, n in shares]
    nx, ny = normal
    at = -sum(widths) / 2
    strands = []
    for (colour, _), width in zip(shares, widths, strict=True):
        d = at + width / 2
        strands.append((colour, _cubic(*((x + nx * d, y + ny * d) for x, y in curve)), round(width, 2)))
        at += width
    return strands


def _exit_point(node: MapNode, inside, towards):
    """Where the ray from ``inside`` (a point in the node) towards ``towards`` leaves the node's box."""
    (x0, y0), (x1, y1) = inside, towards
    dx, dy = x1 - x0, y1 - y0
    limits = []
    if dx:
        limits.append(((node.x + node.w if dx > 0 else node.x) - x0) / dx)
    if dy:
        limits.append(((node.y + node.h if dy > 0 else node.y) - y0) / dy)
    t = min((t for t in limits if t > 0), default=0)
    return x0 + dx * t, y0 + dy * t


# --- Shared geometry ----------------------------------------------------------------


def _cubic(p0, p1, p2, p3) -> str:
    return "M{:.1f},{:.1f} C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}".format(*p0, *p1, *p2, *p3)


def _point_on(curve, t: float):
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = curve
    u = 1 - t
    a, b, c, d = u**3, 3 * u * u * t, 3 * u * t * t, t**3
    return a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3


def label_width(count: int) -> float:
    return LABEL_CHAR_W * len(str(count)) + 10


def _place_labels(nodes: dict[int, MapNode], edges: list[MapEdge]) -> None:
    """Put each edge's count on its curve where it overlaps no node and no other label,
    biggest counts first; edges whose label finds no room (or beyond MAX_LABELS) keep
    their count in the tooltip and the table."""
    obstacles = [(n.x - 2, n.y - 2, n.x + n.w + 2, n.y + n.h + 2) for n in nodes.values()]
    placed: list[tuple[float, float, float, float]] = []
    for e in sorted(edges, key=lambda e: (-e.count, e.provider, e.consumer)):
        curve = getattr(e, "_curve", None)
        if curve is None:
            continue
        e.label_x, e.label_y = _point_on(curve, 0.5)
        if len(placed) >= MAX_LABELS:
            continue
        half_w, half_h = label_width(e.count) / 2 + 1, LABEL_H / 2 + 1
        for t in (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74):
            x, y = _point_on(curve, t)
            box = (x - half_w, y - half_h, x + half_w, y + half_h)
            if not any(_overlap(box, other) for other in itertools.chain(placed, obstacles)):
                placed.append(box)
                e.label_x, e.label_y, e.labelled = x, y, True
                break
    for e in edges:
        if hasattr(e, "_curve"):
            del e._curve


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# --- Impact of a slip -------------------------------------------------------------


@dataclass
class SlipImpact:
    """What slips if a dependency slips: the consumer features that need it, the
    dependencies those features deliver in turn (transitively), and their epics."""

    features: list
    dependencies: list
    epics: list
    trains: list
    steps: int

    @property
    def counts(self) -> dict[str, int]:
        return {
            "features": len(self.features),
            "dependencies": len(self.dependencies),
            "epics": len(self.epics),
            "trains": len(self.trains),
        }


def slip_impact(dependency: Dependency, *, max_steps: int = 25) -> SlipImpact:
    """Follow the links downstream: one query per step over the graph, never one per item."""
    from .models import Feature

    seen_deps = {dependency.pk}
    feature_ids: set[int] = set()
    frontier = {dependency.consumer_feature_id} - {None}
    downstream: list[Dependency] = []
    steps = 0
    while frontier and steps < max_steps:
        steps += 1
        feature_ids |= frontier
        delayed = list(
            Dependency.objects.open()
            .filter(provider_feature_id__in=frontier)
            .exclude(pk__in=seen_deps)
            .select_related("consumer", "provider", "consumer_feature")
        )
        downstream.extend(delayed)
        seen_deps.update(d.pk for d in delayed)
        frontier = {d.consumer_feature_id for d in delayed if d.consumer_feature_id} - feature_ids
    features = list(
        Feature.objects.filter(pk__in=feature_ids).select_related("train", "epic", "program_increment").order_by("key")
    )
    epics = sorted({f.epic for f in features if f.epic_id}, key=lambda e: e.key)
    trains = sorted({f.train for f in features} | {d.consumer for d in downstream}, key=lambda t: t.name)
    return SlipImpact(features=features, dependencies=downstream, epics=epics, trains=trains, steps=steps)
