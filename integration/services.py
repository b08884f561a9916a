"""Writes of the integration app: integration points and their criteria, proposals
from the cadence, the scheduled checks, results, and the emails about outcome changes.

Each service checks who may act (``integration.*`` rules, the same the pages and the
API show) and writes in one transaction. Edits name the version they were made
against (StaleVersion otherwise).

One check run per point and check window: the database's unique constraint decides,
not a read beforehand. A batch whose insert collides with another worker's runs is
rolled back whole and checked again without the points that worker recorded, so two
workers, or a task run twice, record one result per point and window, on SQLite and
PostgreSQL alike. An outcome is changed under a row lock (SQLite: the IMMEDIATE
transaction), so each change is recorded, and mailed, once.
"""

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from portfolio.core.concurrency import update_versioned
from portfolio.core.tasks import send_after_commit
from portfolio.models import Membership, Role
from valuestreams.models import Dependency, Feature, Train, TrainKind, ValueStream
from valuestreams.selectors import cadence_followers, program_increments_in

from . import checks, selectors
from .models import (
    AcceptanceCriterion,
    Depth,
    IntegrationCheckRun,
    IntegrationOutcomeChange,
    IntegrationPoint,
    IntegrationResult,
    Outcome,
    ResultVerdict,
)

logger = logging.getLogger(__name__)

# Points per check task: a batch loads in a fixed number of queries.
BATCH_SIZE = 50
# The scheduled checks' default interval, and so the default check window.
DEFAULT_WINDOW_MINUTES = 15
DISPATCH_TASK = "integration.dispatch_checks"

VERDICT_OUTCOME = {ResultVerdict.PASS: Outcome.PASSED, ResultVerdict.FAIL: Outcome.FAILED}


def _require(actor, perm: str, obj, message: str) -> None:
    if not actor.has_perm(perm, obj):
        raise PermissionDenied(message)


# --- Integration points ---------------------------------------------------------------


@dataclass(frozen=True)
class CriterionInput:
    """One line of an acceptance checklist as an editor gives it. ``met`` None keeps
    the tick of an existing criterion with the same text (a new one starts unticked)."""

    text: str
    met: bool | None = None


def criteria_from_lines(text: str) -> list[CriterionInput]:
    """A checklist written one criterion per line (blank lines and bullets ignored)."""
    lines = (line.strip().lstrip("-*•").strip() for line in text.splitlines())
    return [CriterionInput(line) for line in lines if line]


MANAGE_MESSAGE = "Only APMO, or the STE of the point's solution train, may manage this integration point."


def _check_references(
    portfolio,
    *,
    program_increment=None,
    solution_train=None,
    value_streams=None,
    trains=None,
    dependencies=None,
    features=None,
) -> None:
    """Everything a point names must belong to its portfolio (a query per kind given)."""
    errors = {}
    if (
        program_increment is not None
        and not program_increments_in([portfolio.pk]).filter(pk=program_increment.pk).exists()
    ):
        errors["program_increment"] = f"{program_increment} is not a PI of the cadences {portfolio} follows."
    if solution_train is not None and (
        solution_train.kind != TrainKind.SOLUTION
        or not Train.objects.filter(pk=solution_train.pk, value_stream__portfolio=portfolio).exists()
    ):
        errors["solution_train"] = f"{solution_train} is not a solution train of {portfolio}."
    for name, items, rows in (
        ("value_streams", value_streams, lambda ids: ValueStream.objects.filter(pk__in=ids, portfolio=portfolio)),
        ("trains", trains, lambda ids: Train.objects.filter(pk__in=ids, value_stream__portfolio=portfolio)),
        ("dependencies", dependencies, lambda ids: Dependency.objects.filter(pk__in=ids, portfolio=portfolio)),
        (
            "features",
            features,
            lambda ids: Feature.objects.filter(pk__in=ids, train__value_stream__portfolio=portfolio),
        ),
    ):
        if not items:
            continue
        ids = {item.pk for item in items}
        if rows(ids).count() != len(ids):
            errors[name] = f"Choose only {name.replace('_', ' ')} of {portfolio}."
    if errors:
        raise ValidationError(errors)


def _sync_criteria(point: IntegrationPoint, criteria: Sequence[CriterionInput]) -> None:
    """Make the checklist ``criteria``, in that order: a criterion whose text is kept
    keeps its tick (unless ``met`` is given), new ones start unticked, others go."""
    existing: dict[str, list[AcceptanceCriterion]] = defaultdict(list)
    for criterion in point.criteria.order_by("position", "pk"):
        existing[criterion.text].append(criterion)
    keep, create = [], []
    for position, item in enumerate(criteria, start=1):
        text = item.text.strip()[:300]
        if not text:
            continue
        if existing.get(text):
            criterion = existing[text].pop(0)
            changed = []
            if criterion.position != position:
                criterion.position = position
                changed.append("position")
            if item.met is not None and item.met != criterion.met:
                criterion.met = item.met
                changed.append("met")
            if changed:
                criterion.version += 1
                criterion.save(update_fields=[*changed, "version", "updated_at"])  # the audit history records it
            keep.append(criterion.pk)
        else:
            create.append(
                AcceptanceCriterion(integration_point=point, text=text, met=bool(item.met), position=position)
            )
    point.criteria.exclude(pk__in=keep).delete()
    for criterion in create:
        criterion.save()  # one by one: the audit history records each


@transaction.atomic
def integration_point_create(
    *,
    actor,
    portfolio,
    name: str,
    date: datetime.date,
    program_increment,
    depth: str = Depth.PARTIAL,
    solution_train=None,
    value_streams: Iterable = (),
    trains: Iterable = (),
    dependencies: Iterable = (),
    features: Iterable = (),
    criteria: Sequence[CriterionInput] = (),
) -> IntegrationPoint:
    """A new integration point of ``portfolio``. APMO creates any; an STE creates those
    of their own solution train."""
    point = IntegrationPoint(
        portfolio=portfolio,
        name=name,
        date=date,
        program_increment=program_increment,
        depth=depth,
        solution_train=solution_train,
    )
    _require(actor, "integration.manage_point", point, MANAGE_MESSAGE)
    value_streams, trains, dependencies, features = (list(x) for x in (value_streams, trains, dependencies, features))
    _check_references(
        portfolio,
        program_increment=program_increment,
        solution_train=solution_train,
        value_streams=value_streams,
        trains=trains,
        dependencies=dependencies,
        features=features,
    )
    point.full_clean()
    point.save()
    point.value_streams.set(value_streams)
    point.trains.set(trains)
    point.dependencies.set(dependencies)
    point.features.set(features)
    _sync_criteria(point, criteria)
    return point


POINT_FIELDS = ("name", "date", "program_increment", "depth", "solution_train")
POINT_RELATIONS = ("value_streams", "trains", "dependencies", "features")


@transaction.atomic
def integration_point_update(
    *, actor, point: IntegrationPoint, expected_version: int | None, criteria=None, **changes
) -> IntegrationPoint:
    """Change a point's fields (POINT_FIELDS), participants and requirements
    (POINT_RELATIONS, each replaced when given) and its checklist (``criteria``, when
    given). Refused with StaleVersion if it changed since ``expected_version``. An STE
    may not hand the point to a solution train that is not theirs."""
    unknown = set(changes) - set(POINT_FIELDS) - set(POINT_RELATIONS)
    if unknown:
        raise TypeError(f"integration_point_update() got unexpected fields: {', '.join(sorted(unknown))}")
    _require(actor, "integration.manage_point", point, MANAGE_MESSAGE)
    fields = {name: value for name, value in changes.items() if name in POINT_FIELDS}
    relations = {name: list(value) for name, value in changes.items() if name in POINT_RELATIONS}
    if "solution_train" in fields and fields["solution_train"] != point.solution_train:
        after = IntegrationPoint(portfolio=point.portfolio, solution_train=fields["solution_train"])
        _require(actor, "integration.manage_point", after, "You may hand a point only to a solution train you run.")
    _check_references(
        point.portfolio,
        program_increment=fields.get("program_increment"),
        solution_train=fields.get("solution_train"),
        **relations,
    )
    updated = update_versioned(point, expected_version=expected_version, changes=fields)
    for name, value in relations.items():
        getattr(updated, name).set(value)
    if criteria is not None:
        _sync_criteria(updated, criteria)
    return updated


@transaction.atomic
def criterion_set_met(*, actor, criterion: AcceptanceCriterion, met: bool, expected_version: int | None):
    """Tick (or untick) one acceptance criterion: APMO or an STE involved in the point."""
    _require(
        actor,
        "integration.record_result",
        criterion.integration_point,
        "Only APMO, or the STE of a solution train taking part, may tick the acceptance criteria.",
    )
    return update_versioned(criterion, expected_version=expected_version, changes={"met": met})


# --- Proposals from the cadence ---------------------------------------------------------

PARTIAL_CRITERIA = (
    "The iteration's features of every participating train run together in the integration environment",
    "The system demo shows the integrated increment",
)
FULL_CRITERIA = (
    "Every participating train's PI features run together end to end",
    "The solution demo shows the integrated solution",
    "No open blocking defects",
)


@dataclass
class Proposal:
    """What a proposal made: the points created and those that existed already."""

    created: list[IntegrationPoint] = field(default_factory=list)
    existing: list[IntegrationPoint] = field(default_factory=list)


def proposed_points(program_increment, *, solution_train=None) -> list[tuple[str, datetime.date, str]]:
    """(name, date, depth) of the points a PI's cadence suggests: a partial one at the end
    of every iteration that ends before the PI (the IP iteration excluded), a full one at
    the PI's end."""
    suffix = f" · {solution_train.key}" if solution_train is not None else ""
    proposals = [
        (f"{program_increment.name} · I{iteration.number} integration{suffix}", iteration.end_date, Depth.PARTIAL)
        for iteration in program_increment.iterations.order_by("number")
        if iteration.end_date < program_increment.end_date and not iteration.is_innovation_planning
    ]
    proposals.append((f"{program_increment.name} · PI integration{suffix}", program_increment.end_date, Depth.FULL))
    return proposals


def _participants(portfolio, program_increment, solution_train) -> list[Train]:
    if solution_train is not None:
        return [solution_train, *Train.objects.filter(solution_train=solution_train).order_by("name")]
    on_cadence = {
        row.train.pk
        for stream in cadence_followers(portfolio)
        for row in stream.trains
        if row.cadence_id == program_increment.cadence_id
    }
    return list(Train.objects.filter(pk__in=on_cadence).order_by("name"))


def integration_points_propose(*, actor, portfolio, program_increment, solution_train=None) -> Proposal:
    """Propose the points of a PI from its cadence (``proposed_points``), for the whole
    portfolio (APMO: every train on the PI's cadence takes part) or for one solution
    train (its STE or APMO: the solution train and its ARTs). Idempotent by name: a
    point that exists is left as it is, so proposing twice creates nothing more."""
    _require(
        actor,
        "integration.manage_point",
        IntegrationPoint(portfolio=portfolio, solution_train=solution_train),
        "Only APMO proposes points for the whole portfolio; an STE, for their own solution train.",
    )
    _check_references(portfolio, program_increment=program_increment, solution_train=solution_train)
    trains = _participants(portfolio, program_increment, solution_train)
    stream_ids = {train.value_stream_id for train in trains}
    proposal = Proposal()
    wanted = proposed_points(program_increment, solution_train=solution_train)
    existing = {
        p.name: p for p in IntegrationPoint.objects.filter(portfolio=portfolio, name__in=[w[0] for w in wanted])
    }
    for name, date, depth in wanted:
        if name in existing:
            proposal.existing.append(existing[name])
            continue
        try:
            with transaction.atomic():
                point = IntegrationPoint(
                    portfolio=portfolio,
                    name=name,
                    date=date,
                    program_increment=program_increment,
                    depth=depth,
                    solution_train=solution_train,
                )
                point.full_clean(validate_constraints=False, validate_unique=False)
                point.save()
                point.trains.set(trains)
                point.value_streams.set(stream_ids)
                _sync_criteria(
                    point,
                    [CriterionInput(text) for text in (FULL_CRITERIA if depth == Depth.FULL else PARTIAL_CRITERIA)],
                )
        except IntegrityError:
            # Proposed by someone else at the same moment: theirs stands.
            proposal.existing.append(IntegrationPoint.objects.get(portfolio=portfolio, name=name))
        else:
            proposal.created.append(point)
    return proposal


# --- Check windows ----------------------------------------------------------------------


def check_window_minutes() -> int:
    """The scheduled checks' interval in minutes, as the admin set it (the check
    window); DEFAULT_WINDOW_MINUTES when it is not an interval schedule."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    task = PeriodicTask.objects.filter(task=DISPATCH_TASK).select_related("interval").first()
    interval = task.interval if task is not None else None
    if interval is None:
        return DEFAULT_WINDOW_MINUTES
    minutes = {
        IntervalSchedule.DAYS: 24 * 60,
        IntervalSchedule.HOURS: 60,
        IntervalSchedule.MINUTES: 1,
        IntervalSchedule.SECONDS: 1 / 60,
    }.get(interval.period)
    if minutes is None:
        return DEFAULT_WINDOW_MINUTES
    return max(1, int(interval.every * minutes))


def check_window_start(now: datetime.datetime, *, minutes: int = DEFAULT_WINDOW_MINUTES) -> datetime.datetime:
    """The start of the check window ``now`` falls in: ``now`` floored to ``minutes``
    (counted from the Unix epoch, in UTC)."""
    seconds = minutes * 60
    stamp = int(now.timestamp())
    return datetime.datetime.fromtimestamp(stamp - stamp % seconds, tz=datetime.UTC)


# --- Outcomes -------------------------------------------------------------------------


def _locked_outcomes(point_ids) -> dict[int, tuple[str, str | None]]:
    """{point id: (stored outcome, latest result's verdict)}, the rows locked until the
    transaction ends (PostgreSQL; SQLite's IMMEDIATE transaction holds the write lock)."""
    rows = (
        selectors.with_latest_result(IntegrationPoint.objects.filter(pk__in=list(point_ids)))
        .select_for_update()
        .values_list("pk", "outcome", "latest_result_verdict")
    )
    return {pk: (outcome, verdict) for pk, outcome, verdict in rows}


def _record_outcomes(
    decided: dict[int, str],
    previous: dict[int, str],
    *,
    now: datetime.datetime,
    runs: dict[int, IntegrationCheckRun] | None = None,
    result: IntegrationResult | None = None,
) -> list[IntegrationOutcomeChange]:
    """Store the decided outcomes (a query per distinct new outcome), record each change
    and mail it after commit. Called inside the transaction that locked the rows."""
    changed: dict[str, list[int]] = defaultdict(list)
    for pk, outcome in decided.items():
        if previous[pk] != outcome:
            changed[outcome].append(pk)
    # A late retry of an earlier window never moves the time of the last check back.
    stamp = (
        {"last_checked_at": Greatest(Coalesce("last_checked_at", Value(now)), Value(now))} if runs is not None else {}
    )
    for outcome, pks in changed.items():
        IntegrationPoint.objects.filter(pk__in=pks).update(outcome=outcome, **stamp)
    if stamp:
        unchanged = [pk for pk, outcome in decided.items() if previous[pk] == outcome]
        if unchanged:
            IntegrationPoint.objects.filter(pk__in=unchanged).update(**stamp)
    changes = IntegrationOutcomeChange.objects.bulk_create(
        IntegrationOutcomeChange(
            integration_point_id=pk,
            from_outcome=previous[pk],
            to_outcome=outcome,
            changed_at=now,
            check_run=runs.get(pk) if runs else None,
            result=result,
        )
        for outcome, pks in changed.items()
        for pk in pks
    )
    from .tasks import notify_outcome_change

    for change in changes:
        # The first check of a new point is no news: it is recorded, not mailed.
        if change.from_outcome != Outcome.PENDING:
            send_after_commit(notify_outcome_change, change.pk)
    return changes


# --- The scheduled checks ------------------------------------------------------------------


@dataclass
class CheckReport:
    """What one batch of checks did: points checked (a run recorded), points skipped
    (already checked in this window), outcomes changed."""

    checked: int = 0
    skipped: int = 0
    changed: int = 0


def integration_points_check(
    *, point_ids: Iterable[int], window_start: datetime.datetime, now: datetime.datetime | None = None
) -> CheckReport:
    """Check the points and record one run each in the window starting ``window_start``;
    points already checked in that window are skipped. About fifteen queries per batch,
    whatever its size. Safe to run twice, and from two workers at once."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    ids = list(dict.fromkeys(point_ids))
    report = CheckReport()
    for _attempt in range(3):
        done = set(
            IntegrationCheckRun.objects.filter(window_start=window_start, integration_point_id__in=ids).values_list(
                "integration_point_id", flat=True
            )
        )
        todo = [pk for pk in ids if pk not in done]
        report = CheckReport(skipped=len(done))
        if not todo:
            return report
        evaluations = {
            point.pk: checks.evaluate(point, now=now, today=today) for point in selectors.points_for_check(todo)
        }
        try:
            with transaction.atomic():
                locked = _locked_outcomes(evaluations)
                decided = {
                    pk: VERDICT_OUTCOME.get(locked[pk][1]) or evaluation.outcome
                    for pk, evaluation in evaluations.items()
                    if pk in locked  # deleted meanwhile: nothing to record
                }
                runs = IntegrationCheckRun.objects.bulk_create(
                    IntegrationCheckRun.recording(
                        integration_point_id=pk,
                        window_start=window_start,
                        ran_at=now,
                        outcome=outcome,
                        findings=evaluations[pk].findings_json(),
                    )
                    for pk, outcome in decided.items()
                )
                changes = _record_outcomes(
                    decided,
                    {pk: outcome for pk, (outcome, _) in locked.items()},
                    now=now,
                    runs={run.integration_point_id: run for run in runs},
                )
        except IntegrityError:
            # Another worker recorded runs of some of these points in this window
            # meanwhile: theirs stand; check the others again.
            logger.info("Check runs of window %s recorded concurrently; checking the rest again.", window_start)
            continue
        report.checked, report.changed = len(runs), len(changes)
        return report
    raise IntegrityError(f"Could not record the check runs of window {window_start} after three attempts.")


@dataclass
class SweepReport:
    points: int = 0
    batches: int = 0
    checked: int = 0
    skipped: int = 0
    changed: int = 0


def integration_points_sweep(
    *, now: datetime.datetime | None = None, point_ids: Iterable[int] | None = None, batch_size: int = BATCH_SIZE
) -> SweepReport:
    """Every due point (``selectors.point_ids_due_for_check``), or ``point_ids``, checked
    in this process, batch by batch, in the current check window. What the dispatcher
    spreads over the workers, for the command line and the benchmark."""
    now = now or timezone.now()
    window = check_window_start(now, minutes=check_window_minutes())
    ids = list(point_ids) if point_ids is not None else selectors.point_ids_due_for_check(today=timezone.localdate(now))
    report = SweepReport(points=len(ids))
    for start in range(0, len(ids), batch_size):
        batch = integration_points_check(point_ids=ids[start : start + batch_size], window_start=window, now=now)
        report.batches += 1
        report.checked += batch.checked
        report.skipped += batch.skipped
        report.changed += batch.changed
    return report


# --- Results ---------------------------------------------------------------------------


class IdempotencyConflict(Exception):
    """An idempotency key was used before for a different result."""

    def __init__(self, original: IntegrationResult, differences: list[str]):
        super().__init__(
            f"The idempotency key “{original.idempotency_key}” was used for another result of this point "
            f"(recorded {original.recorded_at:%d %b %Y %H:%M}); its {', '.join(differences)} differ. "
            "Use a new key for a new result."
        )
        self.original = original
        self.differences = differences


@dataclass(frozen=True)
class RecordedResult:
    result: IntegrationResult
    created: bool  # False: a retry with the same key, answered with the first result


def _replay(original: IntegrationResult, *, verdict: str, notes: str, source_url: str) -> RecordedResult:
    differences = [
        name
        for name, given in (("verdict", verdict), ("notes", notes), ("source_url", source_url))
        if getattr(original, name) != given
    ]
    if differences:
        raise IdempotencyConflict(original, differences)
    return RecordedResult(result=original, created=False)


RESULT_MESSAGE = "Only APMO, or the STE of a solution train taking part, may record this point's result."


def integration_result_record(
    *,
    actor,
    point: IntegrationPoint,
    verdict: str,
    notes: str = "",
    source_url: str = "",
    idempotency_key: str = "",
) -> RecordedResult:
    """Record a pass or fail; the point's outcome becomes passed or failed at once.

    With an ``idempotency_key``, a retry (same key, same verdict, notes and link)
    records nothing and answers with the first result; the same key with anything
    different raises IdempotencyConflict. The unique constraint on (point, key) settles
    two identical requests arriving together.
    """
    _require(actor, "integration.record_result", point, RESULT_MESSAGE)
    key = idempotency_key.strip()
    given = {"verdict": verdict, "notes": notes, "source_url": source_url}
    if key:
        original = IntegrationResult.objects.filter(integration_point=point, idempotency_key=key).first()
        if original is not None:
            return _replay(original, **given)
    result = IntegrationResult(integration_point=point, recorded_by=actor, idempotency_key=key, **given)
    result.full_clean(exclude=["recorded_by"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            result.save()
            locked = _locked_outcomes([point.pk])
            now = timezone.now()
            _record_outcomes(
                {point.pk: VERDICT_OUTCOME[verdict]}, {point.pk: locked[point.pk][0]}, now=now, result=result
            )
    except IntegrityError:
        if not key:
            raise
        return _replay(IntegrationResult.objects.get(integration_point=point, idempotency_key=key), **given)
    return RecordedResult(result=result, created=True)


# --- Emails about outcome changes ---------------------------------------------------------


def outcome_change_recipients(change: IntegrationOutcomeChange) -> list[str]:
    """The point's participants: the RTE/STE of each participating train, the STE of
    their solution trains and of the point's own, and the portfolio's APMO, except
    whoever recorded the result that made the change (two queries)."""
    point = change.integration_point
    people = set()
    trains = point.trains.select_related("engineer", "solution_train__engineer")
    for train in trains:
        people.add(train.engineer)
        if train.solution_train_id:
            people.add(train.solution_train.engineer)
    if point.solution_train_id:
        people.add(point.solution_train.engineer)
    apmo = Membership.objects.filter(portfolio_id=point.portfolio_id, role=Role.APMO).select_related("user")
    people.update(membership.user for membership in apmo)
    # Whoever recorded the result knows it already.
    actor_id = change.result.recorded_by_id if change.result_id else None
    return sorted(
        {
            person.email
            for person in people
            if person is not None and person.email and person.is_active and person.pk != actor_id
        }
    )


def outcome_change_email(change: IntegrationOutcomeChange) -> tuple[str, str]:
    point = change.integration_point
    before, after = change.get_from_outcome_display(), change.get_to_outcome_display()
    subject = f"[Tributary] {point.name}: {before} → {after}"
    lines = [
        f"The integration point {point.name} ({point.date:%d %b %Y}) is now {after.lower()} (was {before.lower()})."
    ]
    if change.result_id:
        result = change.result
        who = result.recorded_by.get_full_name() or result.recorded_by.username if result.recorded_by else "Someone"
        lines.append(f"{who} recorded the result “{result.get_verdict_display()}”.")
        if result.notes:
            lines.append(f"Notes: {result.notes}")
    elif change.check_run_id:
        findings = change.check_run.findings
        if findings:
            lines.append(
                "The scheduled check found:\n" + "\n".join(f"- {finding['message']}" for finding in findings[:15])
            )
            if len(findings) > 15:
                lines.append(f"… and {len(findings) - 15} more on the point's page.")
        else:
            lines.append("The scheduled check found nothing in the way.")
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    lines.append(f"{base}{reverse('integration:integration-point-detail', args=[point.pk])}")
    return subject, "\n\n".join(lines)


def outcome_change_notify(change_id: int) -> int:
    """Email the participants about one outcome change, once: the change is claimed
    before sending, and released if the mail server refuses (so a retry sends it)."""
    with transaction.atomic():
        claimed = IntegrationOutcomeChange.objects.filter(pk=change_id, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
    if not claimed:
        return 0
    change = IntegrationOutcomeChange.objects.select_related(
        "integration_point__solution_train__engineer", "check_run", "result__recorded_by"
    ).get(pk=change_id)
    to = outcome_change_recipients(change)
    if not to:
        return 0
    subject, body = outcome_change_email(change)
    try:
        return send_mail(subject, body, None, to)
    except OSError:
        IntegrationOutcomeChange.objects.filter(pk=change_id).update(notified_at=None)
        raise


def unsent_outcome_changes(*, now: datetime.datetime, within: datetime.timedelta, settle=datetime.timedelta(minutes=5)):
    """Ids of changes not mailed yet (a dispatch lost to a broker outage), made between
    ``within`` and ``settle`` ago, for the dispatcher to queue again."""
    return list(
        IntegrationOutcomeChange.objects.filter(
            notified_at__isnull=True, changed_at__gte=now - within, changed_at__lte=now - settle
        )
        .exclude(from_outcome=Outcome.PENDING)
        .values_list("pk", flat=True)[:500]
    )
