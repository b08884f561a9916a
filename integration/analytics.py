"""Reads that judge how well a portfolio integrates: idle work and its holding cost,
portfolio velocity, and the economics of each value stream's integration cadence.

Each builds its answer from a few querysets of one portfolio, computed in Python, so
it costs the same number of queries on any size of portfolio; it returns plain
dataclasses that the pages, the dashboard and the API lay out.

Definitions used throughout:

- A point's **effective outcome** is its stored outcome when that is passed or failed;
  otherwise its latest recorded result decides (pass → passed, fail → failed), since
  a result may be recorded before the next check folds it in; with no result, the
  stored outcome stands.
- A point **passed** when its effective outcome is passed.
- A done feature is **covered** by a passed point dated on or after its ``done_on``
  (and not after today) that lists the feature; or lists its train, or the solution
  train its train belongs to; or is a *full* integration point that lists its value
  stream (a full integration integrates all of a value stream's trains; a partial one
  only the trains and features it names).
- **Idle work**: a done feature not covered by today, done more than N days ago (N is
  ``settings.INTEGRATION_IDLE_DAYS``, 14 by default). Its idle days are the days since
  it was done. A value stream's idle feature-days, summed, are its **holding cost
  indicator**.
- **Velocity**: the integration points passed in each PI, per value stream taking part
  (the point's value streams and its trains' value streams). PIs are those of the
  portfolio's cadence; a point counts in the PI that contains its date.
"""

import bisect
import datetime
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, reduce
from operator import or_

import rules
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from cadence.models import Cadence, ProgramIncrement
from portfolio.core.concurrency import StaleVersion, update_versioned
from portfolio.permissions import is_apmo
from valuestreams.models import Feature, Train, ValueStream, WorkState

from . import economics
from .analytics_charts import UCurveChart, VelocityChart, u_curve_chart, velocity_chart
from .models import Depth, IntegrationEconomics, IntegrationPoint, Outcome, ResultVerdict
from .selectors import value_streams_by_point, with_latest_result

DEFAULT_IDLE_DAYS = 14
CHANGE_ECONOMICS = "integration.change_economics"
# The cost figures of a value stream's integration cadence are its portfolio's APMO's.
if not rules.perm_exists(CHANGE_ECONOMICS):
    rules.add_perm(CHANGE_ECONOMICS, is_apmo)


def idle_days_threshold() -> int:
    """N: done work not integrated for more than N days is idle (``INTEGRATION_IDLE_DAYS``)."""
    return int(getattr(settings, "INTEGRATION_IDLE_DAYS", DEFAULT_IDLE_DAYS))


# --- Which points passed, and what they cover ------------------------------------------


def effective_outcome(outcome: str, latest_verdict: str | None) -> str:
    """The stored outcome, unless a recorded result has not been folded in yet."""
    if outcome in (Outcome.PASSED, Outcome.FAILED) or not latest_verdict:
        return outcome
    return Outcome.PASSED if latest_verdict == ResultVerdict.PASS else Outcome.FAILED


@dataclass(frozen=True)
class PointFacts:
    """What the analytics read of one integration point."""

    id: int
    date: datetime.date
    depth: str
    outcome: str  # effective

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.PASSED


def _point_facts(points: QuerySet[IntegrationPoint]) -> dict[int, PointFacts]:
    rows = with_latest_result(points).values_list("pk", "date", "depth", "outcome", "latest_result_verdict")
    return {
        pk: PointFacts(id=pk, date=date, depth=depth, outcome=effective_outcome(outcome, verdict))
        for pk, date, depth, outcome, verdict in rows
    }


@dataclass
class Coverage:
    """The dates of the passed points (up to today) that cover each feature, train and
    value stream of a portfolio, each list sorted. A train's dates include those of its
    solution train; a value stream's are those of full integration points only."""

    by_feature: dict[int, list[datetime.date]]
    by_train: dict[int, list[datetime.date]]
    by_value_stream: dict[int, list[datetime.date]]

    def dates_for(self, *, feature_id: int, train_id: int, value_stream_id: int) -> list[datetime.date]:
        return sorted(
            [
                *self.by_feature.get(feature_id, ()),
                *self.by_train.get(train_id, ()),
                *self.by_value_stream.get(value_stream_id, ()),
            ]
        )

    def covered_on(
        self, *, feature_id: int, train_id: int, value_stream_id: int, done_on: datetime.date
    ) -> datetime.date | None:
        """The date of the first passed point on or after ``done_on`` that covers the feature."""
        candidates = []
        for dates in (
            self.by_feature.get(feature_id),
            self.by_train.get(train_id),
            self.by_value_stream.get(value_stream_id),
        ):
            if dates:
                at = bisect.bisect_left(dates, done_on)
                if at < len(dates):
                    candidates.append(dates[at])
        return min(candidates, default=None)

    def last_for_train(self, train_id: int) -> datetime.date | None:
        dates = self.by_train.get(train_id)
        return dates[-1] if dates else None

    def last_for_value_stream(self, value_stream_id: int) -> datetime.date | None:
        dates = self.by_value_stream.get(value_stream_id)
        return dates[-1] if dates else None


def coverage(portfolio, *, today: datetime.date, trains: list[Train]) -> Coverage:
    """Which passed points cover what (four queries). ``trains``: the portfolio's trains,
    to give each ART its solution train's points."""
    points = _point_facts(IntegrationPoint.objects.filter(portfolio=portfolio, date__lte=today))
    passed = {pk: facts for pk, facts in points.items() if facts.passed}
    in_portfolio = {"integrationpoint__portfolio": portfolio, "integrationpoint__date__lte": today}

    def grouped(through, column: str, *, full_only: bool = False) -> dict[int, list[datetime.date]]:
        dates = defaultdict(list)
        for point_id, key in through.objects.filter(**in_portfolio).values_list("integrationpoint_id", column):
            facts = passed.get(point_id)
            if facts is not None and (not full_only or facts.depth == Depth.FULL):
                dates[key].append(facts.date)
        return dates

    by_feature = grouped(IntegrationPoint.features.through, "feature_id")
    by_train = grouped(IntegrationPoint.trains.through, "train_id")
    by_value_stream = grouped(IntegrationPoint.value_streams.through, "valuestream_id", full_only=True)
    for train in trains:
        if train.solution_train_id and train.solution_train_id in by_train:
            by_train[train.pk] = by_train.get(train.pk, []) + by_train[train.solution_train_id]
    for dates in (*by_feature.values(), *by_train.values(), *by_value_stream.values()):
        dates.sort()
    return Coverage(by_feature=dict(by_feature), by_train=dict(by_train), by_value_stream=dict(by_value_stream))


# --- Idle work -----------------------------------------------------------------------


@dataclass(frozen=True)
class IdleFeature:
    """A done feature waiting for a passed integration point."""

    id: int
    key: str
    name: str
    done_on: datetime.date
    idle_days: int


# The idle work page lists each train's longest waits; the train's own view lists all.
IDLE_LISTED_PER_TRAIN = 10


@dataclass(frozen=True)
class IdleTrain:
    train: Train
    features: tuple[IdleFeature, ...]  # longest idle first
    last_integrated: datetime.date | None  # the latest passed point covering the train

    @property
    def longest(self) -> tuple[IdleFeature, ...]:
        return self.features[:IDLE_LISTED_PER_TRAIN]

    @property
    def unlisted(self) -> int:
        return max(len(self.features) - IDLE_LISTED_PER_TRAIN, 0)

    @cached_property
    def feature_count(self) -> int:
        return len(self.features)

    @cached_property
    def feature_days(self) -> int:
        return sum(feature.idle_days for feature in self.features)


@dataclass(frozen=True)
class IdleValueStream:
    value_stream: ValueStream
    trains: tuple[IdleTrain, ...]  # trains with idle work, most feature-days first
    last_integrated: datetime.date | None  # the latest passed full point of the value stream

    @cached_property
    def feature_count(self) -> int:
        return sum(train.feature_count for train in self.trains)

    @cached_property
    def feature_days(self) -> int:
        """The holding cost indicator: the idle days of its idle features, summed."""
        return sum(train.feature_days for train in self.trains)

    @cached_property
    def oldest_idle_days(self) -> int:
        return max((train.features[0].idle_days for train in self.trains), default=0)


@dataclass(frozen=True)
class IdleWork:
    """A portfolio's idle work on ``today``: every value stream (most feature-days
    first), with its trains' idle features."""

    today: datetime.date
    threshold_days: int
    value_streams: tuple[IdleValueStream, ...]

    @cached_property
    def feature_count(self) -> int:
        return sum(stream.feature_count for stream in self.value_streams)

    @cached_property
    def feature_days(self) -> int:
        return sum(stream.feature_days for stream in self.value_streams)

    @cached_property
    def train_count(self) -> int:
        return sum(len(stream.trains) for stream in self.value_streams)

    @cached_property
    def max_feature_days(self) -> int:
        return max((stream.feature_days for stream in self.value_streams), default=0)

    @cached_property
    def max_idle_days(self) -> int:
        return max((stream.oldest_idle_days for stream in self.value_streams), default=0)

    @cached_property
    def with_idle_work(self) -> tuple[IdleValueStream, ...]:
        return tuple(stream for stream in self.value_streams if stream.trains)

    def for_train(self, train_id: int) -> IdleTrain | None:
        return next(
            (train for stream in self.value_streams for train in stream.trains if train.train.pk == train_id), None
        )


def idle_work(
    portfolio, today: datetime.date, *, threshold_days: int | None = None, train_id: int | None = None
) -> IdleWork:
    """Done features not covered by a passed integration point for more than N days,
    per value stream and train (seven queries, whatever the portfolio's size); with
    ``train_id``, only that train's."""
    threshold = idle_days_threshold() if threshold_days is None else threshold_days
    value_streams = list(ValueStream.objects.filter(portfolio=portfolio).order_by("name"))
    trains = list(
        Train.objects.filter(value_stream__portfolio=portfolio)
        .select_related("solution_train")
        .order_by("value_stream__name", "-kind", "name")
    )
    covered = coverage(portfolio, today=today, trains=trains)
    stream_of = {train.pk: train.value_stream_id for train in trains}
    cutoff = today - datetime.timedelta(days=threshold)
    # Let the database keep, train by train, only what was done after the latest passed
    # point covering the train (or its value stream); features covered one by one are
    # left to check here. One range per train: no join, and the train's index serves it.
    wanted = []
    for each, stream_id in stream_of.items():
        if train_id is not None and each != train_id:
            continue
        lasts = [covered.last_for_train(each), covered.last_for_value_stream(stream_id)]
        last = max((day for day in lasts if day is not None), default=None)
        if last is None:
            wanted.append(Q(train_id=each, done_on__lt=cutoff))
        elif last < cutoff:
            wanted.append(Q(train_id=each, done_on__gt=last, done_on__lt=cutoff))
    candidates = Feature.objects.filter(reduce(or_, wanted), state=WorkState.DONE) if wanted else Feature.objects.none()
    idle_by_train: dict[int, list[IdleFeature]] = defaultdict(list)
    for pk, key, name, train_pk, done_on in candidates.values_list("pk", "key", "name", "train_id", "done_on"):
        if covered.covered_on(feature_id=pk, train_id=train_pk, value_stream_id=stream_of[train_pk], done_on=done_on):
            continue
        idle_by_train[train_pk].append(
            IdleFeature(id=pk, key=key, name=name, done_on=done_on, idle_days=(today - done_on).days)
        )
    trains_of_stream: dict[int, list[IdleTrain]] = defaultdict(list)
    for train in trains:
        features = idle_by_train.get(train.pk)
        if features:
            features.sort(key=lambda f: (-f.idle_days, f.key))
            trains_of_stream[train.value_stream_id].append(
                IdleTrain(train=train, features=tuple(features), last_integrated=covered.last_for_train(train.pk))
            )
    streams = [
        IdleValueStream(
            value_stream=stream,
            trains=tuple(sorted(trains_of_stream.get(stream.pk, ()), key=lambda t: (-t.feature_days, t.train.name))),
            last_integrated=covered.last_for_value_stream(stream.pk),
        )
        for stream in value_streams
    ]
    streams.sort(key=lambda s: (-s.feature_days, s.value_stream.name))
    return IdleWork(today=today, threshold_days=threshold, value_streams=tuple(streams))


# --- Velocity ------------------------------------------------------------------------

VELOCITY_MAX_PIS = 8


@dataclass(frozen=True)
class VelocityPI:
    id: int
    name: str
    start_date: datetime.date
    end_date: datetime.date
    is_current: bool


@dataclass(frozen=True)
class VelocityRow:
    """Points passed and scheduled in each PI (in the order of ``Velocity.pis``)."""

    label: str
    key: str
    value_stream_id: int | None  # None for the whole portfolio
    passed: tuple[int, ...]
    scheduled: tuple[int, ...]

    @property
    def total_passed(self) -> int:
        return sum(self.passed)

    @property
    def total_scheduled(self) -> int:
        return sum(self.scheduled)

    @property
    def cells(self) -> list[tuple[int, int]]:
        return list(zip(self.passed, self.scheduled, strict=True))


@dataclass(frozen=True)
class Velocity:
    """Portfolio velocity: integration points passed per PI, for the portfolio (each
    point once) and per value stream, over the PIs up to the current one."""

    today: datetime.date
    pis: tuple[VelocityPI, ...]
    portfolio: VelocityRow
    value_streams: tuple[VelocityRow, ...]

    @property
    def has_points(self) -> bool:
        return self.portfolio.total_scheduled > 0

    @property
    def rows(self) -> tuple[VelocityRow, ...]:
        return (self.portfolio, *self.value_streams)

    @property
    def summary(self) -> str:
        """The chart in words, for its description."""
        if not self.pis:
            return "No PI with integration points yet."
        span = self.pis[0].name if len(self.pis) == 1 else f"{self.pis[0].name} to {self.pis[-1].name}"
        streams = "; ".join(f"{row.label}: {row.total_passed} of {row.total_scheduled}" for row in self.value_streams)
        return (
            f"From {span}, {self.portfolio.total_passed} of {self.portfolio.total_scheduled} integration points "
            f"passed. Per value stream: {streams}."
        )

    @property
    def chart(self) -> VelocityChart:
        columns = [(pi.name, "current" if pi.is_current else "", pi.is_current) for pi in self.pis]
        return velocity_chart(
            columns=columns,
            total=("All value streams", self.portfolio.cells),
            rows=[(row.label, row.key, row.cells) for row in self.value_streams],
        )


def _velocity_pis(portfolio, today: datetime.date, point_dates: list[datetime.date]) -> list[ProgramIncrement]:
    """The portfolio cadence's PIs from the first with a point to the current one (at most
    VELOCITY_MAX_PIS, the latest)."""
    if not portfolio.cadence_id:
        return []
    pis = list(ProgramIncrement.objects.filter(cadence_id=portfolio.cadence_id, start_date__lte=today))
    pis.sort(key=lambda pi: pi.start_date)
    if point_dates:
        first = min(point_dates)
        pis = [pi for pi in pis if pi.end_date >= first]
    return pis[-VELOCITY_MAX_PIS:]


def portfolio_velocity(portfolio, today: datetime.date) -> Velocity:
    """Integration points passed per PI per value stream (five queries)."""
    # Every point, so that the current PI's points still to come count as scheduled.
    points = _point_facts(IntegrationPoint.objects.filter(portfolio=portfolio))
    pis = _velocity_pis(portfolio, today, [facts.date for facts in points.values() if facts.date <= today])
    starts = [pi.start_date for pi in pis]

    def column_of(day: datetime.date) -> int | None:
        at = bisect.bisect_right(starts, day) - 1
        return at if at >= 0 and day <= pis[at].end_date else None

    columns = {pk: column_of(facts.date) for pk, facts in points.items()}
    streams_of = value_streams_by_point(integrationpoint__portfolio=portfolio)
    value_streams = list(ValueStream.objects.filter(portfolio=portfolio).order_by("name"))

    width = len(pis)
    passed = defaultdict(lambda: [0] * width)
    scheduled = defaultdict(lambda: [0] * width)
    for pk, facts in points.items():
        column = columns[pk]
        if column is None:
            continue
        for key in (None, *streams_of.get(pk, ())):
            scheduled[key][column] += 1
            if facts.passed:
                passed[key][column] += 1

    def row(label: str, key: str, stream_id: int | None) -> VelocityRow:
        return VelocityRow(
            label=label,
            key=key,
            value_stream_id=stream_id,
            passed=tuple(passed[stream_id]) if stream_id in passed else (0,) * width,
            scheduled=tuple(scheduled[stream_id]) if stream_id in scheduled else (0,) * width,
        )

    return Velocity(
        today=today,
        pis=tuple(
            VelocityPI(
                id=pi.pk, name=pi.name, start_date=pi.start_date, end_date=pi.end_date, is_current=pi.contains(today)
            )
            for pi in pis
        ),
        portfolio=row("All value streams", "", None),
        value_streams=tuple(row(stream.name, stream.key, stream.pk) for stream in value_streams),
    )


# --- The economics of a value stream's integration cadence ----------------------------

# Heuristics for the first estimate of the costs (in person-days) before an APMO saves
# their own figures. An integration takes about a person-week per train taking part
# (environments, integration tests, the demo; automation lowers it). A done feature
# waiting a day for integration costs about a tenth of a person-day (feedback deferred,
# rework found later and dearer).
TRANSACTION_COST_PER_TRAIN = 5.0
IDLE_FEATURE_DAY_COST = 0.1
ESTIMATE_UNIT = "person-days"
DEFAULT_PI_LENGTH_DAYS = 70


@dataclass(frozen=True)
class EconomicsHistory:
    """What a value stream's history says of its integration, over the last PI."""

    window_start: datetime.date
    window_days: int
    idle_feature_days: float  # feature-days done work waited for a passed point, in the window
    features_done: int  # in the window
    mean_trains_per_point: float | None
    trains: int
    actual_interval: float | None  # mean days between its passed points in the last two PIs
    points_counted: int

    @property
    def mean_idle_features(self) -> float:
        """Features waiting for integration on an average day of the window."""
        return self.idle_feature_days / self.window_days if self.window_days else 0.0


@dataclass(frozen=True)
class CostEstimate:
    transaction_cost: float | None
    holding_cost_per_day: float | None
    unit: str
    interval_used: float | None  # the interval the holding estimate divides by


@dataclass(frozen=True)
class EconomicsPage:
    """A value stream's integration economics: the figures (saved, or estimated from its
    history), the U-curve over candidate intervals, T* and the current intervals."""

    value_stream: ValueStream
    cadence: Cadence | None
    saved: IntegrationEconomics | None
    history: EconomicsHistory
    estimate: CostEstimate
    transaction_cost: float | None
    holding_cost_per_day: float | None
    unit: str
    source: str  # "saved", "estimate" or "" (nothing to draw)
    curve: economics.UCurve | None
    cadence_interval: int | None
    at_cadence: economics.CurvePoint | None
    at_actual: economics.CurvePoint | None
    chart: UCurveChart | None

    @property
    def optimum(self) -> economics.CurvePoint | None:
        return self.curve.optimum if self.curve else None

    @property
    def saving_per_day(self) -> float | None:
        """What moving from the cadence interval to T* saves per day."""
        if self.curve is None or self.at_cadence is None:
            return None
        return self.at_cadence.total - self.curve.optimum.total

    @property
    def pi_length_days(self) -> int:
        return self.cadence.pi_length_days if self.cadence else DEFAULT_PI_LENGTH_DAYS

    @property
    def summary(self) -> str:
        """The chart in words, for its description."""
        if self.curve is None:
            return "No costs yet to draw the curve."
        optimum = self.curve.optimum
        parts = [
            f"The total cost per day is least at T* = {optimum.interval:.1f} days: {optimum.total:.2f} {self.unit} a day."
        ]
        if self.at_cadence is not None:
            parts.append(
                f"At the cadence's {self.at_cadence.interval:g}-day iteration it is {self.at_cadence.total:.2f} {self.unit} a day."
            )
        if self.at_actual is not None:
            parts.append(
                f"At the {self.at_actual.interval:g} days actually seen between passed points it is "
                f"{self.at_actual.total:.2f} {self.unit} a day."
            )
        return " ".join(parts)

    @property
    def table_rows(self) -> list[tuple[economics.CurvePoint, str]]:
        """The curve every week, with T* and the current intervals marked, for its table."""
        if self.curve is None:
            return []
        longest = self.curve.points[-1].interval
        rows = {float(days): "" for days in [1, *range(7, int(longest) + 1, 7)]}
        for point, label in ((self.curve.optimum, "T*"), (self.at_cadence, "cadence"), (self.at_actual, "actual")):
            if point is not None:
                rows[round(point.interval, 1)] = " · ".join(filter(None, [rows.get(round(point.interval, 1)), label]))
        return [(self.curve.at(interval), label) for interval, label in sorted(rows.items())]


def effective_cadence(value_stream: ValueStream) -> Cadence | None:
    """The cadence the value stream follows: its own, else its portfolio's (loaded with it)."""
    return value_stream.cadence or value_stream.portfolio.cadence


def value_stream_for_economics(*, value_streams: QuerySet[ValueStream], value_stream_id: int) -> ValueStream:
    """One value stream (of those given) with its cadences and saved figures (one query)."""
    return value_streams.select_related("portfolio__cadence", "cadence", "integration_economics").get(
        pk=value_stream_id
    )


def economics_history(value_stream: ValueStream, *, today: datetime.date, cadence: Cadence | None) -> EconomicsHistory:
    """Idle feature-days, features done, trains per point and the actual spacing of
    passed points of one value stream (seven queries)."""
    portfolio = value_stream.portfolio
    pi_days = cadence.pi_length_days if cadence else DEFAULT_PI_LENGTH_DAYS
    window_start = today - datetime.timedelta(days=pi_days)
    trains = list(
        Train.objects.filter(value_stream__portfolio=portfolio).only("pk", "solution_train_id", "value_stream_id")
    )
    covered = coverage(portfolio, today=today, trains=trains)
    own_trains = {train.pk for train in trains if train.value_stream_id == value_stream.pk}

    idle_days, done_in_window = 0.0, 0
    features = Feature.objects.filter(train__value_stream=value_stream, state=WorkState.DONE, done_on__lt=today)
    for pk, train_id, done_on in features.values_list("pk", "train_id", "done_on"):
        if done_on >= window_start:
            done_in_window += 1
        until = covered.covered_on(feature_id=pk, train_id=train_id, value_stream_id=value_stream.pk, done_on=done_on)
        start, end = max(done_on, window_start), min(until or today, today)
        if end > start:
            idle_days += (end - start).days

    # The value stream's points of the last two PIs: trains taking part, and spacing.
    since = today - datetime.timedelta(days=2 * pi_days)
    recent = IntegrationPoint.objects.filter(portfolio=portfolio, date__range=(since, today)).filter(
        Q(value_streams=value_stream) | Q(trains__value_stream=value_stream)
    )
    facts = _point_facts(recent.distinct())
    train_counts = defaultdict(int)
    for point_id in IntegrationPoint.trains.through.objects.filter(integrationpoint_id__in=list(facts)).values_list(
        "integrationpoint_id", flat=True
    ):
        train_counts[point_id] += 1
    passed_dates = sorted({f.date for f in facts.values() if f.passed})
    actual = (passed_dates[-1] - passed_dates[0]).days / (len(passed_dates) - 1) if len(passed_dates) > 1 else None
    return EconomicsHistory(
        window_start=window_start,
        window_days=pi_days,
        idle_feature_days=idle_days,
        features_done=done_in_window,
        mean_trains_per_point=(sum(train_counts.values()) / len(facts)) if facts else None,
        trains=len(own_trains),
        actual_interval=round(actual, 1) if actual else None,
        points_counted=len(facts),
    )


def estimate_costs(history: EconomicsHistory, *, cadence_interval: int | None) -> CostEstimate:
    """First figures from history (person-days):

    - transaction cost: TRANSACTION_COST_PER_TRAIN × the mean number of trains taking
      part in its recent points (else × its own trains);
    - holding cost per day h: the model's idle work at interval T is (h / c) × T / 2
      features, with c = IDLE_FEATURE_DAY_COST per feature-day; so from the observed
      mean idle features I and the interval T actually seen (else the cadence's),
      h = 2 × c × I / T. None when nothing was idle (or there is no interval).
    """
    trains = history.mean_trains_per_point or history.trains
    transaction = round(TRANSACTION_COST_PER_TRAIN * trains, 2) if trains else None
    interval = history.actual_interval or cadence_interval
    holding = None
    if interval and history.idle_feature_days > 0:
        holding = round(2 * IDLE_FEATURE_DAY_COST * history.mean_idle_features / interval, 3) or None
    return CostEstimate(
        transaction_cost=transaction, holding_cost_per_day=holding, unit=ESTIMATE_UNIT, interval_used=interval
    )


def integration_economics(value_stream: ValueStream, *, today: datetime.date) -> EconomicsPage:
    """The economics page of a value stream loaded by ``value_stream_for_economics``."""
    cadence = effective_cadence(value_stream)
    saved = getattr(value_stream, "integration_economics", None)
    history = economics_history(value_stream, today=today, cadence=cadence)
    cadence_interval = cadence.iteration_length_days if cadence else None
    estimate = estimate_costs(history, cadence_interval=cadence_interval)
    if saved is not None:
        transaction, holding, unit, source = (
            float(saved.transaction_cost),
            float(saved.holding_cost_per_day),
            saved.unit,
            "saved",
        )
    else:
        transaction, holding, unit = estimate.transaction_cost, estimate.holding_cost_per_day, estimate.unit
        source = "estimate" if transaction and holding else ""
    curve = at_cadence = at_actual = chart = None
    if source:
        optimum = economics.optimal_interval(transaction_cost=transaction, holding_cost_per_day=holding)
        pi_days = cadence.pi_length_days if cadence else DEFAULT_PI_LENGTH_DAYS
        intervals = economics.candidate_intervals(
            pi_length=pi_days, include=(optimum, cadence_interval, history.actual_interval)
        )
        curve = economics.u_curve(intervals, transaction_cost=transaction, holding_cost_per_day=holding)
        at_cadence = curve.at(cadence_interval) if cadence_interval else None
        at_actual = curve.at(history.actual_interval) if history.actual_interval else None
        chart = _u_curve_chart(curve, at_cadence=at_cadence, at_actual=at_actual, unit=unit)
    return EconomicsPage(
        value_stream=value_stream,
        cadence=cadence,
        saved=saved,
        history=history,
        estimate=estimate,
        transaction_cost=transaction,
        holding_cost_per_day=holding,
        unit=unit,
        source=source,
        curve=curve,
        cadence_interval=cadence_interval,
        at_cadence=at_cadence,
        at_actual=at_actual,
        chart=chart,
    )


def _days_label(days: float) -> str:
    return f"{days:.1f}".rstrip("0").rstrip(".") + (" day" if math.isclose(days, 1) else " days")


def _u_curve_chart(curve, *, at_cadence, at_actual, unit: str) -> UCurveChart:
    def cost(point) -> str:
        return f"{point.total:,.2f} {unit}/day"

    markers = [
        (
            "optimum",
            curve.optimum.interval,
            curve.optimum.total,
            f"T* = {_days_label(curve.optimum.interval)}",
            cost(curve.optimum),
        )
    ]
    if at_cadence is not None:
        markers.append(
            (
                "cadence",
                at_cadence.interval,
                at_cadence.total,
                f"Cadence: {_days_label(at_cadence.interval)}",
                cost(at_cadence),
            )
        )
    if at_actual is not None:
        markers.append(
            (
                "actual",
                at_actual.interval,
                at_actual.total,
                f"Actual: {_days_label(at_actual.interval)}",
                cost(at_actual),
            )
        )
    return u_curve_chart(
        intervals=[p.interval for p in curve.points],
        totals=[p.total for p in curve.points],
        transactions=[p.transaction for p in curve.points],
        holdings=[p.holding for p in curve.points],
        markers=markers,
        unit=unit,
    )


def economics_save(
    *,
    actor,
    value_stream: ValueStream,
    transaction_cost: Decimal,
    holding_cost_per_day: Decimal,
    unit: str,
    expected_version: int | None,
) -> IntegrationEconomics:
    """Save a value stream's cost figures (APMO). ``expected_version`` is the version the
    editor saw (0: none saved yet); if someone saved since, StaleVersion carries theirs."""
    if actor is not None and not actor.has_perm(CHANGE_ECONOMICS, value_stream):
        raise PermissionDenied("Only the portfolio's APMO may set the costs of integration.")
    changes = {
        "transaction_cost": transaction_cost,
        "holding_cost_per_day": holding_cost_per_day,
        "unit": unit,
        "updated_by": actor,
    }
    current = IntegrationEconomics.objects.filter(value_stream=value_stream).first()
    if current is not None:
        if expected_version == 0:
            raise StaleVersion(current)
        return update_versioned(current, expected_version=expected_version, changes=changes)
    row = IntegrationEconomics(value_stream=value_stream, **changes)
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # Someone saved the first figures at the same moment.
        current = IntegrationEconomics.objects.filter(value_stream=value_stream).first()
        if current is None:
            raise ValidationError("The figures could not be saved: try again.") from None
        raise StaleVersion(current) from None
    return row
