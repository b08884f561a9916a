"""Filter sets of value streams, trains and teams, one per model, shared by the pages
and the API. Related choices come from the request user's visibility selectors."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from portfolio.filters import members_visible_to, visible_choices
from portfolio.models import Portfolio
from portfolio.selectors import portfolios_visible_to

from .models import Team, TeamKind, Train, TrainKind, ValueStream
from .selectors import trains_visible_to, value_streams_visible_to


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
