"""Reads of the roadmaps: the portfolio roadmap, derived live from the solution
roadmaps, and each solution roadmap with the portfolio's epics fed back into it.

Both are heavy pages, so each is built by one function from a few queries (PIs, value
streams, epics with their links, the capabilities and features counted per epic, train
and PI by the database, milestones) and laid out in Python. The results are plain
dataclasses that the templates, the CSV export and the API only render.

How the portfolio roadmap is derived:

- Columns are the PIs of the portfolio's cadence. Work placed on a PI of another
  cadence (a train off the cadence) counts in the portfolio PI its PI starts in.
- Each value stream is a lane. An epic has a bar in the lane of every value stream it
  touches or that carries some of its work: from the first to the last PI that its
  capabilities and features in that value stream occupy, or, where it is not split
  there yet, its target PI alone (a forecast).
- A PI of a bar is committed when some of the work in it is committed, forecast
  otherwise (a PI between two with work and without any is a gap).
- The target PI is the PI an epic is to enter. Where a value stream places the
  epic's work later (its first PI with work there starts after the target PI ends),
  its bar is flagged; the epic's row on that solution roadmap is too.
- Bars are packed into rows so that none overlap (interval partitioning: as few rows
  as the most bars overlapping in one PI).
"""

import bisect
import datetime
import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from cadence.selectors import program_increments_used_by
from portfolio.models import Epic, EpicState, StrategicTheme
from valuestreams.models import Capability, Commitment, Feature, Train, TrainKind, ValueStream
from valuestreams.selectors import cadence_id_of, trains_visible_to

from .models import Milestone, MilestoneKind

DEFAULT_PIS_AHEAD = 3  # the default view: the current PI and the next three

# Milestone labels are kept apart by estimating their width on a timeline this wide
# (the roadmap's timeline on a 1440-pixel screen).
TIMELINE_PX = 1080
LABEL_PX_PER_CHAR = 6.4
LABEL_PX_EXTRA = 26  # the diamond and padding
LABEL_MAX_CHARS = 30  # longer labels are cut with an ellipsis

COMMITTED = "committed"
FORECAST = "forecast"
MIXED = "mixed"
TARGET = "target"
GAP = "gap"
SOURCE_WORK = "work"
SOURCE_TARGET = "target"

# --- PIs as columns ---------------------------------------------------------------------


@dataclass(frozen=True)
class PIColumn:
    """A PI as a column of a roadmap."""

    id: int
    name: str
    number: int
    start_date: datetime.date
    end_date: datetime.date
    is_current: bool
    is_past: bool

    def contains(self, day: datetime.date) -> bool:
        return self.start_date <= day <= self.end_date


@dataclass(frozen=True)
class PIInfo:
    """Any PI of a cadence the portfolio uses, and the column it counts in (if any)."""

    id: int
    cadence_id: int
    name: str
    start_date: datetime.date
    end_date: datetime.date
    number: int
    column: int | None = None


def program_increment_infos(portfolio) -> list[PIInfo]:
    """Every PI of every cadence the portfolio, its value streams or trains follow (one query)."""
    rows = program_increments_used_by([portfolio.pk]).values_list(
        "pk", "cadence_id", "name", "start_date", "end_date", "number"
    )
    return [PIInfo(*row) for row in rows]


def columns_of(pis: Iterable, today: datetime.date) -> list[PIColumn]:
    return [
        PIColumn(
            id=pi.id,
            name=pi.name,
            number=pi.number,
            start_date=pi.start_date,
            end_date=pi.end_date,
            is_current=pi.start_date <= today <= pi.end_date,
            is_past=pi.end_date < today,
        )
        for pi in sorted(pis, key=lambda pi: pi.start_date)
    ]


def column_index(columns: list[PIColumn], day: datetime.date) -> int | None:
    """The column containing ``day``; a day in a gap between two PIs counts in the next
    one; None before the first PI or after the last."""
    if not columns or day < columns[0].start_date:
        return None
    i = bisect.bisect_right([c.start_date for c in columns], day) - 1
    if columns[i].contains(day):
        return i
    return i + 1 if i + 1 < len(columns) else None


def with_columns(pis: list[PIInfo], columns: list[PIColumn]) -> dict[int, PIInfo]:
    """{PI id: the PI with the column its start falls in} for PIs of any cadence."""
    return {pi.id: PIInfo(**{**pi.__dict__, "column": column_index(columns, pi.start_date)}) for pi in pis}


def default_window(columns: list[PIColumn], today: datetime.date) -> tuple[int, int]:
    """The current PI (or the next one, or the last) and the three after it."""
    if not columns:
        return 0, -1
    first = next((i for i, c in enumerate(columns) if c.end_date >= today), len(columns) - 1)
    return first, min(len(columns) - 1, first + DEFAULT_PIS_AHEAD)


def window_of(
    columns: list[PIColumn], today: datetime.date, pi_from_id: int | None, pi_to_id: int | None
) -> tuple[int, int, bool]:
    """(first, last) indices of the columns shown, and whether that is the default view.
    Only ``from``: from it, as many PIs as the default; only ``to``: up to it likewise."""
    lo, hi = default_window(columns, today)
    if pi_from_id is None and pi_to_id is None:
        return lo, hi, True
    index = {c.id: i for i, c in enumerate(columns)}
    if pi_from_id is not None and pi_to_id is not None:
        lo, hi = index.get(pi_from_id, lo), index.get(pi_to_id, hi)
    elif pi_from_id is not None:
        lo = index.get(pi_from_id, lo)
        hi = min(len(columns) - 1, lo + DEFAULT_PIS_AHEAD)
    else:
        hi = index.get(pi_to_id, hi)
        lo = max(0, hi - DEFAULT_PIS_AHEAD)
    if hi < lo:
        lo, hi = hi, lo
    return lo, hi, False


def position(columns: list[PIColumn], day: datetime.date) -> float | None:
    """Where ``day`` falls on a timeline of equal-width columns, in percent; None outside."""
    i = column_index(columns, day)
    if i is None:
        return None
    column = columns[i]
    if not column.contains(day):  # between two PIs: at the start of the next
        return 100.0 * i / len(columns)
    fraction = (day - column.start_date).days / ((column.end_date - column.start_date).days + 1)
    return 100.0 * (i + fraction) / len(columns)


# --- Packing ------------------------------------------------------------------------


def pack(items: list, *, start: Callable, end: Callable) -> int:
    """Set each item's ``row`` so that items in one row never overlap, and return the
    number of rows. Items are taken by start (the longer first) and each goes into the
    row that became free the earliest, or a new one: interval partitioning, which uses
    as few rows as the most items overlapping at any point."""
    free: list[tuple[float, int]] = []  # (end of the row's last item, row)
    rows = 0
    for item in sorted(items, key=lambda it: (start(it), -end(it))):
        if free and free[0][0] < start(item):
            _, row = heapq.heappop(free)
        else:
            row, rows = rows, rows + 1
        item.row = row
        heapq.heappush(free, (end(item), row))
    return rows


# --- Milestones -----------------------------------------------------------------------


MILESTONE_KIND_LABELS = dict(MilestoneKind.choices)


@dataclass
class MilestoneMarker:
    """A milestone on a timeline: where it sits and on which side its label goes."""

    id: int
    name: str
    kind: str
    date: datetime.date
    train_id: int | None
    train_name: str | None
    program_increment_name: str | None
    description: str
    left: float  # percent of the timeline
    flip: bool  # its label goes to the left of the marker (near the right edge)
    extent: tuple[float, float] = (0.0, 0.0)  # what the marker and its label cover, in percent
    row: int = 0

    @property
    def kind_label(self) -> str:
        return MILESTONE_KIND_LABELS.get(self.kind, self.kind)


def _label_width(name: str) -> float:
    """An estimate of a milestone label's width, in percent of the timeline."""
    chars = min(len(name), LABEL_MAX_CHARS) + 7  # and its date, "12 Jan "
    return 100.0 * (chars * LABEL_PX_PER_CHAR + LABEL_PX_EXTRA) / TIMELINE_PX


def milestone_markers(rows: list[dict], columns: list[PIColumn], train_names: dict, pi_names: dict):
    """Markers for the milestone rows on the columns, packed so that labels never
    overlap; returns (markers by date, number of rows)."""
    markers = []
    for m in rows:
        left = position(columns, m["date"])
        if left is None:
            continue
        width = _label_width(m["name"])
        flip = left + width > 100
        markers.append(
            MilestoneMarker(
                id=m["id"],
                name=m["name"],
                kind=m["kind"],
                date=m["date"],
                train_id=m["train_id"],
                train_name=train_names.get(m["train_id"]),
                program_increment_name=pi_names.get(m["program_increment_id"]),
                description=m["description"],
                left=round(left, 3),
                flip=flip,
                extent=(left - width, left) if flip else (left, left + width),
            )
        )
    rows_needed = pack(markers, start=lambda m: m.extent[0], end=lambda m: m.extent[1])
    markers.sort(key=lambda m: (m.date, m.name))
    return markers, rows_needed


MILESTONE_VALUES = ("id", "name", "kind", "date", "train_id", "program_increment_id", "description")


# --- Epics and their work ---------------------------------------------------------------


@dataclass(frozen=True)
class EpicRef:
    """What the roadmaps show of an epic."""

    id: int
    key: str
    title: str
    state: str
    kind: str
    wsjf: float
    target_pi_id: int | None
    target_pi_name: str | None
    themes: tuple[str, ...] = ()

    @property
    def state_label(self) -> str:
        return EpicState(self.state).label


def work_by_epic(*, portfolio=None, train_ids=None) -> list[tuple[int, int, int, str, str, int]]:
    """The capabilities and features placed on PIs, counted by the database per (epic,
    train, PI, commitment): two aggregate queries whatever the number of rows. A feature
    counts for its own epic, else for its capability's. Each row is (epic id, train id,
    PI id, commitment, "capability" or "feature", how many)."""
    scope = Q(train__value_stream__portfolio=portfolio) if portfolio is not None else Q(train_id__in=train_ids)
    capabilities = (
        Capability.objects.filter(scope, epic__isnull=False, program_increment__isnull=False)
        .order_by()
        .values_list("epic_id", "train_id", "program_increment_id", "commitment")
        .annotate(n=Count("pk"))
    )
    features = (
        Feature.objects.filter(scope, program_increment__isnull=False)
        .annotate(epic_of=Coalesce("epic_id", "capability__epic_id"))
        .filter(epic_of__isnull=False)
        .order_by()
        .values_list("epic_of", "train_id", "program_increment_id", "commitment")
        .annotate(n=Count("pk"))
    )
    return [(*row[:4], "capability", row[4]) for row in capabilities] + [
        (*row[:4], "feature", row[4]) for row in features
    ]


class WorkSpan:
    """An epic's work in one value stream, PI by PI (columns of the portfolio's cadence).
    A plain class with slots: a large portfolio makes thousands of them per request."""

    __slots__ = ("committed", "forecast", "earliest_start", "capabilities", "features", "carriers")

    def __init__(self):
        self.committed: dict[int, int] = {}  # column -> items committed in it
        self.forecast: dict[int, int] = {}
        self.earliest_start: datetime.date | None = None  # start of the first PI with work
        self.capabilities = 0
        self.features = 0
        self.carriers: dict[int, int] = {}  # roadmap train id -> items

    def add(self, *, column: int, commitment: str, kind: str, n: int, pi: PIInfo, carrier_id: int) -> None:
        counts = self.committed if commitment == Commitment.COMMITTED else self.forecast
        counts[column] = counts.get(column, 0) + n
        if kind == "capability":
            self.capabilities += n
        else:
            self.features += n
        self.carriers[carrier_id] = self.carriers.get(carrier_id, 0) + n
        if self.earliest_start is None or pi.start_date < self.earliest_start:
            self.earliest_start = pi.start_date

    @property
    def columns(self) -> set[int]:
        return self.committed.keys() | self.forecast.keys()

    @property
    def main_carrier(self) -> int | None:
        return max(self.carriers, key=self.carriers.get) if self.carriers else None


def later_than_target(first_start: datetime.date | None, target_end: datetime.date | None) -> bool:
    """The epic's work starts in a PI that starts after its target PI ends: it enters
    later than the portfolio planned (dates, so that PIs of different cadences compare)."""
    return first_start is not None and target_end is not None and first_start > target_end


# --- The portfolio roadmap --------------------------------------------------------------


@dataclass(frozen=True)
class RoadmapFilters:
    """What the portfolio roadmap shows, as RoadmapFilterForm cleaned it (None: all)."""

    value_stream_id: int | None = None
    theme_id: int | None = None
    state: str | None = None
    pi_from_id: int | None = None
    pi_to_id: int | None = None
    expand: frozenset[int] = frozenset()

    @property
    def narrows_epics(self) -> bool:
        return self.theme_id is not None or self.state is not None


@dataclass(frozen=True)
class RoadmapChoices:
    """What the filters offer, loaded once and reused by the roadmap."""

    columns: list[PIColumn]  # the PIs of the portfolio's cadence
    value_streams: list[ValueStream]
    themes: list[StrategicTheme]


def roadmap_choices(portfolio, *, today: datetime.date, pis: list[PIInfo] | None = None) -> RoadmapChoices:
    """The PIs of the portfolio's cadence (from ``pis`` if loaded), its value streams and
    its strategic themes: three queries at most."""
    pis = program_increment_infos(portfolio) if pis is None else pis
    return RoadmapChoices(
        columns=columns_of([pi for pi in pis if pi.cadence_id == portfolio.cadence_id], today),
        value_streams=list(ValueStream.objects.filter(portfolio=portfolio).order_by("name")),
        themes=list(StrategicTheme.objects.filter(portfolio=portfolio).order_by("name")),
    )


@dataclass(frozen=True)
class Segment:
    """One PI of a bar: committed or forecast work in it, a gap between PIs with work,
    or the epic's target PI where the epic is not split."""

    column: int  # among the columns shown
    status: str
    committed: int = 0
    forecast: int = 0


@dataclass
class Bar:
    """An epic in a value stream's lane, or a capability in an expanded lane."""

    epic: EpicRef | None
    label: str
    title: str
    start: int  # first column shown (index among the columns shown)
    end: int  # last column shown, inclusive
    first_pi: PIColumn  # where the whole span starts and ends, shown or not
    last_pi: PIColumn
    status: str  # committed, forecast, mixed or target
    source: str  # SOURCE_WORK (capabilities and features), SOURCE_TARGET, or "capability"
    segments: list[Segment]
    clipped_start: bool = False
    clipped_end: bool = False
    later_than_target: bool = False
    capabilities: int = 0
    features: int = 0
    roadmap_train_id: int | None = None  # the solution roadmap that carries most of it
    capability_id: int | None = None
    row: int = 0

    @property
    def span(self) -> int:
        return self.end - self.start + 1

    @property
    def grid_column(self) -> str:
        return f"{self.start + 1} / {self.end + 2}"

    @property
    def pi_span(self) -> str:
        if self.first_pi.id == self.last_pi.id:
            return self.first_pi.name
        return f"{self.first_pi.name} – {self.last_pi.name}"


@dataclass
class Lane:
    """A value stream's swimlane."""

    value_stream: ValueStream
    bars: list[Bar]
    rows: int
    milestones: list[MilestoneMarker]  # of its trains
    milestone_rows: int
    expanded: bool
    capabilities: list[Bar]  # when expanded
    capability_rows: int
    roadmaps: list["TrainInfo"]  # the solution roadmaps of the value stream
    unplaced: int  # its epics with neither work nor a target PI

    @property
    def later_than_target(self) -> int:
        return sum(bar.later_than_target for bar in self.bars)


@dataclass
class PortfolioRoadmap:
    portfolio: object
    today: datetime.date
    columns: list[PIColumn]  # shown
    all_columns: list[PIColumn]
    current: PIColumn | None
    today_left: float | None
    lanes: list[Lane]
    milestones: list[MilestoneMarker]  # the portfolio's own (without a train)
    milestone_rows: int
    filters: RoadmapFilters
    is_default_window: bool

    @property
    def bar_count(self) -> int:
        return sum(len(lane.bars) for lane in self.lanes)

    @property
    def epic_count(self) -> int:
        return len({bar.epic.id for lane in self.lanes for bar in lane.bars})

    @property
    def later_than_target(self) -> int:
        return sum(lane.later_than_target for lane in self.lanes)

    @property
    def shows_all_pis(self) -> bool:
        return len(self.columns) == len(self.all_columns)

    @property
    def last_column(self) -> PIColumn | None:
        return self.all_columns[-1] if self.all_columns else None

    @property
    def last_shown(self) -> PIColumn | None:
        return self.columns[-1] if self.columns else None

    @property
    def current_band(self) -> tuple[float, float] | None:
        """(left, width) in percent of the current PI's column, if it is shown."""
        return current_band(self.columns)


def current_band(columns: list[PIColumn]) -> tuple[float, float] | None:
    index = next((i for i, c in enumerate(columns) if c.is_current), None)
    if index is None:
        return None
    return 100.0 * index / len(columns), 100.0 / len(columns)


@dataclass(frozen=True)
class TrainInfo:
    id: int
    name: str
    key: str
    kind: str
    value_stream_id: int
    solution_train_id: int | None

    @property
    def carrier_id(self) -> int:
        """The train whose solution roadmap shows this train's work."""
        return self.solution_train_id or self.id

    @property
    def has_roadmap(self) -> bool:
        return self.kind == TrainKind.SOLUTION or not self.solution_train_id


def _trains(portfolio) -> dict[int, TrainInfo]:
    rows = Train.objects.filter(value_stream__portfolio=portfolio).values_list(
        "pk", "name", "key", "kind", "value_stream_id", "solution_train_id"
    )
    return {row[0]: TrainInfo(*row) for row in rows}


def _epics(portfolio, filters: RoadmapFilters, pis: dict[int, PIInfo]) -> dict[int, EpicRef]:
    """The portfolio's epics that pass the filters, with their themes' names (two queries)."""
    epics = Epic.objects.filter(portfolio=portfolio)
    if filters.state:
        epics = epics.filter(state=filters.state)
    if filters.theme_id:
        epics = epics.filter(themes=filters.theme_id)
    themes = defaultdict(list)
    for epic_id, name in Epic.themes.through.objects.filter(epic__portfolio=portfolio).values_list(
        "epic_id", "strategictheme__name"
    ):
        themes[epic_id].append(name)
    rows = epics.order_by().values_list("pk", "key", "title", "state", "kind", "wsjf", "target_pi_id")
    return {
        pk: EpicRef(
            id=pk,
            key=key,
            title=title,
            state=state,
            kind=kind,
            wsjf=wsjf or 0.0,
            target_pi_id=target,
            target_pi_name=pis[target].name if target in pis else None,
            themes=tuple(sorted(themes.get(pk, ()))),
        )
        for pk, key, title, state, kind, wsjf, target in rows
    }


def _bar_status(segments: list[Segment]) -> str:
    statuses = {s.status for s in segments} - {GAP}
    if statuses == {COMMITTED}:
        return COMMITTED
    return MIXED if COMMITTED in statuses else FORECAST


def epic_bar(
    epic: EpicRef,
    span: WorkSpan | None,
    *,
    all_columns: list[PIColumn],
    pis: dict[int, PIInfo],
    lo: int,
    hi: int,
    default_roadmap: int | None = None,
) -> Bar | None:
    """The epic's bar in a lane: the span of its work there, else its target PI. None
    when it has neither, or when that lies outside the columns shown (lo to hi)."""
    target = pis.get(epic.target_pi_id) if epic.target_pi_id else None
    columns = span.columns if span is not None else ()
    if columns:
        first, last, source = min(columns), max(columns), SOURCE_WORK
    elif target is not None and target.column is not None:
        first = last = target.column
        source = SOURCE_TARGET
    else:
        return None
    if last < lo or first > hi:
        return None
    start, end = max(first, lo), min(last, hi)
    if source == SOURCE_TARGET:
        segments = [Segment(start - lo, TARGET)]
        status = TARGET
    else:
        segments = []
        for col in range(start, end + 1):
            committed, forecast = span.committed.get(col, 0), span.forecast.get(col, 0)
            status = COMMITTED if committed else FORECAST if forecast else GAP
            segments.append(Segment(col - lo, status, committed, forecast))
        status = _bar_status(segments)
    late = source == SOURCE_WORK and later_than_target(span.earliest_start, target.end_date if target else None)
    first_pi, last_pi = all_columns[first], all_columns[last]
    bar = Bar(
        epic=epic,
        label=f"{epic.key} {epic.title}",
        title="",
        start=start - lo,
        end=end - lo,
        first_pi=first_pi,
        last_pi=last_pi,
        status=status,
        source=source,
        segments=segments,
        clipped_start=first < lo,
        clipped_end=last > hi,
        later_than_target=late,
        capabilities=span.capabilities if span else 0,
        features=span.features if span else 0,
        roadmap_train_id=(span.main_carrier if span else None) or default_roadmap,
    )
    if source == SOURCE_TARGET:
        bar.title = f"{bar.label}: target {first_pi.name}; not split into capabilities or features here yet"
    else:
        bar.title = f"{bar.label}: {bar.pi_span}; {bar.capabilities} capabilities, {bar.features} features"
        if late:
            bar.title += f"; starts later than its target PI, {epic.target_pi_name}"
    return bar


def _bar_order(bar: Bar):
    return (bar.start, -bar.span, -(bar.epic.wsjf if bar.epic else 0), bar.label)


def build_portfolio_roadmap(
    *,
    portfolio,
    today: datetime.date,
    filters: RoadmapFilters | None = None,
    choices: RoadmapChoices | None = None,
    pis: list[PIInfo] | None = None,
) -> PortfolioRoadmap:
    """The portfolio roadmap for the filters. Nine queries (ten with expanded lanes)
    whatever the size of the portfolio: PIs, value streams, themes, trains, epics and
    their themes, epic–value stream links, capabilities and features aggregated,
    milestones. A page that has loaded the PIs or the filters' choices passes them in."""
    filters = filters or RoadmapFilters()
    pis = program_increment_infos(portfolio) if pis is None else pis
    choices = choices or roadmap_choices(portfolio, today=today, pis=pis)
    all_columns = choices.columns
    lo, hi, is_default = window_of(all_columns, today, filters.pi_from_id, filters.pi_to_id)
    columns = all_columns[lo : hi + 1]
    current = next((c for c in all_columns if c.is_current), None)
    lane_value_streams = [vs for vs in choices.value_streams if filters.value_stream_id in (None, vs.pk)]
    if not columns:
        return PortfolioRoadmap(portfolio, today, [], all_columns, current, None, [], [], 0, filters, is_default)

    pi_by_id = with_columns(pis, all_columns)
    trains = _trains(portfolio)
    epics = _epics(portfolio, filters, pi_by_id)
    spans: dict[tuple[int, int], WorkSpan] = defaultdict(WorkSpan)  # (epic, value stream) -> its work there
    for epic_id, train_id, pi_id, commitment, kind, n in work_by_epic(portfolio=portfolio):
        pi, train = pi_by_id.get(pi_id), trains.get(train_id)
        if epic_id not in epics or pi is None or pi.column is None or train is None:
            continue
        spans[(epic_id, train.value_stream_id)].add(
            column=pi.column, commitment=commitment, kind=kind, n=n, pi=pi, carrier_id=train.carrier_id
        )
    in_lane = defaultdict(set)  # value stream -> epics touching it or with work in it
    for epic_id, vs_id in ValueStream.epics.through.objects.filter(valuestream__portfolio=portfolio).values_list(
        "epic_id", "valuestream_id"
    ):
        if epic_id in epics:
            in_lane[vs_id].add(epic_id)
    for epic_id, vs_id in spans:
        in_lane[vs_id].add(epic_id)
    roadmaps_of = defaultdict(list)
    for train in sorted(trains.values(), key=lambda t: (t.kind != TrainKind.SOLUTION, t.name)):
        if train.has_roadmap:
            roadmaps_of[train.value_stream_id].append(train)

    milestones = list(
        Milestone.objects.filter(portfolio=portfolio, date__gte=columns[0].start_date, date__lte=columns[-1].end_date)
        .order_by("date", "name")
        .values(*MILESTONE_VALUES)
    )
    train_names = {pk: t.name for pk, t in trains.items()}
    pi_names = {pk: pi.name for pk, pi in pi_by_id.items()}
    capabilities = _expanded_capabilities(
        filters, [vs.pk for vs in lane_value_streams], pi_by_id, lo, hi, epics, all_columns, trains
    )

    lanes = []
    for vs in lane_value_streams:
        roadmaps = roadmaps_of.get(vs.pk, [])
        bars, unplaced = [], 0
        for epic_id in in_lane.get(vs.pk, ()):
            epic = epics[epic_id]
            bar = epic_bar(
                epic,
                spans.get((epic_id, vs.pk)),
                all_columns=all_columns,
                pis=pi_by_id,
                lo=lo,
                hi=hi,
                default_roadmap=roadmaps[0].id if roadmaps else None,
            )
            if bar is not None:
                bars.append(bar)
            elif (epic_id, vs.pk) not in spans and epic.target_pi_id is None:
                unplaced += 1
        bars.sort(key=_bar_order)
        rows = pack(bars, start=lambda b: b.start, end=lambda b: b.end)
        own = [m for m in milestones if m["train_id"] in trains and trains[m["train_id"]].value_stream_id == vs.pk]
        markers, marker_rows = milestone_markers(own, columns, train_names, pi_names)
        caps = capabilities.get(vs.pk, [])
        lanes.append(
            Lane(
                value_stream=vs,
                bars=bars,
                rows=rows,
                milestones=markers,
                milestone_rows=marker_rows,
                expanded=vs.pk in filters.expand,
                capabilities=caps,
                capability_rows=pack(caps, start=lambda b: b.start, end=lambda b: b.end),
                roadmaps=roadmaps,
                unplaced=unplaced,
            )
        )
    markers, marker_rows = milestone_markers(
        [m for m in milestones if not m["train_id"]], columns, train_names, pi_names
    )
    return PortfolioRoadmap(
        portfolio=portfolio,
        today=today,
        columns=columns,
        all_columns=all_columns,
        current=current,
        today_left=position(columns, today) if columns[0].start_date <= today <= columns[-1].end_date else None,
        lanes=lanes,
        milestones=markers,
        milestone_rows=marker_rows,
        filters=filters,
        is_default_window=is_default,
    )


def _expanded_capabilities(filters, lane_ids, pis, lo, hi, epics, all_columns, trains) -> dict[int, list[Bar]]:
    """{value stream id: bars of its capabilities in the columns shown} for the expanded
    lanes: one query, none without an expanded lane. With an epic filter, only the
    capabilities of epics that pass it."""
    expand = [vs for vs in lane_ids if vs in filters.expand]
    if not expand:
        return {}
    in_view = [pk for pk, pi in pis.items() if pi.column is not None and lo <= pi.column <= hi]
    rows = (
        Capability.objects.filter(train__value_stream_id__in=expand, program_increment_id__in=in_view)
        .order_by("key")
        .values_list("pk", "key", "name", "epic_id", "train_id", "program_increment_id", "commitment")
    )
    by_lane = defaultdict(list)
    for pk, key, name, epic_id, train_id, pi_id, commitment in rows:
        epic = epics.get(epic_id) if epic_id else None
        if filters.narrows_epics and epic is None:
            continue
        train, column = trains[train_id], pis[pi_id].column
        status = COMMITTED if commitment == Commitment.COMMITTED else FORECAST
        pi = all_columns[column]
        title = f"{key} {name} · {train.name} · {pi.name}, {status}"
        if epic is not None:
            title += f" · part of {epic.key} {epic.title}"
        by_lane[train.value_stream_id].append(
            Bar(
                epic=epic,
                label=f"{key} {name}",
                title=title,
                start=column - lo,
                end=column - lo,
                first_pi=pi,
                last_pi=pi,
                status=status,
                source="capability",
                segments=[Segment(column - lo, status)],
                roadmap_train_id=train.carrier_id,
                capability_id=pk,
            )
        )
    for bars in by_lane.values():
        bars.sort(key=lambda b: (b.start, b.epic.key if b.epic else "~", b.label))
    return by_lane


# --- The solution roadmaps --------------------------------------------------------------


def roadmap_trains(*, user, portfolio) -> list[Train]:
    """The trains that have a solution roadmap: solution trains and the ARTs outside any
    solution train, by value stream (one query)."""
    return list(
        trains_visible_to(user)
        .filter(value_stream__portfolio=portfolio)
        .filter(Q(kind=TrainKind.SOLUTION) | Q(solution_train__isnull=True))
        .order_by("value_stream__name", "-kind", "name")
    )


def solution_roadmap_train(*, user, train_id: int) -> Train:
    """A visible train with what its roadmap page and the rules read (Train.DoesNotExist otherwise)."""
    return (
        trains_visible_to(user)
        .select_related("value_stream__portfolio", "solution_train__value_stream")
        .get(pk=train_id)
    )


@dataclass
class Card:
    """A capability or a feature on a solution roadmap."""

    kind: str  # "capability" or "feature"
    id: int
    key: str
    name: str
    commitment: str
    state: str
    train_id: int
    train_key: str
    epic_id: int | None
    capability_id: int | None = None
    features: int = 0  # a capability's features
    committed_features: int = 0

    @property
    def is_committed(self) -> bool:
        return self.commitment == Commitment.COMMITTED


@dataclass
class EpicRow:
    """An epic's row on a solution roadmap (``epic`` None: the work outside any epic)."""

    epic: EpicRef | None
    cells: list[list[Card]]  # per column shown
    target_column: int | None  # the epic's target PI among the columns shown
    touches: bool  # the epic touches the train's value stream
    split: bool  # it has capabilities or features on this roadmap
    later_than_target: bool
    first_column: int | None  # of its work (or its target), among all columns
    outside: int  # its cards in PIs not shown


@dataclass
class SolutionRoadmap:
    train: Train
    trains: list[Train]  # the train and its ARTs
    today: datetime.date
    columns: list[PIColumn]
    all_columns: list[PIColumn]
    is_default_window: bool
    rows: list[EpicRow]
    milestones: list[list[Milestone]]  # per column shown
    unplaced: list[Card]  # the first of those on no PI (of the train's cadence)
    unplaced_total: int
    hidden_rows: int  # epics with nothing in the PIs shown

    @property
    def today_left(self) -> float | None:
        return position(self.columns, self.today)

    @property
    def later_than_target(self) -> int:
        return sum(row.later_than_target for row in self.rows)

    @property
    def last_column(self) -> PIColumn | None:
        return self.all_columns[-1] if self.all_columns else None

    @property
    def last_shown(self) -> PIColumn | None:
        return self.columns[-1] if self.columns else None

    @property
    def card_count(self) -> int:
        return sum(len(cell) for row in self.rows for cell in row.cells)

    @property
    def shows_all_pis(self) -> bool:
        return len(self.columns) == len(self.all_columns)


UNPLACED_SHOWN = 60
CARD_VALUES = ("pk", "key", "name", "commitment", "state", "train_id", "program_increment_id")


def build_solution_roadmap(
    *,
    train: Train,
    today: datetime.date,
    pi_from_id: int | None = None,
    pi_to_id: int | None = None,
    pis: list[PIInfo] | None = None,
) -> SolutionRoadmap:
    """A solution train's roadmap (its capabilities, its ARTs' features) or that of an
    ART outside any solution train, PI by PI, with the portfolio's epics that touch its
    value stream fed back at their target PI, and milestones. Seven queries whatever
    its size. ``train`` comes from solution_roadmap_train; a page that has loaded the
    PIs passes them in."""
    portfolio = train.value_stream.portfolio
    arts = (
        list(Train.objects.filter(solution_train=train).select_related("value_stream", "solution_train"))
        if train.kind == TrainKind.SOLUTION
        else []
    )
    trains = [train, *arts]
    train_keys = {t.pk: t.key for t in trains}
    pis = program_increment_infos(portfolio) if pis is None else pis
    cadence_id = cadence_id_of(train)
    all_columns = columns_of([pi for pi in pis if pi.cadence_id == cadence_id], today)
    lo, hi, is_default = window_of(all_columns, today, pi_from_id, pi_to_id)
    columns = all_columns[lo : hi + 1]
    pi_by_id = with_columns(pis, all_columns)

    capability_rows = list(Capability.objects.filter(train=train).order_by("key").values_list(*CARD_VALUES, "epic_id"))
    feature_rows = list(
        Feature.objects.filter(train__in=[t.pk for t in trains])
        .annotate(epic_of=Coalesce("epic_id", "capability__epic_id"))
        .order_by("key")
        .values_list(*CARD_VALUES, "epic_of", "capability_id")
    )
    # The epics touching the value stream, and those with work here (each a subquery:
    # joining capabilities and features at once would multiply their rows).
    links = ValueStream.epics.through.objects.filter(valuestream_id=train.value_stream_id)
    epics = Epic.objects.filter(
        Q(pk__in=links.values("epic_id"))
        | Q(pk__in=Capability.objects.filter(train=train).values("epic_id"))
        | Q(pk__in=Feature.objects.filter(train__in=[t.pk for t in trains]).values("epic_id"))
    ).annotate(touches=Exists(links.filter(epic_id=OuterRef("pk"))))
    refs, touches = {}, set()
    for pk, key, title, state, kind, wsjf, target, touches_stream in epics.values_list(
        "pk", "key", "title", "state", "kind", "wsjf", "target_pi_id", "touches"
    ):
        target_name = pi_by_id[target].name if target in pi_by_id else None
        refs[pk] = EpicRef(pk, key, title, state, kind, wsjf or 0.0, target, target_name)
        if touches_stream:
            touches.add(pk)

    features_of, committed_features_of = Counter(), Counter()
    for row in feature_rows:
        if row[8]:
            features_of[row[8]] += 1
            committed_features_of[row[8]] += row[3] == Commitment.COMMITTED
    capability_ids = {row[0] for row in capability_rows}
    entries = [("capability", row[:7], row[7], None) for row in capability_rows]
    # A feature of one of these capabilities is counted on its capability's card.
    entries += [("feature", row[:7], row[7], row[8]) for row in feature_rows if row[8] not in capability_ids]

    placed: dict[int | None, list[tuple[PIInfo, Card]]] = defaultdict(list)
    unplaced, unplaced_total = [], 0
    for kind, (pk, key, name, commitment, state, train_id, pi_id), epic_id, capability_id in entries:
        card = Card(
            kind=kind,
            id=pk,
            key=key,
            name=name,
            commitment=commitment,
            state=state,
            train_id=train_id,
            train_key=train_keys.get(train_id, ""),
            epic_id=epic_id if epic_id in refs else None,
            capability_id=capability_id,
            features=features_of.get(pk, 0) if kind == "capability" else 0,
            committed_features=committed_features_of.get(pk, 0) if kind == "capability" else 0,
        )
        pi = pi_by_id.get(pi_id) if pi_id else None
        if pi is None or pi.column is None:
            unplaced_total += 1
            if len(unplaced) < UNPLACED_SHOWN:
                unplaced.append(card)
            continue
        placed[card.epic_id].append((pi, card))

    rows, hidden = [], 0
    for epic_id in set(placed) | touches:
        epic = refs.get(epic_id) if epic_id is not None else None
        cards = placed.get(epic_id, [])
        cells: list[list[Card]] = [[] for _ in columns]
        for pi, card in cards:
            if lo <= pi.column <= hi:
                cells[pi.column - lo].append(card)
        target = pi_by_id.get(epic.target_pi_id) if epic and epic.target_pi_id else None
        target_column = target.column if target is not None else None
        target_shown = target_column is not None and lo <= target_column <= hi
        if not any(cells) and not target_shown:
            hidden += bool(cards) or target_column is not None
            continue
        rows.append(
            EpicRow(
                epic=epic,
                cells=cells,
                target_column=target_column - lo if target_shown else None,
                touches=epic_id in touches,
                split=bool(cards),
                later_than_target=later_than_target(
                    min((pi.start_date for pi, _ in cards), default=None), target.end_date if target else None
                ),
                first_column=min((pi.column for pi, _ in cards), default=target_column),
                outside=sum(1 for pi, _ in cards if not lo <= pi.column <= hi),
            )
        )
    rows.sort(
        key=lambda r: (
            r.epic is None,
            r.first_column if r.first_column is not None else len(all_columns),
            -(r.epic.wsjf if r.epic else 0),
            r.epic.key if r.epic else "",
        )
    )
    milestones: list[list[Milestone]] = [[] for _ in columns]
    if columns:
        for milestone in (
            Milestone.objects.filter(
                Q(train__in=[t.pk for t in trains]) | Q(train__isnull=True),
                portfolio=portfolio,
                date__gte=columns[0].start_date,
                date__lte=columns[-1].end_date,
            )
            .select_related("train__value_stream", "train__solution_train")
            .order_by("date", "name")
        ):
            milestones[column_index(columns, milestone.date)].append(milestone)
    return SolutionRoadmap(
        train=train,
        trains=trains,
        today=today,
        columns=columns,
        all_columns=all_columns,
        is_default_window=is_default,
        rows=rows,
        milestones=milestones,
        unplaced=unplaced,
        unplaced_total=unplaced_total,
        hidden_rows=hidden,
    )
