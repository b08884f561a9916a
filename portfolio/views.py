"""The portfolio app's pages: the dashboard, the portfolio switcher, the epic Kanban
and the intake preview."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST

from portfolio.core.concurrency import StaleVersion
from valuestreams.selectors import dependency_summary, sync_warnings, train_health_summary

from . import services
from .filters import EpicFilterSet
from .forms import EpicMoveForm, WipLimitsForm
from .intake import intake_preview as intake_preview_of
from .kanban import kanban_board, kanban_column
from .models import EpicState, WipLimit
from .selectors import (
    SESSION_KEY,
    current_portfolio_for,
    current_program_increment,
    epic_counts_by_state,
    epics_visible_to,
    portfolios_visible_to,
)


def no_portfolio(request):
    """What a signed-in user without any membership sees instead of a portfolio page."""
    return render(request, "portfolio/no_portfolio.html")


@require_http_methods(["GET", "HEAD"])
def dashboard(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    # The dashboard shows several apps: it calls each one's selectors (views may look upward).
    from integration.analytics import idle_work
    from integration.selectors import upcoming_integration_points

    today = timezone.localdate()
    context = {
        "health": train_health_summary(user=request.user, portfolio=portfolio),
        "epic_columns": epic_counts_by_state(user=request.user, portfolio=portfolio),
        "dependencies": dependency_summary(user=request.user, portfolio=portfolio, today=today),
        "current_pi": current_program_increment(portfolio),
        "sync_warnings": sync_warnings(portfolio, today),
        "integration_points": upcoming_integration_points(user=request.user, portfolio=portfolio, today=today),
        "idle": idle_work(portfolio, today),
    }
    return render(request, "portfolio/dashboard.html", context)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@require_http_methods(["GET", "HEAD", "POST"])
def switch_portfolio(request):
    """Choose the portfolio to work in (kept in the session). Only a portfolio the user
    is a member of may be chosen; any other answers 404."""
    if request.method != "POST":
        return render(request, "portfolio/switch_portfolio.html", {"next": _safe_next(request, "")})
    try:
        portfolio_id = int(request.POST.get("portfolio", ""))
    except ValueError:
        raise Http404("No such portfolio.") from None
    portfolio = get_object_or_404(portfolios_visible_to(request.user), pk=portfolio_id)
    request.session[SESSION_KEY] = portfolio.pk
    messages.success(request, f"You are now working in {portfolio.name}.")
    return redirect(_safe_next(request, "dashboard"))


# --- The epic Kanban ------------------------------------------------------------------

# The filters the Kanban pages offer (the API's EpicFilterSet has a few more).
KANBAN_FILTERS = ("q", "value_stream", "kind", "theme", "target_pi")


def _epic_filters(request, portfolio) -> EpicFilterSet:
    data = {name: request.GET[name] for name in KANBAN_FILTERS if request.GET.get(name)}
    return EpicFilterSet(
        data or None,
        queryset=epics_visible_to(request.user).filter(portfolio=portfolio),
        request=request,
        portfolio=portfolio,
    )


def _kanban_context(filters: EpicFilterSet) -> dict:
    # The filters in force, for links that keep them (a column's full list, pages).
    return {"filters": filters, "filter_query": urlencode(filters.data)}


@require_http_methods(["GET", "HEAD"])
def epic_kanban(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    filters = _epic_filters(request, portfolio)
    board = kanban_board(user=request.user, portfolio=portfolio, epics=filters.qs, filtering=filters.is_filtering)
    context = {**_kanban_context(filters), "board": board}
    if board.can_set_limits:
        context["wip_form"] = WipLimitsForm(limits=board.wip_limits)
    return render(request, "portfolio/epics_kanban.html", context)


@require_http_methods(["GET", "HEAD"])
def epic_column(request, state: str):
    """One Kanban column in full, by WSJF, a page at a time."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    if state not in EpicState.values:
        raise Http404("No such Kanban column.")
    filters = _epic_filters(request, portfolio)
    column = kanban_column(
        user=request.user,
        portfolio=portfolio,
        state=state,
        epics=filters.qs,
        filtering=filters.is_filtering,
        page_number=request.GET.get("page"),
    )
    context = {**_kanban_context(filters), "listing": column}
    return render(request, "portfolio/epics_column.html", context)


@require_POST
def epic_move(request, epic_id: int):
    """Move an epic to another column (the form on each card). Refusals come back as a
    message on the board: the WIP limit, a stale board, a column it is already in."""
    current_portfolio_for(request)  # loads the user's roles once
    epic = get_object_or_404(epics_visible_to(request.user), pk=epic_id)
    if not request.user.has_perm("portfolio.move_epic", epic):
        raise PermissionDenied("Your role does not allow moving this epic.")
    back = _safe_next(request, reverse("epic-kanban"))
    form = EpicMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{epic.key} was not moved: choose the column to move it to.")
        return redirect(back)
    to_state = form.cleaned_data["state"]
    try:
        services.epic_move(
            actor=request.user, epic=epic, to_state=to_state, expected_version=form.cleaned_data["version"]
        )
    except services.WipLimitReached as refusal:
        messages.error(request, f"{epic.key} was not moved: {refusal}")
    except StaleVersion as stale:
        messages.error(
            request,
            f"{epic.key} was not moved: someone else changed it since you loaded the board "
            f"(it is now in {stale.current.get_state_display()}). Look again and retry.",
        )
    except ValidationError as error:
        messages.error(request, f"{epic.key} was not moved: {' '.join(error.messages)}")
    else:
        messages.success(request, f"{epic.key} moved to {EpicState(to_state).label}.")
    return redirect(back)


@require_POST
def epic_wip_limits(request):
    """Set the WIP limits of the Kanban's columns (portfolio managers)."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        raise Http404("No portfolio.")
    if not request.user.has_perm("portfolio.change_wiplimit", portfolio):
        raise PermissionDenied("Only portfolio managers set WIP limits.")
    form = WipLimitsForm(request.POST, limits={row.state: row for row in WipLimit.objects.filter(portfolio=portfolio)})
    if not form.is_valid():
        problems = "; ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
        messages.error(request, f"The WIP limits were not saved. {problems}")
        return redirect("epic-kanban")
    try:
        changed = services.wip_limits_set(
            actor=request.user,
            portfolio=portfolio,
            limits=form.limits(),
            expected_versions=form.expected_versions(),
        )
    except StaleVersion as stale:
        messages.error(
            request,
            f"The WIP limits were not saved: someone else set {stale.current.get_state_display()} to "
            f"{stale.current.limit} meanwhile. Look again and retry.",
        )
    else:
        if changed:
            summary = ", ".join(f"{row.get_state_display()} {row.limit}" for row in changed)
            messages.success(request, f"WIP limits saved: {summary}.")
        else:
            messages.info(request, "The WIP limits are unchanged.")
    return redirect("epic-kanban")


@require_http_methods(["GET", "HEAD"])
def intake_preview(request):
    """Before each cutoff: which epics would be deferred and why; the latest deferrals."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    preview = intake_preview_of(user=request.user, portfolio=portfolio, today=timezone.localdate())
    return render(request, "portfolio/intake_preview.html", {"preview": preview})
