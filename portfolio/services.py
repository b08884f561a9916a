"""Writes of the portfolio level: moving epics on the Kanban, WIP limits, and applying
the intake cutoffs of PIs.

Each service checks who may act (the rules the pages and the API show), then changes
rows in one transaction, so a page, the API and a task get the same answer. A write
made against a stale version is refused with the current row (StaleVersion).
"""

import datetime
import logging
from collections import defaultdict
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cadence.models import ProgramIncrement
from portfolio.core.concurrency import StaleVersion
from portfolio.core.tasks import send_after_commit

from .intake import deferral_reason, epics_due_for_intake, intake_gaps, next_open_pi, takes_part_in_intake
from .models import WIP_LIMITED_STATES, Epic, EpicDeferral, EpicState, Portfolio, WipLimit

logger = logging.getLogger(__name__)


# --- Moving epics on the Kanban -----------------------------------------------------


class WipLimitReached(Exception):
    """The target column is at (or over) its WIP limit: the move would exceed it."""

    def __init__(self, *, state: str, limit: int, count: int):
        self.state = state
        self.label = EpicState(state).label
        self.limit = limit
        self.count = count
        if count > limit:
            message = (
                f"{self.label} is over its WIP limit of {limit} ({count} epics); finish or move epics out of it first."
            )
        else:
            message = f"{self.label} is at its WIP limit of {limit}; finish or move an epic out first."
        super().__init__(message)


def epic_move(*, actor, epic: Epic, to_state: str, expected_version: int | None) -> Epic:
    """Move ``epic`` to the Kanban column ``to_state``.

    Portfolio managers move any epic, enterprise architects enablers only
    (PermissionDenied). A move into a column with a WIP limit is refused when the column
    already holds that many epics (WipLimitReached): there is no override. The count is
    taken inside the transaction after locking the column's WipLimit row (PostgreSQL:
    SELECT ... FOR UPDATE; SQLite runs IMMEDIATE transactions, one writer at a time), so
    two moves cannot both take the last free place. ``expected_version`` None skips the
    version check.
    """
    if to_state not in EpicState.values:
        raise ValidationError({"state": f"There is no Kanban column {to_state!r}."})
    with transaction.atomic():
        # Lock order: the column's limit, then the epic (every move takes them this way).
        limit = None
        if to_state in WIP_LIMITED_STATES:
            limit = WipLimit.objects.select_for_update().filter(portfolio_id=epic.portfolio_id, state=to_state).first()
        current = Epic.objects.select_for_update().get(pk=epic.pk)
        if not actor.has_perm("portfolio.move_epic", current):
            raise PermissionDenied(
                "Only portfolio managers move epics on the Kanban; enterprise architects move enabler epics."
            )
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(current)
        if current.state == to_state:
            raise ValidationError({"state": f"{current.key} is already in {current.get_state_display()}."})
        if limit is not None:
            count = Epic.objects.filter(portfolio_id=current.portfolio_id, state=to_state).count()
            if count >= limit.limit:
                raise WipLimitReached(state=to_state, limit=limit.limit, count=count)
        from_label = current.get_state_display()
        current.state = to_state
        current.state_changed_at = timezone.now()
        current.version += 1
        current._history_user = actor  # the audit trail names the mover, with or without a request
        current._change_reason = f"Moved on the Kanban from {from_label} to {current.get_state_display()}"
        current.full_clean()
        current.save()
    return current


# --- WIP limits ------------------------------------------------------------------------


def wip_limits_set(
    *, actor, portfolio: Portfolio, limits: Mapping[str, int], expected_versions: Mapping[str, int | None]
) -> list[WipLimit]:
    """Set the WIP limits of the portfolio's limited columns ({state: limit}).

    A limit below the column's current count is allowed (the board then shows the column
    over its limit, and no epic can enter until it drains). A limit changed by someone
    else since the form was loaded (``expected_versions[state]``) raises StaleVersion and
    nothing is written. Returns the limits that changed.
    """
    if not actor.has_perm("portfolio.change_wiplimit", portfolio):
        raise PermissionDenied("Only portfolio managers set WIP limits.")
    changed = []
    with transaction.atomic():
        rows = {
            row.state: row
            for row in WipLimit.objects.select_for_update().filter(portfolio=portfolio, state__in=list(limits))
        }
        for state, value in limits.items():
            if state not in WIP_LIMITED_STATES:
                raise ValidationError({state: f"{EpicState(state).label} has no WIP limit."})
            row = rows.get(state)
            if row is not None and row.limit == value:
                continue
            if row is None:
                row = WipLimit(portfolio=portfolio, state=state, limit=value)
            else:
                expected = expected_versions.get(state)
                if expected is not None and row.version != expected:
                    raise StaleVersion(row)
                row.limit = value
                row.version += 1
            row._history_user = actor
            row.full_clean()
            row.save()
            changed.append(row)
    return changed


# --- Cadence-gated intake ---------------------------------------------------------------


def apply_intake_cutoffs(*, today: datetime.date) -> list[EpicDeferral]:
    """Defer every epic that was not ready at its target PI's intake cutoff (a cutoff
    before ``today``) to the next PI of the same cadence still open for intake, record
    why, and email its owner after commit.

    Safe to run any number of times: an epic is deferred from a PI at most once (the
    epics already deferred from their target are skipped, and the database's unique
    constraint settles two runs racing). Each epic is deferred in its own short
    transaction, so one failure does not undo the others; a retry does what is left.
    """
    due = [epic for epic in epics_due_for_intake(today=today) if intake_gaps(epic)]
    if not due:
        return []
    cadence_pis: dict[int, list[ProgramIncrement]] = defaultdict(list)
    for pi in ProgramIncrement.objects.filter(cadence_id__in={e.target_pi.cadence_id for e in due}).order_by(
        "start_date"
    ):
        cadence_pis[pi.cadence_id].append(pi)
    deferrals = []
    for epic in due:
        deferral = _defer_epic(epic.pk, today=today, cadence_pis=cadence_pis)
        if deferral is not None:
            deferrals.append(deferral)
    logger.info("Intake cutoffs on %s: %d epic(s) deferred", today, len(deferrals))
    return deferrals


@transaction.atomic
def _defer_epic(epic_id: int, *, today: datetime.date, cadence_pis) -> EpicDeferral | None:
    from .tasks import notify_epic_deferral

    # Lock the epic's row only: PostgreSQL refuses to lock the nullable side of the
    # outer join to its target PI (SQLite ignores the lock, so only PostgreSQL failed).
    epic = Epic.objects.select_for_update(of=("self",)).select_related("target_pi").get(pk=epic_id)
    pi = epic.target_pi
    # Checked again under the lock: the epic may have been made ready, retargeted or
    # deferred by another run since the candidates were read.
    if pi is None or pi.intake_cutoff >= today or not takes_part_in_intake(epic):
        return None
    gaps = intake_gaps(epic)
    if not gaps or EpicDeferral.objects.filter(epic=epic, from_pi=pi).exists():
        return None
    to_pi = next_open_pi(pi, cadence_pis.get(pi.cadence_id, []), today=today)
    deferral = EpicDeferral(
        epic=epic,
        from_pi=pi,
        to_pi=to_pi,
        cutoff=pi.intake_cutoff,
        reason=deferral_reason(epic, pi, gaps),
        deferred_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            deferral.save()
    except IntegrityError:
        return None  # another run recorded this deferral a moment ago
    epic.target_pi = to_pi
    epic.version += 1
    epic._change_reason = f"Intake cutoff of {pi.name}: deferred to {to_pi.name if to_pi else 'no PI'}"
    epic.save()
    send_after_commit(notify_epic_deferral, deferral.pk)
    return deferral
