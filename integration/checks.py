"""The check of an integration point: what stands in its way, and its outcome.

Pure functions over a point loaded with everything they read (see
``selectors.points_for_check``): no query is made here, so a batch of points costs
the queries that loaded it and nothing per point.

Findings, one per item:

- ``dependency_not_delivered``: a required dependency is not delivered (its state, a
  flag, and whether it is late are in the message);
- ``train_off_track`` / ``train_at_risk``: a participating train's latest status says so;
- ``train_status_stale``: a participating train has no status, or one older than the
  portfolio's ``status_stale_days``;
- ``feature_not_done``: a required feature is not done;
- ``criterion_not_met``: an acceptance criterion is not ticked yet;
- ``date_passed_without_result``: the date has passed and no result was recorded.

Blocking findings are undelivered dependencies, features not done and trains off
track: the integration cannot happen with them. The others are warnings.

The outcome rule, in order:

1. a result was recorded: the latest one decides, **passed** or **failed**;
2. the date has passed without a result: **missed**;
3. no findings: **ready**;
4. a blocking finding with the date ``NOT_READY_WITHIN_DAYS`` (14) days away or less:
   **not ready** (too late to fix it within an iteration);
5. otherwise (findings, and time left to act on them): **at risk**.
"""

import datetime
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils import timezone

from valuestreams.models import DependencyState, Health, WorkState

from .models import Outcome, ResultVerdict

# A blocking finding this close to the date makes the point not ready (one iteration).
NOT_READY_WITHIN_DAYS = 14


class FindingKind(StrEnum):
    DEPENDENCY_NOT_DELIVERED = "dependency_not_delivered"
    TRAIN_OFF_TRACK = "train_off_track"
    TRAIN_AT_RISK = "train_at_risk"
    TRAIN_STATUS_STALE = "train_status_stale"
    FEATURE_NOT_DONE = "feature_not_done"
    CRITERION_NOT_MET = "criterion_not_met"
    DATE_PASSED_WITHOUT_RESULT = "date_passed_without_result"


FINDING_LABELS = {
    FindingKind.DEPENDENCY_NOT_DELIVERED: "Dependency not delivered",
    FindingKind.TRAIN_OFF_TRACK: "Train off track",
    FindingKind.TRAIN_AT_RISK: "Train at risk",
    FindingKind.TRAIN_STATUS_STALE: "Stale train status",
    FindingKind.FEATURE_NOT_DONE: "Feature not done",
    FindingKind.CRITERION_NOT_MET: "Criterion not met",
    FindingKind.DATE_PASSED_WITHOUT_RESULT: "Date passed without a result",
}

BLOCKING_KINDS = frozenset(
    {FindingKind.DEPENDENCY_NOT_DELIVERED, FindingKind.FEATURE_NOT_DONE, FindingKind.TRAIN_OFF_TRACK}
)

BLOCKING = "blocking"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One thing that stands in the way of an integration point. ``refs`` names the
    rows it is about, e.g. ``{"dependency": [12]}``."""

    kind: FindingKind
    message: str
    refs: dict[str, list[int]] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.kind in BLOCKING_KINDS

    def as_json(self) -> dict:
        return {
            "kind": str(self.kind),
            "severity": BLOCKING if self.blocking else WARNING,
            "message": self.message,
            "refs": self.refs,
        }


@dataclass(frozen=True)
class Evaluation:
    outcome: str
    findings: list[Finding]

    def findings_json(self) -> list[dict]:
        return [finding.as_json() for finding in self.findings]


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def dependency_findings(dependencies, *, today: datetime.date) -> list[Finding]:
    findings = []
    for dependency in dependencies:
        if dependency.state == DependencyState.DELIVERED:
            continue
        notes = [dependency.get_state_display().lower()]
        if dependency.state in (DependencyState.DECLINED, DependencyState.CANCELLED):
            notes.append("it will not be delivered as it stands")
        if dependency.flag:
            notes.append(f"flagged {dependency.get_flag_display().lower()}")
        if dependency.is_late_on(today):
            notes.append("late")
        findings.append(
            Finding(
                FindingKind.DEPENDENCY_NOT_DELIVERED,
                f"{dependency.key} {dependency.title} ({dependency.provider} → {dependency.consumer}) "
                f"is not delivered: {', '.join(notes)}.",
                {"dependency": [dependency.pk]},
            )
        )
    return findings


def train_findings(trains, *, stale_before: datetime.datetime) -> list[Finding]:
    """For trains annotated by ``valuestreams.selectors.with_latest_status_summary``."""
    findings = []
    for train in trains:
        health = getattr(train, "latest_status_health", None)
        reported_at = getattr(train, "latest_status_at", None)
        refs = {"train": [train.pk]}
        if health == Health.OFF_TRACK:
            findings.append(Finding(FindingKind.TRAIN_OFF_TRACK, f"{train} reports it is off track.", refs))
        elif health == Health.AT_RISK:
            findings.append(Finding(FindingKind.TRAIN_AT_RISK, f"{train} reports it is at risk.", refs))
        if reported_at is None:
            findings.append(Finding(FindingKind.TRAIN_STATUS_STALE, f"{train} has not reported a status yet.", refs))
        elif reported_at < stale_before:
            age = (stale_before.date() - reported_at.date()).days
            findings.append(
                Finding(
                    FindingKind.TRAIN_STATUS_STALE,
                    f"{train}'s latest status, of {reported_at:%d %b %Y}, is stale ({_days(age)} past the limit).",
                    refs,
                )
            )
    return findings


def feature_findings(features) -> list[Finding]:
    return [
        Finding(
            FindingKind.FEATURE_NOT_DONE,
            f"{feature.key} {feature.name} ({feature.train}) is not done: {feature.get_state_display().lower()}.",
            {"feature": [feature.pk]},
        )
        for feature in features
        if feature.state != WorkState.DONE
    ]


def criterion_findings(criteria) -> list[Finding]:
    return [
        Finding(FindingKind.CRITERION_NOT_MET, f"Not met yet: {criterion.text}", {"criterion": [criterion.pk]})
        for criterion in criteria
        if not criterion.met
    ]


def outcome_of(
    *, date: datetime.date, today: datetime.date, findings: list[Finding], latest_verdict: str | None
) -> str:
    """The outcome rule of the module docstring."""
    if latest_verdict == ResultVerdict.PASS:
        return Outcome.PASSED
    if latest_verdict == ResultVerdict.FAIL:
        return Outcome.FAILED
    if date < today:
        return Outcome.MISSED
    if not findings:
        return Outcome.READY
    if (date - today).days <= NOT_READY_WITHIN_DAYS and any(finding.blocking for finding in findings):
        return Outcome.NOT_READY
    return Outcome.AT_RISK


def evaluate(point, *, now: datetime.datetime, today: datetime.date | None = None) -> Evaluation:
    """Check one point loaded by ``selectors.points_for_check`` (no queries).

    ``today`` defaults to the local date of ``now``; the status-staleness limit is the
    point's portfolio's ``status_stale_days`` before ``now``.
    """
    today = today or timezone.localdate(now)
    stale_before = now - datetime.timedelta(days=point.portfolio.status_stale_days)
    latest_verdict = getattr(point, "latest_result_verdict", None)
    findings = [
        *dependency_findings(point.dependencies.all(), today=today),
        *train_findings(point.trains.all(), stale_before=stale_before),
        *feature_findings(point.features.all()),
        *criterion_findings(point.criteria.all()),
    ]
    if point.date < today and latest_verdict is None:
        findings.append(
            Finding(
                FindingKind.DATE_PASSED_WITHOUT_RESULT,
                f"The date, {point.date:%d %b %Y}, has passed and no result was recorded.",
            )
        )
    return Evaluation(
        outcome=outcome_of(date=point.date, today=today, findings=findings, latest_verdict=latest_verdict),
        findings=findings,
    )
