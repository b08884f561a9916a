"""Writes of the cadence: generating PIs with their iterations and events, editing any
single date of them, and the calendar feed tokens.

Rules about one row are the models' (``clean()`` and database constraints). The rules
here span rows, and every edit is checked against all of them before anything is
written:

- the PIs of one cadence never overlap (the database enforces it too: a concurrent
  write that slips past the check is reported the same way, never as a 500);
- a PI's iterations lie inside the PI, in the order of their numbers, without overlap;
- an event lies inside its PI, and is linked to the iteration it falls in.

An edit names the version it was made against; if the row changed since, StaleVersion
carries the current row and nothing is written. ``actor`` None is the system (seeding,
commands): the permission check is for people.
"""

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from portfolio.core.concurrency import StaleVersion

from .models import Cadence, CadenceEvent, CadenceEventKind, CalendarFeedToken, Iteration, ProgramIncrement

DAY = datetime.timedelta(days=1)
# How generated events sit in a PI (days from its start, or from its IP iteration's).
PI_PLANNING_DAYS = 2
PORTFOLIO_SYNC_FIRST_DAY = 9  # the Wednesday of the second week, for a PI starting on a Monday
PORTFOLIO_SYNC_INTERVAL_DAYS = 14
SOLUTION_DEMO_IP_DAY = 2
INSPECT_ADAPT_IP_DAY = 3
INSPECT_ADAPT_DAYS = 2
MAX_PIS_PER_GENERATION = 12


def _require(actor, perm: str, obj, message: str) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied(message)


def _span(start: datetime.date, end: datetime.date) -> str:
    if start == end:
        return f"{start:%-d %b %Y}"
    if start.year == end.year:
        return f"{start:%-d %b} – {end:%-d %b %Y}"
    return f"{start:%-d %b %Y} – {end:%-d %b %Y}"


def _weekday_on_or_before(day: datetime.date) -> datetime.date:
    return day - DAY * max(0, day.weekday() - 4)


def _weekday_on_or_after(day: datetime.date) -> datetime.date:
    return day + DAY * ((7 - day.weekday()) % 7 if day.weekday() > 4 else 0)


# --- The layout of a generated PI (pure: no database) ----------------------------------


@dataclass(frozen=True)
class PlannedIteration:
    number: int
    start_date: datetime.date
    end_date: datetime.date
    is_innovation_planning: bool


@dataclass(frozen=True)
class PlannedEvent:
    kind: str
    label: str
    start_date: datetime.date
    end_date: datetime.date


@dataclass(frozen=True)
class PlannedProgramIncrement:
    """A PI as the cadence defines it, before it is written."""

    number: int
    start_date: datetime.date
    end_date: datetime.date
    planning_date: datetime.date
    intake_cutoff: datetime.date
    iterations: tuple[PlannedIteration, ...]
    events: tuple[PlannedEvent, ...]


def plan_program_increment(cadence: Cadence, *, number: int, start: datetime.date) -> PlannedProgramIncrement:
    """The PI that ``cadence`` lays out from ``start``: its iterations back to back, the
    last an IP iteration if the cadence has one, and its events:

    - PI planning on the first two days, the intake cutoff ``intake_cutoff_days`` before;
    - a system demo on the last weekday of each iteration but the IP iteration;
    - a solution demo and inspect & adapt early in the IP iteration (without one: on
      the PI's last weekday);
    - a portfolio sync every two weeks from the second week.
    """
    length = cadence.iteration_length_days
    iterations = tuple(
        PlannedIteration(
            number=n,
            start_date=start + DAY * (length * (n - 1)),
            end_date=start + DAY * (length * n - 1),
            is_innovation_planning=cadence.has_ip_iteration and n == cadence.iterations_per_pi,
        )
        for n in range(1, cadence.iterations_per_pi + 1)
    )
    end = iterations[-1].end_date
    events = [PlannedEvent(CadenceEventKind.PI_PLANNING, "PI planning", start, start + DAY * (PI_PLANNING_DAYS - 1))]
    development = [it for it in iterations if not it.is_innovation_planning]
    for it in development:
        day = _weekday_on_or_before(it.end_date)
        events.append(PlannedEvent(CadenceEventKind.SYSTEM_DEMO, f"I{it.number} system demo", day, day))
    ip = iterations[-1] if iterations[-1].is_innovation_planning else None
    if ip is not None:
        demo_day = min(_weekday_on_or_after(ip.start_date + DAY * SOLUTION_DEMO_IP_DAY), end)
        ia_start = min(_weekday_on_or_after(ip.start_date + DAY * INSPECT_ADAPT_IP_DAY), end)
        ia_end = min(ia_start + DAY * (INSPECT_ADAPT_DAYS - 1), end)
    else:
        demo_day = ia_start = ia_end = _weekday_on_or_before(end)
    events.append(PlannedEvent(CadenceEventKind.SOLUTION_DEMO, "solution demo", demo_day, demo_day))
    events.append(PlannedEvent(CadenceEventKind.INSPECT_ADAPT, "inspect & adapt", ia_start, ia_end))
    day = start + DAY * PORTFOLIO_SYNC_FIRST_DAY
    while day <= end:
        sync = _weekday_on_or_after(day)
        if sync <= end:
            events.append(PlannedEvent(CadenceEventKind.PORTFOLIO_SYNC, "portfolio sync", sync, sync))
        day += DAY * PORTFOLIO_SYNC_INTERVAL_DAYS
    events.sort(key=lambda e: (e.start_date, e.kind))
    return PlannedProgramIncrement(
        number=number,
        start_date=start,
        end_date=end,
        planning_date=start,
        intake_cutoff=start - DAY * cadence.intake_cutoff_days,
        iterations=iterations,
        events=tuple(events),
    )


_PI_NAME = re.compile(r"^PI (\d{2})\.(\d+)$")


def _pi_name(start: datetime.date, taken: set[str]) -> str:
    """ "PI 27.2": the year and the PI's ordinal among the cadence's PIs starting that year."""
    year = f"{start.year % 100:02d}"
    ordinals = [int(m[2]) for name in taken if (m := _PI_NAME.match(name)) and m[1] == year]
    ordinal = max(ordinals, default=0) + 1
    while f"PI {year}.{ordinal}" in taken:
        ordinal += 1
    return f"PI {year}.{ordinal}"


# --- Generation -------------------------------------------------------------------------


def _event_iteration(iterations: Sequence, day: datetime.date):
    return next((it for it in iterations if it.start_date <= day <= it.end_date), None)


@transaction.atomic
def program_increments_generate(
    *, actor, cadence: Cadence, count: int, after_number: int | None = None
) -> list[ProgramIncrement]:
    """Extend the cadence by ``count`` PIs, each with its iterations and events, starting
    the day after its last PI ends (or on the cadence's start date).

    ``after_number`` is the last PI number the requester saw. The PIs wanted are those
    numbered after it; any that exist already are not made again, so a form submitted
    twice, or a retried request, extends the cadence once. Returns the PIs created.
    """
    _require(actor, "cadence.change_cadence", cadence, "Only an APMO of a portfolio on this cadence may extend it.")
    return _generate(actor=actor, cadence=cadence, count=count, after_number=after_number)


def _generate(*, actor, cadence: Cadence, count: int, after_number: int | None) -> list[ProgramIncrement]:
    if not 1 <= count <= MAX_PIS_PER_GENERATION:
        raise ValidationError({"count": f"Generate between 1 and {MAX_PIS_PER_GENERATION} PIs at a time."})
    # Lock the cadence: two generators of one cadence take turns.
    cadence = Cadence.objects.select_for_update().get(pk=cadence.pk)
    existing = list(cadence.program_increments.order_by("start_date").values_list("number", "end_date", "name"))
    last_number = max((number for number, _, _ in existing), default=0)
    if after_number is None:
        after_number = last_number
    numbers = [n for n in range(after_number + 1, after_number + count + 1) if n > last_number]
    if not numbers:
        return []
    start = existing[-1][1] + DAY if existing else cadence.start_date
    taken = {name for _, _, name in existing}
    plans = []
    for number in numbers:
        plan = plan_program_increment(cadence, number=number, start=start)
        plans.append((plan, _pi_name(start, taken)))
        taken.add(plans[-1][1])
        start = plan.end_date + DAY
    pis = [
        ProgramIncrement(
            cadence=cadence,
            number=plan.number,
            name=name,
            start_date=plan.start_date,
            end_date=plan.end_date,
            planning_date=plan.planning_date,
            intake_cutoff=plan.intake_cutoff,
        )
        for plan, name in plans
    ]
    try:
        with transaction.atomic():
            bulk_create_with_history(pis, ProgramIncrement, default_user=actor)
    except IntegrityError:
        # Only a PI written meanwhile by someone else can collide with the new ones.
        raise ValidationError(
            {"count": "Another change to this cadence was saved at the same moment: reload and try again."}
        ) from None
    iterations = {}
    for pi, (plan, _) in zip(pis, plans, strict=True):
        iterations[pi.number] = [
            Iteration(
                program_increment=pi,
                number=it.number,
                start_date=it.start_date,
                end_date=it.end_date,
                is_innovation_planning=it.is_innovation_planning,
            )
            for it in plan.iterations
        ]
    bulk_create_with_history([it for its in iterations.values() for it in its], Iteration, default_user=actor)
    events = [
        CadenceEvent(
            program_increment=pi,
            iteration=_event_iteration(iterations[pi.number], event.start_date),
            kind=event.kind,
            name=f"{pi.name} {event.label}",
            start_date=event.start_date,
            end_date=event.end_date,
        )
        for pi, (plan, _) in zip(pis, plans, strict=True)
        for event in plan.events
    ]
    bulk_create_with_history(events, CadenceEvent, default_user=actor)
    return pis


@transaction.atomic
def cadence_create(
    *,
    actor,
    name: str,
    start_date: datetime.date,
    iterations_per_pi: int,
    iteration_length_days: int,
    has_ip_iteration: bool,
    intake_cutoff_days: int,
    program_increments: int = 0,
) -> Cadence:
    """A new cadence, with its first ``program_increments`` PIs generated."""
    cadence = Cadence(
        name=name,
        start_date=start_date,
        iterations_per_pi=iterations_per_pi,
        iteration_length_days=iteration_length_days,
        has_ip_iteration=has_ip_iteration,
        intake_cutoff_days=intake_cutoff_days,
    )
    cadence.full_clean()
    cadence.save()
    if program_increments:
        # Nobody uses the new cadence yet, so nobody could pass the permission check.
        _generate(actor=actor, cadence=cadence, count=program_increments, after_number=None)
    return cadence


# --- Edits --------------------------------------------------------------------------------


def _locked_current(model, obj, expected_version: int | None):
    current = model._default_manager.select_for_update().get(pk=obj.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(current)
    return current


def _overlap_error(pi: ProgramIncrement) -> ValidationError | None:
    """The error naming the PI this one would overlap, on the date that causes it."""
    other = (
        ProgramIncrement.objects.overlapping(
            cadence_id=pi.cadence_id, start=pi.start_date, end=pi.end_date, exclude_pk=pi.pk
        )
        .order_by("start_date")
        .first()
    )
    if other is None:
        return None
    field = "end_date" if other.start_date >= pi.start_date else "start_date"
    return ValidationError(
        {
            field: f"{pi.name} ({_span(pi.start_date, pi.end_date)}) would overlap {other.name} "
            f"({_span(other.start_date, other.end_date)}): PIs of one cadence may not overlap."
        },
        code="overlap",
    )


def _save_program_increment(pi: ProgramIncrement) -> None:
    """Validate and save; the database's no-overlap rule reports like the check does."""
    error = _overlap_error(pi)
    if error is not None:
        raise error
    pi.full_clean()
    try:
        with transaction.atomic():
            pi.save()
    except IntegrityError:
        # A PI saved meanwhile by someone else (the check above ran before it committed).
        error = _overlap_error(pi)
        if error is not None:
            raise error from None
        raise ValidationError(
            "Another change to this cadence was saved at the same moment: reload and try again.", code="conflict"
        ) from None


def iteration_order_errors(
    pi_start: datetime.date, pi_end: datetime.date, iterations: Iterable, *, edited=None
) -> dict[str, list[str]]:
    """What is wrong with a PI's ``iterations`` (with their new dates): one outside the
    PI, or one not starting after the one before it ends. Each error is on the date
    field that would fix it: the PI's own when a PI is edited, else the ``edited``
    iteration's (its end when it runs into the next one)."""
    errors: dict[str, list[str]] = {}
    ordered = sorted(iterations, key=lambda it: it.number)
    for it in ordered:
        if it.start_date < pi_start:
            errors.setdefault("start_date", []).append(
                f"Iteration {it.number} ({_span(it.start_date, it.end_date)}) would start before its PI "
                f"starts ({pi_start:%-d %b %Y})."
            )
        if it.end_date > pi_end:
            errors.setdefault("end_date", []).append(
                f"Iteration {it.number} ({_span(it.start_date, it.end_date)}) would end after its PI ends "
                f"({pi_end:%-d %b %Y})."
            )
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start_date <= before.end_date:
            field = "end_date" if edited is not None and before is edited else "start_date"
            errors.setdefault(field, []).append(
                f"Iteration {after.number} ({_span(after.start_date, after.end_date)}) would not start after "
                f"iteration {before.number} ends ({before.end_date:%-d %b %Y}): iterations follow each other in order."
            )
    return errors


def _events_outside(pi_start: datetime.date, pi_end: datetime.date, events: Iterable) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for event in sorted(events, key=lambda e: e.start_date):
        if event.start_date < pi_start:
            errors.setdefault("start_date", []).append(
                f"{event.name} ({_span(event.start_date, event.end_date)}) would fall before the PI starts."
            )
        elif event.end_date > pi_end:
            errors.setdefault("end_date", []).append(
                f"{event.name} ({_span(event.start_date, event.end_date)}) would fall after the PI ends."
            )
    return errors


def _bump(objs: Sequence, model, fields: Sequence[str], actor) -> None:
    if not objs:
        return
    now = timezone.now()
    for obj in objs:
        obj.version += 1
        obj.updated_at = now
    bulk_update_with_history(objs, model, [*fields, "version", "updated_at"], default_user=actor)


def _relink_events(pi: ProgramIncrement, iterations: Sequence[Iteration], actor) -> None:
    """Link each event of the PI to the iteration its first day falls in."""
    moved = []
    for event in pi.events.all():
        iteration = _event_iteration(iterations, event.start_date)
        if (iteration.pk if iteration else None) != event.iteration_id:
            event.iteration = iteration
            moved.append(event)
    _bump(moved, CadenceEvent, ["iteration"], actor)


@transaction.atomic
def program_increment_update(
    *,
    actor,
    pi: ProgramIncrement,
    expected_version: int | None,
    name: str,
    start_date: datetime.date,
    end_date: datetime.date,
    planning_date: datetime.date,
    intake_cutoff: datetime.date,
    move_contents: bool = False,
) -> ProgramIncrement:
    """Change a PI's name and dates.

    With ``move_contents``, a new start date moves the PI's iterations and events (and
    its planning date and intake cutoff, unless those are changed too) by as many days.
    Refused, with the reason on the field, if the PI would overlap another of its
    cadence, or its iterations or events would fall outside it or out of order.
    """
    _require(actor, "cadence.change_cadence", pi, "Only an APMO of a portfolio on this cadence may edit its PIs.")
    current = _locked_current(ProgramIncrement, pi, expected_version)
    shift = start_date - current.start_date if move_contents else datetime.timedelta(0)
    if shift and planning_date == current.planning_date:
        planning_date += shift
    if shift and intake_cutoff == current.intake_cutoff:
        intake_cutoff += shift
    iterations = list(current.iterations.order_by("number"))
    events = list(current.events.all())
    for row in (*iterations, *events) if shift else ():
        row.start_date += shift
        row.end_date += shift
    current.name, current.start_date, current.end_date = name, start_date, end_date
    current.planning_date, current.intake_cutoff = planning_date, intake_cutoff
    if end_date <= start_date:
        raise ValidationError({"end_date": "A PI must end after it starts."})
    errors = iteration_order_errors(start_date, end_date, iterations)
    for field, messages in _events_outside(start_date, end_date, events).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        if not move_contents and start_date != pi.start_date:
            errors.setdefault("start_date", []).append(
                "To move them with the PI, choose “move its iterations and events” (move_contents in the API), "
                "or edit them first."
            )
        raise ValidationError(errors)
    if ProgramIncrement.objects.filter(cadence_id=current.cadence_id, name=name).exclude(pk=current.pk).exists():
        raise ValidationError({"name": f"The cadence already has a PI named “{name}”."})
    current.version += 1
    _save_program_increment(current)
    if shift:
        _bump(iterations, Iteration, ["start_date", "end_date"], actor)
        _bump(events, CadenceEvent, ["start_date", "end_date"], actor)
    return current


@transaction.atomic
def iteration_update(
    *,
    actor,
    iteration: Iteration,
    expected_version: int | None,
    start_date: datetime.date,
    end_date: datetime.date,
    is_innovation_planning: bool,
) -> Iteration:
    """Change an iteration's dates. Refused if it would leave its PI or overlap the
    iteration before or after it; events are re-linked to the iteration they fall in."""
    _require(
        actor, "cadence.change_cadence", iteration, "Only an APMO of a portfolio on this cadence may edit iterations."
    )
    current = _locked_current(Iteration, iteration, expected_version)
    pi = current.program_increment
    current.start_date, current.end_date = start_date, end_date
    current.is_innovation_planning = is_innovation_planning
    if end_date <= start_date:
        raise ValidationError({"end_date": "An iteration must end after it starts."})
    siblings = [it for it in pi.iterations.all() if it.pk != current.pk]
    errors = iteration_order_errors(pi.start_date, pi.end_date, [*siblings, current], edited=current)
    if errors:
        raise ValidationError(errors)
    current.version += 1
    current.full_clean()
    current.save()
    _relink_events(pi, sorted([*siblings, current], key=lambda it: it.number), actor)
    return current


@transaction.atomic
def cadence_event_update(
    *,
    actor,
    event: CadenceEvent,
    expected_version: int | None,
    name: str,
    kind: str,
    start_date: datetime.date,
    end_date: datetime.date,
) -> CadenceEvent:
    """Change an event's name, kind or dates. It must stay within its PI; it is linked
    to the iteration its first day falls in."""
    _require(actor, "cadence.change_cadence", event, "Only an APMO of a portfolio on this cadence may edit events.")
    current = _locked_current(CadenceEvent, event, expected_version)
    pi = current.program_increment
    current.name, current.kind, current.start_date, current.end_date = name, kind, start_date, end_date
    errors = {}
    if end_date < start_date:
        errors["end_date"] = ["An event cannot end before it starts."]
    else:
        if start_date < pi.start_date or start_date > pi.end_date:
            errors["start_date"] = [
                f"{pi.name} runs {_span(pi.start_date, pi.end_date)}: an event of it must start within it."
            ]
        if end_date > pi.end_date:
            errors["end_date"] = [f"{pi.name} ends on {pi.end_date:%-d %b %Y}: the event must end by then."]
    if errors:
        raise ValidationError(errors)
    current.iteration = _event_iteration(list(pi.iterations.all()), start_date)
    current.version += 1
    current.full_clean()
    current.save()
    return current


@transaction.atomic
def cadence_update(
    *,
    actor,
    cadence: Cadence,
    expected_version: int | None,
    name: str,
    start_date: datetime.date,
    iterations_per_pi: int,
    iteration_length_days: int,
    has_ip_iteration: bool,
    intake_cutoff_days: int,
) -> Cadence:
    """Change how the cadence lays out the PIs it generates from now on. PIs already
    generated keep their dates (edit them one by one); the start date can change only
    while the cadence has no PI."""
    _require(actor, "cadence.change_cadence", cadence, "Only an APMO of a portfolio on this cadence may edit it.")
    current = _locked_current(Cadence, cadence, expected_version)
    if start_date != current.start_date and current.program_increments.exists():
        raise ValidationError(
            {"start_date": "This cadence already has PIs: move their dates instead of the cadence's start."}
        )
    current.name, current.start_date = name, start_date
    current.iterations_per_pi, current.iteration_length_days = iterations_per_pi, iteration_length_days
    current.has_ip_iteration, current.intake_cutoff_days = has_ip_iteration, intake_cutoff_days
    current.version += 1
    current.full_clean()
    current.save()
    return current


# --- Calendar feed tokens ---------------------------------------------------------------


def calendar_feed_token_for(*, user) -> CalendarFeedToken:
    """The user's feed token, made on first use."""
    token, _ = CalendarFeedToken.objects.get_or_create(user=user)
    return token


@transaction.atomic
def calendar_feed_token_reset(*, user) -> CalendarFeedToken:
    """Replace the user's feed token: URLs made with the old one answer 404 from now on."""
    token, created = CalendarFeedToken.objects.select_for_update().get_or_create(user=user)
    if not created:
        token.token = CalendarFeedToken._meta.get_field("token").get_default()
        token.reset_at = timezone.now()
        token.save(update_fields=["token", "reset_at"])
    return token
