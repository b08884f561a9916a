"""Filter sets of the cadence API, one per model. Choices of cadences, PIs and
portfolios come from the request user's visibility, so a filter never offers (or
confirms) an object of a portfolio the user is not a member of."""

import django_filters
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from portfolio.filters import visible_choices
from portfolio.models import Portfolio
from portfolio.permissions import visible_portfolio_ids
from portfolio.selectors import portfolios_visible_to

from ..models import Cadence, CadenceEvent, CadenceEventKind, Iteration, ProgramIncrement
from ..selectors import cadences_used_by, program_increments_used_by


def cadences_visible_to(user):
    return cadences_used_by(visible_portfolio_ids(user))


def program_increments_visible_to(user):
    return program_increments_used_by(visible_portfolio_ids(user))


class _CadenceScopedFilterSet(django_filters.FilterSet):
    """``cadence`` and ``portfolio`` (every cadence the portfolio, its value streams or
    its trains follow), along the lookup path ``cadence_path`` to the row's cadence."""

    cadence_path = "cadence"

    cadence = django_filters.ModelChoiceFilter(
        queryset=visible_choices(cadences_visible_to, Cadence), method="filter_cadence"
    )
    portfolio = django_filters.ModelChoiceFilter(
        queryset=visible_choices(portfolios_visible_to, Portfolio),
        method="filter_portfolio",
        label="Portfolio (the cadences it and its value streams and trains follow)",
    )

    @extend_schema_field(OpenApiTypes.INT)
    def filter_cadence(self, queryset, name, cadence):
        return queryset.filter(**{f"{self.cadence_path}_id": cadence.pk})

    @extend_schema_field(OpenApiTypes.INT)
    def filter_portfolio(self, queryset, name, portfolio):
        return queryset.filter(**{f"{self.cadence_path}__in": cadences_used_by([portfolio.pk])})


class _CurrentFilterMixin(django_filters.FilterSet):
    current = django_filters.BooleanFilter(method="filter_current", label="Includes today")

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_current(self, queryset, name, value):
        today = timezone.localdate()
        contains_today = {"start_date__lte": today, "end_date__gte": today}
        return queryset.filter(**contains_today) if value else queryset.exclude(**contains_today)


class CadenceFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    portfolio = django_filters.ModelChoiceFilter(
        queryset=visible_choices(portfolios_visible_to, Portfolio),
        method="filter_portfolio",
        label="Portfolio (the cadences it and its value streams and trains follow)",
    )

    class Meta:
        model = Cadence
        fields = ["q", "portfolio"]

    @extend_schema_field(OpenApiTypes.INT)
    def filter_portfolio(self, queryset, name, portfolio):
        return queryset.filter(pk__in=cadences_used_by([portfolio.pk]))


class ProgramIncrementFilterSet(_CadenceScopedFilterSet, _CurrentFilterMixin):
    ends_after = django_filters.DateFilter(field_name="end_date", lookup_expr="gte", label="Ends on or after")
    starts_before = django_filters.DateFilter(field_name="start_date", lookup_expr="lte", label="Starts on or before")

    class Meta:
        model = ProgramIncrement
        fields = ["cadence", "portfolio", "current", "number", "ends_after", "starts_before"]


class IterationFilterSet(_CadenceScopedFilterSet, _CurrentFilterMixin):
    cadence_path = "program_increment__cadence"
    program_increment = django_filters.ModelChoiceFilter(
        queryset=visible_choices(program_increments_visible_to, ProgramIncrement)
    )

    class Meta:
        model = Iteration
        fields = ["cadence", "portfolio", "program_increment", "current", "is_innovation_planning"]


class CadenceEventFilterSet(_CadenceScopedFilterSet):
    cadence_path = "program_increment__cadence"
    program_increment = django_filters.ModelChoiceFilter(
        queryset=visible_choices(program_increments_visible_to, ProgramIncrement)
    )
    kind = django_filters.ChoiceFilter(choices=CadenceEventKind.choices)
    starts_after = django_filters.DateFilter(field_name="start_date", lookup_expr="gte", label="Starts on or after")
    starts_before = django_filters.DateFilter(field_name="start_date", lookup_expr="lte", label="Starts on or before")

    class Meta:
        model = CadenceEvent
        fields = ["cadence", "portfolio", "program_increment", "kind", "starts_after", "starts_before"]
