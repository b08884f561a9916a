"""Cadence-gated intake: when an epic is ready to enter the PI it targets, the intake
preview (what the next cutoffs would defer, and why), and the email its owner gets.

New portfolio work enters only at the portfolio's rhythm. Each PI has an intake cutoff;
an epic targeting that PI must be ready by the end of that day, or it waits for the
next PI. The writes (``apply_intake_cutoffs``) are in ``portfolio.services``.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.urls import reverse

from cadence.models import ProgramIncrement

from .models import INTAKE_READY_STATES, Epic, EpicDeferral, EpicState, Portfolio
from .selectors import epics_visible_to

WSJF_COMPONENTS = ("business_value", "time_criticality", "risk_reduction", "job_size")


def wsjf_estimated(epic: Epic) -> bool:
    """Whether the epic's WSJF has been estimated. The components cannot be empty (each
    defaults to 1, the bottom of the scale), so an epic whose four components all still
    stand at 1 counts as not estimated."""
    return any(getattr(epic, component) != 1 for component in WSJF_COMPONENTS)


def intake_gaps(epic: Epic) -> list[str]:
    """What the epic lacks to enter its target PI, in words for people; empty when ready.

    Ready means: in the portfolio backlog or beyond, with an MVP hypothesis and a WSJF.
    """
    gaps = []
    if epic.state not in INTAKE_READY_STATES:
        gaps.append(f"still in {epic.get_state_display()}, not yet in the portfolio backlog")
    if not epic.mvp_hypothesis.strip():
        gaps.append("no MVP hypothesis")
    if not wsjf_estimated(epic):
        gaps.append("no WSJF estimate (all four components still at 1)")
    return gaps


def takes_part_in_intake(epic: Epic) -> bool:
    # A done epic has nothing left to enter a PI with.
    return epic.state != EpicState.DONE


def deferral_reason(epic: Epic, pi: ProgramIncrement, gaps: list[str]) -> str:
    return f"Not ready for {pi.name} at its intake cutoff ({pi.intake_cutoff:%d %b %Y}): {'; '.join(gaps)}."


def next_open_pi(pi: ProgramIncrement, cadence_pis: list[ProgramIncrement], *, today: datetime.date):
    """The first PI after ``pi`` in its cadence whose intake is still open on ``today``.

    Normally that is simply the next PI; if the cutoffs of several PIs have passed (the
    task did not run for a while), the epic goes straight to the first PI it can still
    enter instead of hopping through PIs it would miss too.
    """
    return next((p for p in cadence_pis if p.start_date > pi.start_date and p.intake_cutoff >= today), None)


# --- The intake preview ---------------------------------------------------------------


@dataclass(frozen=True)
class EpicAtRisk:
    """An epic that the coming cutoff would defer, with what it is missing."""

    epic: Epic
    gaps: list[str]


@dataclass(frozen=True)
class UpcomingIntake:
    """One PI whose intake is still open: its cutoff and the epics targeting it."""

    pi: ProgramIncrement
    days_left: int
    at_risk: list[EpicAtRisk]
    ready: list[Epic]
    deferred_to: ProgramIncrement | None  # where the epics at risk would go

    @property
    def targeting(self) -> int:
        return len(self.at_risk) + len(self.ready)


@dataclass(frozen=True)
class IntakePreview:
    today: datetime.date
    upcoming: list[UpcomingIntake]  # the next PI, and every later one that epics target
    untargeted: list[ProgramIncrement]  # later PIs still open that no epic targets yet
    recent_deferrals: list[EpicDeferral]


def intake_preview(*, user, portfolio: Portfolio, today: datetime.date, deferrals_shown: int = 20) -> IntakePreview:
    """The PIs of the portfolio's cadence whose intake is still open on ``today``: for
    the next one and every later one that epics target, the epics its cutoff would defer
    (and why) and those that are ready; then the latest deferrals. Three queries,
    whatever the number of epics and PIs."""
    open_pis = (
        list(
            ProgramIncrement.objects.filter(cadence_id=portfolio.cadence_id, intake_cutoff__gte=today).order_by(
                "start_date"
            )
        )
        if portfolio.cadence_id
        else []
    )
    epics = (
        epics_visible_to(user)
        .filter(portfolio=portfolio, target_pi__in=open_pis)
        .exclude(state=EpicState.DONE)
        .select_related("owner")
        .order_by("-wsjf", "key")
    )
    by_pi: dict[int, list[Epic]] = {pi.pk: [] for pi in open_pis}
    for epic in epics:
        by_pi[epic.target_pi_id].append(epic)
    upcoming, untargeted = [], []
    for index, pi in enumerate(open_pis):
        if index > 0 and not by_pi[pi.pk]:
            untargeted.append(pi)
            continue
        at_risk, ready = [], []
        for epic in by_pi[pi.pk]:
            gaps = intake_gaps(epic)
            if gaps:
                at_risk.append(EpicAtRisk(epic, gaps))
            else:
                ready.append(epic)
        upcoming.append(
            UpcomingIntake(
                pi=pi,
                days_left=(pi.intake_cutoff - today).days,
                at_risk=at_risk,
                ready=ready,
                # The day after the cutoff, when the task runs, this PI's intake is closed.
                deferred_to=next_open_pi(pi, open_pis, today=pi.intake_cutoff + datetime.timedelta(days=1)),
            )
        )
    recent = list(
        EpicDeferral.objects.filter(epic__in=epics_visible_to(user).filter(portfolio=portfolio))
        .select_related("epic__owner", "from_pi", "to_pi")
        .order_by("-deferred_at", "-id")[:deferrals_shown]
    )
    return IntakePreview(today=today, upcoming=upcoming, untargeted=untargeted, recent_deferrals=recent)


def epics_due_for_intake(*, today: datetime.date):
    """Epics (of every portfolio) whose target PI's intake cutoff has passed, that take
    part in intake and were not deferred from that PI before: the candidates of a run."""
    deferred_from_target = EpicDeferral.objects.filter(epic=OuterRef("pk"), from_pi=OuterRef("target_pi"))
    return (
        Epic.objects.filter(target_pi__intake_cutoff__lt=today)
        .exclude(state=EpicState.DONE)
        .exclude(Exists(deferred_from_target))
        .select_related("target_pi")
        .order_by("pk")
    )


# --- The owner's email ----------------------------------------------------------------


def deferral_email(deferral: EpicDeferral) -> tuple[str, str]:
    """Subject and body of the email telling an epic's owner it was deferred."""
    epic = deferral.epic
    destination = deferral.to_pi.name if deferral.to_pi else "no PI yet (the cadence has no later PI open)"
    subject = f"[Tributary] {epic.key} deferred from {deferral.from_pi.name} to {destination}"
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    lines = [
        f"{epic.key} {epic.title} now targets {destination}.",
        deferral.reason,
        "To enter a PI an epic must be in the portfolio backlog (or beyond) with an MVP hypothesis and a "
        "WSJF estimate by the PI's intake cutoff.",
        f"Upcoming cutoffs: {base}{reverse('intake-preview')}",
    ]
    return subject, "\n\n".join(lines)
