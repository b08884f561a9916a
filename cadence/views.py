"""The cadence pages: the portfolio's PI calendar, a PI with its iterations and events,
the APMO's edit pages, and the calendar feeds.

The calendar combines the cadence with the value streams and trains that follow it;
as a page it may look upward and calls the selectors of both apps. Feeds are read by
calendar clients, which cannot log in: the secret token in their URL stands for its
user, and a wrong or reset token, or anything its user may not see, answers 404.
"""

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from portfolio.core.concurrency import StaleVersion
from portfolio.models import Portfolio
from portfolio.permissions import roles_by_portfolio, visible_portfolio_ids
from portfolio.selectors import current_portfolio_for
from portfolio.views import no_portfolio
from valuestreams.models import Train, ValueStream
from valuestreams.selectors import ValueStreamCadence, cadence_followers, sync_warnings, trains_visible_to

from . import selectors, services
from .feeds import cadence_calendar
from .forms import CadenceEventForm, CadenceForm, GenerateForm, IterationForm, ProgramIncrementForm
from .models import Cadence, CadenceEvent, ProgramIncrement

CHANGE = "cadence.change_cadence"
UPCOMING_EVENTS = 8

# --- The PI calendar ----------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarRow:
    """One row of the calendar: a value stream on the cadence it follows, or one of its
    trains that follows a cadence of its own."""

    value_stream: ValueStream
    train: Train | None
    cadence: Cadence | None
    track: selectors.CadenceTrack | None
    follows_portfolio: bool
    drifting: bool  # its PI boundaries differ from the portfolio's in the window
    offset_days: int | None  # its boundary furthest from the portfolio's, signed; None if unknown

    @property
    def offset_label(self) -> str:
        if self.offset_days is None:
            return "no PI in view"
        return f"{self.offset_days:+d} day{'' if abs(self.offset_days) == 1 else 's'}".replace("-", "\u2212")


@dataclass(frozen=True)
class CalendarPage:
    portfolio: Portfolio
    cadence: Cadence | None
    today: datetime.date
    window: selectors.CalendarWindow | None
    ticks: list[selectors.MonthTick]
    today_left: float | None
    boundaries: list[float]
    header: selectors.CadenceTrack | None
    rows: list[CalendarRow]
    warnings: list
    upcoming: list[CadenceEvent]
    cadences: list[Cadence]
    followed_by: dict[int, list[str]]
    followers: list[ValueStreamCadence]


def calendar_page(*, portfolio: Portfolio, today: datetime.date, first_number: int | None) -> CalendarPage:
    """Everything /cadence/ shows, in a fixed number of queries."""
    followers = cadence_followers(portfolio)
    cadence_ids = {portfolio.cadence_id} if portfolio.cadence_id else set()
    cadence_ids |= {row.cadence_id for row in followers if row.cadence_id}
    cadence_ids |= {t.cadence_id for row in followers for t in row.trains if t.cadence_id}
    window = (
        selectors.calendar_window(cadence_id=portfolio.cadence_id, today=today, first_number=first_number)
        if portfolio.cadence_id
        else None
    )
    tracks, warnings = {}, []
    if window is not None:
        tracks = selectors.cadence_tracks(cadence_ids=cadence_ids, window=window, today=today)
        by_cadence = {cid: [bar.program_increment for bar in track.pis] for cid, track in tracks.items()}
        warnings = sync_warnings(portfolio, today, window=window, followers=followers, program_increments=by_cadence)
    offsets = {w.cadence.pk: w.offset_days for w in warnings}
    cadences = selectors.cadence_summaries(cadence_ids)
    by_id = {cadence.pk: cadence for cadence in cadences}

    def row(value_stream, train, cadence_id) -> CalendarRow:
        return CalendarRow(
            value_stream=value_stream,
            train=train,
            cadence=by_id.get(cadence_id),
            track=tracks.get(cadence_id),
            follows_portfolio=cadence_id == portfolio.cadence_id,
            drifting=cadence_id in offsets,
            offset_days=offsets.get(cadence_id),
        )

    rows = []
    followed_by: dict[int, list[str]] = {}
    if portfolio.cadence_id:
        followed_by[portfolio.cadence_id] = ["the portfolio"]
    for follower in followers:
        rows.append(row(follower.value_stream, None, follower.cadence_id))
        rows.extend(row(follower.value_stream, t.train, t.cadence_id) for t in follower.trains_on_own_cadence)
        if follower.declares_own:
            followed_by.setdefault(follower.cadence_id, []).append(follower.value_stream.name)
        for t in follower.trains_on_own_cadence:
            followed_by.setdefault(t.cadence_id, []).append(t.train.name)
    upcoming = selectors.upcoming_events(cadence_id=portfolio.cadence_id, today=today, limit=UPCOMING_EVENTS)
    today_mark = selectors.place(window, today, today) if window else None
    return CalendarPage(
        portfolio=portfolio,
        cadence=by_id.get(portfolio.cadence_id),
        today=today,
        window=window,
        ticks=selectors.month_ticks(window) if window else [],
        today_left=today_mark.left + today_mark.width / 2 if today_mark else None,
        boundaries=[selectors.place(window, pi.start_date, pi.start_date).left for pi in window.program_increments][1:]
        if window
        else [],
        header=tracks.get(portfolio.cadence_id),
        rows=rows,
        warnings=warnings,
        upcoming=upcoming,
        cadences=cadences,
        followed_by=followed_by,
        followers=followers,
    )


@dataclass(frozen=True)
class CadenceRow:
    """A cadence in use, who follows it, and (for its APMO) the form that extends it."""

    cadence: Cadence
    followed_by: list[str]
    generate_form: GenerateForm | None


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_http_methods(["GET", "HEAD"])
def calendar(request):
    portfolio = current_portfolio_for(request)
    if portfolio is None:
        return no_portfolio(request)
    page = calendar_page(
        portfolio=portfolio, today=timezone.localdate(), first_number=_int_or_none(request.GET.get("from"))
    )
    editable = {c.pk for c in page.cadences if request.user.has_perm(CHANGE, c)}
    token = services.calendar_feed_token_for(user=request.user).token
    context = {
        "page": page,
        "cadence_rows": [
            CadenceRow(
                cadence=c,
                followed_by=page.followed_by.get(c.pk, []),
                generate_form=GenerateForm(initial={"after_number": c.last_number or 0}) if c.pk in editable else None,
            )
            for c in page.cadences
        ],
        "editable": bool(editable),
        "can_edit": portfolio.cadence_id in editable,
        "feed_token": token,
        "portfolio_feed_url": request.build_absolute_uri(reverse("cadence:feed-portfolio", args=[token, portfolio.pk])),
    }
    return render(request, "cadence/calendar.html", context)


# --- A PI, and the edit pages ------------------------------------------------------------------


def _portfolio_ids(request) -> list[int]:
    """The user's portfolios, read with the memberships the layout needs (one query)."""
    current_portfolio_for(request)
    return visible_portfolio_ids(request.user)


def _visible(queryset, **lookup):
    """The row if it belongs to a cadence of one of the user's portfolios, else 404."""
    return get_object_or_404(queryset, **lookup)


def _visible_cadences(request):
    return selectors.cadences_used_by(_portfolio_ids(request))


@require_http_methods(["GET", "HEAD"])
def program_increment_detail(request, pi_id: int):
    pi = _visible(
        selectors.program_increments_used_by(_portfolio_ids(request))
        .select_related("cadence")
        .prefetch_related("iterations", Prefetch("events", queryset=CadenceEvent.objects.select_related("iteration"))),
        pk=pi_id,
    )
    context = {
        "pi": pi,
        "iterations": list(pi.iterations.all()),
        "events": sorted(pi.events.all(), key=lambda e: (e.start_date, e.kind)),
        "can_edit": request.user.has_perm(CHANGE, pi),
        "today": timezone.localdate(),
    }
    return render(request, "cadence/program_increment_detail.html", context)


def _display(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date):
        return f"{value:%a %-d %b %Y}"
    return str(value)


def _current_values(form, row) -> list[tuple[str, str]]:
    values = []
    for name in form.fields_from_instance:
        getter = getattr(row, f"get_{name}_display", None)
        values.append(
            (
                form.fields[name].label or name.replace("_", " ").capitalize(),
                getter() if getter else _display(getattr(row, name)),
            )
        )
    return values


def _edit(request, *, obj, form_class, save, template: str, success_url: str, context: dict, form_kwargs=None):
    """GET shows the form; POST saves through ``save(form)`` (a service call). A refused
    save shows why on the form; a stale one keeps the input beside the current row."""
    if not request.user.has_perm(CHANGE, obj):
        raise PermissionDenied("Only an APMO of a portfolio on this cadence may edit it.")
    form_kwargs = form_kwargs or {}
    conflict = None
    if request.method == "POST":
        form = form_class(request.POST, instance=obj, **form_kwargs)
        if form.is_valid():
            try:
                saved = save(form)
            except StaleVersion as stale:
                conflict = stale.current
                data = request.POST.copy()
                data["version"] = conflict.version  # saving again, having seen it, is a decision
                form = form_class(data, instance=conflict, **form_kwargs)
                form.is_valid()
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, f"Saved {saved}.")
                return redirect(success_url)
    else:
        form = form_class(instance=obj, **form_kwargs)
    return render(
        request,
        template,
        {
            **context,
            "form": form,
            "conflict": conflict,
            "current_values": _current_values(form, conflict) if conflict else [],
            "cancel_url": success_url,
        },
    )


def _days(start: datetime.date, end: datetime.date) -> str:
    return f"{start:%a %-d %b} – {end:%a %-d %b %Y}"


def _pi_and_iterations(pi: ProgramIncrement) -> list[tuple[str, str]]:
    """The PI's dates and its iterations', beside a form that edits one of them."""
    rows = [(pi.name, _days(pi.start_date, pi.end_date))]
    for it in pi.iterations.order_by("number"):
        label = "IP iteration" if it.is_innovation_planning else f"Iteration {it.number}"
        rows.append((label, _days(it.start_date, it.end_date)))
    return rows


def _pi_url(pi_id: int) -> str:
    return reverse("cadence:pi-detail", args=[pi_id])


@require_http_methods(["GET", "HEAD", "POST"])
def program_increment_edit(request, pi_id: int):
    pi = _visible(
        selectors.program_increments_used_by(_portfolio_ids(request)).select_related("cadence"),
        pk=pi_id,
    )

    def save(form):
        data = form.cleaned_data
        return services.program_increment_update(
            actor=request.user,
            pi=pi,
            expected_version=data["version"],
            move_contents=data["move_contents"],
            **form.changes,
        )

    neighbours = ProgramIncrement.objects.filter(cadence_id=pi.cadence_id).exclude(pk=pi.pk)
    before = neighbours.filter(start_date__lt=pi.start_date).order_by("-start_date").first()
    after = neighbours.filter(start_date__gt=pi.start_date).order_by("start_date").first()
    iterations = list(pi.iterations.order_by("number"))
    around = [(f"Before: {p.name}", _days(p.start_date, p.end_date)) for p in (before,) if p]
    around += [(f"After: {p.name}", _days(p.start_date, p.end_date)) for p in (after,) if p]
    if iterations:
        around.append((f"Its {len(iterations)} iterations", _days(iterations[0].start_date, iterations[-1].end_date)))
    return _edit(
        request,
        obj=pi,
        form_class=ProgramIncrementForm,
        save=save,
        template="cadence/program_increment_form.html",
        success_url=_pi_url(pi.pk),
        context={"pi": pi, "around": around},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def iteration_edit(request, iteration_id: int):
    iteration = _visible(
        selectors.iterations_used_by(_portfolio_ids(request)).select_related("program_increment__cadence"),
        pk=iteration_id,
    )

    def save(form):
        return services.iteration_update(
            actor=request.user, iteration=iteration, expected_version=form.cleaned_data["version"], **form.changes
        )

    return _edit(
        request,
        obj=iteration,
        form_class=IterationForm,
        save=save,
        template="cadence/iteration_form.html",
        success_url=_pi_url(iteration.program_increment_id),
        context={
            "pi": iteration.program_increment,
            "iteration": iteration,
            "around": _pi_and_iterations(iteration.program_increment),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def event_edit(request, event_id: int):
    event = _visible(
        selectors.cadence_events_used_by(_portfolio_ids(request)).select_related(
            "program_increment__cadence", "iteration"
        ),
        pk=event_id,
    )

    def save(form):
        return services.cadence_event_update(
            actor=request.user, event=event, expected_version=form.cleaned_data["version"], **form.changes
        )

    return _edit(
        request,
        obj=event,
        form_class=CadenceEventForm,
        save=save,
        template="cadence/event_form.html",
        success_url=_pi_url(event.program_increment_id),
        context={"pi": event.program_increment, "event": event, "around": _pi_and_iterations(event.program_increment)},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def cadence_edit(request, cadence_id: int):
    cadence = _visible(_visible_cadences(request), pk=cadence_id)
    has_pis = cadence.program_increments.exists()

    def save(form):
        changes = form.changes
        return services.cadence_update(
            actor=request.user, cadence=cadence, expected_version=form.cleaned_data["version"], **changes
        )

    return _edit(
        request,
        obj=cadence,
        form_class=CadenceForm,
        save=save,
        template="cadence/cadence_form.html",
        success_url=reverse("cadence:calendar"),
        context={"cadence": cadence},
        form_kwargs={"has_program_increments": has_pis},
    )


@require_POST
def cadence_generate(request, cadence_id: int):
    cadence = _visible(_visible_cadences(request), pk=cadence_id)
    if not request.user.has_perm(CHANGE, cadence):
        raise PermissionDenied("Only an APMO of a portfolio on this cadence may extend it.")
    form = GenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how many PIs to add (1 to 12).")
        return redirect("cadence:calendar")
    try:
        created = services.program_increments_generate(
            actor=request.user,
            cadence=cadence,
            count=form.cleaned_data["count"],
            after_number=form.cleaned_data["after_number"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("cadence:calendar")
    if created:
        names = created[0].name if len(created) == 1 else f"{created[0].name} to {created[-1].name}"
        messages.success(
            request,
            f"Added {names} to {cadence.name} ({len(created)} PI{'s' if len(created) != 1 else ''}, "
            f"until {created[-1].end_date:%-d %b %Y}), with their iterations and events.",
        )
    else:
        messages.info(request, f"Nothing added: {cadence.name} already has those PIs.")
    return redirect("cadence:calendar")


# --- Calendar feeds -------------------------------------------------------------------------------


@require_POST
def feed_token_reset(request):
    services.calendar_feed_token_reset(user=request.user)
    messages.success(request, "Your calendar feed links were replaced: the old links no longer work.")
    return redirect(reverse("cadence:calendar") + "#feeds")


def _ics(calendar, filename: str) -> HttpResponse:
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # The URL is a secret: shared caches must not keep it, and search engines not index it.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


def _feed_user(token: str):
    user = selectors.feed_token_owner(token)
    if user is None:
        raise Http404("No such calendar feed.")
    return user


@login_not_required
@require_http_methods(["GET", "HEAD"])
def portfolio_feed(request, token: str, portfolio_id: int):
    user = _feed_user(token)
    if portfolio_id not in roles_by_portfolio(user):
        raise Http404("No such calendar feed.")
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    pis = selectors.feed_program_increments(cadence_id=portfolio.cadence_id, today=timezone.localdate())
    calendar = cadence_calendar(title=f"{portfolio.name} · PI calendar", program_increments=pis, words=portfolio.words)
    return _ics(calendar, f"{portfolio.slug}-pi-calendar.ics")


@login_not_required
@require_http_methods(["GET", "HEAD"])
def train_feed(request, token: str, train_id: int):
    user = _feed_user(token)
    train = trains_visible_to(user).select_related("value_stream__portfolio").filter(pk=train_id).first()
    if train is None:
        raise Http404("No such calendar feed.")
    portfolio = train.value_stream.portfolio
    cadence_id = train.cadence_id or train.value_stream.cadence_id or portfolio.cadence_id
    pis = selectors.feed_program_increments(cadence_id=cadence_id, today=timezone.localdate())
    calendar = cadence_calendar(title=f"{train.name} · PI calendar", program_increments=pis, words=portfolio.words)
    return _ics(calendar, f"{train.key.lower()}-pi-calendar.ics")
