"""Who may do what with integration points, as `rules` predicates.

- ``integration.manage_point`` (create, edit, propose from the cadence): the
  portfolio's APMO, or the STE of the point's solution train. A point without a
  solution train is APMO's alone.
- ``integration.add_point`` (checked against the portfolio: may this user create any
  point here?): APMO, or the STE of one of the portfolio's solution trains.
- ``integration.record_result`` (pass/fail, and ticking acceptance criteria): APMO, or
  the STE of a solution train involved in the point: its own solution train, a
  participating solution train, or the solution train of a participating ART.
  An RTE does not record results (DESIGN.md, "Permissions").
- Automation: a pipeline's token stands for its service user, checked like any other
  user. A membership with the automation role scopes it to recording results (and
  ticking criteria) for the points of that portfolio; nothing else beyond reading.
  The demo's ``ci-pipeline`` has that role.

The predicates read ``point.solution_train`` and ``point.trains`` (with each train's
``solution_train``); a list that checks many points prefetches them.
"""

import rules

from portfolio.permissions import is_apmo, is_automation
from valuestreams.models import TrainKind


def _is_authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def engineers_solution_train_of(user, point) -> bool:
    """The user is the STE of the point's own solution train."""
    if point is None or not _is_authenticated(user) or not point.solution_train_id:
        return False
    return point.solution_train.engineer_id == user.pk


def ste_involved_in(user, point) -> bool:
    """The user is the STE of the point's solution train or of a solution train taking
    part (directly, or as the solution train of a participating ART)."""
    if point is None or not _is_authenticated(user):
        return False
    if engineers_solution_train_of(user, point):
        return True
    if point.pk is None:
        return False
    for train in point.trains.all():
        if train.kind == TrainKind.SOLUTION and train.engineer_id == user.pk:
            return True
        if train.solution_train_id and train.solution_train.engineer_id == user.pk:
            return True
    return False


@rules.predicate
def is_owning_ste(user, point) -> bool:
    return engineers_solution_train_of(user, point)


@rules.predicate
def is_involved_ste(user, point) -> bool:
    return ste_involved_in(user, point)


@rules.predicate
def engineers_a_solution_train_in(user, portfolio) -> bool:
    """The user is the STE of a solution train of the portfolio (one query, cached on the user)."""
    if portfolio is None or not _is_authenticated(user):
        return False
    cached = getattr(user, "_tributary_ste_portfolios", None)
    if cached is None:
        from valuestreams.models import Train

        cached = set(
            Train.objects.filter(kind=TrainKind.SOLUTION, engineer=user).values_list(
                "value_stream__portfolio_id", flat=True
            )
        )
        user._tributary_ste_portfolios = cached
    return portfolio.pk in cached


rules.add_perm("integration.manage_point", is_apmo | is_owning_ste)
rules.add_perm("integration.add_point", is_apmo | engineers_a_solution_train_in)
rules.add_perm("integration.record_result", is_apmo | is_involved_ste | is_automation)
