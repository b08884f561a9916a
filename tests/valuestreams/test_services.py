import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portfolio.core.concurrency import StaleVersion
from tests.factories import FeatureFactory, ProgramIncrementFactory
from valuestreams.models import DependencyColour, DependencyState, Health, StatusReport
from valuestreams.services import (
    StatusConflict,
    actions_available,
    dependency_raise,
    dependency_transition,
    status_report_post,
)

pytestmark = pytest.mark.django_db


def post(world, who="rte", train=None, based_on_id=None, summary="All good"):
    return status_report_post(
        actor=world.user(who),
        train=train or world.art,
        health=Health.ON_TRACK,
        pi_confidence=4,
        summary=summary,
        based_on_id=based_on_id,
    )


def test_each_status_update_is_a_new_report_and_history_is_kept(world):
    first = post(world)
    second = post(world, based_on_id=first.pk, summary="Still good")
    assert list(StatusReport.objects.filter(train=world.art)) == [second, first]
    assert second.based_on == first


def test_second_update_from_a_stale_form_is_refused_with_the_newer_report(world):
    first = post(world)
    newer = post(world, who="ste", based_on_id=first.pk, summary="STE's view")
    with pytest.raises(StatusConflict) as conflict:
        post(world, based_on_id=first.pk, summary="RTE's view")
    assert conflict.value.current == newer
    assert StatusReport.objects.filter(train=world.art).count() == 2


def test_rte_cannot_update_another_trains_status(world):
    with pytest.raises(PermissionDenied):
        post(world, who="rte", train=world.other_art)
    with pytest.raises(PermissionDenied):
        post(world, who="portfolio_manager")


def raise_dependency(world, who="other_rte"):
    return dependency_raise(
        actor=world.user(who),
        consumer=world.other_art,
        provider=world.art,
        title="Card tokenisation API",
        needed_by_pi=world.pi,
        needed_by_iteration=world.pi.iterations.get(number=3),
    )


def test_consumer_rte_raises_and_provider_rte_accepts_commits_and_delivers(world):
    dependency = raise_dependency(world)
    assert dependency.state == DependencyState.REQUESTED and dependency.key.startswith("DEP-")
    rte = world.user("rte")
    dependency = dependency_transition(actor=rte, dependency=dependency, action="accept", expected_version=1)
    dependency = dependency_transition(
        actor=rte,
        dependency=dependency,
        action="commit",
        expected_version=dependency.version,
        committed_pi=world.pi,
        committed_iteration=world.pi.iterations.get(number=2),
    )
    assert dependency.colour == DependencyColour.GREEN
    dependency = dependency_transition(
        actor=rte, dependency=dependency, action="deliver", expected_version=dependency.version
    )
    assert dependency.state == DependencyState.DELIVERED and dependency.delivered_on
    assert [e.action for e in dependency.events.order_by("at", "id")] == ["raise", "accept", "commit", "deliver"]
    last = dependency.events.first()
    assert (last.actor, last.from_state, last.to_state) == (rte, "committed", "delivered")


def test_consumer_cannot_accept_its_own_request(world):
    dependency = raise_dependency(world)
    with pytest.raises(PermissionDenied):
        dependency_transition(actor=world.user("other_rte"), dependency=dependency, action="accept", expected_version=1)
    assert [a.name for a in actions_available(world.user("other_rte"), dependency)] == ["cancel"]


def test_a_step_not_allowed_from_the_current_state_is_refused_clearly(world):
    dependency = raise_dependency(world)
    with pytest.raises(ValidationError) as error:
        dependency_transition(actor=world.user("rte"), dependency=dependency, action="deliver", expected_version=1)
    assert "requested" in str(error.value.message_dict["action"])


def test_decline_and_cancel_need_a_reason_and_flags_carry_one(world):
    dependency = raise_dependency(world)
    with pytest.raises(ValidationError) as error:
        dependency_transition(actor=world.user("rte"), dependency=dependency, action="decline", expected_version=1)
    assert "reason" in error.value.message_dict
    flagged = dependency_transition(
        actor=world.user("rte"),
        dependency=dependency,
        action="flag",
        flag="blocked",
        reason="Waiting on PCI audit",
        expected_version=1,
    )
    assert (flagged.flag, flagged.flag_reason, flagged.state) == ("blocked", "Waiting on PCI audit", "requested")


def test_stale_version_is_refused(world):
    dependency = raise_dependency(world)
    dependency_transition(actor=world.user("rte"), dependency=dependency, action="accept", expected_version=1)
    with pytest.raises(StaleVersion):
        dependency_transition(
            actor=world.user("apmo"), dependency=dependency, action="decline", reason="x", expected_version=1
        )


@pytest.mark.parametrize(
    ("committed_number", "colour"),
    [
        (2, DependencyColour.GREEN),
        (3, DependencyColour.AMBER),
        (4, DependencyColour.RED),
        (None, DependencyColour.GREY),
    ],
)
def test_colour_compares_committed_with_needed_by_iteration(world, committed_number, colour):
    dependency = raise_dependency(world)
    if committed_number:
        dependency = dependency_transition(
            actor=world.user("apmo"), dependency=dependency, action="accept", expected_version=1
        )
        dependency = dependency_transition(
            actor=world.user("apmo"),
            dependency=dependency,
            action="commit",
            expected_version=2,
            committed_pi=world.pi,
            committed_iteration=world.pi.iterations.get(number=committed_number),
        )
    assert dependency.colour == colour


def test_colour_compares_end_dates_across_cadences(world):
    """A provider on another cadence: its iteration ending a day after the need is red."""
    other_pi = ProgramIncrementFactory(
        start_date=world.pi.start_date + datetime.timedelta(days=1),
        end_date=world.pi.end_date + datetime.timedelta(days=1),
        planning_date=world.pi.start_date + datetime.timedelta(days=1),
    )
    dependency = raise_dependency(world)
    needed = dependency.needed_by_iteration
    committed = other_pi.iterations.get(number=3)
    assert committed.end_date == needed.end_date + datetime.timedelta(days=1)
    dependency.committed_pi, dependency.committed_iteration = other_pi, committed
    assert dependency.colour == DependencyColour.RED


def test_late_means_red_or_needed_by_date_passed(world):
    dependency = raise_dependency(world)
    needed = dependency.needed_by
    assert not dependency.is_late_on(needed)
    assert dependency.is_late_on(needed + datetime.timedelta(days=1))
    from valuestreams.models import Dependency

    mine = Dependency.objects.filter(portfolio=world.portfolio)
    assert list(mine.late(needed + datetime.timedelta(days=1))) == [dependency]
    assert list(mine.late(needed)) == []


def test_provider_feature_must_belong_to_the_provider(world):
    dependency = raise_dependency(world)
    foreign = FeatureFactory(train=world.other_art)
    with pytest.raises(ValidationError) as error:
        dependency_transition(
            actor=world.user("rte"),
            dependency=dependency,
            action="accept",
            expected_version=1,
            provider_feature=foreign,
        )
    assert "provider_feature" in error.value.message_dict


def test_links_to_another_portfolio_are_refused_naming_the_field(world):
    from tests.factories import EpicFactory, TrainFactory

    stranger = TrainFactory()
    with pytest.raises(ValidationError) as error:
        dependency_raise(
            actor=world.user("apmo"),
            consumer=world.other_art,
            provider=stranger,
            title="x",
            needed_by_pi=ProgramIncrementFactory(),
            epic=EpicFactory(),
        )
    assert set(error.value.message_dict) == {"provider", "needed_by_pi", "epic"}


def test_the_provider_cannot_change_once_it_accepted(world):
    from valuestreams.services import dependency_update

    dependency = raise_dependency(world)
    dependency = dependency_transition(
        actor=world.user("rte"), dependency=dependency, action="accept", expected_version=1
    )
    with pytest.raises(ValidationError) as error:
        dependency_update(
            actor=world.user("other_rte"), dependency=dependency, expected_version=2, provider=world.solution_train
        )
    assert "provider" in error.value.message_dict


def test_a_status_written_against_a_report_that_does_not_exist_is_refused(world):
    with pytest.raises(ValidationError) as error:
        post(world, based_on_id=12345)
    assert "based_on" in error.value.message_dict


def test_the_history_records_what_was_committed(world):
    dependency = raise_dependency(world)
    dependency = dependency_transition(
        actor=world.user("rte"), dependency=dependency, action="accept", expected_version=1
    )
    iteration = world.pi.iterations.get(number=2)
    dependency_transition(
        actor=world.user("rte"),
        dependency=dependency,
        action="commit",
        expected_version=2,
        committed_pi=world.pi,
        committed_iteration=iteration,
    )
    assert dependency.events.first().detail == f"Committed to {world.pi.name} · I2"


def test_someone_not_allowed_is_refused_even_with_a_stale_form(world):
    dependency = raise_dependency(world)
    dependency_transition(actor=world.user("rte"), dependency=dependency, action="accept", expected_version=1)
    with pytest.raises(PermissionDenied):
        dependency_transition(actor=world.user("viewer"), dependency=dependency, action="commit", expected_version=1)
