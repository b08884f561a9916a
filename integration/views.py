"""The integration pages: the list of integration points, a point's page (its latest
check, check history, results, criteria, participants and requirements), the forms
that create, edit and propose points, and the posts that record a result or tick a
criterion. Views parse the request, call a selector or a service, and render; who may
do what is the rules' and the services' business."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from portfolio.core.concurrency import StaleVersion
from portfolio.selectors import current_portfolio_for
from portfolio.views import no_portfolio
from valuestreams.forms import name_empty_choices

from . import selectors, services
from .analytics import portfolio_velocity
from .api.filters import ALL, UPCOMING, IntegrationPointFilterSet
from .forms import CriterionTickForm, IntegrationPointForm, ProposeForm, ResultForm
from .models import AcceptanceCriterion, IntegrationPoint

POINTS_PER_PAGE = 50


def forbidden(request, message: str):
    """The 403 page, saying what was refused and why."""
    return render(request, "integration/forbidden.html", {"message": message}, status=403)


def add_service_errors(form, error: ValidationError) -> None:
    """A service's ValidationError on the form: on the fields it names, else above it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields and not form.fields[name].widget.is_hidden else None, errors)


def solution_trains_for(user, portfolio) -> list:
    """The solution trains a user may give a point to: APMO any (or none: ``None`` in the
    list), an STE their own. One query."""
    trains = list(selectors.solution_trains_of(portfolio).order_by("name"))
    if user.has_perm("integration.manage_point", IntegrationPoint(portfolio=portfolio)):
        return [None, *trains]
    return [
        train
        for train in trains
        if user.has_perm("integration.manage_point", IntegrationPoint(portfolio=portfolio, solution_train=train))
    ]


# --- The list ---------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def integration_point_list(request):
    """Points of the current portfolio by date, upcoming ones unless asked otherwise."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("when", UPCOMING)
    filterset = IntegrationPointFilterSet(
        data,
        queryset=selectors.integration_point_list(user=request.user, portfolio=portfolio),
        portfolio=portfolio,
        request=request,
        today=today,
    )
    name_empty_choices(filterset.form, "Any")
    page = Paginator(filterset.qs, POINTS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = selectors.attach_latest_checks(list(page.object_list))
    for point in page.object_list:
        point.days_away = (point.date - today).days
    cleaned = filterset.form.cleaned_data if filterset.is_valid() else {}
    context = {
        "filter": filterset,
        "page_obj": page,
        "when": cleaned.get("when") or UPCOMING,
        "filtered": any(v not in (None, "") for k, v in cleaned.items() if k != "when"),
        "may_add": request.user.has_perm("integration.add_point", portfolio),
        "today": today,
        "ALL": ALL,
        "velocity": portfolio_velocity(portfolio, today),
    }
    return render(request, "integration/point_list.html", context)


# --- A point's page -------------------------------------------------------------------


def _visible_point(request, point_id: int) -> IntegrationPoint:
    current_portfolio_for(request)  # loads the memberships once, for the layout and the rules
    try:
        return selectors.integration_point_detail(user=request.user, point_id=point_id)
    except IntegrationPoint.DoesNotExist:
        raise Http404("No such integration point.") from None


def _render_point(request, point, *, result_form=None, errors=(), status=200):
    may_record = request.user.has_perm("integration.record_result", point)
    if may_record and result_form is None:
        result_form = ResultForm()
    context = {
        "page": selectors.integration_point_page(point),
        "point": point,
        "may_manage": request.user.has_perm("integration.manage_point", point),
        "may_record": may_record,
        "result_form": result_form if may_record else None,
        "errors": errors,
    }
    return render(request, "integration/point_detail.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def integration_point_detail(request, point_id: int):
    return _render_point(request, _visible_point(request, point_id))


@require_POST
def integration_result_record(request, point_id: int):
    """Record a pass or fail from the point's page (APMO or an STE involved)."""
    point = _visible_point(request, point_id)
    if not request.user.has_perm("integration.record_result", point):
        return forbidden(request, services.RESULT_MESSAGE)
    form = ResultForm(request.POST)
    if form.is_valid():
        try:
            services.integration_result_record(actor=request.user, point=point, **form.cleaned_data)
        except PermissionDenied as refused:
            return forbidden(request, str(refused))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            verdict = form.cleaned_data["verdict"]
            messages.success(request, f"Result recorded: {point.name} {'passed' if verdict == 'pass' else 'failed'}.")
            return redirect(reverse("integration:integration-point-detail", args=[point.pk]) + "#results")
    return _render_point(
        request, point, result_form=form, errors=["The result was not recorded: see the form."], status=400
    )


@require_POST
def criterion_tick(request, point_id: int, criterion_id: int):
    """Tick or untick one acceptance criterion (APMO or an STE involved). A tick made
    on a page loaded before someone else's is refused, with the page as it is now."""
    point = _visible_point(request, point_id)
    criterion = next((c for c in point.criteria.all() if c.pk == criterion_id), None)
    if criterion is None:
        raise Http404("No such criterion.")
    if not request.user.has_perm("integration.record_result", point):
        return forbidden(request, "Only APMO, or the STE of a solution train taking part, may tick the criteria.")
    form = CriterionTickForm(request.POST)
    if not form.is_valid():
        return _render_point(request, point, errors=["Choose met or not met."], status=400)
    criterion.integration_point = point
    try:
        services.criterion_set_met(
            actor=request.user,
            criterion=criterion,
            met=form.cleaned_data["met"],
            expected_version=form.cleaned_data["version"],
        )
    except StaleVersion as stale:
        current: AcceptanceCriterion = stale.current
        state = "met" if current.met else "not met"
        return _render_point(
            request,
            _visible_point(request, point_id),
            errors=[f"Not changed: someone else marked “{current.text}” {state} meanwhile. It is shown as it is now."],
            status=409,
        )
    except PermissionDenied as refused:
        return forbidden(request, str(refused))
    return redirect(reverse("integration:integration-point-detail", args=[point.pk]) + f"#criterion-{criterion.pk}")


# --- Creating, editing, proposing ------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def integration_point_create(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    if not request.user.has_perm("integration.add_point", portfolio):
        return forbidden(request, "Only APMO, or the STE of a solution train, may create integration points.")
    options = {"portfolio": portfolio, "solution_trains": solution_trains_for(request.user, portfolio)}
    status = 200
    if request.method == "POST" and "refresh_choices" not in request.POST:
        form = IntegrationPointForm(request.POST, **options)
        status = 400
        if form.is_valid():
            try:
                point = services.integration_point_create(
                    actor=request.user, portfolio=portfolio, **form.service_arguments()
                )
            except PermissionDenied as refused:
                return forbidden(request, str(refused))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{point.name} created; the next scheduled check will evaluate it.")
                return redirect("integration:integration-point-detail", point.pk)
    elif request.method == "POST":
        # "Show their dependencies and features": the same input, unvalidated, new choices.
        form = IntegrationPointForm(initial=_initial_from_post(request.POST), **options)
    else:
        form = IntegrationPointForm(initial=_initial_from_query(request), **options)
    refreshed = request.method == "POST" and "refresh_choices" in request.POST
    return render(
        request,
        "integration/point_form.html",
        {"form": form, "creating": True, "refreshed": refreshed},
        status=status,
    )


MULTIPLE = ("value_streams", "trains", "dependencies", "features")


def _initial_from_post(data) -> dict:
    """A form's input as the initial values of a new, unbound form (lists for the
    fields that take several values)."""
    return {
        name: data.getlist(name) if name in MULTIPLE else data.get(name)
        for name in data
        if name != "csrfmiddlewaretoken"
    }


def _initial_from_query(request) -> dict:
    initial = {}
    if request.GET.get("program_increment"):
        initial["program_increment"] = request.GET["program_increment"]
    return initial


@require_http_methods(["GET", "HEAD", "POST"])
def integration_point_edit(request, point_id: int):
    """Edit a point. A form loaded before someone else's change is refused with the
    current values named, the input kept."""
    point = _visible_point(request, point_id)
    if not request.user.has_perm("integration.manage_point", point):
        return forbidden(request, services.MANAGE_MESSAGE)
    options = {
        "instance": point,
        "portfolio": point.portfolio,
        "solution_trains": solution_trains_for(request.user, point.portfolio),
    }
    conflict, status = None, 200
    refreshed = request.method == "POST" and "refresh_choices" in request.POST
    if refreshed:
        form = IntegrationPointForm(initial=_initial_from_post(request.POST), **options)
    elif request.method == "POST":
        form = IntegrationPointForm(request.POST, **options)
        status = 400
        if form.is_valid():
            try:
                services.integration_point_update(
                    actor=request.user,
                    point=point,
                    expected_version=form.cleaned_data["version"],
                    **form.service_arguments(),
                )
            except StaleVersion as stale:
                # Keep the input, now against the current version: a second save is deliberate.
                conflict = stale.current
                data = request.POST.copy()
                data["version"] = str(conflict.version)
                form = IntegrationPointForm(data, **options)
                status = 409
            except PermissionDenied as refused:
                return forbidden(request, str(refused))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{point.name} saved.")
                return redirect("integration:integration-point-detail", point.pk)
    else:
        form = IntegrationPointForm(**options)
    context = {"form": form, "point": point, "creating": False, "conflict": conflict, "refreshed": refreshed}
    return render(request, "integration/point_form.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def integration_points_propose(request):
    """Propose a PI's points from its cadence (idempotent: existing ones are kept)."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    if not request.user.has_perm("integration.add_point", portfolio):
        return forbidden(request, "Only APMO, or the STE of a solution train, may propose integration points.")
    options = {
        "portfolio": portfolio,
        "solution_trains": solution_trains_for(request.user, portfolio),
        "today": timezone.localdate(),
    }
    status = 200
    if request.method == "POST":
        form = ProposeForm(request.POST, **options)
        status = 400
        if form.is_valid():
            try:
                proposal = services.integration_points_propose(
                    actor=request.user, portfolio=portfolio, **form.cleaned_data
                )
            except PermissionDenied as refused:
                return forbidden(request, str(refused))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                pi = form.cleaned_data["program_increment"]
                created, existing = len(proposal.created), len(proposal.existing)
                messages.success(
                    request,
                    f"{created} integration point{'s' if created != 1 else ''} proposed for {pi.name}"
                    + (
                        f"; {existing} existed already and {'were' if existing != 1 else 'was'} kept"
                        if existing
                        else ""
                    )
                    + ".",
                )
                return redirect(reverse("integration:integration-point-list") + f"?pi={pi.pk}&when={ALL}")
    else:
        form = ProposeForm(**options)
    return render(request, "integration/propose_form.html", {"form": form}, status=status)
