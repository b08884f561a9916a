"""Reads at the portfolio level, scoped to what a user may see."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone

from cadence.models import ProgramIncrement

from .models import Epic, EpicState, Membership, Portfolio, WipLimit
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


@dataclass(frozen=True)
class KanbanColumnCount:
    """One column of the epic Kanban: how many epics are in it, against its WIP limit."""

    state: str
    label: str
    count: int
    limit: int | None

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.count > self.limit


def epic_counts_by_state(*, user, portfolio) -> list[KanbanColumnCount]:
    """Each Kanban column in flow order with its epic count and WIP limit (two queries)."""
    counts = dict(
        epics_visible_to(user).filter(portfolio=portfolio).order_by().values_list("state").annotate(n=Count("pk"))
    )
    limits = dict(WipLimit.objects.filter(portfolio=portfolio).values_list("state", "limit"))
    return [
        KanbanColumnCount(
            state=state.value, label=state.label, count=counts.get(state.value, 0), limit=limits.get(state)
        )
        for state in EpicState
    ]


def current_program_increment(portfolio, *, today: datetime.date | None = None) -> ProgramIncrement | None:
    """The PI of the portfolio's cadence that contains today, if any (one query)."""
    if not portfolio.cadence_id:
        return None
    today = today or timezone.localdate()
    return ProgramIncrement.objects.filter(cadence_id=portfolio.cadence_id).current(today).first()
