"""Filter sets of value streams, trains, teams, status reports and dependencies, one per
model, shared by the pages and the API. Related choices come from the request user's
visibility selectors."""

import datetime

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cadence.models import ProgramIncrement
from portfolio.filters import members_visible_to, visible_choices
from portfolio.models import Portfolio
from portfolio.selectors import portfolios_visible_to

from .models import (
    OPEN_DEPENDENCY_STATES,
    Dependency,
    DependencyFlag,
    DependencyState,
    Health,
    StatusReport,
    Team,
    TeamKind,
    Train,
    TrainKind,
    ValueStream,
)
from .selectors import (
    latest_status_ids,
    program_increments_in,
    program_increments_visible_to,
    trains_visible_to,
    value_streams_visible_to,
)


def solution_trains_visible_to(user):
    return trains_visible_to(user).filter(kind=TrainKind.SOLUTION)


class NameOrKeyFilterSet(django_filters.FilterSet):
    """``q``: the name or the key contains the text (case-insensitive)."""

    q = django_filters.CharFilter(method="filter_q", label="Name or key contains")

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(key__icontains=value))


class ValueStreamFilterSet(NameOrKeyFilterSet):
    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))

    class Meta:
        model = ValueStream
        fields = ["q", "portfolio", "key"]


class TrainFilterSet(NameOrKeyFilterSet):
    kind = django_filters.ChoiceFilter(choices=TrainKind.choices)
    portfolio = django_filters.ModelChoiceFilter(
        field_name="value_stream__portfolio", queryset=visible_choices(portfolios_visible_to, Portfolio)
    )
    value_stream = django_filters.ModelChoiceFilter(queryset=visible_choices(value_streams_visible_to, ValueStream))
    solution_train = django_filters.ModelChoiceFilter(queryset=visible_choices(solution_trains_visible_to, Train))
    engineer = django_filters.ModelChoiceFilter(queryset=visible_choices(members_visible_to, get_user_model()))

    class Meta:
        model = Train
        fields = ["q", "kind", "portfolio", "value_stream", "solution_train", "engineer", "key"]


class TeamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    kind = django_filters.ChoiceFilter(choices=TeamKind.choices)
    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))
    train = django_filters.ModelChoiceFilter(queryset=visible_choices(trains_visible_to, Train), label="Home train")
    serves = django_filters.ModelChoiceFilter(
        queryset=visible_choices(trains_visible_to, Train), label="Serves the train"
    )

    class Meta:
        model = Team
        fields = ["q", "kind", "portfolio", "train", "serves"]


class TrainChoiceField(forms.ModelChoiceField):
    """A train named with its value stream: trains of two value streams may share a name."""

    def label_from_instance(self, train):
        return f"{train.name} ({train.value_stream.name})"


class TrainChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = TrainChoiceField


def yes_no_any(yes: str, no: str):
    """A select for a yes/no filter that reads well in a form and takes true/false in a URL."""
    return forms.Select(choices=[("", "Any"), ("true", yes), ("false", no)])


class StatusReportFilterSet(django_filters.FilterSet):
    """Train status reports: of a train or value stream, by health, since a date;
    ``latest=true`` keeps each train's current report only."""

    train = TrainChoiceFilter(queryset=visible_choices(trains_visible_to, Train))
    value_stream = django_filters.ModelChoiceFilter(
        field_name="train__value_stream", queryset=visible_choices(value_streams_visible_to, ValueStream)
    )
    portfolio = django_filters.ModelChoiceFilter(
        field_name="train__value_stream__portfolio", queryset=visible_choices(portfolios_visible_to, Portfolio)
    )
    health = django_filters.ChoiceFilter(choices=Health.choices)
    since = django_filters.DateFilter(
        method="filter_since", label="Posted on or after", help_text="A date, e.g. 2026-11-02."
    )
    latest = django_filters.BooleanFilter(
        method="filter_latest",
        label="Latest only",
        widget=yes_no_any("Each train's latest report", "Earlier reports"),
    )

    class Meta:
        model = StatusReport
        fields = ["train", "value_stream", "portfolio", "health", "since", "latest"]

    def filter_since(self, queryset, name, value: datetime.date):
        start = datetime.datetime.combine(value, datetime.time.min, tzinfo=timezone.get_current_timezone())
        return queryset.filter(created_at__gte=start)

    def filter_latest(self, queryset, name, value: bool):
        latest = latest_status_ids(Train.objects.all())
        return queryset.filter(pk__in=latest) if value else queryset.exclude(pk__in=latest)


OPEN = "open"
FLAGGED = "flagged"


class DependencyFilterSet(django_filters.FilterSet):
    """Dependencies by needed-by PI, value stream or train (either side), consumer,
    provider, state, flag, text; only cross-value-stream ones; only late ones.

    The dependency list page, the map and the API all use it with the same names. A
    page working in one portfolio passes ``portfolio=``: the results are limited to it,
    its choices are that portfolio's PIs, value streams and trains, and the form has no
    portfolio field. ``today`` (default: the local date) decides what is late.
    """

    q = django_filters.CharFilter(method="filter_q", label="Key or title contains")
    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))
    pi = django_filters.ModelChoiceFilter(
        field_name="needed_by_pi",
        queryset=visible_choices(program_increments_visible_to, ProgramIncrement),
        label="Needed by PI",
    )
    value_stream = django_filters.ModelChoiceFilter(
        method="filter_value_stream",
        queryset=visible_choices(value_streams_visible_to, ValueStream),
        label="Value stream (either side)",
    )
    train = TrainChoiceFilter(
        method="filter_train", queryset=visible_choices(trains_visible_to, Train), label="Train (either side)"
    )
    consumer = TrainChoiceFilter(queryset=visible_choices(trains_visible_to, Train), label="Consumer (needs it)")
    provider = TrainChoiceFilter(queryset=visible_choices(trains_visible_to, Train), label="Provider (gives it)")
    state = django_filters.ChoiceFilter(
        method="filter_state",
        choices=[(OPEN, "Open (requested, accepted or committed)"), *DependencyState.choices],
        label="State",
    )
    flag = django_filters.ChoiceFilter(
        method="filter_flag",
        choices=[
            (FLAGGED, "At risk or blocked"),
            (DependencyFlag.AT_RISK, "At risk"),
            (DependencyFlag.BLOCKED, "Blocked"),
        ],
        label="Flag",
    )
    cross_value_stream = django_filters.BooleanFilter(
        method="filter_cross_value_stream",
        label="Cross-value-stream",
        widget=yes_no_any("Only across value streams", "Only within a value stream"),
    )
    late = django_filters.BooleanFilter(
        method="filter_late", label="Late", widget=yes_no_any("Only late", "Only not late")
    )

    class Meta:
        model = Dependency
        fields = [
            "q",
            "portfolio",
            "pi",
            "value_stream",
            "train",
            "consumer",
            "provider",
            "state",
            "flag",
            "cross_value_stream",
            "late",
        ]

    def __init__(self, data=None, queryset=None, *, portfolio: Portfolio | None = None, today=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.portfolio = portfolio
        self.today = today or timezone.localdate()
        if portfolio is not None:
            del self.filters["portfolio"]
            self.queryset = self.queryset.filter(portfolio=portfolio)
            trains = Train.objects.filter(value_stream__portfolio=portfolio).select_related("value_stream")
            self.filters["pi"].queryset = program_increments_in([portfolio.pk])
            self.filters["value_stream"].queryset = ValueStream.objects.filter(portfolio=portfolio)
            for name in ("train", "consumer", "provider"):
                self.filters[name].queryset = trains

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(key__icontains=value) | Q(title__icontains=value))

    @extend_schema_field(OpenApiTypes.INT)  # the API takes the value stream's id
    def filter_value_stream(self, queryset, name, value):
        return queryset.filter(Q(consumer__value_stream=value) | Q(provider__value_stream=value))

    @extend_schema_field(OpenApiTypes.INT)
    def filter_train(self, queryset, name, value):
        return queryset.filter(Q(consumer=value) | Q(provider=value))

    def filter_state(self, queryset, name, value):
        return queryset.filter(state__in=OPEN_DEPENDENCY_STATES) if value == OPEN else queryset.filter(state=value)

    def filter_flag(self, queryset, name, value):
        if value == FLAGGED:
            return queryset.exclude(flag=DependencyFlag.NONE)
        return queryset.filter(flag=value)

    def filter_cross_value_stream(self, queryset, name, value: bool):
        if value:
            return queryset.cross_value_stream()
        return queryset.filter(consumer__value_stream_id=F("provider__value_stream_id"))

    def filter_late(self, queryset, name, value: bool):
        if value:
            return queryset.late(self.today)
        return queryset.exclude(pk__in=Dependency.objects.late(self.today).values("pk"))
