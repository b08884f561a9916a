"""Reads of value streams and trains, scoped to what a user may see, with their
related rows chosen up front so that lists cost a fixed number of queries."""

import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from portfolio.permissions import visible_portfolio_ids

from .models import Dependency, StatusReport, Team, Train, TrainKind, ValueStream


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
