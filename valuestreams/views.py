"""The valuestreams app's pages: the trains and their status."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from portfolio.selectors import current_portfolio_for
from portfolio.views import no_portfolio

from . import selectors
from .models import Train


@require_http_methods(["GET", "HEAD"])
def train_list(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    groups = selectors.trains_by_value_stream(user=request.user, portfolio=portfolio)
    return render(request, "valuestreams/train_list.html", {"groups": groups})


@require_http_methods(["GET", "HEAD"])
def train_detail(request, train_id: int):
    # Loads the user's memberships once: the layout needs them, and visibility reuses them.
    current_portfolio_for(request)
    try:
        page = selectors.train_page(user=request.user, train_id=train_id)
    except Train.DoesNotExist:
        raise Http404("No such train.") from None
    return render(request, "valuestreams/train_detail.html", {"page": page, "train": page.train})
