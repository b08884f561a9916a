"""The filter set of integration points, shared by the list page and the API. Choices of
related objects come from the request user's visibility; a page working in one
portfolio passes ``portfolio=`` to limit the results and the choices to it."""

import django_filters
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cadence.models import ProgramIncrement
from portfolio.filters import visible_choices
from portfolio.models import Portfolio
from portfolio.selectors import portfolios_visible_to
from valuestreams.filters import TrainChoiceFilter, solution_trains_visible_to
from valuestreams.models import Train, ValueStream
from valuestreams.selectors import (
    program_increments_in,
    program_increments_visible_to,
    trains_visible_to,
    value_streams_visible_to,
)

from ..models import Depth, IntegrationPoint, Outcome

UPCOMING = "upcoming"
PAST = "past"
ALL = "all"


class IntegrationPointFilterSet(django_filters.FilterSet):
    """Points by name, portfolio, PI, value stream or train taking part, owning solution
    train, outcome, depth, upcoming or past (as of ``today``), and date range."""

    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))
    pi = django_filters.ModelChoiceFilter(
        field_name="program_increment",
        queryset=visible_choices(program_increments_visible_to, ProgramIncrement),
        label="PI",
    )
    value_stream = django_filters.ModelChoiceFilter(
        field_name="value_streams",
        queryset=visible_choices(value_streams_visible_to, ValueStream),
        label="Value stream",
        distinct=True,
    )
    train = TrainChoiceFilter(
        field_name="trains", queryset=visible_choices(trains_visible_to, Train), label="Train", distinct=True
    )
    solution_train = TrainChoiceFilter(
        queryset=visible_choices(solution_trains_visible_to, Train), label="Solution train"
    )
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, label="Outcome")
    depth = django_filters.ChoiceFilter(choices=Depth.choices, label="Depth")
    when = django_filters.ChoiceFilter(
        method="filter_when",
        choices=[(UPCOMING, "Upcoming (today or later)"), (PAST, "Past"), (ALL, "Any date")],
        label="When",
        empty_label=None,
    )
    date_after = django_filters.DateFilter(field_name="date", lookup_expr="gte", label="On or after")
    date_before = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="On or before")

    class Meta:
        model = IntegrationPoint
        fields = [
            "q",
            "portfolio",
            "pi",
            "value_stream",
            "train",
            "solution_train",
            "outcome",
            "depth",
            "when",
            "date_after",
            "date_before",
        ]

    def __init__(self, data=None, queryset=None, *, portfolio: Portfolio | None = None, today=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.today = today or timezone.localdate()
        if portfolio is not None:
            del self.filters["portfolio"]
            self.queryset = self.queryset.filter(portfolio=portfolio)
            trains = Train.objects.filter(value_stream__portfolio=portfolio).select_related("value_stream")
            self.filters["pi"].queryset = program_increments_in([portfolio.pk]).order_by("start_date")
            self.filters["value_stream"].queryset = ValueStream.objects.filter(portfolio=portfolio).order_by("name")
            self.filters["train"].queryset = trains.order_by("value_stream__name", "name")
            self.filters["solution_train"].queryset = trains.filter(kind="solution").order_by("name")

    @extend_schema_field(OpenApiTypes.STR)
    def filter_when(self, queryset, name, value):
        if value == UPCOMING:
            return queryset.filter(date__gte=self.today)
        if value == PAST:
            return queryset.filter(date__lt=self.today).order_by("-date", "-pk")  # the latest first
        return queryset
