"""The integration pages: the list, a point's page, the forms that create, edit and
propose points, and the posts that record a result or tick a criterion; who may do
what, conflicts, and query counts."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from integration import services
from integration.models import IntegrationPoint, Outcome
from portfolio.models import Role
from tests.factories import (
    FeatureFactory,
    IntegrationPointFactory,
    MembershipFactory,
    PortfolioFactory,
    ProgramIncrementFactory,
)

from .conftest import NOW, WINDOW

pytestmark = pytest.mark.django_db

MEMBERS = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
MANAGERS = ("apmo", "ste")
NOT_MANAGERS = ("viewer", "portfolio_manager", "enterprise_architect", "rte", "other_rte")


def url(name, point=None, *args):
    if point is None:
        return reverse(f"integration:{name}")
    return reverse(f"integration:{name}", args=[point.pk, *args])


@pytest.fixture
def upcoming_point(world, point):
    """``point``, dated after today (the pages use the clock), and checked."""
    IntegrationPoint.objects.filter(pk=point.pk).update(date=timezone.localdate() + datetime.timedelta(days=10))
    point.refresh_from_db()
    services.integration_points_check(point_ids=[point.pk], window_start=WINDOW, now=NOW)
    point.refresh_from_db()
    return point


# --- The list ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBERS)
def test_every_member_sees_the_upcoming_points_with_their_outcome(client_for, world, upcoming_point, role):
    response = client_for(world.user(role)).get(url("integration-point-list"))
    assert response.status_code == 200
    assertContains(response, upcoming_point.name)
    assertContains(response, 'class="badge outcome outcome-not_ready"')
    assertContains(response, "blocking")
    may_add = role in MANAGERS
    assert ('href="/integration/new/"' in response.content.decode()) is may_add


def test_the_list_shows_upcoming_points_unless_asked_for_past_ones(client_for, world, upcoming_point):
    past = IntegrationPointFactory(
        portfolio=world.portfolio,
        program_increment=world.pi,
        name="Long ago",
        date=timezone.localdate() - datetime.timedelta(days=40),
    )
    client = client_for(world.user("viewer"))
    assertNotContains(client.get(url("integration-point-list")), past.name)
    recent = IntegrationPointFactory(
        portfolio=world.portfolio,
        program_increment=world.pi,
        name="Last week",
        date=timezone.localdate() - datetime.timedelta(days=7),
    )
    past_page = client.get(url("integration-point-list"), {"when": "past"})
    assert list(past_page.context["page_obj"].object_list) == [recent, past]  # the latest first
    assertNotContains(past_page, upcoming_point.name)
    assertContains(client.get(url("integration-point-list"), {"when": "all"}), past.name)


def test_the_list_filters_by_outcome_and_value_stream(client_for, world, upcoming_point):
    client = client_for(world.user("viewer"))
    assertContains(client.get(url("integration-point-list"), {"outcome": "not_ready"}), upcoming_point.name)
    assertNotContains(client.get(url("integration-point-list"), {"outcome": "ready"}), upcoming_point.name)
    other_stream = {"value_stream": world.other_value_stream.pk, "when": "all"}
    assertContains(client.get(url("integration-point-list"), other_stream), upcoming_point.name)


def test_anonymous_visitors_are_sent_to_log_in(client, point):
    for page in (url("integration-point-list"), url("integration-point-detail", point)):
        response = client.get(page)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_the_navigation_links_the_list(client_for, world):
    response = client_for(world.user("viewer")).get(url("integration-point-list"))
    assertContains(response, '<a href="/integration/" aria-current="page">Integration</a>', html=True)


# --- A point's page ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBERS)
def test_every_member_reads_a_points_findings_history_and_requirements(client_for, world, upcoming_point, role):
    response = client_for(world.user(role)).get(url("integration-point-detail", upcoming_point))
    assert response.status_code == 200
    page = response.context["page"]
    assert page.latest_run is not None and len(page.runs) == 1
    assert {row.kind for row in page.findings} >= {"dependency_not_delivered", "feature_not_done"}
    assertContains(response, "DEP-1 Credit limit API")
    assertContains(response, "LOA-1")
    assertContains(response, "Smoke tests green")
    assertContains(response, "Loan Origination ART")
    may_manage, may_record = role in MANAGERS, role in MANAGERS
    assert (url("integration-point-edit", upcoming_point) in response.content.decode()) is may_manage
    assert ("Record the result" in response.content.decode()) is may_record
    assert ("Mark met" in response.content.decode()) is may_record


def test_a_point_of_another_portfolio_is_404(client_for, world, point):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.APMO)
    client = client_for(world.user("outsider"))
    assert client.get(url("integration-point-detail", point)).status_code == 404
    assert client.get(url("integration-point-edit", point)).status_code == 404
    assert client.post(url("integration-result-record", point), {"verdict": "pass"}).status_code == 404


# --- Results and criteria on the page ----------------------------------------------------------------


def test_an_ste_records_a_result_on_the_page(client_for, world, upcoming_point):
    response = client_for(world.user("ste")).post(
        url("integration-result-record", upcoming_point), {"verdict": "pass", "notes": "Demo went well."}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#results")
    upcoming_point.refresh_from_db()
    assert upcoming_point.outcome == Outcome.PASSED
    result = upcoming_point.results.get()
    assert (result.recorded_by, result.notes) == (world.user("ste"), "Demo went well.")


@pytest.mark.parametrize("role", NOT_MANAGERS)
def test_others_may_not_record_a_result(client_for, world, point, role):
    response = client_for(world.user(role)).post(url("integration-result-record", point), {"verdict": "pass"})
    assert response.status_code == 403
    assert point.results.count() == 0


def test_a_result_without_a_verdict_is_refused_with_the_form(client_for, world, point):
    response = client_for(world.user("apmo")).post(url("integration-result-record", point), {"notes": "?"})
    assert response.status_code == 400
    assert response.context["result_form"].errors["verdict"]


def test_an_ste_ticks_a_criterion(client_for, world, point_world):
    criterion = point_world.criteria[0]
    client = client_for(world.user("ste"))
    tick = url("integration-criterion-tick", point_world.point, criterion.pk)
    response = client.post(tick, {"met": "1", "version": criterion.version})
    assert response.status_code == 302
    criterion.refresh_from_db()
    assert criterion.met
    stale = client.post(tick, {"met": "0", "version": 1})
    assert stale.status_code == 409
    assertContains(stale, "someone else marked", status_code=409)
    criterion.refresh_from_db()
    assert criterion.met


def test_an_rte_may_not_tick_criteria(client_for, world, point_world):
    criterion = point_world.criteria[0]
    response = client_for(world.user("rte")).post(
        url("integration-criterion-tick", point_world.point, criterion.pk), {"met": "1", "version": 1}
    )
    assert response.status_code == 403


# --- Creating, editing, proposing -------------------------------------------------------------------


@pytest.mark.parametrize("role", NOT_MANAGERS)
def test_others_may_not_open_the_forms(client_for, world, point, role):
    client = client_for(world.user(role))
    assert client.get(url("integration-point-create")).status_code == 403
    assert client.get(url("integration-points-propose")).status_code == 403
    assert client.get(url("integration-point-edit", point)).status_code == 403
    assert client.post(url("integration-point-edit", point), {"name": "x"}).status_code == 403


def form_data(world, **extra):
    return {
        "name": "PI 26.4 · Solution demo",
        "date": "2026-12-11",
        "program_increment": world.pi.pk,
        "depth": "full",
        "solution_train": world.solution_train.pk,
        "trains": [world.art.pk, world.solution_train.pk],
        "value_streams": [world.value_stream.pk],
        "criteria": "Demo recorded\nSmoke tests green",
        **extra,
    }


@pytest.mark.parametrize("role", MANAGERS)
def test_apmo_and_an_ste_create_a_point(client_for, world, role):
    response = client_for(world.user(role)).post(url("integration-point-create"), form_data(world))
    assert response.status_code == 302
    point = IntegrationPoint.objects.get(name="PI 26.4 · Solution demo")
    assert response["Location"] == url("integration-point-detail", point)
    assert list(point.criteria.values_list("text", flat=True)) == ["Demo recorded", "Smoke tests green"]


def test_an_ste_is_offered_only_their_solution_train(client_for, world):
    response = client_for(world.user("ste")).get(url("integration-point-create"))
    choices = [value for value, _ in response.context["form"].fields["solution_train"].choices]
    assert choices == [world.solution_train.pk]
    refused = client_for(world.user("ste")).post(url("integration-point-create"), form_data(world, solution_train=""))
    assert refused.status_code == 400
    assert refused.context["form"].errors["solution_train"]


def test_the_form_offers_the_dependencies_and_features_of_the_trains_ticked(client_for, world, point_world):
    mine = FeatureFactory(train=world.other_art, key="LOA-9", name="Offers", program_increment=world.pi)
    other_pi = ProgramIncrementFactory(cadence=world.portfolio.cadence, number=9, name="PI 27.2")
    FeatureFactory(train=world.other_art, key="LOA-10", name="Later", program_increment=other_pi)
    data = form_data(world, trains=[world.art.pk, world.other_art.pk], refresh_choices="1")
    response = client_for(world.user("apmo")).post(url("integration-point-create"), data)
    assert response.status_code == 200
    assert not IntegrationPoint.objects.filter(name=data["name"]).exists()  # nothing saved
    form = response.context["form"]
    assert [value for value, _ in form.fields["dependencies"].choices] == [point_world.dependency.pk]
    offered = {value for _, group in form.fields["features"].choices for value, _ in group}
    assert mine.pk in offered and {f.pk for f in point_world.features} <= offered
    assert "LOA-10" not in response.content.decode()  # another PI's
    assertContains(response, "Nothing is saved yet")


def test_an_edit_saves_and_a_stale_one_is_refused_with_the_input_kept(client_for, world, point_world):
    point = point_world.point
    client = client_for(world.user("ste"))
    form = client.get(url("integration-point-edit", point)).context["form"]
    data = {
        "name": "Renamed point",
        "date": point.date.isoformat(),
        "program_increment": world.pi.pk,
        "depth": "partial",
        "solution_train": world.solution_train.pk,
        "trains": [world.art.pk, world.other_art.pk],
        "value_streams": [world.value_stream.pk],
        "dependencies": [point_world.dependency.pk],
        "features": [f.pk for f in point_world.features],
        "criteria": form.initial["criteria"] if "criteria" in form.initial else form.fields["criteria"].initial,
        "version": point.version,
    }
    assert client.post(url("integration-point-edit", point), data).status_code == 302
    point.refresh_from_db()
    assert (point.name, point.version) == ("Renamed point", 2)
    stale = client_for(world.user("apmo")).post(url("integration-point-edit", point), {**data, "name": "Mine"})
    assert stale.status_code == 409
    assertContains(stale, "was changed by someone else", status_code=409)
    assertContains(stale, 'value="Mine"', status_code=409)
    point.refresh_from_db()
    assert point.name == "Renamed point"


def test_propose_creates_the_pis_points_and_keeps_existing_ones(client_for, world):
    client = client_for(world.user("apmo"))
    IntegrationPoint.objects.filter(portfolio=world.portfolio).delete()
    world.pi.end_date = timezone.localdate() + datetime.timedelta(days=30)
    world.pi.save()
    response = client.post(url("integration-points-propose"), {"program_increment": world.pi.pk})
    assert response.status_code == 302
    assert IntegrationPoint.objects.filter(portfolio=world.portfolio).count() == 5
    again = client.post(url("integration-points-propose"), {"program_increment": world.pi.pk}, follow=True)
    assertContains(again, "0 integration points proposed for PI 26.4; 5 existed already")
    assert IntegrationPoint.objects.filter(portfolio=world.portfolio).count() == 5


# --- Query counts -----------------------------------------------------------------------------------


def _check_demo(demo):
    ids = list(IntegrationPoint.objects.filter(portfolio=demo.portfolio).values_list("pk", flat=True))
    services.integration_points_check(point_ids=ids, window_start=WINDOW, now=NOW)


@pytest.mark.parametrize("query", ["", "?when=all", "?when=past&outcome=passed"])
def test_the_list_costs_the_same_queries_on_small_and_medium(client_for, demo, query, django_assert_max_num_queries):
    _check_demo(demo)
    client = client_for(demo.users["apmo"])
    with django_assert_max_num_queries(14):  # the list, then the velocity chart below it
        response = client.get(url("integration-point-list") + query)
    assert response.status_code == 200
    assert response.context["velocity"].value_streams


def test_a_points_page_costs_the_same_queries_on_small_and_medium(client_for, demo, django_assert_max_num_queries):
    _check_demo(demo)
    point = IntegrationPoint.objects.filter(portfolio=demo.portfolio, depth="full").exclude(results=None).first()
    client = client_for(demo.users["apmo"])
    with django_assert_max_num_queries(15):
        response = client.get(url("integration-point-detail", point))
    assert response.status_code == 200
    assert response.context["page"].runs


def test_the_edit_form_costs_the_same_queries_on_small_and_medium(client_for, demo, django_assert_max_num_queries):
    point = IntegrationPoint.objects.filter(portfolio=demo.portfolio).first()
    client = client_for(demo.users["apmo"])
    with django_assert_max_num_queries(18):
        response = client.get(url("integration-point-edit", point))
    assert response.status_code == 200
