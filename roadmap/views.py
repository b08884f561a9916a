"""The roadmap pages: the portfolio roadmap (and its CSV export), the solution roadmaps,
and the edit pages of capabilities, features and milestones.

Views parse the request, call a selector or a service, and render. The roadmaps are
built by one selector each (``roadmap.selectors``); who may edit is the rules'
(``roadmap.permissions``), checked again by the services.
"""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from cadence.models import Iteration, ProgramIncrement
from integration.models import Release
from portfolio.core.concurrency import StaleVersion
from portfolio.models import Epic, EpicState
from portfolio.selectors import current_portfolio_for
from portfolio.views import no_portfolio
from valuestreams.models import Capability, Feature, Train
from valuestreams.selectors import cadence_id_of

from . import selectors, services
from .export import csv_response
from .forms import CapabilityForm, FeatureForm, MilestoneForm, RoadmapFilterForm, WindowForm
from .models import Milestone
from .permissions import EDIT_PORTFOLIO_ROADMAP, EDIT_SOLUTION_ROADMAP

WHO_MAY_EDIT = "its STE or RTE, APMO or a portfolio manager"


def forbidden(request, message: str):
    """The 403 page, saying what was refused and who may do it."""
    return render(request, "roadmap/forbidden.html", {"message": message}, status=403)


# --- The portfolio roadmap --------------------------------------------------------------


def _portfolio_roadmap(request, portfolio):
    """(roadmap, filter form, status) for the request's filters; invalid filters show
    the default view beside the errors, with status 400."""
    today = timezone.localdate()
    pis = selectors.program_increment_infos(portfolio)
    choices = selectors.roadmap_choices(portfolio, today=today, pis=pis)
    form = RoadmapFilterForm(request.GET, choices=choices)
    valid = form.is_valid()
    roadmap = selectors.build_portfolio_roadmap(
        portfolio=portfolio, today=today, filters=form.filters(), choices=choices, pis=pis
    )
    return roadmap, form, 200 if valid else 400


@require_http_methods(["GET", "HEAD"])
def portfolio_roadmap(request):
    """/roadmap/: PIs as columns, value streams as lanes, epics as bars; ``?format=csv``
    exports what is shown."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    roadmap, form, status = _portfolio_roadmap(request, portfolio)
    if request.GET.get("format") == "csv":
        return csv_response(roadmap, status=status)
    context = {
        "roadmap": roadmap,
        "filter_form": form,
        "filtered": any(request.GET.get(name) for name in ("value_stream", "theme", "state", "pi_from", "pi_to")),
        "may_add_milestone": request.user.has_perm(EDIT_PORTFOLIO_ROADMAP, portfolio),
        "pis": len(roadmap.columns),
    }
    return render(request, "roadmap/portfolio_roadmap.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def portfolio_roadmap_csv(request):
    """/roadmap/export.csv: the same filters as the page, as CSV."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    roadmap, _form, status = _portfolio_roadmap(request, portfolio)
    return csv_response(roadmap, status=status)


# --- Solution roadmaps ------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def roadmap_list(request):
    """The solution roadmaps of the portfolio, by value stream."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    trains = selectors.roadmap_trains(user=request.user, portfolio=portfolio)
    return render(request, "roadmap/roadmap_list.html", {"trains": trains})


def _roadmap_train(request, train_id: int) -> Train:
    current_portfolio_for(request)  # the memberships the layout needs, reused by visibility
    try:
        return selectors.solution_roadmap_train(user=request.user, train_id=train_id)
    except Train.DoesNotExist:
        raise Http404("No such train.") from None


def _roadmap_url(train: Train, anchor: str = "") -> str:
    carrier = train.solution_train_id or train.pk
    return reverse("roadmap:solution-roadmap", args=[carrier]) + (f"#{anchor}" if anchor else "")


@require_http_methods(["GET", "HEAD"])
def solution_roadmap(request, train_id: int):
    """A solution train's roadmap, or an ART's outside any solution train (an ART of a
    solution train is on its solution train's)."""
    train = _roadmap_train(request, train_id)
    if train.solution_train_id:
        return redirect(_roadmap_url(train, f"train-{train.pk}"))
    today = timezone.localdate()
    pis = selectors.program_increment_infos(train.value_stream.portfolio)
    cadence_id = cadence_id_of(train)
    window = WindowForm(
        request.GET, columns=selectors.columns_of([pi for pi in pis if pi.cadence_id == cadence_id], today)
    )
    status = 200 if window.is_valid() else 400
    pi_from, pi_to = window.window()
    roadmap = selectors.build_solution_roadmap(train=train, today=today, pi_from_id=pi_from, pi_to_id=pi_to, pis=pis)
    editable = {t.pk for t in roadmap.trains if request.user.has_perm(EDIT_SOLUTION_ROADMAP, t)}
    context = {
        "train": train,
        "roadmap": roadmap,
        "window_form": window,
        "editable": editable,
        "may_edit": train.pk in editable,
        "may_edit_portfolio_milestones": request.user.has_perm(EDIT_PORTFOLIO_ROADMAP, train.value_stream.portfolio),
    }
    return render(request, "roadmap/solution_roadmap.html", context, status=status)


# --- Edits ------------------------------------------------------------------------------


def _edit(request, *, form, save, template: str, context: dict, success_url: str, saved_message):
    """POST: validate, save through ``save(form)`` (a service), redirect. A refused save
    shows why on the form (400); a stale one keeps the input beside the row as it is now
    (409): saving again, having seen it, is a decision."""
    conflict, status = None, 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                saved = save(form)
            except StaleVersion as stale:
                conflict, status = stale.current, 409
                data = request.POST.copy()
                data["version"] = conflict.version
                form = type(form)(data, instance=conflict, **form.extra)
                form.is_valid()
            except PermissionDenied as refused:
                return forbidden(request, str(refused))
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, saved_message(saved))
                return redirect(success_url)
    context = {
        **context,
        "form": form,
        "conflict": conflict,
        "current_values": _current_values(form, conflict) if conflict else [],
        "cancel_url": success_url,
    }
    return render(request, template, context, status=status)


def _display(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime.date):
        return f"{value:%a %-d %b %Y}"
    return str(value)


def _current_values(form, row) -> list[tuple[str, str]]:
    """The row's values of the form's fields, as a reader sees them."""
    values = []
    for name in form.editable:
        getter = getattr(row, f"get_{name}_display", None)
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        values.append((label, getter() if getter else _display(getattr(row, name))))
    return values


def _bind(request, form_class, *, instance=None, **extra):
    form = form_class(request.POST if request.method == "POST" else None, instance=instance, **extra)
    form.extra = extra
    return form


def _train_pis(train: Train):
    return ProgramIncrement.objects.filter(cadence_id=cadence_id_of(train)).order_by("start_date")


def _epic_choices(train: Train, current_epic_id=None):
    """The portfolio's epics not done yet (and the current one), by key."""
    return Epic.objects.filter(
        Q(portfolio_id=train.value_stream.portfolio_id) & (~Q(state=EpicState.DONE) | Q(pk=current_epic_id))
    ).order_by("key")


@require_http_methods(["GET", "HEAD", "POST"])
def capability_create(request, train_id: int):
    train = _roadmap_train(request, train_id)
    if not request.user.has_perm(EDIT_SOLUTION_ROADMAP, train):
        return forbidden(request, f"Only {train}'s {WHO_MAY_EDIT} may add capabilities to its roadmap.")
    if train.solution_train_id:
        return redirect(reverse("roadmap:capability-create", args=[train.solution_train_id]))
    form = _bind(request, CapabilityForm, program_increments=_train_pis(train), epics=_epic_choices(train))

    def save(form):
        return services.capability_create(actor=request.user, train=train, **form.changes)

    return _edit(
        request,
        form=form,
        save=save,
        template="roadmap/edit_form.html",
        context={"train": train, "heading": f"New capability on {train.name}", "kind": "capability"},
        success_url=_roadmap_url(train),
        saved_message=lambda c: f"Added {c.key} to {train.name}'s roadmap.",
    )


@require_http_methods(["GET", "HEAD", "POST"])
def capability_edit(request, capability_id: int):
    current_portfolio_for(request)
    capability = get_object_or_404(
        Capability.objects.filter(train__in=_visible_trains(request)).select_related(
            "train__value_stream__portfolio", "train__solution_train", "epic", "program_increment"
        ),
        pk=capability_id,
    )
    train = capability.train
    if not request.user.has_perm(EDIT_SOLUTION_ROADMAP, capability):
        return forbidden(request, f"Only {train}'s {WHO_MAY_EDIT} may change its capabilities.")
    form = _bind(
        request,
        CapabilityForm,
        instance=capability,
        program_increments=_train_pis(train),
        epics=_epic_choices(train, capability.epic_id),
    )

    def save(form):
        return services.capability_update(
            actor=request.user, capability=capability, expected_version=form.expected_version, **form.changes
        )

    features = list(
        capability.features.select_related("train", "program_increment", "iteration").order_by(
            "program_increment__start_date", "key"
        )
    )
    return _edit(
        request,
        form=form,
        save=save,
        template="roadmap/edit_form.html",
        context={
            "train": train,
            "heading": f"{capability.key} {capability.name}",
            "kind": "capability",
            "object": capability,
            "features": features,
            "feature_editable": {f.pk for f in features if request.user.has_perm(EDIT_SOLUTION_ROADMAP, f)},
        },
        success_url=_roadmap_url(train, f"capability-{capability.pk}"),
        saved_message=lambda c: f"Saved {c.key}.",
    )


def _visible_trains(request):
    from valuestreams.selectors import trains_visible_to

    return trains_visible_to(request.user).values("pk")


@require_http_methods(["GET", "HEAD", "POST"])
def feature_edit(request, feature_id: int):
    current_portfolio_for(request)
    feature = get_object_or_404(
        Feature.objects.filter(train__in=_visible_trains(request)).select_related(
            "train__value_stream__portfolio",
            "train__solution_train",
            "capability",
            "epic",
            "program_increment",
            "iteration",
        ),
        pk=feature_id,
    )
    train = feature.train
    if not request.user.has_perm(EDIT_SOLUTION_ROADMAP, feature):
        return forbidden(request, f"Only {train}'s {WHO_MAY_EDIT} may change its features.")
    pis = _train_pis(train)
    form = _bind(
        request,
        FeatureForm,
        instance=feature,
        program_increments=pis,
        iterations=Iteration.objects.filter(program_increment__in=pis)
        .select_related("program_increment")
        .order_by("start_date"),
    )

    def save(form):
        return services.feature_update(
            actor=request.user, feature=feature, expected_version=form.expected_version, **form.changes
        )

    return _edit(
        request,
        form=form,
        save=save,
        template="roadmap/edit_form.html",
        context={"train": train, "heading": f"{feature.key} {feature.name}", "kind": "feature", "object": feature},
        success_url=_roadmap_url(train, f"feature-{feature.pk}"),
        saved_message=lambda f: f"Saved {f.key}.",
    )


def _milestone_form(request, *, portfolio, train, instance=None):
    cadence_id = cadence_id_of(train) if train is not None else portfolio.cadence_id
    return _bind(
        request,
        MilestoneForm,
        instance=instance,
        program_increments=ProgramIncrement.objects.filter(cadence_id=cadence_id).order_by("start_date"),
        releases=Release.objects.filter(portfolio=portfolio).order_by("date"),
    )


def _milestone_home(milestone_train, portfolio_url: str, anchor: str = "") -> str:
    if milestone_train is None:
        return portfolio_url
    return _roadmap_url(milestone_train, anchor)


@require_http_methods(["GET", "HEAD", "POST"])
def milestone_create(request, train_id: int | None = None):
    """A milestone on a train's roadmap, or (without a train) on the portfolio roadmap."""
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    train = _roadmap_train(request, train_id) if train_id is not None else None
    if train is not None:
        portfolio = train.value_stream.portfolio
        allowed = request.user.has_perm(EDIT_SOLUTION_ROADMAP, train)
        refusal = f"Only {train}'s {WHO_MAY_EDIT} may add milestones to its roadmap."
    else:
        allowed = request.user.has_perm(EDIT_PORTFOLIO_ROADMAP, portfolio)
        refusal = "Only APMO or a portfolio manager may add milestones to the portfolio roadmap."
    if not allowed:
        return forbidden(request, refusal)
    form = _milestone_form(request, portfolio=portfolio, train=train)

    def save(form):
        return services.milestone_create(actor=request.user, portfolio=portfolio, train=train, **form.changes)

    where = train.name if train else "the portfolio roadmap"
    return _edit(
        request,
        form=form,
        save=save,
        template="roadmap/edit_form.html",
        context={"train": train, "heading": f"New milestone on {where}", "kind": "milestone"},
        success_url=_milestone_home(train, reverse("roadmap:portfolio-roadmap"), "milestones"),
        saved_message=lambda m: f"Added the milestone {m.name} ({m.date:%-d %b %Y}).",
    )


def _visible_milestone(request, milestone_id: int) -> Milestone:
    from portfolio.permissions import visible_portfolio_ids

    current_portfolio_for(request)
    return get_object_or_404(
        Milestone.objects.filter(portfolio_id__in=visible_portfolio_ids(request.user)).select_related(
            "portfolio", "train__value_stream__portfolio", "train__solution_train", "program_increment", "release"
        ),
        pk=milestone_id,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def milestone_edit(request, milestone_id: int):
    milestone = _visible_milestone(request, milestone_id)
    if not request.user.has_perm(EDIT_SOLUTION_ROADMAP, milestone):
        return forbidden(request, "Only the train's STE or RTE, APMO or a portfolio manager may change this milestone.")
    form = _milestone_form(request, portfolio=milestone.portfolio, train=milestone.train, instance=milestone)

    def save(form):
        return services.milestone_update(
            actor=request.user, milestone=milestone, expected_version=form.expected_version, **form.changes
        )

    return _edit(
        request,
        form=form,
        save=save,
        template="roadmap/edit_form.html",
        context={
            "train": milestone.train,
            "heading": f"Milestone: {milestone.name}",
            "kind": "milestone",
            "object": milestone,
        },
        success_url=_milestone_home(milestone.train, reverse("roadmap:portfolio-roadmap"), "milestones"),
        saved_message=lambda m: f"Saved the milestone {m.name}.",
    )


@require_POST
def milestone_delete(request, milestone_id: int):
    milestone = _visible_milestone(request, milestone_id)
    home = _milestone_home(milestone.train, reverse("roadmap:portfolio-roadmap"), "milestones")
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        services.milestone_delete(actor=request.user, milestone=milestone, expected_version=version)
    except PermissionDenied as refused:
        return forbidden(request, str(refused))
    except StaleVersion:
        messages.error(request, f"Not deleted: {milestone.name} was changed meanwhile. Check it, then delete again.")
        return redirect(reverse("roadmap:milestone-edit", args=[milestone.pk]))
    messages.success(request, f"Deleted the milestone {milestone.name}.")
    return redirect(home)
