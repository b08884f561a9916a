"""The API's permission class: each HTTP method maps to a `rules` permission checked
against the object (the way Sentry's ScopedPermission maps methods to scopes).

Visibility is not decided here: every viewset's queryset starts from a
``*_visible_to(user)`` selector, so an object of another portfolio answers 404 before
any permission is checked. This class decides what a member may *do* (403 otherwise).

A viewset declares::

    read_permission = "portfolio.view_portfolio"      # GET, HEAD, OPTIONS
    write_permission = "valuestreams.manage_trains"   # POST, PUT, PATCH, DELETE

or a full ``permission_map`` {method: permission or None}. A create has no object yet:
the viewset checks ``write_permission`` against the parent named in the validated data
(see ``portfolio.api.mixins.RulesWriteMixin``).
"""

import rules
from rest_framework.permissions import SAFE_METHODS, BasePermission

from portfolio.permissions import is_apmo

# The portfolio's settings (terminology, stale-status threshold) are run by its APMO.
# This rule belongs beside the others in portfolio/permissions.py; it is registered here
# only if that module does not define it yet.
if not rules.perm_exists("portfolio.change_portfolio"):
    rules.add_perm("portfolio.change_portfolio", is_apmo)


def required_permission(view, method: str) -> str | None:
    """The rules permission a request with ``method`` needs on the view's object."""
    mapping = getattr(view, "permission_map", None)
    if mapping is not None:
        return mapping.get(method)
    if method in SAFE_METHODS:
        return getattr(view, "read_permission", None)
    return getattr(view, "write_permission", None)


def denial_message(perm: str) -> str:
    return f"Your role in this portfolio does not allow this (it needs {perm})."


class RulesPermission(BasePermission):
    """Authenticated users only; on an object, the permission its method maps to."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        perm = required_permission(view, request.method)
        if perm is None:
            # A method the view maps to nothing is not allowed at all.
            if request.method in SAFE_METHODS:
                return True
            self.message = "This resource cannot be changed through the API."
            return False
        if request.user.has_perm(perm, obj):
            return True
        self.message = denial_message(perm)
        return False
