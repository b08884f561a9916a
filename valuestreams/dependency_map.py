"""The dependency map: trains (or value streams) as nodes, dependencies aggregated into
one edge per provider→consumer pair, loops found as strongly connected components.

Built from three queries (value streams, trains, one row per dependency) and laid out
in Python, so the page and the API only render plain structures. Layout: value
streams are boxes placed in columns by a layered (Sugiyama) layout of the value-stream
graph, so most edges run left to right; trains are stacked inside their box and
ordered by the barycentre of their neighbours to reduce crossings.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import networkx as nx
from grandalf.graphs import Edge as GEdge
from grandalf.graphs import Graph as GGraph
from grandalf.graphs import Vertex as GVertex
from grandalf.layouts import SugiyamaLayout

from .models import COLOUR_SEVERITY, Dependency, Train, TrainKind, ValueStream, dependency_colour

NODE_W, NODE_H, NODE_GAP = 190, 34, 12
GROUP_PAD, GROUP_HEADER, COLUMN_GAP, ROW_GAP = 14, 30, 120, 28
VS_NODE_W, VS_NODE_H = 210, 54


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

    @property
    def width(self):
        return round(1.5 + 1.5 * math.log2(self.count), 1)


@dataclass
class MapCycle:
    members: list[str]
    example: list[str]


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

    @property
    def hubs(self):
        return [n for n in self.nodes if n.hub]


def build_dependency_map(
    dependencies, *, portfolio, today, mode: str = "trains", value_stream_ids=None
) -> DependencyMap:
    """Lay out the map of ``dependencies`` (an already filtered, visible queryset).

    mode "trains": one node per train; "value_streams": one per value stream, edges
    aggregated between value streams. ``value_stream_ids`` limits the nodes shown
    (trains outside them still appear when a shown dependency touches them).
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
    aggregated: dict[tuple[int, int], dict] = {}
    for provider, consumer, provider_vs, consumer_vs, state, committed, needed in rows:
        colour = dependency_colour(state, committed, needed)
        colours[colour] += 1
        late = state in ("requested", "accepted", "committed") and (colour == "red" or needed < today)
        key = (provider_vs, consumer_vs) if mode == "value_streams" else (provider, consumer)
        if key[0] == key[1]:
            continue  # inside one value stream: counted, not drawn in the aggregated view
        edge = aggregated.setdefault(
            key, {"count": 0, "colours": Counter(), "late": 0, "cross": provider_vs != consumer_vs}
        )
        edge["count"] += 1
        edge["colours"][colour] += 1
        edge["late"] += late
    result.colour_totals = {c: colours.get(c, 0) for c in ("red", "amber", "green", "grey")}

    if mode == "value_streams":
        nodes = {
            vs.pk: MapNode(
                id=vs.pk,
                label=vs.name,
                sublabel=vs.key,
                value_stream_id=vs.pk,
                kind="value_stream",
                w=VS_NODE_W,
                h=VS_NODE_H,
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

    _analyse(nodes, edges, result)
    if mode == "value_streams":
        _layout_value_streams(nodes, edges, result)
    else:
        _layout_trains(nodes, edges, value_streams, result)
    result.nodes = list(nodes.values())
    result.edges = edges
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
        example = [nodes[a].label for a, _ in loop] + [nodes[loop[0][0]].label]
        result.cycles.append(MapCycle(members=sorted(nodes[n].label for n in component), example=example))
    for node_id, node in nodes.items():
        node.in_cycle = node_id in in_cycle
        node.gives = graph.out_degree(node_id)
        node.needs = graph.in_degree(node_id)
    component_of = {n: i for i, c in enumerate(components) for n in c}
    for edge in edges:
        edge.in_cycle = component_of.get(edge.provider, -1) == component_of.get(edge.consumer, -2)
    # A hub trades with many others: at least 4 partners and well above the typical train.
    degrees = [n.gives + n.needs for n in nodes.values()]
    if degrees:
        mean = sum(degrees) / len(degrees)
        spread = math.sqrt(sum((d - mean) ** 2 for d in degrees) / len(degrees))
        threshold = max(4, mean + 1.5 * spread)
        for node in nodes.values():
            node.hub = node.gives + node.needs >= threshold


def _layers(node_ids, pairs) -> dict[int, int]:
    """Layer (column) index per node from grandalf's Sugiyama layout of the graph."""
    vertices = {n: GVertex(n) for n in node_ids}
    for v in vertices.values():
        v.view = type("V", (), {"w": 10, "h": 10})()
    graph = GGraph(list(vertices.values()), [GEdge(vertices[a], vertices[b]) for a, b in pairs if a != b])
    layer_of: dict[int, int] = {}
    offset = 0
    for component in graph.C:
        layout = SugiyamaLayout(component)
        layout.init_all()
        layout.draw(3)
        for index, layer in enumerate(layout.layers):
            for v in layer:
                if isinstance(v, GVertex) and not hasattr(v, "ctrl"):
                    layer_of[v.data] = offset + index
        offset += len(layout.layers)
    return layer_of


def _columns(node_ids: list[int], pairs: set[tuple[int, int]]) -> list[list[int]]:
    """Group nodes into columns: by layer when there are few, else wrap so the map stays wide, not tall."""
    layer_of = _layers(node_ids, pairs)
    max_layer = max(layer_of.values(), default=0)
    columns: list[list[int]] = [[] for _ in range(max_layer + 1)]
    for n in node_ids:
        columns[layer_of.get(n, 0)].append(n)
    columns = [c for c in columns if c]
    # Components with no edges end up one per layer; fold columns past four.
    wanted = min(4, max(1, math.ceil(math.sqrt(len(node_ids)))))
    while len(columns) > wanted:
        smallest = min(range(len(columns) - 1), key=lambda i: len(columns[i]) + len(columns[i + 1]))
        columns[smallest : smallest + 2] = [columns[smallest] + columns[smallest + 1]]
    return columns


def _barycentre_order(columns: list[list[int]], neighbours: dict[int, set[int]], position: dict[int, float]) -> None:
    """A few sweeps of the barycentre heuristic: place each item near its neighbours."""
    for _ in range(4):
        for column in columns:
            column.sort(
                key=lambda n: (
                    sum(position[m] for m in neighbours[n] if m in position) / len(neighbours[n])
                    if neighbours[n]
                    else position[n]
                )
            )
            for index, n in enumerate(column):
                position[n] = index


def _layout_value_streams(nodes: dict[int, MapNode], edges: list[MapEdge], result: DependencyMap) -> None:
    pairs = {(e.provider, e.consumer) for e in edges}
    columns = _columns(list(nodes), pairs)
    neighbours = defaultdict(set)
    for a, b in pairs:
        neighbours[a].add(b)
        neighbours[b].add(a)
    position = {n: i for column in columns for i, n in enumerate(column)}
    _barycentre_order(columns, neighbours, position)
    for ci, column in enumerate(columns):
        for ri, n in enumerate(column):
            node = nodes[n]
            node.x = 40 + ci * (VS_NODE_W + COLUMN_GAP * 1.6)
            node.y = 40 + ri * (VS_NODE_H + 60)
    result.width = 80 + len(columns) * (VS_NODE_W + COLUMN_GAP * 1.6)
    result.height = 80 + max((len(c) for c in columns), default=1) * (VS_NODE_H + 60)
    _route(nodes, edges)


def _layout_trains(nodes, edges, value_streams, result: DependencyMap) -> None:
    by_group = defaultdict(list)
    for node in nodes.values():
        by_group[node.value_stream_id].append(node.id)
    group_pairs = {
        (nodes[e.provider].value_stream_id, nodes[e.consumer].value_stream_id)
        for e in edges
        if nodes[e.provider].value_stream_id != nodes[e.consumer].value_stream_id
    }
    group_ids = [vs for vs in value_streams if vs in by_group]
    columns = _columns(group_ids, group_pairs)
    neighbours = defaultdict(set)
    for e in edges:
        neighbours[e.provider].add(e.consumer)
        neighbours[e.consumer].add(e.provider)
    # Order trains inside each value stream by where their partners sit.
    position = {}
    for column in columns:
        offset = 0
        for vs in column:
            for n in by_group[vs]:
                position[n] = offset
                offset += 1
    for _ in range(3):
        for vs in group_ids:
            members = by_group[vs]
            base = min(position[n] for n in members)
            members.sort(
                key=lambda n: (
                    (sum(position[m] for m in neighbours[n]) / len(neighbours[n])) if neighbours[n] else position[n]
                )
            )
            for i, n in enumerate(members):
                position[n] = base + i
    height = 0
    for ci, column in enumerate(columns):
        y = 40
        x = 40 + ci * (NODE_W + 2 * GROUP_PAD + COLUMN_GAP)
        for vs in column:
            members = by_group[vs]
            group = MapGroup(
                id=vs,
                label=value_streams[vs].name,
                x=x,
                y=y,
                w=NODE_W + 2 * GROUP_PAD,
                h=GROUP_HEADER + len(members) * (NODE_H + NODE_GAP) - NODE_GAP + GROUP_PAD,
            )
            result.groups.append(group)
            for i, n in enumerate(members):
                nodes[n].x = x + GROUP_PAD
                nodes[n].y = y + GROUP_HEADER + i * (NODE_H + NODE_GAP)
            y += group.h + ROW_GAP
        height = max(height, y)
    result.width = 80 + len(columns) * (NODE_W + 2 * GROUP_PAD + COLUMN_GAP) - COLUMN_GAP
    result.height = height + 20
    _route(nodes, edges)


def _route(nodes: dict[int, MapNode], edges: list[MapEdge]) -> None:
    """Cubic curves from the provider's side to the consumer's side, bent apart so that
    an edge and its reverse, or edges within one column, do not lie on each other."""
    for edge in edges:
        a, b = nodes[edge.provider], nodes[edge.consumer]
        if abs(a.x - b.x) < 1:  # same column: loop out to the right
            x1, y1 = a.x + a.w, a.cy - 4
            x2, y2 = b.x + b.w, b.cy + 4
            bulge = 40 + min(160, abs(a.cy - b.cy) / 3)
            edge.path = f"M{x1:.0f},{y1:.0f} C{x1 + bulge:.0f},{y1:.0f} {x2 + bulge:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            edge.label_x, edge.label_y = max(x1, x2) + bulge * 0.75, (y1 + y2) / 2
            continue
        forward = a.x < b.x
        x1 = a.x + a.w if forward else a.x
        x2 = b.x if forward else b.x + b.w
        shift = 5 if forward else -5  # keep A→B and B→A apart
        y1, y2 = a.cy + shift, b.cy + shift
        dx = (x2 - x1) * 0.45
        edge.path = f"M{x1:.0f},{y1:.0f} C{x1 + dx:.0f},{y1:.0f} {x2 - dx:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
        edge.label_x, edge.label_y = (x1 + x2) / 2, (y1 + y2) / 2


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
