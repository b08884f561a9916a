"""Reads of integration points, their check runs, results and outcome changes, scoped
to what a user may see, with their related rows chosen up front: a list or a batch of
checks costs the same few queries whatever its length.

For the dashboard: ``upcoming_integration_points`` (the next points with their last
outcome and check) and ``recent_outcome_changes``.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from portfolio.api.links import attach_link_ids, attach_linked
from portfolio.permissions import visible_portfolio_ids
from valuestreams.models import Dependency, Feature, Train, TrainKind, ValueStream
from valuestreams.selectors import DEPENDENCY_ROW_RELATED, mark_late, with_latest_status_summary

from .checks import FINDING_LABELS, FindingKind
from .models import (
    AcceptanceCriterion,
    IntegrationCheckRun,
    IntegrationOutcomeChange,
    IntegrationPoint,
    IntegrationResult,
    Outcome,
)

# Which points the scheduled checks look at: upcoming ones, and those whose date passed
# recently (a result may still come, or the point is missed).
CHECK_DAYS_BEFORE = 14
CHECK_DAYS_AHEAD = 120


def integration_points_visible_to(user) -> QuerySet[IntegrationPoint]:
    return IntegrationPoint.objects.filter(portfolio_id__in=visible_portfolio_ids(user))


def check_runs_visible_to(user) -> QuerySet[IntegrationCheckRun]:
    return IntegrationCheckRun.objects.filter(integration_point__portfolio_id__in=visible_portfolio_ids(user))


def results_visible_to(user) -> QuerySet[IntegrationResult]:
    return IntegrationResult.objects.filter(integration_point__portfolio_id__in=visible_portfolio_ids(user))


def with_latest_result(points: QuerySet[IntegrationPoint]) -> QuerySet[IntegrationPoint]:
    """Annotate each point with its latest result's id, verdict and time (subqueries)."""
    latest = IntegrationResult.objects.filter(integration_point=OuterRef("pk")).order_by("-recorded_at", "-id")
    return points.annotate(
        latest_result_id=Subquery(latest.values("pk")[:1]),
        latest_result_verdict=Subquery(latest.values("verdict")[:1]),
        latest_result_at=Subquery(latest.values("recorded_at")[:1]),
    )


def with_latest_check(points: QuerySet[IntegrationPoint]) -> QuerySet[IntegrationPoint]:
    """Annotate each point with its latest check run's id, time, outcome and counts of
    findings (subqueries on the run's unique index; see ``attach_latest_checks``)."""
    latest = IntegrationCheckRun.objects.filter(integration_point=OuterRef("pk")).order_by("-window_start")
    return points.annotate(
        latest_check_id=Subquery(latest.values("pk")[:1]),
        latest_check_ran_at=Subquery(latest.values("ran_at")[:1]),
        latest_check_outcome=Subquery(latest.values("outcome")[:1]),
        latest_check_findings=Subquery(latest.values("finding_count")[:1]),
        latest_check_blocking=Subquery(latest.values("blocking_count")[:1]),
    )


def value_streams_by_point(**where) -> defaultdict[int, set[int]]:
    """Each point's value streams: those it lists and those of its trains (two queries
    on the link tables). ``where`` filters the links by their point, e.g.
    ``integrationpoint__portfolio=portfolio`` or ``integrationpoint_id__in=ids``."""
    streams = defaultdict(set)
    for through, stream in (
        (IntegrationPoint.value_streams.through, "valuestream_id"),
        (IntegrationPoint.trains.through, "train__value_stream_id"),
    ):
        for point_id, stream_id in through.objects.filter(**where).values_list("integrationpoint_id", stream):
            streams[point_id].add(stream_id)
    return streams


# --- The scheduled checks --------------------------------------------------------------


def point_ids_due_for_check(
    *, today: datetime.date, days_before: int = CHECK_DAYS_BEFORE, days_ahead: int = CHECK_DAYS_AHEAD
) -> list[int]:
    """Every portfolio's points dated from ``days_before`` days ago to ``days_ahead``
    days ahead, soonest first (one query)."""
    start = today - datetime.timedelta(days=days_before)
    end = today + datetime.timedelta(days=days_ahead)
    return list(
        IntegrationPoint.objects.filter(date__range=(start, end)).order_by("date", "pk").values_list("pk", flat=True)
    )


def points_for_check(point_ids) -> list[IntegrationPoint]:
    """The points with everything ``checks.evaluate`` reads: the portfolio, the latest
    result, the trains with their latest status, the dependencies with their dates and
    trains, the features with their trains, the criteria. Five queries for any number."""
    points = (
        with_latest_result(IntegrationPoint.objects.filter(pk__in=list(point_ids)))
        .select_related("portfolio")
        .prefetch_related(
            Prefetch("trains", queryset=with_latest_status_summary(Train.objects.order_by("name"))),
            Prefetch(
                "dependencies",
                queryset=Dependency.objects.select_related(
                    "provider", "consumer", "needed_by_pi", "needed_by_iteration", "committed_pi", "committed_iteration"
                ).order_by("key"),
            ),
            Prefetch("features", queryset=Feature.objects.select_related("train").order_by("key")),
            Prefetch("criteria", queryset=AcceptanceCriterion.objects.order_by("position", "pk")),
        )
        .order_by("date", "pk")
    )
    return list(points)


# --- The list page and the API -------------------------------------------------------


def integration_point_list(*, user, portfolio=None) -> QuerySet[IntegrationPoint]:
    """Points by date with what a list row shows: PI, solution train, value streams, the
    latest result and the latest check run's id (see ``attach_latest_checks``)."""
    points = integration_points_visible_to(user)
    if portfolio is not None:
        points = points.filter(portfolio=portfolio)
    return (
        with_latest_check(with_latest_result(points))
        .select_related("program_increment", "solution_train")
        .prefetch_related(
            Prefetch("value_streams", queryset=ValueStream.objects.only("pk", "key", "name").order_by("name"))
        )
        .order_by("date", "name")
    )


@dataclass(frozen=True)
class CheckSummary:
    """What a list row says of a point's latest check run."""

    run_id: int
    ran_at: datetime.datetime
    outcome: str
    findings: int
    blocking: int

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label


def attach_latest_checks(points: list[IntegrationPoint]) -> list[IntegrationPoint]:
    """Set ``latest_check`` (a CheckSummary or None) on points annotated by
    ``with_latest_check``, without a query."""
    for point in points:
        point.latest_check = (
            None
            if point.latest_check_id is None
            else CheckSummary(
                run_id=point.latest_check_id,
                ran_at=point.latest_check_ran_at,
                outcome=point.latest_check_outcome,
                findings=point.latest_check_findings,
                blocking=point.latest_check_blocking,
            )
        )
    return points


def complete_api_rows(points) -> list[IntegrationPoint]:
    """A page of ``integration_point_list`` points as the API answers them: the latest
    check run, the linked value streams and trains (in brief) and the ids of the
    required dependencies and features, one query per link for the whole page however
    many each point has."""
    points = attach_latest_checks(list(points))
    attach_linked(points, "value_streams", fields=("key", "name"), order_by="name")
    attach_linked(points, "trains", fields=("key", "name", "kind"), order_by="name")
    return attach_link_ids(points, "dependencies", "features")


# --- A point's page ----------------------------------------------------------------


@dataclass(frozen=True)
class FindingRow:
    """A stored finding as the page shows it: its label and a link to what it is about."""

    kind: str
    label: str
    severity: str
    message: str
    url: str | None

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"


def finding_rows(findings: list[dict]) -> list[FindingRow]:
    rows = []
    for finding in findings:
        refs = finding.get("refs") or {}
        url = None
        if refs.get("dependency"):
            url = reverse("valuestreams:dependency-detail", args=[refs["dependency"][0]])
        elif refs.get("train"):
            url = reverse("valuestreams:train-detail", args=[refs["train"][0]])
        elif refs.get("feature"):
            url = f"#feature-{refs['feature'][0]}"
        elif refs.get("criterion"):
            url = f"#criterion-{refs['criterion'][0]}"
        kind = finding.get("kind", "")
        try:
            label = FINDING_LABELS[FindingKind(kind)]
        except ValueError:
            label = kind.replace("_", " ").capitalize()
        rows.append(
            FindingRow(
                kind=kind,
                label=label,
                severity=finding.get("severity", "warning"),
                message=finding.get("message", ""),
                url=url,
            )
        )
    # Blocking first, in the order the check found them.
    return sorted(rows, key=lambda row: not row.blocking)


@dataclass(frozen=True)
class TrainParticipant:
    train: Train
    health: str | None
    reported_at: datetime.datetime | None
    stale: bool


@dataclass(frozen=True)
class PointPage:
    """An integration point with what its page shows."""

    point: IntegrationPoint
    latest_run: IntegrationCheckRun | None
    findings: list[FindingRow]
    runs: list[IntegrationCheckRun]
    run_count: int
    results: list[IntegrationResult]
    changes: list[IntegrationOutcomeChange]
    trains: list[TrainParticipant]
    dependencies: list[Dependency]
    features: list[Feature]
    criteria: list[AcceptanceCriterion]
    days_left: int

    @property
    def criteria_met(self) -> int:
        return sum(1 for criterion in self.criteria if criterion.met)

    @property
    def dependencies_delivered(self) -> int:
        return sum(1 for dependency in self.dependencies if dependency.state == "delivered")

    @property
    def features_done(self) -> int:
        return sum(1 for feature in self.features if feature.state == "done")


def integration_point_detail(*, user, point_id: int) -> IntegrationPoint:
    """One visible point with its participants, requirements and criteria
    (IntegrationPoint.DoesNotExist otherwise)."""
    return (
        with_latest_result(integration_points_visible_to(user))
        .select_related("portfolio", "program_increment", "solution_train__engineer", "solution_train__value_stream")
        .prefetch_related(
            Prefetch("value_streams", queryset=ValueStream.objects.order_by("name")),
            Prefetch(
                "trains",
                queryset=with_latest_status_summary(
                    Train.objects.select_related("value_stream", "engineer", "solution_train").order_by(
                        "value_stream__name", "-kind", "name"
                    )
                ),
            ),
            Prefetch(
                "dependencies",
                queryset=Dependency.objects.with_dates()
                .select_related(*DEPENDENCY_ROW_RELATED)
                .order_by("needed_by_date", "key"),
            ),
            Prefetch(
                "features",
                queryset=Feature.objects.select_related("train", "iteration").order_by("train__name", "key"),
            ),
            Prefetch("criteria", queryset=AcceptanceCriterion.objects.order_by("position", "pk")),
        )
        .get(pk=point_id)
    )


def integration_point_page(
    point: IntegrationPoint, *, today: datetime.date | None = None, now=None, history_limit: int = 20
) -> PointPage:
    """For a point loaded by ``integration_point_detail``: four queries more (check runs,
    their count, results, outcome changes)."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    runs = list(point.check_runs.order_by("-window_start")[:history_limit])
    run_count = len(runs) if len(runs) < history_limit else point.check_runs.count()
    stale_before = now - datetime.timedelta(days=point.portfolio.status_stale_days)
    trains = [
        TrainParticipant(
            train=train,
            health=train.latest_status_health,
            reported_at=train.latest_status_at,
            stale=train.latest_status_at is None or train.latest_status_at < stale_before,
        )
        for train in point.trains.all()
    ]
    latest_run = runs[0] if runs else None
    return PointPage(
        point=point,
        latest_run=latest_run,
        findings=finding_rows(latest_run.findings) if latest_run else [],
        runs=runs,
        run_count=run_count,
        results=list(point.results.select_related("recorded_by").order_by("-recorded_at", "-id")[:history_limit]),
        changes=list(point.outcome_changes.select_related("result__recorded_by")[:history_limit]),
        trains=trains,
        dependencies=mark_late(list(point.dependencies.all()), today=today),
        features=list(point.features.all()),
        criteria=list(point.criteria.all()),
        days_left=(point.date - today).days,
    )


# --- Choices of the edit form ----------------------------------------------------------


def solution_trains_of(portfolio) -> QuerySet[Train]:
    return Train.objects.filter(value_stream__portfolio=portfolio, kind=TrainKind.SOLUTION).select_related(
        "value_stream", "engineer"
    )


def dependency_choices(*, portfolio, train_ids, program_increment=None, keep_ids=()) -> QuerySet[Dependency]:
    """Dependencies a point among ``train_ids`` may require: those between two of its
    trains (needed by ``program_increment`` when given, the soonest first), and any
    already required (``keep_ids``). Never the whole portfolio's thousands."""
    among = Q(consumer_id__in=list(train_ids), provider_id__in=list(train_ids))
    if program_increment is not None:
        among &= Q(needed_by_pi=program_increment)
    return (
        Dependency.objects.filter(portfolio=portfolio)
        .filter(among | Q(pk__in=list(keep_ids)))
        .with_dates()
        .select_related("consumer", "provider")
        .order_by("needed_by_date", "key")
    )


def feature_choices(*, train_ids, program_increment=None, keep_ids=()) -> QuerySet[Feature]:
    """Features a point among ``train_ids`` may require: theirs planned in
    ``program_increment`` (when given), and any already required (``keep_ids``)."""
    of_trains = Q(train_id__in=list(train_ids))
    if program_increment is not None:
        of_trains &= Q(program_increment=program_increment)
    return (
        Feature.objects.filter(of_trains | Q(pk__in=list(keep_ids)))
        .select_related("train")
        .order_by("train__name", "key")
    )


# --- The dashboard --------------------------------------------------------------------


def upcoming_integration_points(
    *, user, portfolio, today: datetime.date | None = None, days_ahead: int = 42, limit: int = 8
) -> list[IntegrationPoint]:
    """The portfolio's next points (today to ``days_ahead`` days ahead, soonest first, at
    most ``limit``), each with ``outcome`` and ``last_checked_at`` as stored by the latest
    check, ``latest_check`` (a CheckSummary: findings counted) and ``value_streams``
    prefetched. Two queries."""
    today = today or timezone.localdate()
    points = list(
        integration_point_list(user=user, portfolio=portfolio).filter(
            date__range=(today, today + datetime.timedelta(days=days_ahead))
        )[:limit]
    )
    return attach_latest_checks(points)


def recent_outcome_changes(*, user, portfolio, since: datetime.datetime | None = None, limit: int = 8):
    """The portfolio's latest outcome changes (newest first), with their point (one query)."""
    changes = IntegrationOutcomeChange.objects.filter(
        integration_point__portfolio_id__in=visible_portfolio_ids(user), integration_point__portfolio=portfolio
    ).select_related("integration_point")
    if since is not None:
        changes = changes.filter(changed_at__gte=since)
    return list(changes.exclude(from_outcome=Outcome.PENDING)[:limit])
