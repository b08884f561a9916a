"""The portfolio app's pages: the dashboard and the portfolio switcher."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from valuestreams.selectors import dependency_summary, train_health_summary

from .selectors import (
    SESSION_KEY,
    current_portfolio_for,
    current_program_increment,
    epic_counts_by_state,
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
    context = {
        "health": train_health_summary(user=request.user, portfolio=portfolio),
        "epic_columns": epic_counts_by_state(user=request.user, portfolio=portfolio),
        "dependencies": dependency_summary(user=request.user, portfolio=portfolio),
        "current_pi": current_program_increment(portfolio),
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
