"""Reads of value streams and trains, scoped to what a user may see, with their
related rows chosen up front so that lists cost a fixed number of queries."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from portfolio.permissions import visible_portfolio_ids

from .models import (
    OPEN_DEPENDENCY_STATES,
    Dependency,
    DependencyFlag,
    DependencyState,
    Feature,
    Health,
    StatusReport,
    Team,
    Train,
    TrainKind,
    ValueStream,
)


def value_streams_visible_to(user) -> QuerySet[ValueStream]:
    return ValueStream.objects.filter(portfolio_id__in=visible_portfolio_ids(user))


def trains_visible_to(user) -> QuerySet[Train]:
    return Train.objects.filter(value_stream__portfolio_id__in=visible_portfolio_ids(user)).select_related(
        "value_stream", "solution_train", "engineer"
    )


def teams_visible_to(user) -> QuerySet[Team]:
    return Team.objects.filter(portfolio_id__in=visible_portfolio_ids(user))


def dependencies_visible_to(user) -> QuerySet[Dependency]:
    return Dependency.objects.filter(portfolio_id__in=visible_portfolio_ids(user))


def with_latest_status(trains: QuerySet[Train]) -> QuerySet[Train]:
    """Annotate each train with the id of its latest status report (one subquery)."""
    latest = StatusReport.objects.filter(train=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    return trains.annotate(latest_status_id=Subquery(latest))


@dataclass(frozen=True)
class TrainRow:
    """A train as the train list shows it."""

    train: Train
    latest: StatusReport | None
    stale: bool


def attach_latest_status(trains: list[Train], *, stale_after_days: int, now=None) -> list[TrainRow]:
    """Pair trains (annotated by with_latest_status) with their latest report, in one query."""
    now = now or timezone.now()
    ids = [t.latest_status_id for t in trains if t.latest_status_id]
    reports = StatusReport.objects.select_related("author").in_bulk(ids)
    cutoff = now - datetime.timedelta(days=stale_after_days)
    rows = []
    for train in trains:
        latest = reports.get(train.latest_status_id)
        rows.append(TrainRow(train=train, latest=latest, stale=latest is None or latest.created_at < cutoff))
    return rows


def train_list(*, user, portfolio) -> list[TrainRow]:
    """Every train of the portfolio, grouped by value stream, with its current status."""
    trains = with_latest_status(
        trains_visible_to(user)
        .filter(value_stream__portfolio=portfolio)
        .order_by("value_stream__name", "-kind", "name")
    )
    return attach_latest_status(list(trains), stale_after_days=portfolio.status_stale_days)


def train_detail(*, user, train_id: int) -> Train:
    """One visible train with its teams and its ARTs (for a solution train)."""
    return (
        trains_visible_to(user)
        .prefetch_related(
            Prefetch("teams", queryset=Team.objects.order_by("name")),
            Prefetch("arts", queryset=Train.objects.filter(kind=TrainKind.ART).select_related("engineer")),
            "served_by",
        )
        .get(pk=train_id)
    )


def status_history(train: Train, *, limit: int = 52) -> list[StatusReport]:
    return list(train.status_reports.select_related("author")[:limit])


# --- Pages: the train list, a train's page and the dashboard ----------------------

# A train's health as the pages show it: its latest report's health, unless that
# report is older than the portfolio allows (or there is none), which reads "stale".
STALE = "stale"
HEALTH_ORDER = (Health.OFF_TRACK, Health.AT_RISK, STALE, Health.ON_TRACK)


def health_of(row: TrainRow) -> str:
    return STALE if row.stale else row.latest.health


@dataclass(frozen=True)
class SolutionTrainGroup:
    """A solution train and the ARTs of the same value stream that belong to it."""

    row: TrainRow
    arts: list[TrainRow]


@dataclass(frozen=True)
class ValueStreamGroup:
    """A value stream's trains: solution trains (each with its ARTs) first, then the
    ARTs outside any solution train of this value stream."""

    value_stream: ValueStream
    solution_trains: list[SolutionTrainGroup]
    arts: list[TrainRow]

    @property
    def train_count(self) -> int:
        return len(self.arts) + sum(1 + len(group.arts) for group in self.solution_trains)


def trains_by_value_stream(*, user, portfolio) -> list[ValueStreamGroup]:
    """The portfolio's trains with their current status, grouped by value stream
    (two queries, whatever the number of trains)."""
    rows = train_list(user=user, portfolio=portfolio)
    arts_of: dict[int, list[TrainRow]] = {}
    for row in rows:
        if row.train.solution_train_id:
            arts_of.setdefault(row.train.solution_train_id, []).append(row)
    groups: dict[int, ValueStreamGroup] = {}
    for row in rows:
        train = row.train
        group = groups.get(train.value_stream_id)
        if group is None:
            group = groups[train.value_stream_id] = ValueStreamGroup(train.value_stream, [], [])
        if train.is_solution_train:
            # An ART of another value stream stays with its own value stream.
            own = [art for art in arts_of.get(train.pk, []) if art.train.value_stream_id == train.value_stream_id]
            group.solution_trains.append(SolutionTrainGroup(row=row, arts=own))
        elif not train.solution_train_id or train.solution_train.value_stream_id != train.value_stream_id:
            group.arts.append(row)
    return list(groups.values())


@dataclass(frozen=True)
class TrainHealthSummary:
    """How many of a portfolio's trains are in each health, and which need attention."""

    counts: dict[str, int]
    needing_attention: list[TrainRow]
    total: int


def train_health_summary(*, user, portfolio) -> TrainHealthSummary:
    """Counts per health (stale or no status counting as stale) and the trains at risk,
    off track or stale, worst first (two queries)."""
    rows = train_list(user=user, portfolio=portfolio)
    counts = dict.fromkeys(HEALTH_ORDER, 0)
    for row in rows:
        counts[health_of(row)] += 1
    attention = sorted(
        (row for row in rows if health_of(row) != Health.ON_TRACK),
        key=lambda row: (HEALTH_ORDER.index(health_of(row)), row.train.value_stream.name, row.train.name),
    )
    return TrainHealthSummary(counts=counts, needing_attention=attention, total=len(rows))


@dataclass(frozen=True)
class TrainPage:
    """One train with what its page shows: its latest status and the history before it."""

    train: Train
    latest: StatusReport | None
    stale: bool
    history: list[StatusReport]
    arts: list[TrainRow]
    teams: list[Team]
    served_by: list[Team]


def train_page(*, user, train_id: int, history_limit: int = 52, now=None) -> TrainPage:
    """A visible train (Train.DoesNotExist otherwise) with its teams, the teams serving
    it, its ARTs and their current status (for a solution train), and its last
    ``history_limit`` status reports, newest first. Six queries."""
    train = (
        trains_visible_to(user)
        .select_related("value_stream__portfolio", "solution_train__engineer")
        .prefetch_related(
            Prefetch("teams", queryset=Team.objects.order_by("kind", "name")),
            Prefetch("served_by", queryset=Team.objects.select_related("train").order_by("kind", "name")),
            Prefetch(
                "arts",
                queryset=with_latest_status(Train.objects.select_related("engineer", "value_stream").order_by("name")),
            ),
        )
        .get(pk=train_id)
    )
    stale_after_days = train.value_stream.portfolio.status_stale_days
    history = status_history(train, limit=history_limit)
    latest = history[0] if history else None
    cutoff = (now or timezone.now()) - datetime.timedelta(days=stale_after_days)
    arts = list(train.arts.all())
    return TrainPage(
        train=train,
        latest=latest,
        stale=latest is None or latest.created_at < cutoff,
        history=history,
        arts=attach_latest_status(arts, stale_after_days=stale_after_days, now=now) if arts else [],
        teams=list(train.teams.all()),
        served_by=list(train.served_by.all()),
    )


@dataclass(frozen=True)
class DependencySummary:
    """Open dependencies of a portfolio by state, and those flagged at risk or blocked."""

    by_state: list[tuple[str, str, int]]  # (state, label, count) for each open state
    flagged: dict[str, int]  # flag -> count among open dependencies
    open_total: int
    flagged_examples: list[Dependency]
    late_total: int = 0
    late_cross_value_stream: int = 0

    @property
    def flagged_total(self) -> int:
        return sum(self.flagged.values())


def dependency_summary(*, user, portfolio, examples: int = 8, today=None) -> DependencySummary:
    """Counts of open dependencies by state and by flag in one aggregate query, late ones
    (all and across value streams) in a second, and the first few flagged ones (blocked
    before at risk) with their trains in a third."""
    today = today or timezone.localdate()
    open_dependencies = dependencies_visible_to(user).filter(portfolio=portfolio).open()
    late = dependencies_visible_to(user).filter(portfolio=portfolio).late(today)
    late_counts = late.aggregate(
        total=Count("pk"), cross=Count("pk", filter=~Q(consumer__value_stream_id=F("provider__value_stream_id")))
    )
    counts = open_dependencies.order_by().values_list("state", "flag").annotate(n=Count("pk"))
    by_state = dict.fromkeys(OPEN_DEPENDENCY_STATES, 0)
    flagged = {DependencyFlag.BLOCKED: 0, DependencyFlag.AT_RISK: 0}
    for state, flag, n in counts:
        by_state[state] += n
        if flag in flagged:
            flagged[flag] += n
    flagged_examples = list(
        open_dependencies.exclude(flag=DependencyFlag.NONE)
        .select_related("consumer", "provider", "needed_by_pi")
        .order_by("-flag", "needed_by_pi__start_date", "key")[:examples]
    )
    return DependencySummary(
        by_state=[(state, DependencyState(state).label, by_state[state]) for state in OPEN_DEPENDENCY_STATES],
        flagged=flagged,
        open_total=sum(by_state.values()),
        flagged_examples=flagged_examples,
        late_total=late_counts["total"],
        late_cross_value_stream=late_counts["cross"],
    )


def cadence_ids_of(portfolio) -> set[int]:
    """Every cadence in use in the portfolio: its own, and any its value streams or trains follow."""
    ids = {portfolio.cadence_id} if portfolio.cadence_id else set()
    ids |= set(
        ValueStream.objects.filter(portfolio=portfolio, cadence__isnull=False).values_list("cadence_id", flat=True)
    )
    ids |= set(
        Train.objects.filter(value_stream__portfolio=portfolio, cadence__isnull=False).values_list(
            "cadence_id", flat=True
        )
    )
    return ids


def program_increments_of(portfolio):
    from cadence.models import ProgramIncrement

    return ProgramIncrement.objects.filter(cadence_id__in=cadence_ids_of(portfolio)).select_related("cadence")


# --- The API: status reports, dependencies and the choices their filters offer ------


def cadences_used_by(portfolio_ids):
    """Cadences followed by the portfolios, their value streams or their trains (a lazy
    queryset: no query until it is evaluated, so it can sit in a form's choices)."""
    from cadence.models import Cadence

    return Cadence.objects.filter(
        Q(portfolios__in=portfolio_ids)
        | Q(value_streams__portfolio__in=portfolio_ids)
        | Q(trains__value_stream__portfolio__in=portfolio_ids)
    ).distinct()


def cadences_visible_to(user):
    """Cadences followed by a portfolio, value stream or train the user can see."""
    return cadences_used_by(visible_portfolio_ids(user))


def program_increments_in(portfolio_ids):
    """PIs of every cadence in use in the portfolios (lazy, unlike program_increments_of)."""
    from cadence.models import ProgramIncrement

    return ProgramIncrement.objects.filter(cadence__in=cadences_used_by(portfolio_ids)).select_related("cadence")


def program_increments_visible_to(user):
    """PIs of every cadence in use in the user's portfolios."""
    return program_increments_in(visible_portfolio_ids(user))


def iterations_visible_to(user):
    from cadence.models import Iteration

    return Iteration.objects.filter(program_increment__cadence__in=cadences_visible_to(user)).select_related(
        "program_increment"
    )


def features_visible_to(user) -> QuerySet[Feature]:
    return Feature.objects.filter(train__value_stream__portfolio_id__in=visible_portfolio_ids(user))


def status_reports_visible_to(user) -> QuerySet[StatusReport]:
    return StatusReport.objects.filter(train__value_stream__portfolio_id__in=visible_portfolio_ids(user))


def latest_status_ids(trains: QuerySet[Train]):
    """A subquery of the ids of the trains' latest status reports (for ``pk__in``)."""
    return with_latest_status(trains).values("latest_status_id")


def with_latest_status_summary(trains: QuerySet[Train]) -> QuerySet[Train]:
    """with_latest_status, plus that report's health, PI confidence and time (subqueries
    of the train's index on reports: no extra query however many trains)."""
    latest = StatusReport.objects.filter(train=OuterRef("pk")).order_by("-created_at", "-id")
    return with_latest_status(trains).annotate(
        latest_status_health=Subquery(latest.values("health")[:1]),
        latest_status_confidence=Subquery(latest.values("pi_confidence")[:1]),
        latest_status_at=Subquery(latest.values("created_at")[:1]),
    )


# --- Pages: the dependency list, a dependency's page, a train's dependencies --------

# What a dependency's page and list rows show, fetched with it (no query per row).
DEPENDENCY_ROW_RELATED = (
    "consumer__value_stream",
    "consumer__solution_train",
    "provider__value_stream",
    "provider__solution_train",
    "needed_by_pi",
    "needed_by_iteration",
    "committed_pi",
    "committed_iteration",
)


def mark_late(dependencies, *, today: datetime.date):
    """Set ``late`` on each dependency (Dependency.is_late_on), for templates."""
    for dependency in dependencies:
        dependency.late = dependency.is_late_on(today)
    return dependencies


def dependency_list(*, user, portfolio) -> QuerySet[Dependency]:
    """The portfolio's dependencies with their trains, value streams, PIs and iterations,
    soonest needed first. The list page filters it with DependencyFilterSet."""
    return (
        dependencies_visible_to(user)
        .filter(portfolio=portfolio)
        .with_dates()
        .select_related(*DEPENDENCY_ROW_RELATED)
        .order_by("needed_by_date", "pk")
    )


def dependency_detail(*, user, dependency_id: int) -> Dependency:
    """One visible dependency with everything its page shows (Dependency.DoesNotExist otherwise)."""
    return (
        dependencies_visible_to(user)
        .select_related(
            *DEPENDENCY_ROW_RELATED,
            "portfolio",
            "consumer__value_stream__portfolio",
            "provider__value_stream__portfolio",
            "consumer_feature__train",
            "provider_feature__train",
            "epic",
            "raised_by",
        )
        .get(pk=dependency_id)
    )


def dependency_events(dependency: Dependency) -> list:
    """Its workflow history, newest first, with who took each step (one query)."""
    return list(dependency.events.select_related("actor"))


def trains_user_may_raise_for(*, user, portfolio) -> list[Train]:
    """The trains of the portfolio the user may raise a dependency for (as the consumer):
    all of them for APMO and enterprise architects, their own for an RTE or STE. One
    query; the rule itself is valuestreams.raise_dependency."""
    trains = trains_visible_to(user).filter(value_stream__portfolio=portfolio).order_by("value_stream__name", "name")
    return [train for train in trains if user.has_perm("valuestreams.raise_dependency", train)]


def cadence_id_of(train: Train, *, portfolio=None) -> int | None:
    """The cadence a train follows: its own, else its value stream's, else its portfolio's
    (``portfolio``, or the value stream's, loaded with the train to spare a query)."""
    return train.cadence_id or train.value_stream.cadence_id or (portfolio or train.value_stream.portfolio).cadence_id


def upcoming_cadence_events(train: Train, *, today: datetime.date, limit: int = 5) -> list:
    """The next cadence events (not yet over) of the cadence the train follows (one query)."""
    from cadence.models import CadenceEvent

    cadence_id = cadence_id_of(train)
    if cadence_id is None:
        return []
    return list(
        CadenceEvent.objects.filter(program_increment__cadence_id=cadence_id, end_date__gte=today)
        .select_related("program_increment", "iteration")
        .order_by("start_date", "kind", "pk")[:limit]
    )


@dataclass(frozen=True)
class TrainDependencies:
    """A train's open dependencies, soonest needed first: what it needs from other trains
    and what it gives them, each cut at a limit, with the totals."""

    needs: list[Dependency]
    gives: list[Dependency]
    needs_total: int
    gives_total: int


def train_dependencies(*, user, train: Train, today: datetime.date, limit: int = 15) -> TrainDependencies:
    """Three queries: the totals, then each side's first ``limit``."""
    open_dependencies = dependencies_visible_to(user).open()
    totals = open_dependencies.filter(Q(consumer=train) | Q(provider=train)).aggregate(
        needs=Count("pk", filter=Q(consumer=train)), gives=Count("pk", filter=Q(provider=train))
    )
    rows = open_dependencies.with_dates().select_related(*DEPENDENCY_ROW_RELATED).order_by("needed_by_date", "pk")
    needs = mark_late(list(rows.filter(consumer=train)[:limit]), today=today)
    gives = mark_late(list(rows.filter(provider=train)[:limit]), today=today)
    return TrainDependencies(needs=needs, gives=gives, needs_total=totals["needs"], gives_total=totals["gives"])


def pi_choices_for(train: Train | None, *, portfolio, ending_after: datetime.date | None = None):
    """PIs a dependency of ``train`` may be needed by or committed to: those of the train's
    cadence (of every cadence in the portfolio without a train), soonest first."""
    from cadence.models import ProgramIncrement

    if train is not None and (cadence_id := cadence_id_of(train, portfolio=portfolio)) is not None:
        pis = ProgramIncrement.objects.filter(cadence_id=cadence_id).select_related("cadence")
    else:
        pis = program_increments_of(portfolio)
    if ending_after is not None:
        pis = pis.filter(end_date__gte=ending_after)
    return pis.order_by("start_date", "cadence__name")


@dataclass(frozen=True)
class DependencyPage:
    """A dependency as its page shows it: whether it is late, its workflow history, and
    for a late, blocked or at-risk one what slips downstream if it slips."""

    dependency: Dependency
    late: bool
    events: list
    impact: object  # dependency_map.SlipImpact, or None when it is not slipping


def dependency_page(dependency: Dependency, *, today: datetime.date) -> DependencyPage:
    """For a dependency loaded by dependency_detail: one query for the history, and one
    per step downstream for the slip impact."""
    from .dependency_map import slip_impact

    late = dependency.is_late_on(today)
    slipping = late or dependency.flag in (DependencyFlag.AT_RISK, DependencyFlag.BLOCKED)
    return DependencyPage(
        dependency=dependency,
        late=late,
        events=dependency_events(dependency),
        impact=slip_impact(dependency) if slipping else None,
    )


# --- The cadence each value stream and train follows, and the trains off the portfolio's ---
# (Appended with the PI calendar; its imports stay with it.)

from cadence.models import Cadence, ProgramIncrement  # noqa: E402
from cadence.selectors import BoundaryOffset, CalendarWindow, boundary_offsets, calendar_window  # noqa: E402


@dataclass(frozen=True)
class TrainCadence:
    """A train and the cadence it follows: its own, else its value stream's, else the
    portfolio's. ``declares_own``: it names a cadence other than its value stream's."""

    train: Train
    cadence_id: int | None
    declares_own: bool


@dataclass(frozen=True)
class ValueStreamCadence:
    """A value stream, the cadence it follows (its own, else the portfolio's) and its
    trains. ``declares_own``: it names a cadence other than the portfolio's."""

    value_stream: ValueStream
    cadence_id: int | None
    declares_own: bool
    trains: list[TrainCadence]

    @property
    def trains_on_own_cadence(self) -> list[TrainCadence]:
        return [row for row in self.trains if row.declares_own]


def cadence_followers(portfolio) -> list[ValueStreamCadence]:
    """Every value stream of the portfolio, by name, with its trains (solution trains
    first), each with the cadence it follows. Two queries."""
    value_streams = ValueStream.objects.filter(portfolio=portfolio).prefetch_related(
        Prefetch("trains", queryset=Train.objects.select_related("solution_train").order_by("-kind", "name"))
    )
    rows = []
    for value_stream in value_streams.order_by("name"):
        stream_cadence = value_stream.cadence_id or portfolio.cadence_id
        trains = [
            TrainCadence(
                train=train,
                cadence_id=train.cadence_id or stream_cadence,
                declares_own=bool(train.cadence_id) and train.cadence_id != stream_cadence,
            )
            for train in value_stream.trains.all()
        ]
        rows.append(
            ValueStreamCadence(
                value_stream=value_stream,
                cadence_id=stream_cadence,
                declares_own=bool(value_stream.cadence_id) and value_stream.cadence_id != portfolio.cadence_id,
                trains=trains,
            )
        )
    return rows


@dataclass(frozen=True)
class LinkedValueStream:
    """Another value stream that a train off the cadence has open dependencies with."""

    value_stream: ValueStream
    needs: int  # open dependencies the train needs from its trains
    provides: int  # open dependencies the train provides to its trains


@dataclass(frozen=True)
class SyncWarning:
    """A train whose PI boundaries do not match the portfolio's.

    ``offset_days`` is its boundary furthest from the portfolio's nearest PI boundary,
    in the window compared, signed (+: later than the portfolio's); None if its cadence
    has no PI in that window. ``offsets`` lists each boundary compared.
    """

    train: Train
    value_stream: ValueStream
    cadence: Cadence
    offset_days: int | None
    offsets: list[BoundaryOffset]
    linked_value_streams: list[LinkedValueStream]

    @property
    def days(self) -> int | None:
        return None if self.offset_days is None else abs(self.offset_days)

    @property
    def offset_label(self) -> str:
        """How far off, in words ("3 days later", "1 day earlier"), or why there is no number."""
        if self.offset_days is None:
            return "no PI in the window compared"
        unit = "day" if self.days == 1 else "days"
        return f"{self.days} {unit} {'later' if self.offset_days > 0 else 'earlier'}"

    @property
    def furthest(self) -> BoundaryOffset | None:
        """An example for the reader: the first boundary as far off as any (a start if one is)."""
        return max(self.offsets, key=lambda offset: (abs(offset.days), offset.boundary == "start"), default=None)


def sync_warnings(
    portfolio,
    today: datetime.date,
    *,
    window: CalendarWindow | None = None,
    followers: list[ValueStreamCadence] | None = None,
    program_increments: dict[int, list[ProgramIncrement]] | None = None,
) -> list[SyncWarning]:
    """Every train of the portfolio whose cadence's PI boundaries differ from those of
    the portfolio's cadence in ``window`` (by default the PI before today's to three
    after it), furthest off first, with the other value streams it has open
    dependencies with. A train on the portfolio's cadence, or on one with the same
    boundaries, is not listed.

    A page that has loaded the window, the followers or the PIs by cadence (id: PIs
    overlapping the window) passes them in; otherwise this costs at most six queries.
    """
    if portfolio.cadence_id is None:
        return []
    if window is None:
        window = calendar_window(cadence_id=portfolio.cadence_id, today=today)
        if window is None:
            return []
    followers = cadence_followers(portfolio) if followers is None else followers
    off_cadence = [
        (row.value_stream, train)
        for row in followers
        for train in row.trains
        if train.cadence_id is not None and train.cadence_id != portfolio.cadence_id
    ]
    if not off_cadence:
        return []
    cadence_ids = {train.cadence_id for _, train in off_cadence}
    if program_increments is None:
        program_increments = {}
        for pi in ProgramIncrement.objects.filter(
            cadence_id__in=cadence_ids, start_date__lte=window.end, end_date__gte=window.start
        ).select_related("cadence"):
            program_increments.setdefault(pi.cadence_id, []).append(pi)
    cadences = {pis[0].cadence_id: pis[0].cadence for pis in program_increments.values() if pis}
    if missing := cadence_ids - set(cadences):
        cadences |= Cadence.objects.in_bulk(missing)
    between = (window.start, window.end + datetime.timedelta(days=1))
    offsets_of = {
        cadence_id: boundary_offsets(window.program_increments, program_increments.get(cadence_id, []), between=between)
        for cadence_id in cadence_ids
    }
    drifting = [
        (value_stream, row)
        for value_stream, row in off_cadence
        if not offsets_of[row.cadence_id] or any(offset.days for offset in offsets_of[row.cadence_id])
    ]
    if not drifting:
        return []
    links = _open_dependency_links(portfolio, [row.train.pk for _, row in drifting])
    value_streams = {row.value_stream.pk: row.value_stream for row in followers}
    warnings = []
    for value_stream, row in drifting:
        offsets = offsets_of[row.cadence_id]
        furthest = max(offsets, key=lambda offset: abs(offset.days), default=None)
        linked = links.get(row.train.pk, {})
        warnings.append(
            SyncWarning(
                train=row.train,
                value_stream=value_stream,
                cadence=cadences[row.cadence_id],
                offset_days=furthest.days if furthest else None,
                offsets=offsets,
                linked_value_streams=sorted(
                    (
                        LinkedValueStream(value_stream=value_streams[vs_id], needs=needs, provides=provides)
                        for vs_id, (needs, provides) in linked.items()
                        if vs_id in value_streams
                    ),
                    key=lambda link: link.value_stream.name,
                ),
            )
        )
    warnings.sort(key=lambda w: (w.days is None, -(w.days or 0), w.value_stream.name, w.train.name))
    return warnings


def _open_dependency_links(portfolio, train_ids: list[int]) -> dict[int, dict[int, tuple[int, int]]]:
    """{train id: {other value stream id: (open dependencies it needs from it, provides to
    it)}} for the trains' dependencies across value streams. One query."""
    dependencies = Dependency.objects.filter(portfolio=portfolio).open()
    rows = (
        (dependencies.filter(consumer_id__in=train_ids) | dependencies.filter(provider_id__in=train_ids))
        .order_by()
        .values_list("consumer_id", "provider_id", "consumer__value_stream_id", "provider__value_stream_id")
        .annotate(n=Count("pk"))
    )
    wanted = set(train_ids)
    links: dict[int, dict[int, list[int]]] = {}
    for consumer_id, provider_id, consumer_vs, provider_vs, n in rows:
        if consumer_vs == provider_vs:
            continue
        if consumer_id in wanted:
            links.setdefault(consumer_id, {}).setdefault(provider_vs, [0, 0])[0] += n
        if provider_id in wanted:
            links.setdefault(provider_id, {}).setdefault(consumer_vs, [0, 0])[1] += n
    return {train: {vs: (needs, provides) for vs, (needs, provides) in by_vs.items()} for train, by_vs in links.items()}
