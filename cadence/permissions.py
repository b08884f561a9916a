"""Who may do what with the cadence, as `rules` predicates.

A cadence belongs to no single portfolio: the portfolios that follow it, directly or
through a value stream or train, share it. Its members read it; the APMO of any of
them edits it (its definition, PIs, iterations and events). Roles are the portfolio
level's (``portfolio.permissions``); which of a user's portfolios use which cadence is
read once per user (one query) and kept on the user object, so checking many rows on
one page costs nothing more.
"""

import rules

from portfolio.models import Role
from portfolio.permissions import roles_by_portfolio

from .models import Cadence, CadenceEvent, Iteration, ProgramIncrement
from .selectors import cadence_usage


def cadence_id_of(obj) -> int | None:
    """The cadence of a cadence, PI, iteration or event (iterations and events need their
    PI loaded with them to avoid a query)."""
    if isinstance(obj, Cadence):
        return obj.pk
    if isinstance(obj, ProgramIncrement):
        return obj.cadence_id
    if isinstance(obj, Iteration | CadenceEvent):
        return obj.program_increment.cadence_id
    return None


def portfolios_using(user, cadence_id: int | None) -> set[int]:
    """Ids of the user's portfolios that follow the cadence (cached on the user)."""
    roles = roles_by_portfolio(user)
    if cadence_id is None or not roles:
        return set()
    usage = getattr(user, "_tributary_cadence_usage", None)
    if usage is None:
        usage = user._tributary_cadence_usage = cadence_usage(roles)
    return usage.get(cadence_id, set())


@rules.predicate
def is_member_using(user, obj) -> bool:
    return bool(portfolios_using(user, cadence_id_of(obj)))


@rules.predicate
def is_apmo_using(user, obj) -> bool:
    roles = roles_by_portfolio(user)
    if Role.APMO not in roles.values():
        return False  # no query for the many who are APMO nowhere
    return any(roles[pid] == Role.APMO for pid in portfolios_using(user, cadence_id_of(obj)))


rules.add_perm("cadence.view_cadence", is_member_using)
rules.add_perm("cadence.change_cadence", is_apmo_using)
