"""Writes of the valuestreams app: status reports and the dependency workflow.

Each service checks who may act (the same rules the pages and the API show), then
changes rows in one transaction. A write made against a stale version or a stale
status report is refused with the current state, never silently applied.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portfolio.core.concurrency import StaleVersion, update_versioned
from portfolio.core.tasks import send_after_commit

from .models import (
    Dependency,
    DependencyEvent,
    DependencyFlag,
    DependencyState,
    Health,
    StatusReport,
    Train,
)


def _require(actor, perm: str, obj, message: str) -> None:
    if not actor.has_perm(perm, obj):
        raise PermissionDenied(message)


# --- Status reports -------------------------------------------------------------


class StatusConflict(Exception):
    """A newer status report was posted since the author loaded the form."""

    def __init__(self, current: StatusReport):
        super().__init__(f"{current.author} posted a newer status for {current.train} meanwhile.")
        self.current = current


def latest_status_report(train: Train) -> StatusReport | None:
    return train.status_reports.select_related("author").first()


@transaction.atomic
def status_report_post(
    *,
    actor,
    train: Train,
    health: str,
    pi_confidence: int,
    summary: str,
    risks: str = "",
    blockers: str = "",
    based_on_id: int | None,
) -> StatusReport:
    """Add a new status report to the train's history.

    ``based_on_id`` is the latest report the author saw (None if there was none). If a
    newer one exists, StatusConflict carries it. The database's one-report-per-base
    constraint settles a race between two authors that pass this check together.
    """
    _require(
        actor,
        "valuestreams.post_status_report",
        train,
        f"Only {train}'s {train.engineer_title} or APMO may post its status.",
    )
    latest = latest_status_report(train)
    if latest is None and based_on_id is not None:
        raise ValidationError({"based_on": f"{train} has no status report {based_on_id} to write against."})
    if (latest.pk if latest else None) != based_on_id:
        raise StatusConflict(latest)
    report = StatusReport(
        train=train,
        author=actor,
        created_at=timezone.now(),
        health=health,
        pi_confidence=pi_confidence,
        summary=summary,
        risks=risks,
        blockers=blockers,
        based_on=latest,
    )
    report.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        raise StatusConflict(latest_status_report(train)) from None
    return report


# --- Dependencies ---------------------------------------------------------------

S = DependencyState


@dataclass(frozen=True)
class Action:
    """A step of the dependency workflow."""

    name: str
    label: str
    from_states: frozenset
    to_state: str | None  # None: the state stays (flags)
    perm: str
    needs_reason: bool = False


PROVIDER = "valuestreams.act_as_provider"
ACTIONS = {
    a.name: a
    for a in (
        Action("accept", "Accept", frozenset({S.REQUESTED}), S.ACCEPTED, PROVIDER),
        Action("decline", "Decline", frozenset({S.REQUESTED, S.ACCEPTED}), S.DECLINED, PROVIDER, needs_reason=True),
        Action("commit", "Commit", frozenset({S.ACCEPTED, S.COMMITTED}), S.COMMITTED, PROVIDER),
        Action("deliver", "Mark delivered", frozenset({S.COMMITTED}), S.DELIVERED, PROVIDER),
        Action("flag", "Flag", frozenset({S.REQUESTED, S.ACCEPTED, S.COMMITTED}), None, PROVIDER, needs_reason=True),
        Action("clear_flag", "Clear flag", frozenset({S.REQUESTED, S.ACCEPTED, S.COMMITTED}), None, PROVIDER),
        Action("reopen", "Request again", frozenset({S.DECLINED}), S.REQUESTED, "valuestreams.change_dependency"),
        Action(
            "cancel",
            "Cancel",
            frozenset({S.REQUESTED, S.ACCEPTED, S.COMMITTED, S.DECLINED}),
            S.CANCELLED,
            "valuestreams.cancel_dependency",
            needs_reason=True,
        ),
    )
}


def actions_available(actor, dependency: Dependency) -> list[Action]:
    """The workflow steps this person may take on the dependency now."""
    available = []
    for action in ACTIONS.values():
        if dependency.state not in action.from_states:
            continue
        if action.name == "clear_flag" and not dependency.flag:
            continue
        if actor.has_perm(action.perm, dependency):
            available.append(action)
    return available


def _check_links(portfolio_id: int, *, consumer_id: int, **links) -> None:
    """Everything a dependency points at belongs to its portfolio (and its consumer)."""
    from .selectors import cadence_ids_of

    errors = {}
    provider = links.get("provider")
    if provider is not None and provider.value_stream.portfolio_id != portfolio_id:
        errors["provider"] = "The provider must be a train of the same portfolio."
    for name in ("needed_by_pi", "committed_pi"):
        pi = links.get(name)
        if pi is not None:
            from portfolio.models import Portfolio

            if pi.cadence_id not in cadence_ids_of(Portfolio.objects.get(pk=portfolio_id)):
                errors[name] = "Choose a PI of a cadence this portfolio uses."
    feature = links.get("consumer_feature")
    if feature is not None and feature.train_id != consumer_id:
        errors["consumer_feature"] = "Choose a feature of the consumer train."
    epic = links.get("epic")
    if epic is not None and epic.portfolio_id != portfolio_id:
        errors["epic"] = "Choose an epic of the same portfolio."
    if errors:
        raise ValidationError(errors)


def _next_key(portfolio_id: int) -> str:
    keys = Dependency.objects.filter(portfolio_id=portfolio_id, key__startswith="DEP-").values_list("key", flat=True)
    numbers = [int(k[4:]) for k in keys if k[4:].isdigit()]
    return f"DEP-{max(numbers, default=0) + 1}"


def _record(dependency: Dependency, *, actor, action: str, from_state: str, reason: str = "", detail: str = "") -> None:
    from .tasks import notify_dependency_event

    event = DependencyEvent.objects.create(
        dependency=dependency,
        actor=actor,
        at=timezone.now(),
        action=action,
        from_state=from_state,
        to_state=dependency.state,
        flag=dependency.flag,
        reason=reason,
        detail=detail,
    )
    send_after_commit(notify_dependency_event, event.pk)


@transaction.atomic
def dependency_raise(
    *,
    actor,
    consumer: Train,
    provider: Train,
    title: str,
    needed_by_pi,
    needed_by_iteration=None,
    description: str = "",
    consumer_feature=None,
    epic=None,
) -> Dependency:
    """The consumer's RTE (or STE, APMO, an enterprise architect) asks another train for something."""
    _require(
        actor,
        "valuestreams.raise_dependency",
        consumer,
        f"Only {consumer}'s {consumer.engineer_title}, APMO or an enterprise architect may raise its dependencies.",
    )
    portfolio_id = consumer.value_stream.portfolio_id
    _check_links(
        portfolio_id,
        consumer_id=consumer.pk,
        provider=provider,
        needed_by_pi=needed_by_pi,
        consumer_feature=consumer_feature,
        epic=epic,
    )
    for attempt in range(3):
        dependency = Dependency(
            portfolio_id=portfolio_id,
            key=_next_key(portfolio_id),
            title=title,
            description=description,
            consumer=consumer,
            provider=provider,
            needed_by_pi=needed_by_pi,
            needed_by_iteration=needed_by_iteration,
            consumer_feature=consumer_feature,
            epic=epic,
            raised_by=actor,
        )
        dependency.full_clean(validate_constraints=False, validate_unique=False)
        try:
            with transaction.atomic():
                dependency.save()
            break
        except IntegrityError:
            if attempt == 2:
                raise
    _record(dependency, actor=actor, action="raise", from_state="")
    return dependency


@transaction.atomic
def dependency_transition(
    *,
    actor,
    dependency: Dependency,
    action: str,
    expected_version: int | None,
    reason: str = "",
    flag: str = "",
    committed_pi=None,
    committed_iteration=None,
    provider_feature=None,
    today: datetime.date | None = None,
) -> Dependency:
    """Take one workflow step. Refuses a step not allowed from the current state, or
    not allowed for this person, with a message that says why."""
    step = ACTIONS.get(action)
    if step is None:
        raise ValidationError({"action": f"Unknown action “{action}”."})
    current = Dependency.objects.select_for_update().get(pk=dependency.pk)
    _require(
        actor, step.perm, current, f"You may not {step.label.lower()} {current.key}: it is not your train's to act on."
    )
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(current)
    if current.state not in step.from_states:
        raise ValidationError(
            {"action": f"{current.key} is {current.get_state_display().lower()}: it cannot be {_past(step)} now."}
        )
    if step.needs_reason and not reason.strip():
        raise ValidationError({"reason": f"Say why ({step.label.lower()} needs a reason)."})
    changes: dict = {}
    if step.to_state:
        changes["state"] = step.to_state
    if action == "commit":
        if committed_pi is None:
            raise ValidationError({"committed_pi": "Choose the PI the provider commits to."})
        _check_links(current.portfolio_id, consumer_id=current.consumer_id, committed_pi=committed_pi)
        changes.update(committed_pi=committed_pi, committed_iteration=committed_iteration)
    if provider_feature is not None:
        if provider_feature.train_id != current.provider_id:
            raise ValidationError({"provider_feature": "Choose a feature of the provider train."})
        changes["provider_feature"] = provider_feature
    if action == "deliver":
        changes["delivered_on"] = today or timezone.localdate()
        changes.update(flag=DependencyFlag.NONE, flag_reason="")
    if action == "flag":
        if flag not in (DependencyFlag.AT_RISK, DependencyFlag.BLOCKED):
            raise ValidationError({"flag": "Choose at risk or blocked."})
        changes.update(flag=flag, flag_reason=reason)
    if action in ("clear_flag", "cancel", "decline"):
        changes.update(flag=DependencyFlag.NONE, flag_reason="")
    from_state = current.state
    updated = update_versioned(current, expected_version=current.version, changes=changes)
    detail = ""
    if action == "commit":
        detail = f"Committed to {committed_iteration or committed_pi}"
    elif action == "deliver":
        detail = f"Delivered on {updated.delivered_on:%d %b %Y}"
    _record(updated, actor=actor, action=action, from_state=from_state, reason=reason, detail=detail)
    return updated


def _past(step: Action) -> str:
    return {
        "accept": "accepted",
        "decline": "declined",
        "commit": "committed",
        "deliver": "delivered",
        "flag": "flagged",
        "clear_flag": "unflagged",
        "reopen": "requested again",
        "cancel": "cancelled",
    }[step.name]


@transaction.atomic
def dependency_update(*, actor, dependency: Dependency, expected_version: int | None, **changes) -> Dependency:
    """Edit a dependency's description fields (title, description, needed-by, links)."""
    _require(
        actor,
        "valuestreams.change_dependency",
        dependency,
        f"Only the consumer's engineers or APMO may edit {dependency.key}.",
    )
    allowed = {"title", "description", "needed_by_pi", "needed_by_iteration", "consumer_feature", "epic", "provider"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed here."))
    if (
        "provider" in changes
        and changes["provider"] != dependency.provider
        and dependency.state
        not in (
            DependencyState.REQUESTED,
            DependencyState.DECLINED,
        )
    ):
        raise ValidationError(
            {"provider": "The provider has already accepted it: cancel it and raise a new one for another train."}
        )
    _check_links(
        dependency.portfolio_id,
        consumer_id=dependency.consumer_id,
        **{k: v for k, v in changes.items() if k in ("provider", "needed_by_pi", "consumer_feature", "epic")},
    )
    return update_versioned(dependency, expected_version=expected_version, changes=changes)


__all__ = [
    "ACTIONS",
    "Health",
    "StatusConflict",
    "actions_available",
    "dependency_raise",
    "dependency_transition",
    "dependency_update",
    "status_report_post",
]
