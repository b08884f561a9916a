"""Releases: readiness derived from their gating points, the services (who may, what
fits), and the release milestone kept in step on the portfolio roadmap."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from integration import releases
from integration.models import Depth, IntegrationResult, Outcome, Release, ResultVerdict
from integration.releases import Gate, Readiness, readiness_from
from portfolio.core.concurrency import StaleVersion
from roadmap.models import Milestone, MilestoneKind
from tests import factories
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.django_db

RELEASE_DATE = datetime.date(2026, 12, 10)  # inside world.pi (5 Oct – 13 Dec 2026)


# --- Readiness -----------------------------------------------------------------------


def gate(outcome, *, day=1, after_release=False):
    point = factories.IntegrationPointFactory.build(name=f"P{day}", date=datetime.date(2026, 12, day))
    return Gate(point=point, outcome=outcome, after_release=after_release)


def test_a_release_without_gates_is_pending():
    readiness = readiness_from([])
    assert readiness.state == Readiness.PENDING
    assert "Not gated" in readiness.reason


def test_all_gates_passed_is_ready():
    readiness = readiness_from([gate(Outcome.PASSED), gate(Outcome.PASSED, day=2)])
    assert readiness.state == Readiness.READY
    assert readiness.passed == 2 and readiness.label == "Ready"


@pytest.mark.parametrize("bad", [Outcome.FAILED, Outcome.MISSED])
def test_any_failed_or_missed_gate_blocks_even_if_others_are_at_risk(bad):
    readiness = readiness_from([gate(Outcome.PASSED), gate(Outcome.AT_RISK, day=2), gate(bad, day=3)])
    assert readiness.state == Readiness.BLOCKED
    assert readiness.reason == "1 of 3 gates failed or missed."
    assert readiness.blocking == 1


@pytest.mark.parametrize("risky", [Outcome.AT_RISK, Outcome.NOT_READY])
def test_a_gate_at_risk_or_not_ready_puts_the_release_at_risk(risky):
    readiness = readiness_from([gate(Outcome.PASSED), gate(risky, day=2)])
    assert readiness.state == Readiness.AT_RISK


def test_a_gate_still_to_pass_after_the_release_date_puts_it_at_risk():
    readiness = readiness_from([gate(Outcome.READY), gate(Outcome.PENDING, day=2, after_release=True)])
    assert readiness.state == Readiness.AT_RISK
    assert "dated after the release" in readiness.reason


@pytest.mark.parametrize("waiting", [Outcome.PENDING, Outcome.READY])
def test_gates_still_to_come_leave_it_pending(waiting):
    readiness = readiness_from([gate(Outcome.PASSED), gate(waiting, day=2)])
    assert readiness.state == Readiness.PENDING
    assert readiness.reason == "1 of 2 gates passed; the rest are still to come."


def gated_release(world, *outcomes, date=RELEASE_DATE):
    release = factories.ReleaseFactory(portfolio=world.portfolio, date=date)
    release.value_streams.set([world.value_stream])
    for n, outcome in enumerate(outcomes):
        point = factories.IntegrationPointFactory(
            portfolio=world.portfolio, program_increment=world.pi, outcome=outcome, date=date - datetime.timedelta(n)
        )
        release.integration_points.add(point)
    return release


def test_readiness_reads_the_gates_effective_outcomes(world):
    release = gated_release(world, Outcome.PASSED, Outcome.READY)
    waiting = release.integration_points.get(outcome=Outcome.READY)
    loaded = releases.release_detail(user=world.user("viewer"), release_id=release.pk)
    assert loaded.readiness.state == Readiness.PENDING
    IntegrationResult.objects.create(integration_point=waiting, verdict=ResultVerdict.PASS)
    loaded = releases.release_detail(user=world.user("viewer"), release_id=release.pk)
    assert loaded.readiness.state == Readiness.READY


def test_a_gate_dated_after_the_release_is_flagged(world):
    release = gated_release(world, Outcome.PENDING)
    late = release.integration_points.get()
    late.date = RELEASE_DATE + datetime.timedelta(days=2)
    late.save()
    loaded = releases.release_detail(user=world.user("viewer"), release_id=release.pk)
    assert loaded.readiness.state == Readiness.AT_RISK
    assert loaded.readiness.gates[0].after_release


def test_the_release_list_costs_the_same_queries_on_the_demo_portfolios(demo, django_assert_num_queries):
    with django_assert_num_queries(4):
        rows = releases.release_list(user=demo.users["viewer"], portfolio=demo.portfolio)
    assert rows and all(hasattr(row, "readiness") for row in rows)
    past = [row for row in rows if row.date < DEMO_TODAY]
    assert {row.readiness.state for row in past} <= set(Readiness.values)


def test_upcoming_releases_for_the_dashboard(demo, django_assert_num_queries):
    with django_assert_num_queries(4):
        upcoming = releases.upcoming_releases(user=demo.users["apmo"], portfolio=demo.portfolio, today=DEMO_TODAY)
    assert 0 < len(upcoming) <= 5
    assert all(release.date >= DEMO_TODAY for release in upcoming)
    assert [release.date for release in upcoming] == sorted(release.date for release in upcoming)


# --- Creating, changing and deleting ---------------------------------------------------


def points_of(world, n=2, **kwargs):
    created = []
    for i in range(n):
        point = factories.IntegrationPointFactory(
            portfolio=world.portfolio,
            program_increment=world.pi,
            date=datetime.date(2026, 12, 1 + i),
            depth=Depth.FULL,
            **kwargs,
        )
        point.value_streams.set([world.value_stream])
        created.append(point)
    return created


def create(world, actor, **changes):
    values = {
        "name": "R26.4 Elbe",
        "date": RELEASE_DATE,
        "value_streams": [world.value_stream],
        "integration_points": points_of(world),
    } | changes
    return releases.release_create(actor=actor, portfolio=world.portfolio, **values)


def release_milestones(release):
    return list(Milestone.objects.filter(release=release, kind=MilestoneKind.RELEASE))


def test_apmo_creates_a_release_and_its_roadmap_milestone(world):
    release = create(world, world.user("apmo"), description="Cards and lending go live together.")
    assert list(release.value_streams.all()) == [world.value_stream]
    assert release.integration_points.count() == 2
    (milestone,) = release_milestones(release)
    assert milestone.name == "R26.4 Elbe go-live"
    assert milestone.date == RELEASE_DATE and milestone.train is None
    assert milestone.portfolio == world.portfolio
    assert milestone.program_increment == world.pi


def test_changing_the_release_moves_its_milestone(world):
    release = create(world, world.user("apmo"))
    new_date = datetime.date(2027, 1, 8)  # after world.pi: no PI of the cadence contains it
    saved = releases.release_update(
        actor=world.user("apmo"), release=release, expected_version=1, name="R27.1 Elbe", date=new_date
    )
    assert saved.version == 2
    (milestone,) = release_milestones(release)
    assert (milestone.name, milestone.date, milestone.program_increment) == ("R27.1 Elbe go-live", new_date, None)
    assert milestone.version == 2


def test_an_existing_release_milestone_is_kept_not_duplicated(world):
    release = factories.ReleaseFactory(portfolio=world.portfolio, name="R1", date=RELEASE_DATE)
    release.value_streams.set([world.value_stream])
    factories.MilestoneFactory(
        portfolio=world.portfolio, kind=MilestoneKind.RELEASE, release=release, name="R1 go-live", date=RELEASE_DATE
    )
    releases.release_update(actor=world.user("apmo"), release=release, expected_version=1, date=RELEASE_DATE)
    releases.release_update(
        actor=world.user("apmo"), release=release, expected_version=2, date=datetime.date(2026, 12, 11)
    )
    (milestone,) = release_milestones(release)
    assert milestone.date == datetime.date(2026, 12, 11)


def test_deleting_a_release_removes_its_milestone_but_keeps_its_points(world):
    release = create(world, world.user("apmo"))
    points = list(release.integration_points.values_list("pk", flat=True))
    releases.release_delete(actor=world.user("apmo"), release=release, expected_version=1)
    assert not Release.objects.filter(pk=release.pk).exists()
    assert not Milestone.objects.filter(kind=MilestoneKind.RELEASE, portfolio=world.portfolio).exists()
    assert len(points) == 2 and world.portfolio.integration_points.filter(pk__in=points).count() == 2


def test_an_edit_against_an_older_version_is_refused_with_the_current_release(world):
    release = create(world, world.user("apmo"))
    releases.release_update(actor=world.user("apmo"), release=release, expected_version=1, name="R2")
    with pytest.raises(StaleVersion) as stale:
        releases.release_update(actor=world.user("apmo"), release=release, expected_version=1, name="R3")
    assert stale.value.current.name == "R2"
    with pytest.raises(StaleVersion):
        releases.release_delete(actor=world.user("apmo"), release=release, expected_version=1)
    assert release_milestones(release)[0].name == "R2 go-live"


def test_a_release_spans_at_least_one_value_stream_of_its_portfolio(world):
    with pytest.raises(ValidationError) as refused:
        create(world, world.user("apmo"), value_streams=[], integration_points=[])
    assert "value_streams" in refused.value.message_dict
    elsewhere = factories.ValueStreamFactory()
    with pytest.raises(ValidationError) as refused:
        create(world, world.user("apmo"), value_streams=[elsewhere], integration_points=[])
    assert "not a value stream of this portfolio" in refused.value.message_dict["value_streams"][0]


def test_a_gate_must_integrate_one_of_the_release_s_value_streams(world):
    lending_only = factories.IntegrationPointFactory(
        portfolio=world.portfolio, program_increment=world.pi, name="Lending demo"
    )
    lending_only.trains.set([world.other_art])
    with pytest.raises(ValidationError) as refused:
        create(world, world.user("apmo"), integration_points=[lending_only])
    assert (
        "Lending demo: integrates none of the release's value streams."
        in refused.value.message_dict["integration_points"]
    )
    # Through a train of the value stream it does integrate it.
    lending_only.trains.add(world.art)
    assert create(world, world.user("apmo"), integration_points=[lending_only]).pk


def test_a_gate_of_another_portfolio_is_refused(world):
    foreign = factories.IntegrationPointFactory(name="Elsewhere")
    with pytest.raises(ValidationError) as refused:
        create(world, world.user("apmo"), integration_points=[foreign])
    assert "not an integration point of this portfolio" in refused.value.message_dict["integration_points"][0]


def test_release_names_are_unique_in_a_portfolio(world):
    create(world, world.user("apmo"))
    with pytest.raises(ValidationError) as refused:
        create(world, world.user("apmo"), integration_points=[])
    assert "already has a release" in refused.value.message_dict["name"][0]


# --- Who may ----------------------------------------------------------------------------


def test_the_ste_manages_releases_of_their_solution_train_s_value_stream(world):
    ste = world.user("ste")
    release = create(world, ste)
    assert releases.may_manage(ste, releases.release_detail(user=ste, release_id=release.pk))
    saved = releases.release_update(actor=ste, release=release, expected_version=1, name="R26.4 Elbe (cards)")
    releases.release_delete(actor=ste, release=saved, expected_version=2)


def test_the_ste_may_not_stretch_a_release_over_another_value_stream(world):
    ste = world.user("ste")
    with pytest.raises(PermissionDenied):
        create(world, ste, value_streams=[world.value_stream, world.other_value_stream])
    release = create(world, ste)
    with pytest.raises(PermissionDenied):
        releases.release_update(
            actor=ste,
            release=release,
            expected_version=1,
            value_streams=[world.value_stream, world.other_value_stream],
        )


def test_the_ste_may_not_touch_a_release_spanning_another_value_stream(world):
    release = create(world, world.user("apmo"), value_streams=[world.value_stream, world.other_value_stream])
    ste = world.user("ste")
    assert not releases.may_manage(ste, releases.release_detail(user=ste, release_id=release.pk))
    with pytest.raises(PermissionDenied):
        releases.release_update(actor=ste, release=release, expected_version=1, value_streams=[world.value_stream])
    with pytest.raises(PermissionDenied):
        releases.release_delete(actor=ste, release=release, expected_version=1)


@pytest.mark.parametrize("role", ["viewer", "portfolio_manager", "enterprise_architect", "rte", "other_rte"])
def test_other_roles_may_not_create_change_or_delete_releases(world, role):
    user = world.user(role)
    with pytest.raises(PermissionDenied):
        create(world, user)
    release = create(world, world.user("apmo"))
    with pytest.raises(PermissionDenied):
        releases.release_update(actor=user, release=release, expected_version=1, name="Renamed")
    with pytest.raises(PermissionDenied):
        releases.release_delete(actor=user, release=release, expected_version=1)
    assert not user.has_perm(releases.ADD_RELEASE, world.portfolio)


def test_an_ste_of_another_portfolio_manages_nothing_here(world):
    outsider_ste = factories.UserFactory()
    other = factories.ValueStreamFactory()
    factories.SolutionTrainFactory(value_stream=other, engineer=outsider_ste)
    factories.MembershipFactory(user=outsider_ste, portfolio=other.portfolio)
    assert not outsider_ste.has_perm(releases.ADD_RELEASE, world.portfolio)
    with pytest.raises(PermissionDenied):
        create(world, outsider_ste)


def test_the_value_streams_an_ste_may_choose_are_their_solution_trains(world):
    assert list(releases.manageable_value_streams(world.user("ste"), world.portfolio)) == [world.value_stream]
    assert set(releases.manageable_value_streams(world.user("apmo"), world.portfolio)) == {
        world.value_stream,
        world.other_value_stream,
    }
