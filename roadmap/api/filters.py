"""Filter sets of the roadmap API: capabilities, features and milestones. Choices of
related objects come from the request user's visibility selectors, so a filter never
offers (or confirms) an object of a portfolio the user is not a member of."""

import django_filters
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cadence.models import Iteration, ProgramIncrement
from portfolio.filters import visible_choices
from portfolio.models import Epic, Portfolio
from portfolio.selectors import epics_visible_to, portfolios_visible_to
from valuestreams.models import Capability, Commitment, Feature, Train, ValueStream, WorkState
from valuestreams.selectors import (
    iterations_visible_to,
    program_increments_visible_to,
    trains_visible_to,
    value_streams_visible_to,
)

from ..models import Milestone, MilestoneKind


def capabilities_visible_to(user):
    return Capability.objects.filter(train__in=trains_visible_to(user).values("pk"))


class _WorkFilterSet(django_filters.FilterSet):
    """What capabilities and features share: where they are and where they are placed."""

    q = django_filters.CharFilter(method="filter_q", label="Key or name contains")
    portfolio = django_filters.ModelChoiceFilter(
        field_name="train__value_stream__portfolio", queryset=visible_choices(portfolios_visible_to, Portfolio)
    )
    value_stream = django_filters.ModelChoiceFilter(
        field_name="train__value_stream", queryset=visible_choices(value_streams_visible_to, ValueStream)
    )
    train = django_filters.ModelChoiceFilter(queryset=visible_choices(trains_visible_to, Train))
    epic = django_filters.ModelChoiceFilter(queryset=visible_choices(epics_visible_to, Epic))
    program_increment = django_filters.ModelChoiceFilter(
        queryset=visible_choices(program_increments_visible_to, ProgramIncrement)
    )
    unplaced = django_filters.BooleanFilter(
        field_name="program_increment", lookup_expr="isnull", label="Not placed on a PI"
    )
    commitment = django_filters.ChoiceFilter(choices=Commitment.choices)
    state = django_filters.ChoiceFilter(choices=WorkState.choices)

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(key__icontains=value) | Q(name__icontains=value))


class CapabilityFilterSet(_WorkFilterSet):
    class Meta:
        model = Capability
        fields = [
            "q",
            "portfolio",
            "value_stream",
            "train",
            "epic",
            "program_increment",
            "unplaced",
            "commitment",
            "state",
        ]


class FeatureFilterSet(_WorkFilterSet):
    epic = django_filters.ModelChoiceFilter(
        method="filter_epic",
        queryset=visible_choices(epics_visible_to, Epic),
        label="Epic (its own, or its capability's)",
    )
    capability = django_filters.ModelChoiceFilter(queryset=visible_choices(capabilities_visible_to, Capability))
    iteration = django_filters.ModelChoiceFilter(queryset=visible_choices(iterations_visible_to, Iteration))

    class Meta:
        model = Feature
        fields = [
            "q", "portfolio", "value_stream", "train", "epic", "capability", "program_increment", "iteration",
            "unplaced", "commitment", "state",
        ]  # fmt: skip

    @extend_schema_field(OpenApiTypes.INT)
    def filter_epic(self, queryset, name, epic):
        return queryset.filter(Q(epic=epic) | Q(epic__isnull=True, capability__epic=epic))


class MilestoneFilterSet(django_filters.FilterSet):
    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))
    train = django_filters.ModelChoiceFilter(queryset=visible_choices(trains_visible_to, Train))
    portfolio_level = django_filters.BooleanFilter(
        field_name="train", lookup_expr="isnull", label="On the portfolio roadmap (no train)"
    )
    kind = django_filters.ChoiceFilter(choices=MilestoneKind.choices)
    program_increment = django_filters.ModelChoiceFilter(
        queryset=visible_choices(program_increments_visible_to, ProgramIncrement)
    )
    after = django_filters.DateFilter(field_name="date", lookup_expr="gte", label="On or after")
    before = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="On or before")

    class Meta:
        model = Milestone
        fields = ["portfolio", "train", "portfolio_level", "kind", "program_increment", "after", "before"]
