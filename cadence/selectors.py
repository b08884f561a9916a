"""Reads of the cadence: which cadences a set of portfolios uses, the PI calendar's
window and each cadence laid out on its time axis, how far one cadence's PI boundaries
sit from another's, and what a calendar feed holds.

The cadence is the lowest app and imports nothing above it. It knows who follows a
cadence only through the reverse relations that portfolios, value streams and trains
declare on it (``portfolios``, ``value_streams``, ``trains``), by name.
"""

import bisect
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from .models import Cadence, CadenceEvent, CalendarFeedToken, Iteration, ProgramIncrement

DAY = datetime.timedelta(days=1)

# --- Who uses which cadence --------------------------------------------------------------


def _used_by(portfolio_ids: Iterable[int]) -> Q:
    ids = list(portfolio_ids)
    return Q(portfolios__in=ids) | Q(value_streams__portfolio__in=ids) | Q(trains__value_stream__portfolio__in=ids)


def cadences_used_by(portfolio_ids: Iterable[int]) -> QuerySet[Cadence]:
    """Cadences that the portfolios, or any of their value streams or trains, follow."""
    return Cadence.objects.filter(pk__in=Cadence.objects.filter(_used_by(portfolio_ids)).values("pk"))


def cadence_usage(portfolio_ids: Iterable[int]) -> dict[int, set[int]]:
    """{cadence id: ids of those portfolios using it}, in one query."""
    ids = list(portfolio_ids)
    if not ids:
        return {}
    rows = (
        Cadence.objects.filter(portfolios__in=ids)
        .order_by()
        .values_list("pk", "portfolios")
        .union(
            Cadence.objects.filter(value_streams__portfolio__in=ids)
            .order_by()
            .values_list("pk", "value_streams__portfolio"),
            Cadence.objects.filter(trains__value_stream__portfolio__in=ids)
            .order_by()
            .values_list("pk", "trains__value_stream__portfolio"),
        )
    )
    usage: dict[int, set[int]] = {}
    for cadence_id, portfolio_id in rows:
        usage.setdefault(cadence_id, set()).add(portfolio_id)
    return usage


def program_increments_used_by(portfolio_ids: Iterable[int]) -> QuerySet[ProgramIncrement]:
    return ProgramIncrement.objects.filter(cadence__in=cadences_used_by(portfolio_ids))


def iterations_used_by(portfolio_ids: Iterable[int]) -> QuerySet[Iteration]:
    return Iteration.objects.filter(program_increment__cadence__in=cadences_used_by(portfolio_ids))


def cadence_events_used_by(portfolio_ids: Iterable[int]) -> QuerySet[CadenceEvent]:
    return CadenceEvent.objects.filter(program_increment__cadence__in=cadences_used_by(portfolio_ids))


def cadence_summaries(cadence_ids: Iterable[int]) -> list[Cadence]:
    """The cadences by name, each with ``pi_count``, ``last_number`` (of its latest PI)
    and ``last_end`` (when its last PI ends). One query."""
    return list(
        Cadence.objects.filter(pk__in=list(cadence_ids))
        .annotate(
            pi_count=Count("program_increments"),
            last_number=Max("program_increments__number"),
            last_end=Max("program_increments__end_date"),
        )
        .order_by("name")
    )


# --- The calendar's window ------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarWindow:
    """Consecutive PIs of the portfolio's cadence that the calendar shows, by default
    from the PI before the current one to three after it. ``earlier`` and ``later`` are
    the first PI numbers of the window moved by one PI (None at either end)."""

    program_increments: list[ProgramIncrement]
    current: ProgramIncrement | None
    earlier: int | None
    later: int | None
    is_default: bool

    @property
    def start(self) -> datetime.date:
        return self.program_increments[0].start_date

    @property
    def end(self) -> datetime.date:
        return self.program_increments[-1].end_date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end


def calendar_window(
    *, cadence_id: int, today: datetime.date, first_number: int | None = None, before: int = 1, after: int = 3
) -> CalendarWindow | None:
    """The window of ``cadence_id``'s PIs, starting at PI number ``first_number`` if
    given, else around today's PI (or the next one, or the last). None without PIs.
    One query."""
    pis = list(ProgramIncrement.objects.filter(cadence_id=cadence_id).order_by("start_date"))
    if not pis:
        return None
    current = next((pi for pi in pis if pi.contains(today)), None)
    anchor = current or next((pi for pi in pis if pi.start_date > today), pis[-1])
    default_first = max(0, pis.index(anchor) - before)
    size = before + after + 1
    first = next((i for i, pi in enumerate(pis) if pi.number == first_number), default_first)
    first = max(0, min(first, len(pis) - size))
    shown = pis[first : first + size]
    return CalendarWindow(
        program_increments=shown,
        current=current,
        earlier=pis[first - 1].number if first > 0 else None,
        later=pis[first + 1].number if first + size < len(pis) else None,
        is_default=first == max(0, min(default_first, len(pis) - size)),
    )


# --- The time axis --------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where a span of days sits on the window's axis, in percent of its width."""

    left: float
    width: float
    clipped_start: bool = False
    clipped_end: bool = False


def place(window: CalendarWindow, start: datetime.date, end: datetime.date) -> Placement | None:
    """The span from ``start`` to ``end`` (inclusive) on the axis; None if outside it."""
    if end < window.start or start > window.end:
        return None
    first, last = max(start, window.start), min(end, window.end)
    days = window.days
    return Placement(
        left=round((first - window.start).days / days * 100, 3),
        width=round(((last - first).days + 1) / days * 100, 3),
        clipped_start=start < window.start,
        clipped_end=end > window.end,
    )


@dataclass(frozen=True)
class MonthTick:
    day: datetime.date
    left: float
    label: str


def month_ticks(window: CalendarWindow) -> list[MonthTick]:
    """The first of each month in the window (its year shown in January and on the first)."""
    ticks = []
    day = window.start.replace(day=1)
    while day <= window.end:
        if day >= window.start:
            label = f"{day:%b %Y}" if day.month == 1 or not ticks else f"{day:%b}"
            ticks.append(MonthTick(day=day, left=place(window, day, day).left, label=label))
        day = (day + 32 * DAY).replace(day=1)
    return ticks


@dataclass(frozen=True)
class IterationBar:
    iteration: Iteration
    placement: Placement

    @property
    def label(self) -> str:
        return "IP" if self.iteration.is_innovation_planning else f"I{self.iteration.number}"


@dataclass(frozen=True)
class EventMark:
    event: CadenceEvent
    placement: Placement


@dataclass(frozen=True)
class PiBar:
    program_increment: ProgramIncrement
    placement: Placement
    is_current: bool
    iterations: list[IterationBar]
    events: list[EventMark]


@dataclass(frozen=True)
class CadenceTrack:
    """One cadence's PIs in the window, with their iterations and events placed."""

    cadence: Cadence
    pis: list[PiBar] = field(default_factory=list)

    @property
    def events(self) -> list[CadenceEvent]:
        return [mark.event for bar in self.pis for mark in bar.events]


def cadence_tracks(
    *, cadence_ids: Iterable[int], window: CalendarWindow, today: datetime.date
) -> dict[int, CadenceTrack]:
    """{cadence id: its track} for the PIs of those cadences that overlap the window.
    Three queries, whatever the number of cadences, PIs, iterations and events."""
    ids = set(cadence_ids)
    pis = (
        ProgramIncrement.objects.filter(cadence_id__in=ids, start_date__lte=window.end, end_date__gte=window.start)
        .select_related("cadence")
        .prefetch_related(
            Prefetch("iterations", queryset=Iteration.objects.order_by("number")),
            Prefetch("events", queryset=CadenceEvent.objects.order_by("start_date", "kind")),
        )
        .order_by("cadence_id", "start_date")
    )
    tracks: dict[int, CadenceTrack] = {}
    for pi in pis:
        track = tracks.setdefault(pi.cadence_id, CadenceTrack(cadence=pi.cadence))
        iterations = [
            IterationBar(iteration=it, placement=placement)
            for it in pi.iterations.all()
            if (placement := place(window, it.start_date, it.end_date)) is not None
        ]
        events = [
            EventMark(event=event, placement=placement)
            for event in pi.events.all()
            if (placement := place(window, event.start_date, event.end_date)) is not None
        ]
        track.pis.append(
            PiBar(
                program_increment=pi,
                placement=place(window, pi.start_date, pi.end_date),
                is_current=pi.contains(today),
                iterations=iterations,
                events=events,
            )
        )
    return tracks


def upcoming_events(*, cadence_id: int | None, today: datetime.date, limit: int) -> list[CadenceEvent]:
    """The cadence's events not over by ``today``, soonest first (one query)."""
    if cadence_id is None:
        return []
    return list(
        CadenceEvent.objects.filter(program_increment__cadence_id=cadence_id, end_date__gte=today)
        .select_related("program_increment", "iteration")
        .order_by("start_date", "kind", "pk")[:limit]
    )


# --- How far one cadence's PI boundaries sit from another's -----------------------------------


@dataclass(frozen=True)
class BoundaryOffset:
    """One PI boundary of a cadence against the nearest PI boundary of the reference
    cadence: ``days`` > 0 means it comes later."""

    program_increment: ProgramIncrement
    boundary: str  # "start" or "end"
    date: datetime.date
    reference_date: datetime.date
    days: int


def boundary_offsets(
    reference: Sequence[ProgramIncrement],
    pis: Sequence[ProgramIncrement],
    *,
    between: tuple[datetime.date, datetime.date] | None = None,
) -> list[BoundaryOffset]:
    """Each start and end of ``pis`` against the nearest boundary of the ``reference``
    PIs. A boundary is the day a PI starts or the day after one ends (where the next
    one would start), so an end is compared with the reference PIs' ends as well as
    with the day before their starts. Only boundaries from ``between[0]`` to
    ``between[1]`` (inclusive) are compared, if given: outside the reference PIs shown
    there is nothing to compare with."""
    marks = sorted({pi.start_date for pi in reference} | {pi.end_date + DAY for pi in reference})
    if not marks:
        return []
    low, high = between or (marks[0], marks[-1])

    def nearest(day: datetime.date) -> datetime.date:
        i = bisect.bisect_left(marks, day)
        candidates = marks[max(0, i - 1) : i + 1]
        return min(candidates, key=lambda mark: (abs((day - mark).days), mark))

    offsets = []
    for pi in pis:
        for boundary, day, shown in (("start", pi.start_date, pi.start_date), ("end", pi.end_date + DAY, pi.end_date)):
            if not low <= day <= high:
                continue
            mark = nearest(day)
            offsets.append(
                BoundaryOffset(
                    program_increment=pi,
                    boundary=boundary,
                    date=shown,
                    reference_date=mark if boundary == "start" else mark - DAY,
                    days=(day - mark).days,
                )
            )
    return offsets


# --- Calendar feeds ---------------------------------------------------------------------


FEED_HISTORY_DAYS = 365


def feed_token_owner(token: str):
    """The active user whose current feed token this is, or None."""
    if not token or len(token) > 64:
        return None
    row = CalendarFeedToken.objects.select_related("user").filter(token=token, user__is_active=True).first()
    return row.user if row else None


def feed_program_increments(*, cadence_id: int | None, today: datetime.date) -> list[ProgramIncrement]:
    """The cadence's PIs from a year ago on, with their iterations and events (three queries)."""
    if cadence_id is None:
        return []
    return list(
        ProgramIncrement.objects.filter(cadence_id=cadence_id, end_date__gte=today - DAY * FEED_HISTORY_DAYS)
        .prefetch_related(
            Prefetch("iterations", queryset=Iteration.objects.order_by("number")),
            Prefetch("events", queryset=CadenceEvent.objects.order_by("start_date", "kind")),
        )
        .order_by("start_date")
    )
