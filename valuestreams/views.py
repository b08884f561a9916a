"""The valuestreams app's pages: the trains and their status, the dependencies and
their workflow. Views parse the request, call a selector or a service, and render;
who may do what is the services' and the permission rules' business."""

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

from . import selectors, services
from .filters import DependencyFilterSet
from .forms import (
    DependencyActionForm,
    DependencyEditForm,
    DependencyRaiseForm,
    StatusReportForm,
    name_empty_choices,
)
from .models import Dependency, Train

DEPENDENCIES_PER_PAGE = 50
# Who may take the steps of each permission, for the message of a refused one.
WHO_MAY = {
    "valuestreams.act_as_provider": "the provider's RTE or STE, APMO or an enterprise architect",
    "valuestreams.cancel_dependency": "the consumer's RTE or STE, APMO or an enterprise architect",
    "valuestreams.change_dependency": "the consumer's RTE or STE, APMO or an enterprise architect",
}


def forbidden(request, message: str):
    """The 403 page, saying what was refused and why."""
    return render(request, "valuestreams/forbidden.html", {"message": message}, status=403)


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the fields it names where the
    form shows them, else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        shown = name in form.fields and not form.fields[name].widget.is_hidden
        form.add_error(name if shown else None, errors)


def with_value(data, **values):
    """A copy of submitted data with some values replaced (e.g. a newer version)."""
    data = data.copy()
    for name, value in values.items():
        data[name] = "" if value is None else str(value)
    return data


# --- Trains -----------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def train_list(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    groups = selectors.trains_by_value_stream(user=request.user, portfolio=portfolio)
    return render(request, "valuestreams/train_list.html", {"groups": groups})


@require_http_methods(["GET", "HEAD", "POST"])
def train_detail(request, train_id: int):
    """A train's page; its RTE/STE and APMO also post its status here (a new report,
    refused if someone else posted one since the form was loaded)."""
    # Loads the user's memberships once: the layout needs them, and visibility reuses them.
    current_portfolio_for(request)
    try:
        page = selectors.train_page(user=request.user, train_id=train_id)
    except Train.DoesNotExist:
        raise Http404("No such train.") from None
    train = page.train
    may_post = request.user.has_perm("valuestreams.post_status_report", train)
    form, conflict, status = None, None, 200
    if request.method == "POST":
        if not may_post:
            return forbidden(request, f"Only {train}'s {train.engineer_title} or APMO may post its status.")
        form = StatusReportForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                services.status_report_post(actor=request.user, train=train, **form.report_fields())
            except services.StatusConflict as refused:
                # Keep what they typed, now based on the newer report: they can review and resubmit.
                conflict = refused.current
                form = StatusReportForm(with_value(request.POST, based_on=conflict.pk if conflict else None))
                status = 409
            except PermissionDenied as refused:
                return forbidden(request, str(refused))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Status of {train} posted.")
                return redirect(reverse("valuestreams:train-detail", args=[train.pk]) + "#latest-status")
    elif may_post:
        form = StatusReportForm(initial=StatusReportForm.initial_from(page.latest))
    today = timezone.localdate()
    context = {
        "page": page,
        "train": train,
        "form": form,
        "conflict": conflict,
        "dependencies": selectors.train_dependencies(user=request.user, train=train, today=today),
        "may_raise": request.user.has_perm("valuestreams.raise_dependency", train),
        "events": selectors.upcoming_cadence_events(train, today=today),
        "today": today,
    }
    return render(request, "valuestreams/train_detail.html", context, status=status)


# --- Dependencies -----------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def dependency_list(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    today = timezone.localdate()
    filterset = DependencyFilterSet(
        request.GET or None,
        queryset=selectors.dependency_list(user=request.user, portfolio=portfolio),
        portfolio=portfolio,
        request=request,
        today=today,
    )
    name_empty_choices(filterset.form, "Any")
    # Page through the ids (a narrow sort), then load that page's rows with their joins:
    # on a large portfolio, planning and sorting every joined row cost several times more.
    page = Paginator(filterset.qs.values_list("pk", flat=True), DEPENDENCIES_PER_PAGE).get_page(request.GET.get("page"))
    ids = list(page.object_list)
    rows = filterset.qs.in_bulk(ids)
    page.object_list = selectors.mark_late([rows[pk] for pk in ids if pk in rows], today=today)
    context = {
        "filter": filterset,
        "page_obj": page,
        "filtered": filterset.is_bound and any(v not in (None, "") for v in filterset.form.cleaned_data.values()),
        "may_raise": bool(selectors.trains_user_may_raise_for(user=request.user, portfolio=portfolio)),
        "today": today,
    }
    return render(request, "valuestreams/dependency_list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def dependency_create(request):
    """Raise a dependency for one of the trains the user may raise for (?consumer=<id>
    preselects one). "Show its features" reloads the form for the chosen consumer."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    consumers = selectors.trains_user_may_raise_for(user=request.user, portfolio=portfolio)
    if not consumers:
        return forbidden(request, "Only a train's RTE or STE, APMO or an enterprise architect may raise a dependency.")
    options = {"portfolio": portfolio, "consumers": consumers, "today": timezone.localdate()}
    status = 200
    if request.method == "POST" and "load_features" not in request.POST:
        form = DependencyRaiseForm(request.POST, **options)
        status = 400
        if form.is_valid():
            try:
                dependency = services.dependency_raise(actor=request.user, **form.raise_arguments())
            except PermissionDenied as refused:
                return forbidden(request, str(refused))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{dependency.key} raised: {dependency.provider} has been asked for it.")
                return redirect("valuestreams:dependency-detail", dependency.pk)
    elif request.method == "POST":
        form = DependencyRaiseForm(initial=request.POST.dict(), **options)
    else:
        form = DependencyRaiseForm(initial={"consumer": request.GET.get("consumer")}, **options)
    return render(request, "valuestreams/dependency_form.html", {"form": form, "creating": True}, status=status)


def _visible_dependency(request, dependency_id: int) -> Dependency:
    current_portfolio_for(request)  # loads the memberships once, for the layout and the rules
    try:
        return selectors.dependency_detail(user=request.user, dependency_id=dependency_id)
    except Dependency.DoesNotExist:
        raise Http404("No such dependency.") from None


@require_http_methods(["GET", "HEAD", "POST"])
def dependency_edit(request, dependency_id: int):
    """Edit a dependency's title, description, needed-by and links. A form loaded before
    someone else's change is refused with the current values shown, the input kept."""
    dependency = _visible_dependency(request, dependency_id)
    if not request.user.has_perm("valuestreams.change_dependency", dependency):
        return forbidden(
            request, f"You may not edit {dependency.key}: only {WHO_MAY['valuestreams.change_dependency']} may."
        )
    options = {"instance": dependency, "portfolio": dependency.portfolio}
    conflict, differences, status = None, [], 200
    if request.method == "POST":
        form = DependencyEditForm(request.POST, **options)
        status = 400
        if form.is_valid():
            try:
                services.dependency_update(
                    actor=request.user,
                    dependency=dependency,
                    expected_version=form.cleaned_data["version"],
                    **form.changes(),
                )
            except StaleVersion:
                conflict = _visible_dependency(request, dependency_id)
                differences = form.differences_from(conflict)
                form = DependencyEditForm(with_value(request.POST, version=conflict.version), **options)
                status = 409
            except PermissionDenied as refused:
                return forbidden(request, str(refused))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{dependency.key} saved.")
                return redirect("valuestreams:dependency-detail", dependency.pk)
    else:
        form = DependencyEditForm(**options)
    context = {
        "form": form,
        "dependency": dependency,
        "conflict": conflict,
        "differences": differences,
        "creating": False,
    }
    return render(request, "valuestreams/dependency_form.html", context, status=status)


def _render_dependency(request, dependency, *, bound=None, errors=(), conflict=False, status=200):
    """The dependency's page, with one form per step the user may take now; ``bound``
    (a submitted step's form) replaces that step's blank form to show its errors."""
    today = timezone.localdate()
    action_forms = [
        bound
        if bound is not None and bound.step.name == step.name
        else DependencyActionForm(dependency=dependency, action=step, today=today)
        for step in services.actions_available(request.user, dependency)
    ]
    context = {
        "page": selectors.dependency_page(dependency, today=today),
        "dependency": dependency,
        "action_forms": action_forms,
        "action_errors": errors,
        "conflict": conflict,
        "refused": bound,
        "may_edit": request.user.has_perm("valuestreams.change_dependency", dependency),
    }
    return render(request, "valuestreams/dependency_detail.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def dependency_detail(request, dependency_id: int):
    return _render_dependency(request, _visible_dependency(request, dependency_id))


@require_POST
def dependency_act(request, dependency_id: int):
    """Take one workflow step (a form of the dependency's page). Refused: for a person
    who may not, 403; from a state that does not allow it, the page with the reason;
    from a page loaded before someone else's step, the page as it is now."""
    dependency = _visible_dependency(request, dependency_id)
    step = services.ACTIONS.get(request.POST.get("action", ""))
    if step is None:
        return _render_dependency(request, dependency, errors=["Choose one of the steps on this page."], status=400)
    if not request.user.has_perm(step.perm, dependency):
        return forbidden(request, f"You may not {step.label.lower()} {dependency.key}: only {WHO_MAY[step.perm]} may.")
    today = timezone.localdate()
    form = DependencyActionForm(request.POST, dependency=dependency, action=step, today=today)
    if form.is_valid():
        try:
            updated = services.dependency_transition(
                actor=request.user, dependency=dependency, today=today, **form.transition_arguments()
            )
        except StaleVersion:
            current = _visible_dependency(request, dependency_id)
            form = DependencyActionForm(
                with_value(request.POST, version=current.version), dependency=current, action=step, today=today
            )
            return _render_dependency(request, current, bound=form, conflict=True, status=409)
        except PermissionDenied as refused:
            return forbidden(request, str(refused))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            flag = f", flagged {updated.get_flag_display().lower()}" if updated.flag else ""
            messages.success(request, f"{updated.key} is now {updated.get_state_display().lower()}{flag}.")
            return redirect("valuestreams:dependency-detail", dependency.pk)
    errors = form.non_field_errors() or [f"Could not {step.label.lower()} {dependency.key}: see the form below."]
    return _render_dependency(request, dependency, bound=form, errors=errors, status=400)
