"""Writes of the solution roadmaps: capabilities and features placed on PIs, and
milestones. The pages and the API both call these, so they give the same answers.

Each write checks who may act (``roadmap.permissions``), then the rules that span rows,
before anything is written:

- a capability is carried by a solution train, or by an ART outside any solution
  train; a feature by an ART, as part of a capability of its solution train (or of
  itself, for an ART outside any solution train);
- the PI is one of the cadence the train follows, the iteration one of that PI;
- the epic, the capability and the release belong to the train's portfolio;
- work is committed only for a PI that has started (the current one, or an earlier
  one): later PIs are forecast;
- a milestone's PI (derived from its date when not given) contains its date.

Refusals are ValidationErrors naming the field. An edit names the version it was made
against; if the row changed since, StaleVersion carries the current row and nothing is
written. ``actor`` None is the system (seeding, commands): no permission check.
"""

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cadence.models import Iteration, ProgramIncrement
from portfolio.core.concurrency import StaleVersion, update_versioned
from portfolio.models import Epic
from valuestreams.models import Capability, Commitment, Feature, Train, TrainKind, WorkState
from valuestreams.selectors import cadence_id_of

from .models import Milestone, MilestoneKind
from .permissions import EDIT_PORTFOLIO_ROADMAP, EDIT_SOLUTION_ROADMAP

CAPABILITY_FIELDS = ("key", "name", "epic", "program_increment", "commitment", "state")
FEATURE_FIELDS = (
    "key",
    "name",
    "capability",
    "epic",
    "program_increment",
    "iteration",
    "commitment",
    "state",
    "done_on",
)
MILESTONE_FIELDS = ("name", "kind", "date", "program_increment", "release", "description")

COMMIT_LATER_PI = "{pi} has not started yet: work in a later PI is forecast, not committed."


def _require(actor, perm: str, obj, message: str) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied(message)


def _loaded_train(train: Train) -> Train:
    """The train with what the rules and checks read (its value stream, portfolio and
    solution train), loaded once."""
    return Train.objects.select_related("value_stream__portfolio", "solution_train__value_stream").get(pk=train.pk)


def _refuse_train_edit(actor, train: Train) -> None:
    _require(
        actor,
        EDIT_SOLUTION_ROADMAP,
        train,
        f"Only {train}'s {train.engineer_title}, its solution train's STE, APMO or a portfolio manager "
        "may edit its roadmap.",
    )


def _placement_errors(
    *,
    train: Train,
    program_increment: ProgramIncrement | None,
    commitment: str,
    today: datetime.date,
    iteration: Iteration | None = None,
) -> dict[str, list[str]]:
    """Where work may be placed: a PI of the train's cadence, an iteration of that PI, and
    a commitment only for a PI that has started."""
    errors: dict[str, list[str]] = {}
    cadence_id = cadence_id_of(train)
    if program_increment is not None and program_increment.cadence_id != cadence_id:
        errors["program_increment"] = [
            f"{program_increment.name} is not a PI of the cadence {train.name} follows: choose one of its PIs."
        ]
    if iteration is not None:
        if program_increment is None or iteration.program_increment_id != program_increment.pk:
            errors["iteration"] = ["Choose an iteration of the feature's PI."]
    if commitment == Commitment.COMMITTED:
        if program_increment is None:
            errors["commitment"] = ["Place it on a PI before committing it."]
        elif program_increment.start_date > today:
            errors["commitment"] = [COMMIT_LATER_PI.format(pi=program_increment.name)]
    return errors


def _portfolio_of(train: Train) -> int:
    return train.value_stream.portfolio_id


def _epic_errors(epic: Epic | None, train: Train) -> dict[str, list[str]]:
    if epic is not None and epic.portfolio_id != _portfolio_of(train):
        return {"epic": [f"{epic.key} is an epic of another portfolio."]}
    return {}


def _key_errors(model, *, train: Train, key: str, exclude_pk=None) -> dict[str, list[str]]:
    rows = model.objects.filter(train=train, key=key)
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    if rows.exists():
        return {"key": [f"{train.name} already has {model._meta.verbose_name} {key}."]}
    return {}


def _raise(errors: Mapping[str, list[str]]) -> None:
    if errors:
        raise ValidationError(dict(errors))


def _save_new(obj):
    """Validate and insert; a concurrent insert of the same key reports like the check."""
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError({"key": ["That key was taken meanwhile: choose another."]}) from None
    return obj


def _update(instance, *, expected_version: int | None, changes: Mapping[str, Any]):
    try:
        with transaction.atomic():
            return update_versioned(instance, expected_version=expected_version, changes=changes)
    except IntegrityError:
        raise ValidationError({"key": ["That key was taken meanwhile: choose another."]}) from None


def _fresh(instance, expected_version: int | None, *related: str):
    """The stored row (with ``related``); StaleVersion at once if it changed since the
    editor loaded it, so that a stale edit shows the conflict rather than other errors."""
    current = type(instance)._default_manager.select_related(*related).get(pk=instance.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(current)
    return current


def _delete(instance, *, expected_version: int | None) -> None:
    with transaction.atomic():
        current = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(current)
        current.delete()


# --- Capabilities ---------------------------------------------------------------------


def _capability_errors(train: Train, values: Mapping[str, Any], *, today, exclude_pk=None) -> dict:
    errors: dict[str, list[str]] = {}
    if train.kind == TrainKind.ART and train.solution_train_id:
        errors["train"] = [
            f"{train.name} belongs to {train.solution_train.name}: capabilities are carried by the solution train."
        ]
    errors |= _key_errors(Capability, train=train, key=values["key"], exclude_pk=exclude_pk)
    errors |= _epic_errors(values.get("epic"), train)
    errors |= _placement_errors(
        train=train,
        program_increment=values.get("program_increment"),
        commitment=values.get("commitment", Commitment.FORECAST),
        today=today,
    )
    return errors


def capability_create(
    *,
    actor,
    train: Train,
    key: str,
    name: str,
    epic: Epic | None = None,
    program_increment: ProgramIncrement | None = None,
    commitment: str = Commitment.FORECAST,
    state: str = WorkState.BACKLOG,
    today: datetime.date | None = None,
) -> Capability:
    """A new capability on a solution train's roadmap (or an ART's outside any solution train)."""
    train = _loaded_train(train)
    _refuse_train_edit(actor, train)
    values = {"key": key, "epic": epic, "program_increment": program_increment, "commitment": commitment}
    _raise(_capability_errors(train, values, today=today or timezone.localdate()))
    capability = Capability(
        train=train,
        key=key,
        name=name,
        epic=epic,
        program_increment=program_increment,
        commitment=commitment,
        state=state,
    )
    return _save_new(capability)


def capability_update(
    *,
    actor,
    capability: Capability,
    expected_version: int | None,
    today: datetime.date | None = None,
    **changes,
) -> Capability:
    """Change a capability: place it on another PI, commit it, rename it, ... (any of
    CAPABILITY_FIELDS; the train it is carried by stays)."""
    unknown = set(changes) - set(CAPABILITY_FIELDS)
    if unknown:
        raise TypeError(f"Capabilities have no editable {', '.join(sorted(unknown))}.")
    capability = _fresh(capability, expected_version, "epic", "program_increment")
    train = _loaded_train(capability.train)
    _refuse_train_edit(actor, train)
    values = {name: getattr(capability, name) for name in CAPABILITY_FIELDS} | changes
    _raise(_capability_errors(train, values, today=today or timezone.localdate(), exclude_pk=capability.pk))
    return _update(capability, expected_version=expected_version, changes=changes)


def capability_delete(*, actor, capability: Capability, expected_version: int | None) -> None:
    """Remove a capability from its roadmap; its features stay, outside any capability."""
    _refuse_train_edit(actor, _loaded_train(capability.train))
    _delete(capability, expected_version=expected_version)


# --- Features -------------------------------------------------------------------------


def _feature_errors(train: Train, values: Mapping[str, Any], *, today, exclude_pk=None) -> dict:
    errors: dict[str, list[str]] = {}
    if train.kind != TrainKind.ART:
        errors["train"] = [f"{train.name} is a solution train: features belong to its ARTs."]
    errors |= _key_errors(Feature, train=train, key=values["key"], exclude_pk=exclude_pk)
    capability, epic = values.get("capability"), values.get("epic")
    if capability is not None:
        carrier = train.solution_train_id or train.pk
        if capability.train_id != carrier:
            where = train.solution_train.name if train.solution_train_id else train.name
            errors["capability"] = [f"{capability.key} is not on the roadmap of {where}."]
        elif epic is not None and capability.epic_id and capability.epic_id != epic.pk:
            errors["epic"] = [f"{capability.key} is part of another epic: leave the epic empty or choose that one."]
    errors |= _epic_errors(epic, train)
    errors |= _placement_errors(
        train=train,
        program_increment=values.get("program_increment"),
        commitment=values.get("commitment", Commitment.FORECAST),
        today=today,
        iteration=values.get("iteration"),
    )
    if values.get("state") != WorkState.DONE and values.get("done_on"):
        errors["done_on"] = ["Only a done feature has a date it was done on."]
    return errors


def _with_pi_of_iteration(values: dict) -> dict:
    """An iteration given without its PI places the feature on that PI."""
    iteration = values.get("iteration")
    if iteration is not None and values.get("program_increment") is None:
        values["program_increment"] = iteration.program_increment
    return values


def feature_create(
    *,
    actor,
    train: Train,
    key: str,
    name: str,
    capability: Capability | None = None,
    epic: Epic | None = None,
    program_increment: ProgramIncrement | None = None,
    iteration: Iteration | None = None,
    commitment: str = Commitment.FORECAST,
    state: str = WorkState.BACKLOG,
    done_on: datetime.date | None = None,
    today: datetime.date | None = None,
) -> Feature:
    """A new feature on an ART's roadmap."""
    train = _loaded_train(train)
    _refuse_train_edit(actor, train)
    values = _with_pi_of_iteration(
        {
            "key": key,
            "name": name,
            "capability": capability,
            "epic": epic,
            "program_increment": program_increment,
            "iteration": iteration,
            "commitment": commitment,
            "state": state,
            "done_on": done_on,
        }
    )
    _raise(_feature_errors(train, values, today=today or timezone.localdate()))
    return _save_new(Feature(train=train, **values))


def feature_update(
    *,
    actor,
    feature: Feature,
    expected_version: int | None,
    today: datetime.date | None = None,
    **changes,
) -> Feature:
    """Change a feature: its PI and iteration, commitment, capability, ... (any of FEATURE_FIELDS)."""
    unknown = set(changes) - set(FEATURE_FIELDS)
    if unknown:
        raise TypeError(f"Features have no editable {', '.join(sorted(unknown))}.")
    feature = _fresh(feature, expected_version, "capability", "epic", "program_increment", "iteration")
    train = _loaded_train(feature.train)
    _refuse_train_edit(actor, train)
    if "program_increment" in changes and "iteration" not in changes and feature.iteration_id:
        # A feature moved to another PI leaves its iteration behind.
        if feature.iteration.program_increment_id != getattr(changes["program_increment"], "pk", None):
            changes["iteration"] = None
    values = _with_pi_of_iteration({name: getattr(feature, name) for name in FEATURE_FIELDS} | changes)
    changes["program_increment"] = values["program_increment"]
    _raise(_feature_errors(train, values, today=today or timezone.localdate(), exclude_pk=feature.pk))
    return _update(feature, expected_version=expected_version, changes=changes)


def feature_delete(*, actor, feature: Feature, expected_version: int | None) -> None:
    _refuse_train_edit(actor, _loaded_train(feature.train))
    _delete(feature, expected_version=expected_version)


# --- Milestones -----------------------------------------------------------------------


def _refuse_milestone_edit(actor, milestone: Milestone) -> None:
    if milestone.train_id:
        _refuse_train_edit(actor, milestone.train)
    else:
        _require(
            actor,
            EDIT_PORTFOLIO_ROADMAP,
            milestone,
            "Only APMO or a portfolio manager may edit the portfolio roadmap's milestones.",
        )


def _milestone_cadence_id(milestone: Milestone) -> int | None:
    if milestone.train_id:
        return cadence_id_of(milestone.train)
    return milestone.portfolio.cadence_id


def _milestone_errors(milestone: Milestone) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    portfolio_id = milestone.portfolio_id
    if milestone.train_id and milestone.train.value_stream.portfolio_id != portfolio_id:
        errors["train"] = [f"{milestone.train} is a train of another portfolio."]
    if milestone.release_id and milestone.release.portfolio_id != portfolio_id:
        errors["release"] = [f"{milestone.release} is a release of another portfolio."]
    if milestone.kind == MilestoneKind.RELEASE and not (milestone.release_id or milestone.train_id):
        errors["release"] = ["A release milestone of the portfolio roadmap names its release."]
    pi = milestone.program_increment
    cadence_id = _milestone_cadence_id(milestone)
    if pi is not None and milestone.date is not None:
        owner = milestone.train.name if milestone.train_id else "the portfolio"
        if pi.cadence_id != cadence_id:
            errors["program_increment"] = [f"{pi.name} is not a PI of the cadence {owner} follows."]
        elif not pi.contains(milestone.date):
            errors["date"] = [
                f"{milestone.date:%-d %b %Y} is outside {pi.name} ({pi.start_date:%-d %b} – {pi.end_date:%-d %b %Y})."
            ]
    return errors


def _place_milestone(milestone: Milestone, *, pi_given: bool) -> None:
    """Without a PI given, the milestone sits in the PI of its cadence containing its date."""
    if pi_given or milestone.date is None:
        return
    cadence_id = _milestone_cadence_id(milestone)
    milestone.program_increment = (
        ProgramIncrement.objects.filter(cadence_id=cadence_id).current(milestone.date).first() if cadence_id else None
    )


def milestone_create(
    *,
    actor,
    portfolio,
    name: str,
    date: datetime.date,
    kind: str = MilestoneKind.FIXED_DATE,
    train: Train | None = None,
    program_increment: ProgramIncrement | None = None,
    release=None,
    description: str = "",
) -> Milestone:
    """A milestone on a train's roadmap (with ``train``) or on the portfolio roadmap."""
    if train is not None:
        train = _loaded_train(train)
    milestone = Milestone(
        portfolio=portfolio,
        train=train,
        name=name,
        kind=kind,
        date=date,
        program_increment=program_increment,
        release=release,
        description=description,
    )
    _refuse_milestone_edit(actor, milestone)
    _place_milestone(milestone, pi_given=program_increment is not None)
    _raise(_milestone_errors(milestone))
    milestone.full_clean()
    milestone.save()
    return milestone


def milestone_update(*, actor, milestone: Milestone, expected_version: int | None, **changes) -> Milestone:
    """Change a milestone (any of MILESTONE_FIELDS; its portfolio and train stay). A new
    date without a PI moves it into the PI containing that date."""
    unknown = set(changes) - set(MILESTONE_FIELDS)
    if unknown:
        raise TypeError(f"Milestones have no editable {', '.join(sorted(unknown))}.")
    milestone = _fresh(
        milestone,
        expected_version,
        "portfolio",
        "train__value_stream__portfolio",
        "train__solution_train",
        "release",
        "program_increment",
    )
    _refuse_milestone_edit(actor, milestone)
    for name, value in changes.items():
        setattr(milestone, name, value)
    pi_given = changes.get("program_increment") is not None or (
        "program_increment" not in changes and "date" not in changes
    )
    _place_milestone(milestone, pi_given=pi_given)
    changes = {**changes, "program_increment": milestone.program_increment}
    _raise(_milestone_errors(milestone))
    return update_versioned(milestone, expected_version=expected_version, changes=changes)


def milestone_delete(*, actor, milestone: Milestone, expected_version: int | None) -> None:
    milestone = Milestone.objects.select_related("train__value_stream", "train__solution_train").get(pk=milestone.pk)
    _refuse_milestone_edit(actor, milestone)
    _delete(milestone, expected_version=expected_version)
