"""Portfolio releases: who may manage them, the writes that keep them consistent, and
their readiness derived from the integration points they are gated on.

Who (DESIGN.md, "Permissions": manage integration points and releases): the
portfolio's APMO, any release; the STE of a solution train, the releases whose value
streams are all value streams of solution trains they engineer.

Readiness, from the effective outcome of each gating point (see
``integration.analytics.effective_outcome``):

- **blocked**: a gate failed or was missed;
- **ready**: every gate passed;
- **at risk**: otherwise, when a gate is at risk or not ready, or a gate still to pass
  is dated after the release;
- **pending**: otherwise (the gates are still to come, or there are none yet).

A release shows on the portfolio roadmap as a milestone of kind "release": the writes
here keep one such milestone (no train, named "<release> go-live", on the release's
date, in the portfolio cadence's PI containing it) in step with the release. The
milestone model lives in the roadmap app, above this one; the design has the release
markers arrive with the integration work, so it is reached through the app registry
rather than imported.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

import rules
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Prefetch, QuerySet

from cadence.models import ProgramIncrement
from portfolio.core.concurrency import StaleVersion, update_versioned
from portfolio.permissions import is_apmo, is_member, visible_portfolio_ids
from valuestreams.models import TrainKind, ValueStream

from .analytics import effective_outcome
from .models import IntegrationPoint, Outcome, Release
from .permissions import engineers_a_solution_train_in
from .selectors import value_streams_by_point, with_latest_result

MANAGE_RELEASE = "integration.manage_release"  # checked against a release
ADD_RELEASE = "integration.add_release"  # checked against a portfolio
RELEASE_FIELDS = ("name", "date", "description", "value_streams", "integration_points")
MILESTONE_NAME = "{name} go-live"
MILESTONE_KIND = "release"


# --- Who may ---------------------------------------------------------------------------


def ste_value_stream_ids(user) -> set[int]:
    """The value streams of the solution trains the user engineers (one query, cached)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_tributary_ste_value_streams", None)
    if cached is None:
        from valuestreams.models import Train

        cached = set(
            Train.objects.filter(kind=TrainKind.SOLUTION, engineer=user).values_list("value_stream_id", flat=True)
        )
        user._tributary_ste_value_streams = cached
    return cached


def _stream_ids_of(release) -> set[int]:
    pending = getattr(release, "_pending_value_stream_ids", None)
    if pending is not None:
        return set(pending)
    if release.pk is None:
        return set()
    return {stream.pk for stream in release.value_streams.all()}


@rules.predicate
def is_ste_of_all_its_value_streams(user, release) -> bool:
    if release is None:
        return False
    streams = _stream_ids_of(release)
    return bool(streams) and streams <= ste_value_stream_ids(user)


for _perm, _rule in (
    (MANAGE_RELEASE, is_apmo | (is_member & is_ste_of_all_its_value_streams)),
    (ADD_RELEASE, is_apmo | (is_member & engineers_a_solution_train_in)),
):
    if not rules.perm_exists(_perm):
        rules.add_perm(_perm, _rule)


def may_manage(user, release: Release, value_stream_ids: Iterable[int] | None = None) -> bool:
    """May the user manage ``release`` (with ``value_stream_ids`` instead of its own, to
    check what an edit would make of it)?"""
    if value_stream_ids is None:
        return user.has_perm(MANAGE_RELEASE, release)
    probe = Release(pk=release.pk, portfolio_id=release.portfolio_id)
    probe._pending_value_stream_ids = set(value_stream_ids)
    return user.has_perm(MANAGE_RELEASE, probe)


def manageable_value_streams(user, portfolio) -> QuerySet[ValueStream]:
    """The value streams a release the user creates may span."""
    streams = ValueStream.objects.filter(portfolio=portfolio).order_by("name")
    if is_apmo(user, portfolio):
        return streams
    return streams.filter(pk__in=ste_value_stream_ids(user))


WHO_MAY = "the portfolio's APMO, or the STE of the solution trains of all its value streams"


# --- Readiness -------------------------------------------------------------------------


class Readiness(models.TextChoices):
    READY = "ready", "Ready"
    PENDING = "pending", "Pending"
    AT_RISK = "at_risk", "At risk"
    BLOCKED = "blocked", "Blocked"


@dataclass(frozen=True)
class Gate:
    """An integration point a release is gated on, as the release sees it."""

    point: IntegrationPoint
    outcome: str  # effective
    after_release: bool  # dated after the release and not passed yet

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.PASSED

    @property
    def blocking(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.MISSED)

    @property
    def at_risk(self) -> bool:
        return self.outcome in (Outcome.AT_RISK, Outcome.NOT_READY) or self.after_release


@dataclass(frozen=True)
class ReleaseReadiness:
    state: str
    reason: str
    gates: tuple[Gate, ...]

    @property
    def label(self) -> str:
        return Readiness(self.state).label

    @property
    def passed(self) -> int:
        return sum(1 for gate in self.gates if gate.passed)

    @property
    def blocking(self) -> int:
        return sum(1 for gate in self.gates if gate.blocking)


def _of(count: int, total: int, what: str) -> str:
    return f"{count} of {total} gate{'s' if total != 1 else ''} {what}"


def readiness_from(gates: list[Gate]) -> ReleaseReadiness:
    """The rules of the module docstring, over gates in date order."""
    total = len(gates)
    if not gates:
        return ReleaseReadiness(Readiness.PENDING, "Not gated on any integration point yet.", ())
    blocking = [gate for gate in gates if gate.blocking]
    if blocking:
        return ReleaseReadiness(Readiness.BLOCKED, _of(len(blocking), total, "failed or missed") + ".", tuple(gates))
    passed = sum(1 for gate in gates if gate.passed)
    if passed == total:
        return ReleaseReadiness(
            Readiness.READY, f"All {total} gates passed." if total > 1 else "Its gate passed.", tuple(gates)
        )
    late = [gate for gate in gates if gate.after_release]
    risky = [gate for gate in gates if gate.outcome in (Outcome.AT_RISK, Outcome.NOT_READY)]
    if late or risky:
        reasons = []
        if risky:
            reasons.append(_of(len(risky), total, "at risk or not ready"))
        if late:
            reasons.append(f"{len(late)} dated after the release")
        return ReleaseReadiness(Readiness.AT_RISK, "; ".join(reasons) + ".", tuple(gates))
    return ReleaseReadiness(
        Readiness.PENDING, _of(passed, total, "passed") + "; the rest are still to come.", tuple(gates)
    )


def release_readiness(release: Release) -> ReleaseReadiness:
    """For a release loaded by ``with_gates`` (no query)."""
    gates = [
        Gate(
            point=point,
            outcome=(outcome := effective_outcome(point.outcome, getattr(point, "latest_result_verdict", None))),
            after_release=point.date > release.date and outcome != Outcome.PASSED,
        )
        for point in release.integration_points.all()
    ]
    return readiness_from(gates)


# --- Reads -----------------------------------------------------------------------------


def releases_visible_to(user) -> QuerySet[Release]:
    return Release.objects.filter(portfolio_id__in=visible_portfolio_ids(user))


def with_gates(releases: QuerySet[Release]) -> QuerySet[Release]:
    """Releases with their value streams and gating points (each with its latest result
    and PI): three queries for any number of releases."""
    return releases.select_related("portfolio").prefetch_related(
        Prefetch("value_streams", queryset=ValueStream.objects.order_by("name")),
        Prefetch(
            "integration_points",
            queryset=with_latest_result(IntegrationPoint.objects.select_related("program_increment")).order_by(
                "date", "name"
            ),
        ),
    )


def attach_readiness(releases: Iterable[Release]) -> list[Release]:
    """Set ``readiness`` on each release loaded by ``with_gates``."""
    releases = list(releases)
    for release in releases:
        release.readiness = release_readiness(release)
    return releases


def release_list(*, user, portfolio) -> list[Release]:
    """The portfolio's releases by date, each with ``readiness`` (four queries)."""
    return attach_readiness(with_gates(releases_visible_to(user).filter(portfolio=portfolio)).order_by("date", "name"))


def release_detail(*, user, release_id: int) -> Release:
    """One visible release with ``readiness`` (Release.DoesNotExist otherwise)."""
    release = with_gates(releases_visible_to(user)).get(pk=release_id)
    release.readiness = release_readiness(release)
    return release


def upcoming_releases(*, user, portfolio, today: datetime.date, limit: int = 5) -> list[Release]:
    """For the dashboard: the next releases from today, soonest first, each with
    ``readiness`` (four queries)."""
    releases = releases_visible_to(user).filter(portfolio=portfolio, date__gte=today).order_by("date", "name")
    return attach_readiness(with_gates(releases)[:limit])


def gate_choices(portfolio) -> QuerySet[IntegrationPoint]:
    """The points a release of the portfolio may be gated on, by date, with their PI,
    latest result and value streams (two queries)."""
    return (
        with_latest_result(IntegrationPoint.objects.filter(portfolio=portfolio))
        .select_related("program_increment")
        .prefetch_related(Prefetch("value_streams", queryset=ValueStream.objects.order_by("name")))
        .order_by("date", "name")
    )


# --- Writes ----------------------------------------------------------------------------


def _errors(
    *,
    portfolio,
    name: str,
    value_streams: list[ValueStream],
    integration_points: list[IntegrationPoint],
    exclude_pk=None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    same_name = Release.objects.filter(portfolio=portfolio, name=name)
    if exclude_pk is not None:
        same_name = same_name.exclude(pk=exclude_pk)
    if name and same_name.exists():
        errors["name"] = [f'The portfolio already has a release named "{name}".']
    if not value_streams:
        errors["value_streams"] = ["Choose the value streams the release spans."]
    elsewhere = [str(stream) for stream in value_streams if stream.portfolio_id != portfolio.pk]
    if elsewhere:
        errors["value_streams"] = [f"{', '.join(elsewhere)}: not a value stream of this portfolio."]
    foreign = [str(point) for point in integration_points if point.portfolio_id != portfolio.pk]
    if foreign:
        errors["integration_points"] = [f"{', '.join(foreign)}: not an integration point of this portfolio."]
    elif value_streams and integration_points:
        spanned = {stream.pk for stream in value_streams}
        streams_of = value_streams_by_point(integrationpoint_id__in=[point.pk for point in integration_points])
        unrelated = [str(point) for point in integration_points if not streams_of[point.pk] & spanned]
        if unrelated:
            errors["integration_points"] = [f"{', '.join(unrelated)}: integrates none of the release's value streams."]
    return errors


def _refuse(actor, release: Release, stream_ids: set[int]) -> None:
    """Refuse unless the actor may manage the release as it is (when it exists) and as
    it would be with ``stream_ids``: an STE may neither touch another's release nor
    stretch their own over a value stream that is not theirs."""
    if actor is None:
        return
    allowed = may_manage(actor, release, stream_ids) and (release.pk is None or may_manage(actor, release))
    if not allowed:
        raise PermissionDenied(f"Only {WHO_MAY} may manage this release.")


def sync_milestone(release: Release) -> None:
    """Keep the release's milestone on the portfolio roadmap in step with it."""
    milestone_model = apps.get_model("roadmap", "Milestone")
    cadence_id = release.portfolio.cadence_id
    pi = ProgramIncrement.objects.filter(cadence_id=cadence_id).current(release.date).first() if cadence_id else None
    wanted = {
        "name": MILESTONE_NAME.format(name=release.name)[:160],
        "date": release.date,
        "program_increment": pi,
    }
    markers = list(milestone_model.objects.filter(release=release, kind=MILESTONE_KIND, train__isnull=True))
    if not markers:
        marker = milestone_model(portfolio=release.portfolio, kind=MILESTONE_KIND, release=release, **wanted)
        marker.full_clean()
        marker.save()
        return
    for marker in markers:
        if any(getattr(marker, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(marker, field, value)
            marker.version += 1
            marker.full_clean()
            marker.save()


def release_create(
    *,
    actor,
    portfolio,
    name: str,
    date: datetime.date,
    description: str = "",
    value_streams: Iterable[ValueStream] = (),
    integration_points: Iterable[IntegrationPoint] = (),
) -> Release:
    """A new release of the portfolio, with its milestone on the portfolio roadmap."""
    value_streams, integration_points = list(value_streams), list(integration_points)
    if actor is not None and not actor.has_perm(ADD_RELEASE, portfolio):
        raise PermissionDenied(f"Only {WHO_MAY} may create a release.")
    release = Release(portfolio=portfolio, name=name, date=date, description=description)
    _refuse(actor, release, {stream.pk for stream in value_streams})
    errors = _errors(portfolio=portfolio, name=name, value_streams=value_streams, integration_points=integration_points)
    if errors:
        raise ValidationError(errors)
    release.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            release.save()
            release.value_streams.set(value_streams)
            release.integration_points.set(integration_points)
            sync_milestone(release)
    except IntegrityError:
        raise ValidationError(
            {"name": [f'A release named "{name}" was created meanwhile: choose another name.']}
        ) from None
    return release


def release_update(*, actor, release: Release, expected_version: int | None, **changes) -> Release:
    """Change a release (any of RELEASE_FIELDS) and its milestone with it. StaleVersion
    (with the stored release) if it changed since ``expected_version``."""
    unknown = set(changes) - set(RELEASE_FIELDS)
    if unknown:
        raise TypeError(f"Releases have no editable {', '.join(sorted(unknown))}.")
    current = Release.objects.select_related("portfolio").prefetch_related("value_streams").get(pk=release.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(current)
    streams = list(changes.pop("value_streams", current.value_streams.all()))
    points = changes.pop("integration_points", None)
    points = list(current.integration_points.all() if points is None else points)
    _refuse(actor, current, {stream.pk for stream in streams})
    errors = _errors(
        portfolio=current.portfolio,
        name=changes.get("name", current.name),
        value_streams=streams,
        integration_points=points,
        exclude_pk=current.pk,
    )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            saved = update_versioned(current, expected_version=expected_version, changes=changes)
            saved.value_streams.set(streams)
            saved.integration_points.set(points)
            saved.portfolio = current.portfolio
            sync_milestone(saved)
    except IntegrityError:
        raise ValidationError({"name": ["That name was taken meanwhile: choose another."]}) from None
    return saved


def release_delete(*, actor, release: Release, expected_version: int | None) -> None:
    """Remove a release; its milestone goes with it."""
    current = Release.objects.prefetch_related("value_streams").get(pk=release.pk)
    _refuse(actor, current, {stream.pk for stream in current.value_streams.all()})
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=current.pk)
        if expected_version is not None and locked.version != expected_version:
            raise StaleVersion(locked)
        locked.delete()


@dataclass(frozen=True)
class GateOption:
    point: IntegrationPoint
    outcome: str  # effective
    value_streams: tuple[str, ...]
    checked: bool

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label


@dataclass(frozen=True)
class GateGroup:
    """The points of one PI, as the release form offers them."""

    name: str
    start_date: datetime.date | None
    end_date: datetime.date | None
    options: tuple[GateOption, ...]
    open: bool  # shown unfolded: it holds a ticked point, or it is the current or next PI

    @property
    def checked(self) -> int:
        return sum(1 for option in self.options if option.checked)


def gate_groups(portfolio, *, checked_ids: set[int], today: datetime.date) -> list[GateGroup]:
    """The portfolio's points by PI, for the release form (two queries)."""
    groups: dict[int | None, list[GateOption]] = {}
    pis = {}
    for point in gate_choices(portfolio):
        pis[point.program_increment_id] = point.program_increment
        streams = {stream.pk: stream.name for stream in point.value_streams.all()}
        groups.setdefault(point.program_increment_id, []).append(
            GateOption(
                point=point,
                outcome=effective_outcome(point.outcome, point.latest_result_verdict),
                value_streams=tuple(sorted(streams.values())),
                checked=point.pk in checked_ids,
            )
        )
    horizon = today + datetime.timedelta(days=120)
    result = []
    for pi_id, options in groups.items():
        pi = pis[pi_id]
        near = pi is not None and pi.end_date >= today and pi.start_date <= horizon
        result.append(
            GateGroup(
                name=pi.name if pi else "No PI",
                start_date=pi.start_date if pi else None,
                end_date=pi.end_date if pi else None,
                options=tuple(options),
                open=near or any(option.checked for option in options),
            )
        )
    return result
