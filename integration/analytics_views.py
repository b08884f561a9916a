"""Pages of integration analytics and releases: idle work, portfolio velocity, the
economics of a value stream's integration cadence, and the releases with their
readiness. Views parse the request, call a selector or a service, and render; who may
do what is decided by the rules in ``integration.analytics`` and ``integration.releases``.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from portfolio.core.concurrency import StaleVersion
from portfolio.selectors import current_portfolio_for
from portfolio.views import no_portfolio
from valuestreams.models import Train, ValueStream
from valuestreams.selectors import value_streams_visible_to

from . import analytics, releases
from .analytics_forms import EconomicsForm, ReleaseForm
from .models import Release

READ = ("GET", "HEAD")


def forbidden(request, message: str):
    """The 403 page, saying what was refused and who may do it."""
    return render(request, "integration/analytics_forbidden.html", {"message": message}, status=403)


# --- Idle work and velocity ------------------------------------------------------------


@require_http_methods(READ)
def idle_work(request):
    """The portfolio's idle work, each train's longest waits first; ``?train=<id>``
    lists every idle feature of one train."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    today = timezone.localdate()
    train_id = request.GET.get("train", "")
    if train_id.isdigit():
        train = Train.objects.filter(value_stream__portfolio=portfolio, pk=int(train_id)).select_related("value_stream")
        train = train.first()
        if train is None:
            raise Http404("No such train in this portfolio.")
        idle = analytics.idle_work(portfolio, today, train_id=train.pk)
        context = {"idle": idle, "train": train, "row": idle.for_train(train.pk), "tab": "idle"}
        return render(request, "integration/idle_work_train.html", context)
    idle = analytics.idle_work(portfolio, today)
    return render(request, "integration/idle_work.html", {"idle": idle, "tab": "idle"})


@require_http_methods(READ)
def velocity(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    data = analytics.portfolio_velocity(portfolio, timezone.localdate())
    return render(request, "integration/velocity.html", {"velocity": data, "tab": "velocity"})


# --- Economics -------------------------------------------------------------------------


@require_http_methods(READ)
def economics_index(request):
    """The economics of the current portfolio's first value stream (each page links the others)."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    first = ValueStream.objects.filter(portfolio=portfolio).order_by("name").values_list("pk", flat=True).first()
    if first is None:
        return render(request, "integration/economics.html", {"page": None, "tab": "economics", "streams": []})
    return redirect("integration:economics", value_stream_id=first)


def _economics_initial(page: analytics.EconomicsPage) -> dict:
    saved = page.saved
    if saved is not None:
        return {
            "transaction_cost": saved.transaction_cost,
            "holding_cost_per_day": saved.holding_cost_per_day,
            "unit": saved.unit,
            "version": saved.version,
        }
    estimate = page.estimate
    return {
        "transaction_cost": estimate.transaction_cost,
        "holding_cost_per_day": estimate.holding_cost_per_day,
        "unit": estimate.unit,
        "version": 0,
    }


@require_http_methods([*READ, "POST"])
def economics(request, value_stream_id: int):
    """A value stream's integration cadence economics; its APMO saves the cost figures here."""
    current_portfolio_for(request)  # loads the memberships the layout and visibility use
    try:
        value_stream = analytics.value_stream_for_economics(
            value_streams=value_streams_visible_to(request.user), value_stream_id=value_stream_id
        )
    except ValueStream.DoesNotExist:
        raise Http404("No such value stream.") from None
    may_edit = request.user.has_perm(analytics.CHANGE_ECONOMICS, value_stream)
    if request.method == "POST" and not may_edit:
        return forbidden(request, "Only the portfolio's APMO may set the costs of integration.")
    today = timezone.localdate()
    page = analytics.integration_economics(value_stream, today=today)
    form, conflict, status = None, None, 200
    if request.method == "POST":
        form = EconomicsForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                analytics.economics_save(
                    actor=request.user,
                    value_stream=value_stream,
                    transaction_cost=form.cleaned_data["transaction_cost"],
                    holding_cost_per_day=form.cleaned_data["holding_cost_per_day"],
                    unit=form.cleaned_data["unit"],
                    expected_version=form.cleaned_data["version"],
                )
            except StaleVersion as stale:
                # Keep their input, now against the saved version: saving again is a decision.
                conflict = stale.current
                data = request.POST.copy()
                data["version"] = conflict.version
                form = EconomicsForm(data)
                status = 409
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Saved the costs of integrating {value_stream}.")
                return redirect("integration:economics", value_stream_id=value_stream.pk)
    elif may_edit:
        form = EconomicsForm(initial=_economics_initial(page))
    streams = list(ValueStream.objects.filter(portfolio_id=value_stream.portfolio_id).order_by("name"))
    context = {
        "page": page,
        "form": form,
        "conflict": conflict,
        "may_edit": may_edit,
        "streams": streams,
        "tab": "economics",
        "transaction_per_train": analytics.TRANSACTION_COST_PER_TRAIN,
        "idle_feature_day_cost": analytics.IDLE_FEATURE_DAY_COST,
    }
    return render(request, "integration/economics.html", context, status=status)


# --- Releases --------------------------------------------------------------------------


def _release_or_404(request, release_id: int) -> Release:
    try:
        return releases.release_detail(user=request.user, release_id=release_id)
    except Release.DoesNotExist:
        raise Http404("No such release.") from None


@require_http_methods(READ)
def release_list(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    rows = releases.release_list(user=request.user, portfolio=portfolio)
    today = timezone.localdate()
    context = {
        "releases": rows,
        "upcoming": [release for release in rows if release.date >= today],
        "past": [release for release in rows if release.date < today][::-1],
        "may_add": request.user.has_perm(releases.ADD_RELEASE, portfolio),
        "manageable": {release.pk for release in rows if releases.may_manage(request.user, release)},
        "today": today,
        "tab": "releases",
    }
    return render(request, "integration/release_list.html", context)


@require_http_methods(READ)
def release_detail(request, release_id: int):
    current_portfolio_for(request)
    release = _release_or_404(request, release_id)
    milestones = list(release.milestones.filter(kind=releases.MILESTONE_KIND).order_by("date"))
    context = {
        "release": release,
        "readiness": release.readiness,
        "milestones": milestones,
        "may_manage": releases.may_manage(request.user, release),
        "today": timezone.localdate(),
        "tab": "releases",
    }
    return render(request, "integration/release_detail.html", context)


def _release_form_page(request, *, form, portfolio, release=None, conflict=None, status=200):
    context = {
        "form": form,
        "release": release,
        "conflict": conflict,
        "gate_groups": releases.gate_groups(
            portfolio, checked_ids=form.selected_point_ids(), today=timezone.localdate()
        ),
        "tab": "releases",
    }
    return render(request, "integration/release_form.html", context, status=status)


@require_http_methods([*READ, "POST"])
def release_create(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    if not request.user.has_perm(releases.ADD_RELEASE, portfolio):
        return forbidden(request, f"Only {releases.WHO_MAY} may create a release.")
    if request.method != "POST":
        form = ReleaseForm(user=request.user, portfolio=portfolio)
        return _release_form_page(request, form=form, portfolio=portfolio)
    form = ReleaseForm(request.POST, user=request.user, portfolio=portfolio)
    if form.is_valid():
        try:
            release = releases.release_create(actor=request.user, portfolio=portfolio, **form.changes)
        except PermissionDenied as refused:
            return forbidden(request, str(refused))
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Release {release} created; it shows on the roadmap as a milestone.")
            return redirect("integration:release-detail", release_id=release.pk)
    return _release_form_page(request, form=form, portfolio=portfolio, status=400)


@require_http_methods([*READ, "POST"])
def release_edit(request, release_id: int):
    current_portfolio_for(request)
    release = _release_or_404(request, release_id)
    if not releases.may_manage(request.user, release):
        return forbidden(request, f"Only {releases.WHO_MAY} may edit {release}.")
    portfolio = release.portfolio
    if request.method != "POST":
        form = ReleaseForm(initial=ReleaseForm.initial_from(release), user=request.user, portfolio=portfolio)
        return _release_form_page(request, form=form, portfolio=portfolio, release=release)
    form = ReleaseForm(request.POST, user=request.user, portfolio=portfolio)
    conflict, status = None, 400
    if form.is_valid():
        try:
            saved = releases.release_update(
                actor=request.user, release=release, expected_version=form.cleaned_data["version"], **form.changes
            )
        except StaleVersion as stale:
            conflict = releases.release_detail(user=request.user, release_id=stale.current.pk)
            data = request.POST.copy()
            data["version"] = conflict.version
            form = ReleaseForm(data, user=request.user, portfolio=portfolio)
            form.is_valid()
            status = 409
        except PermissionDenied as refused:
            return forbidden(request, str(refused))
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Saved {saved}; its roadmap milestone moved with it.")
            return redirect("integration:release-detail", release_id=saved.pk)
    return _release_form_page(
        request, form=form, portfolio=portfolio, release=release, conflict=conflict, status=status
    )


@require_http_methods([*READ, "POST"])
def release_delete(request, release_id: int):
    current_portfolio_for(request)
    release = _release_or_404(request, release_id)
    if not releases.may_manage(request.user, release):
        return forbidden(request, f"Only {releases.WHO_MAY} may delete {release}.")
    if request.method == "POST":
        version = request.POST.get("version", "")
        try:
            releases.release_delete(
                actor=request.user, release=release, expected_version=int(version) if version.isdigit() else None
            )
        except StaleVersion:
            messages.warning(request, f"{release} changed since you opened it: check it, then delete it again.")
            return redirect("integration:release-detail", release_id=release.pk)
        messages.success(request, f"Release {release} deleted, and its roadmap milestone with it.")
        return redirect(reverse("integration:release-list"))
    return render(request, "integration/release_confirm_delete.html", {"release": release, "tab": "releases"})
