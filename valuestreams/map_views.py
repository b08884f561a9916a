"""The dependency map page (``/dependencies/map/``): the map drawn as inline SVG on the
server, so it reads without JavaScript, with its filters, legend, loops, hubs and a
table of its edges.

The view parses the request, filters the dependencies with DependencyFilterSet (the
same filters as the dependency list and the API) and asks build_dependency_map for the
laid-out graph. The SVG markup is built here in Python with format_html, one call per
shape: the large portfolio draws over a thousand edges, too many for a template loop
within the page's time budget. Every name goes through format_html's escaping.
"""

from dataclasses import dataclass

from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from portfolio.selectors import current_portfolio_for
from portfolio.views import no_portfolio

from .dependency_map import (
    ARROW,
    ARROW_LARGE,
    LABEL_H,
    DependencyMap,
    MapEdge,
    MapNode,
    build_dependency_map,
    label_width,
)
from .filters import DependencyFilterSet
from .models import DependencyColour
from .selectors import dependencies_visible_to

MODES = {"trains": "Trains", "value_streams": "Value streams only"}
# More edges than this and the automatic choice leaves out the edges within value
# streams, then raises the smallest count drawn: past it the train map is a hairball.
LEGIBLE_EDGES = 150
MIN_COUNT_CHOICES = (1, 2, 3, 5, 10, 20)
COLOURS = ("red", "amber", "green", "grey")
COLOUR_MEANING = {
    "red": "committed after it is needed",
    "amber": "committed for the iteration it is needed in",
    "green": "committed before it is needed, or delivered",
    "grey": "no commitment yet",
}
FILTER_FIELDS = ("pi", "value_stream", "state")
# What an empty choice of each filter reads as in the map's form.
ANY = {"pi": "Any", "value_stream": "Every value stream", "state": "Any state"}


@dataclass(frozen=True)
class MapOptions:
    """How the map is drawn (beyond which dependencies it shows)."""

    mode: str
    within: str  # "auto", "show" or "hide": edges between trains of one value stream
    min_count: str  # "auto" or a number: the fewest dependencies an edge must stand for

    @classmethod
    def from_query(cls, query: QueryDict) -> "MapOptions":
        mode = query.get("mode") if query.get("mode") in MODES else "trains"
        within = query.get("within") if query.get("within") in ("show", "hide") else "auto"
        min_count = query.get("min", "")
        return cls(mode=mode, within=within, min_count=min_count if min_count.isdigit() else "auto")


@require_http_methods(["GET", "HEAD"])
def dependency_map(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    today = timezone.localdate()
    filterset = DependencyFilterSet(
        request.GET,
        queryset=dependencies_visible_to(request.user),
        portfolio=portfolio,
        request=request,
        today=today,
    )
    for name, label in ANY.items():
        field = filterset.form.fields[name]
        field.empty_label = label
        if not hasattr(field, "queryset"):  # a plain choice field lists its empty choice once, when set
            field.choices = [choice for choice in field.choices if choice[0] != ""]
    options = MapOptions.from_query(request.GET)
    filterset.is_valid()  # a field in error is shown on the form and left out of the filters and the links
    chosen = filterset.form.cleaned_data
    value_stream = chosen.get("value_stream")
    graph = build_dependency_map(
        filterset.qs,
        portfolio=portfolio,
        today=today,
        mode=options.mode,
        value_stream_ids={value_stream.pk} if value_stream else None,
        include_internal={"auto": None, "show": True, "hide": False}[options.within],
        min_count=1 if options.min_count == "auto" else max(1, int(options.min_count)),
        max_edges=LEGIBLE_EDGES if options.min_count == "auto" else None,
    )
    links = MapLinks(request.GET, chosen)
    context = {
        "filter": filterset,
        "options": options,
        "graph": graph,
        "svg": render_svg(graph, links=links, portfolio=portfolio),
        "links": links,
        "value_stream": value_stream,
        "edge_table_rows": edge_table_rows(graph, links),
        "cycles": cycle_rows(graph, links),
        "hubs": [(node, links.node(node, graph.mode)) for node in sorted(graph.hubs, key=lambda n: n.label)],
        "colour_totals": [
            (colour, DependencyColour(colour).label, graph.colour_totals.get(colour, 0), COLOUR_MEANING[colour])
            for colour in COLOURS
        ],
        "min_count_choices": MIN_COUNT_CHOICES,
        "left_out": left_out_note(graph),
    }
    return render(request, "valuestreams/dependency_map.html", context)


class MapLinks:
    """URLs of the page's links: to the dependency list behind a node or an edge (with
    the map's filters), and to the map itself with one option changed."""

    def __init__(self, query: QueryDict, chosen: dict):
        self.query = query
        self.list_url = reverse("valuestreams:dependency-list")
        self.map_url = reverse("valuestreams:dependency-map")
        self.filters = QueryDict(mutable=True)
        for name in FILTER_FIELDS:
            value = chosen.get(name)
            if value not in (None, ""):
                self.filters[name] = getattr(value, "pk", value)
        # The map's filters after a link's own parameters (ids, which need no quoting):
        # built once, as the large map has over a thousand links.
        self._then = f"&{self.filters.urlencode()}" if self.filters else ""

    def _list(self, **params) -> str:
        query = self.filters.copy()
        for name, value in params.items():
            query[name] = value
        return f"{self.list_url}?{query.urlencode()}"

    def node(self, node: MapNode, mode: str) -> str:
        if mode == "value_streams":
            return self._list(value_stream=node.id)
        return f"{self.list_url}?train={node.id:d}{self._then}"

    def edge(self, edge: MapEdge, mode: str) -> str:
        if mode == "value_streams":
            # The FilterSet has no provider/consumer value stream: open the train map of
            # the providing value stream, where every train pair links to its list.
            return self.with_options(mode="trains", value_stream=edge.provider, within="show", min="1")
        return f"{self.list_url}?provider={edge.provider:d}&consumer={edge.consumer:d}{self._then}"

    def group(self, value_stream_id: int) -> str:
        return self._list(value_stream=value_stream_id)

    def with_options(self, **changes) -> str:
        query = self.query.copy()
        for name, value in changes.items():
            if value is None:
                query.pop(name, None)
            else:
                query[name] = value
        query.pop("page", None)
        encoded = query.urlencode()
        return f"{self.map_url}?{encoded}" if encoded else self.map_url

    @property
    def trains(self) -> str:
        return self.with_options(mode=None)

    @property
    def value_streams(self) -> str:
        return self.with_options(mode="value_streams")

    @property
    def all_edges(self) -> str:
        return self.with_options(within="show", min="1")

    @property
    def automatic(self) -> str:
        return self.with_options(within=None, min=None)


# --- Text for people: tooltips, the loops, the table --------------------------------


def left_out_note(graph: DependencyMap) -> str:
    """Which edges the map draws when it leaves some out, e.g. "only those across value
    streams, with at least 6 dependencies"."""
    parts = []
    if not graph.include_internal and graph.hidden_internal_pairs:
        parts.append("only those across value streams")
    if graph.min_count > 1:
        parts.append(f"{'with' if parts else 'those with'} at least {graph.min_count} dependencies")
    return ", ".join(parts)


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural_word or word + 's'}"


def edge_summary(edge: MapEdge, nodes: dict[int, MapNode]) -> str:
    text = f"{nodes[edge.provider].label} → {nodes[edge.consumer].label}: {plural(edge.count, 'dependency', 'dependencies')}"
    text += f", {edge.late:,} late" if edge.late else ""
    text += f" ({colour_mix(edge.colours)})"
    if not edge.cross_value_stream:
        text += "; within one value stream"
    return text


def colour_mix(colours: dict) -> str:
    """``{"red": 2, "green": 5}`` as "2 red, 5 green", worst first."""
    return ", ".join(f"{colours[c]:,} {c}" for c in COLOURS if colours.get(c))


def node_summary(node: MapNode, mode: str) -> str:
    partner = "value stream" if mode == "value_streams" else "train"
    text = f"{node.label} ({node.sublabel}): gives to {plural(node.gives, partner)}, needs from {node.needs}"
    if node.internal:
        text += f"; {plural(node.internal, 'dependency', 'dependencies')} within"
    if node.in_cycle:
        text += "; in a loop"
    if node.hub:
        text += "; a hub"
    return text


def edge_table_rows(graph: DependencyMap, links: MapLinks) -> SafeString:
    """The rows of the table of edges below the map, most dependencies first: built here
    like the SVG, as the large map's table has well over a thousand rows."""
    nodes = {n.id: n for n in graph.nodes}
    labels = {c: DependencyColour(c).label for c in COLOURS}
    trains = graph.mode == "trains"
    return format_html_join(
        "\n",
        '<tr><th scope="row">{}</th><td>{}</td><td class="num"><a href="{}">{}</a></td>'
        '<td><span class="map-chip chip-{}">{}</span></td><td class="mix">{}</td><td class="num">{}</td>{}</tr>',
        (
            (
                nodes[e.provider].label,
                nodes[e.consumer].label,
                links.edge(e, graph.mode),
                e.count,
                e.colour,
                labels[e.colour],
                colour_mix(e.colours),
                e.late,
                mark_safe(f"<td>{'Across' if e.cross_value_stream else 'Within one'}</td>") if trains else "",
            )
            for e in sorted(graph.edges, key=lambda e: (-e.count, nodes[e.provider].label, nodes[e.consumer].label))
        ),
    )


@dataclass(frozen=True)
class CycleRow:
    size: int
    members: list[str]
    steps: list[tuple[str, str]]  # (name, link to the dependencies to the next name)
    last: str


def cycle_rows(graph: DependencyMap, links: MapLinks) -> list[CycleRow]:
    nodes = {n.id: n for n in graph.nodes}
    rows = []
    for cycle in graph.cycles:
        hops = list(zip(cycle.example_ids, cycle.example_ids[1:], strict=False))
        steps = [(nodes[a].label, links.edge(MapEdge(a, b, 0, "grey", {}, 0, False), graph.mode)) for a, b in hops]
        rows.append(CycleRow(size=len(cycle.members), members=cycle.members, steps=steps, last=cycle.example[-1]))
    return rows


# --- The SVG --------------------------------------------------------------------------

MARKER = (
    '<marker id="arrow-{0}-{1}" viewBox="0 0 10 10" refX="0" refY="5" markerWidth="{2}" markerHeight="{2}"'
    ' markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" class="arrowhead arrowhead-{0}"/></marker>'
)


def render_svg(graph: DependencyMap, *, links: MapLinks, portfolio) -> SafeString:
    """The map as one <svg> element. It is a labelled group, not role="img": an image's
    content is presentational, which would hide its links from screen readers (axe's
    nested-interactive rule). Each node and edge is a link named by its <title>."""
    nodes = {n.id: n for n in graph.nodes}
    what = "value streams" if graph.mode == "value_streams" else "trains"
    title = f"Dependency map of {portfolio.name}: {what}"
    description = (
        f"{plural(len(graph.nodes), 'node')} ({what}) and {plural(len(graph.edges), 'edge')}, "
        f"one per provider and consumer, standing for {plural(graph.dependency_count, 'dependency', 'dependencies')}. "
        f"{plural(len(graph.cycles), 'loop')}. The table of edges below the map holds the same data."
    )
    opacity = (
        0.9 if len(graph.edges) <= 60 else 0.75 if len(graph.edges) <= 200 else 0.5 if len(graph.edges) <= 600 else 0.32
    )
    parts = [
        format_html(
            '<svg class="dep-map dep-map-{}" viewBox="0 0 {} {}" width="{}" height="{}" role="group"'
            ' aria-labelledby="map-title" aria-describedby="map-desc" style="--map-width: {}px; --edge-opacity: {}"'
            ' xmlns="http://www.w3.org/2000/svg">'
            '<title id="map-title">{}</title><desc id="map-desc">{}</desc><defs>',
            graph.mode,
            round(graph.width),
            round(graph.height),
            round(graph.width),
            round(graph.height),
            round(graph.width),
            opacity,
            title,
            description,
        )
    ]
    parts.extend(
        format_html(MARKER, colour, size, length)
        for colour in COLOURS
        for size, length in (("sm", ARROW), ("lg", ARROW_LARGE))
    )
    parts.append(mark_safe("</defs>"))
    parts.append(_hover_rules(graph))
    parts.append(_groups(graph, links))
    parts.append(_edges(graph, nodes, links))
    parts.append(_labels(graph))
    parts.append(_nodes(graph, links))
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


def _hover_rules(graph: DependencyMap) -> SafeString:
    """Pointing at (or tabbing to) a node fades every edge but its own: plain CSS, so
    it needs no script. One rule per node, whose id is a number."""
    if not graph.edges:
        return mark_safe("")
    rules = "".join(
        f".dep-map:has(#node-{n.id}:hover,#node-{n.id}:focus-visible) .map-edge:not(.at-{n.id}),"
        f".dep-map:has(#node-{n.id}:hover,#node-{n.id}:focus-visible) .edge-label:not(.at-{n.id}){{opacity:.07}}"
        for n in graph.nodes
        if n.gives or n.needs
    )
    return mark_safe(f"<style>{rules}</style>")


def _groups(graph: DependencyMap, links: MapLinks) -> SafeString:
    return format_html(
        '<g class="map-groups">{}</g>',
        format_html_join(
            "",
            '<g class="map-group"><rect x="{}" y="{}" width="{}" height="{}" rx="10"/>'
            '<a href="{}"><title>{}: every dependency of its trains</title>'
            '<text class="group-label" x="{}" y="{}">{}</text></a></g>',
            (
                (
                    g.x,
                    g.y,
                    g.w,
                    g.h,
                    links.group(g.id),
                    g.label,
                    g.x + 12,
                    g.y + 20,
                    _fit(g.label, g.w - 24, 7.9),
                )
                for g in graph.groups
            ),
        ),
    )


def _edges(graph: DependencyMap, nodes, links: MapLinks) -> SafeString:
    shapes = []
    for e in graph.edges:
        marker = f"url(#arrow-{e.colour}-{e.arrow})"
        if e.strands:
            lines = format_html_join(
                "",
                '<path class="strand strand-{}" d="{}" stroke-width="{}"/>',
                ((colour, path, width) for colour, path, width in e.strands),
            )
            lines = format_html('{}<path class="edge-carrier" d="{}" marker-end="{}"/>', lines, e.path, marker)
        else:
            lines = format_html('<path d="{}" stroke-width="{}" marker-end="{}"/>', e.path, e.width, marker)
        shapes.append(
            format_html(
                '<a href="{}" class="map-edge edge-{} {}{} at-{} at-{}"><title>{}</title>{}</a>',
                links.edge(e, graph.mode),
                e.colour,
                "edge-across" if e.cross_value_stream else "edge-within",
                " edge-loop" if e.in_cycle else "",
                e.provider,
                e.consumer,
                edge_summary(e, nodes),
                lines,
            )
        )
    return format_html('<g class="map-edges">{}</g>', mark_safe("".join(shapes)))


def _labels(graph: DependencyMap) -> SafeString:
    return format_html(
        '<g class="edge-labels" aria-hidden="true">{}</g>',
        format_html_join(
            "",
            '<g class="edge-label edge-label-{} at-{} at-{}"><rect x="{}" y="{}" width="{}" height="{}" rx="8"/>'
            '<text x="{}" y="{}">{}</text></g>',
            (
                (
                    e.colour,
                    e.provider,
                    e.consumer,
                    round(e.label_x - label_width(e.count) / 2, 1),
                    round(e.label_y - LABEL_H / 2, 1),
                    label_width(e.count),
                    LABEL_H,
                    round(e.label_x, 1),
                    round(e.label_y + 4, 1),
                    e.count,
                )
                for e in graph.edges
                if e.labelled
            ),
        ),
    )


def _nodes(graph: DependencyMap, links: MapLinks) -> SafeString:
    shapes = []
    for n in graph.nodes:
        classes = f"map-node node-{n.kind}" + (" node-loop" if n.in_cycle else "") + (" node-hub" if n.hub else "")
        text_w = n.w - (34 if n.hub else 18)
        if n.kind == "value_stream":
            lines = [
                _text("node-label", n.x + 10, n.y + 20, n.label, text_w, 7.9),
                _text("node-sub", n.x + 10, n.y + 35, n.sublabel, n.w - 20, 6.1),
                _text(
                    "node-sub",
                    n.x + 10,
                    n.y + 49,
                    f"gives to {n.gives} · needs from {n.needs}",
                    n.w - 20,
                    6.1,
                ),
            ]
        else:
            sub = n.sublabel if n.kind == "solution" else f"{n.sublabel} · gives to {n.gives} · needs from {n.needs}"
            lines = [
                _text("node-label", n.x + 9, n.y + 16, n.label, text_w, 7.4),
                _text("node-sub", n.x + 9, n.y + 31, sub, n.w - 18, 6.1),
            ]
        hub = (
            format_html(
                '<g class="hub-badge"><circle cx="{}" cy="{}" r="10"/><text x="{}" y="{}">★</text></g>',
                round(n.x + n.w - 2, 1),
                round(n.y + 2, 1),
                round(n.x + n.w - 2, 1),
                round(n.y + 6.5, 1),
            )
            if n.hub
            else ""
        )
        shapes.append(
            format_html(
                '<a href="{}" id="node-{}" class="{}"><title>{}</title>'
                '<rect class="node-box" x="{}" y="{}" width="{}" height="{}" rx="{}"/>{}{}</a>',
                links.node(n, graph.mode),
                n.id,
                classes,
                node_summary(n, graph.mode),
                round(n.x, 1),
                round(n.y, 1),
                n.w,
                n.h,
                8 if n.kind == "value_stream" else 5,
                mark_safe("".join(lines)),
                hub,
            )
        )
    return format_html('<g class="map-nodes">{}</g>', mark_safe("".join(shapes)))


def _text(css_class: str, x: float, y: float, text: str, width: float, char_width: float) -> SafeString:
    """A line of text kept within ``width`` pixels whatever the font: a little too long
    and it is squeezed (textLength), longer still and it is shortened with an ellipsis
    first. ``char_width`` is an estimate of the font's average character width; the full
    text is always in the node's tooltip."""
    if len(text) * char_width <= width:
        return format_html('<text class="{}" x="{}" y="{}">{}</text>', css_class, round(x, 1), round(y, 1), text)
    most = int(width * 1.15 / char_width)
    if len(text) > most:
        text = text[: most - 1].rstrip() + "…"
    return format_html(
        '<text class="{}" x="{}" y="{}" textLength="{}" lengthAdjust="spacingAndGlyphs">{}</text>',
        css_class,
        round(x, 1),
        round(y, 1),
        round(width),
        text,
    )


def _fit(text: str, width: float, char_width: float) -> str:
    """Shorten ``text`` with an ellipsis to about ``width`` pixels (the full text is in the tooltip)."""
    most = max(4, int(width / char_width))
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"
