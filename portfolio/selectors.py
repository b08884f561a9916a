"""Reads at the portfolio level, scoped to what a user may see."""

from django.db.models import QuerySet

from .models import Epic, Membership, Portfolio
from .permissions import roles_by_portfolio, visible_portfolio_ids

SESSION_KEY = "portfolio_id"


def portfolios_visible_to(user) -> QuerySet[Portfolio]:
    return Portfolio.objects.filter(pk__in=visible_portfolio_ids(user))


def memberships_of(user) -> list[Membership]:
    return list(Membership.objects.filter(user=user).select_related("portfolio").order_by("portfolio__name"))


def current_portfolio_for(request) -> Portfolio | None:
    """The portfolio the user is working in: the one chosen in the session if still
    visible, else their first. Loads roles and portfolios in one query and caches both."""
    if hasattr(request, "_current_portfolio"):
        return request._current_portfolio
    user = request.user
    current = None
    if user.is_authenticated:
        memberships = memberships_of(user)
        user._tributary_roles = {m.portfolio_id: m.role for m in memberships}
        request.portfolios = [m.portfolio for m in memberships]
        chosen = request.session.get(SESSION_KEY)
        current = next((p for p in request.portfolios if p.pk == chosen), None)
        if current is None and request.portfolios:
            current = request.portfolios[0]
    request._current_portfolio = current
    return current


def epics_visible_to(user) -> QuerySet[Epic]:
    return Epic.objects.filter(portfolio_id__in=roles_by_portfolio(user))
