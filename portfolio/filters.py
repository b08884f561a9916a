"""Filter sets of the portfolio level, one per model, shared by the pages and the API.

Choices of related objects come from the visibility selectors of the request's user,
so a filter never offers (or confirms) an object of another portfolio.
"""

import django_filters
from django.contrib.auth import get_user_model

from .models import Membership, Portfolio, Role, Terminology
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
