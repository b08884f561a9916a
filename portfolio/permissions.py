"""Who may do what at the portfolio level, as `rules` predicates.

Roles come from memberships. They are loaded once per user object (one query) and
kept on it, so checking many rows on one page costs no further queries. Objects are
mapped to their portfolio through ``portfolio_id_of``.
"""

import rules

from .models import EpicKind, Membership, Role


def roles_by_portfolio(user) -> dict[int, str]:
    """{portfolio id: role} for every portfolio the user is a member of (cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_tributary_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("portfolio_id", "role"))
        user._tributary_roles = cached
    return cached


def visible_portfolio_ids(user) -> list[int]:
    return list(roles_by_portfolio(user))


def portfolio_id_of(obj) -> int | None:
    """The portfolio an object belongs to, following the usual foreign keys without queries
    where the object was loaded with its relations."""
    if obj is None:
        return None
    if type(obj).__name__ == "Portfolio":
        return obj.pk
    if hasattr(obj, "portfolio_id"):
        return obj.portfolio_id
    for via in ("value_stream", "train", "integration_point", "program_increment"):
        parent = getattr(obj, via, None)
        if parent is not None:
            return portfolio_id_of(parent)
    return None


def role_in(user, obj) -> str | None:
    return roles_by_portfolio(user).get(portfolio_id_of(obj))


def _has_role(*roles):
    @rules.predicate(name=f"has_role({','.join(roles)})")
    def predicate(user, obj=None) -> bool:
        return role_in(user, obj) in roles

    return predicate


is_member = rules.predicate(lambda user, obj=None: role_in(user, obj) is not None, name="is_member")
is_apmo = _has_role(Role.APMO)
is_portfolio_manager = _has_role(Role.PORTFOLIO_MANAGER)
is_enterprise_architect = _has_role(Role.ENTERPRISE_ARCHITECT)
is_automation = _has_role(Role.AUTOMATION)


@rules.predicate
def is_enabler_epic(user, epic) -> bool:
    return getattr(epic, "kind", None) == EpicKind.ENABLER


# Epics and the Kanban: portfolio managers; enterprise architects for enablers only.
rules.add_perm("portfolio.view_portfolio", is_member)
rules.add_perm("portfolio.move_epic", is_portfolio_manager | (is_enterprise_architect & is_enabler_epic))
rules.add_perm("portfolio.change_epic", is_portfolio_manager | (is_enterprise_architect & is_enabler_epic))
rules.add_perm("portfolio.add_epic", is_portfolio_manager | is_enterprise_architect)
rules.add_perm("portfolio.change_wiplimit", is_portfolio_manager)
rules.add_perm("portfolio.change_strategictheme", is_portfolio_manager)
rules.add_perm("portfolio.manage_memberships", is_apmo)
