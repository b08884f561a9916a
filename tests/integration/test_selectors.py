"""What the dashboard reads of integration points: the next ones with their last
outcome and check, and the latest outcome changes."""

import datetime

import pytest

from integration import selectors, services
from integration.models import IntegrationPoint, Outcome
from tests.factories import IntegrationPointFactory

from .conftest import NOW, TODAY, WINDOW

pytestmark = pytest.mark.django_db


def test_upcoming_points_come_soonest_first_with_their_last_check(world, point):
    later = IntegrationPointFactory(
        portfolio=world.portfolio, program_increment=world.pi, date=TODAY + datetime.timedelta(days=30)
    )
    IntegrationPointFactory(
        portfolio=world.portfolio, program_increment=world.pi, date=TODAY - datetime.timedelta(days=1)
    )  # past
    IntegrationPointFactory(
        portfolio=world.portfolio, program_increment=world.pi, date=TODAY + datetime.timedelta(days=60)
    )  # too far
    services.integration_points_check(point_ids=[point.pk], window_start=WINDOW, now=NOW)
    upcoming = selectors.upcoming_integration_points(user=world.user("viewer"), portfolio=world.portfolio, today=TODAY)
    assert upcoming == [point, later]
    first = upcoming[0]
    assert first.outcome == Outcome.NOT_READY
    assert first.last_checked_at == NOW
    assert first.latest_check.outcome_label == "Not ready"
    assert first.latest_check.blocking >= 2
    assert upcoming[1].latest_check is None


def test_outsiders_get_no_upcoming_points(world, point):
    assert selectors.upcoming_integration_points(user=world.user("outsider"), portfolio=world.portfolio) == []


def test_recent_outcome_changes_leave_out_first_checks(world, point):
    services.integration_points_check(point_ids=[point.pk], window_start=WINDOW, now=NOW)
    assert selectors.recent_outcome_changes(user=world.user("viewer"), portfolio=world.portfolio) == []
    services.integration_result_record(actor=world.user("apmo"), point=point, verdict="fail")
    [change] = selectors.recent_outcome_changes(user=world.user("viewer"), portfolio=world.portfolio)
    assert (change.integration_point, change.from_outcome, change.to_outcome) == (
        point,
        Outcome.NOT_READY,
        Outcome.FAILED,
    )


def test_the_dashboard_reads_cost_the_same_queries_on_small_and_medium(demo, django_assert_max_num_queries):
    ids = list(IntegrationPoint.objects.filter(portfolio=demo.portfolio).values_list("pk", flat=True))
    services.integration_points_check(point_ids=ids, window_start=WINDOW, now=NOW)
    viewer = demo.users["viewer"]
    with django_assert_max_num_queries(4):
        upcoming = selectors.upcoming_integration_points(user=viewer, portfolio=demo.portfolio, today=TODAY)
        for point in upcoming:
            [stream.name for stream in point.value_streams.all()]
    assert upcoming
    with django_assert_max_num_queries(2):
        changes = selectors.recent_outcome_changes(user=viewer, portfolio=demo.portfolio)
        [change.integration_point.name for change in changes]
