"""Filter sets of the portfolio level, one per model, shared by the pages and the API.

Choices of related objects come from the visibility selectors of the request's user,
so a filter never offers (or confirms) an object of another portfolio.
"""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from cadence.models import ProgramIncrement

from .models import (
    WIP_LIMITED_STATES,
    Epic,
    EpicKind,
    EpicState,
    Membership,
    Portfolio,
    Role,
    StrategicTheme,
    Terminology,
    WipLimit,
)
from .permissions import visible_portfolio_ids
from .selectors import portfolios_visible_to


def visible_choices(selector, model):
    """A ModelChoiceFilter queryset: ``selector(request.user)``, nothing without a request."""

    def queryset(request):
        if request is None:
            return model._default_manager.none()
        return selector(request.user)

    return queryset


def members_visible_to(user):
    """People who share a portfolio with ``user``."""
    return get_user_model().objects.filter(memberships__portfolio__in=portfolios_visible_to(user)).distinct()


class PortfolioFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    terminology = django_filters.ChoiceFilter(choices=Terminology.choices)

    class Meta:
        model = Portfolio
        fields = ["q", "slug", "terminology"]


class MembershipFilterSet(django_filters.FilterSet):
    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))
    user = django_filters.ModelChoiceFilter(queryset=visible_choices(members_visible_to, get_user_model()))
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["portfolio", "user", "role"]


def themes_visible_to(user):
    return StrategicTheme.objects.filter(portfolio_id__in=visible_portfolio_ids(user))


def _value_streams():
    """Value streams, reached through the epics' relation to them: the valuestreams app
    sits above this one, so its models are not imported."""
    return Epic._meta.get_field("value_streams").related_model._default_manager


def epic_value_streams_visible_to(request):
    if request is None:
        return _value_streams().none()
    return _value_streams().filter(portfolio_id__in=visible_portfolio_ids(request.user))


def program_increments_visible_to(user):
    """PIs of the cadences the user's portfolios follow (epics target those)."""
    return ProgramIncrement.objects.filter(cadence__portfolios__in=visible_portfolio_ids(user)).distinct()


class EpicFilterSet(django_filters.FilterSet):
    """Epics by text, Kanban column, kind, value stream, strategic theme, target PI and
    owner: the Kanban page and /api/v1/epics/ filter with the same parameters.

    Pass ``portfolio`` to offer only that portfolio's value streams, themes and PIs (the
    pages work in one portfolio; the API spans the user's portfolios).
    """

    q = django_filters.CharFilter(method="filter_q", label="Key or title contains")
    state = django_filters.ChoiceFilter(choices=EpicState.choices, label="Kanban column")
    kind = django_filters.ChoiceFilter(choices=EpicKind.choices, empty_label="Business and enabler")
    value_stream = django_filters.ModelChoiceFilter(
        field_name="value_streams",
        queryset=epic_value_streams_visible_to,
        empty_label="All value streams",
    )
    theme = django_filters.ModelChoiceFilter(
        field_name="themes",
        queryset=visible_choices(themes_visible_to, StrategicTheme),
        label="Strategic theme",
        empty_label="All themes",
    )
    target_pi = django_filters.ModelChoiceFilter(
        queryset=visible_choices(program_increments_visible_to, ProgramIncrement),
        label="Target PI",
        empty_label="Any target PI",
    )
    owner = django_filters.ModelChoiceFilter(queryset=visible_choices(members_visible_to, get_user_model()))
    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))

    class Meta:
        model = Epic
        fields = ["q", "state", "kind", "value_stream", "theme", "target_pi", "owner", "portfolio"]

    def __init__(self, *args, portfolio: Portfolio | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if portfolio is not None:
            self.filters["value_stream"].queryset = _value_streams().filter(portfolio=portfolio)
            self.filters["theme"].queryset = StrategicTheme.objects.filter(portfolio=portfolio)
            self.filters["target_pi"].queryset = ProgramIncrement.objects.filter(cadence_id=portfolio.cadence_id)

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(key__icontains=value) | Q(title__icontains=value))

    @property
    def is_filtering(self) -> bool:
        """Whether any filter narrows the epics (the form was sent with a value)."""
        return self.is_bound and self.is_valid() and any(v not in (None, "") for v in self.form.cleaned_data.values())


class WipLimitFilterSet(django_filters.FilterSet):
    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))
    state = django_filters.ChoiceFilter(choices=[(s.value, s.label) for s in WIP_LIMITED_STATES])

    class Meta:
        model = WipLimit
        fields = ["portfolio", "state"]
