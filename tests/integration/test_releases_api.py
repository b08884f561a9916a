"""The releases API: readiness in the representation, the same rules as the pages,
ETag/If-Match (412), validation, visibility and query counts."""

import datetime

import pytest

from integration.models import Depth, Outcome, Release
from roadmap.models import Milestone, MilestoneKind
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/releases/"
RELEASE_API_LIST_QUERIES = 7


@pytest.fixture
def gates(world):
    created = []
    for day, outcome in ((1, Outcome.PASSED), (3, Outcome.AT_RISK)):
        point = factories.IntegrationPointFactory(
            portfolio=world.portfolio,
            program_increment=world.pi,
            date=datetime.date(2026, 12, day),
            depth=Depth.FULL,
            outcome=outcome,
        )
        point.value_streams.set([world.value_stream])
        created.append(point)
    return created


def body(world, gates, **changes):
    return {
        "name": "R26.4 Elbe",
        "date": "2026-12-10",
        "portfolio": world.portfolio.pk,
        "value_streams": [world.value_stream.pk],
        "integration_points": [point.pk for point in gates],
    } | changes


@pytest.fixture
def release(world, gates, api_client_for):
    response = api_client_for(world.user("apmo")).post(URL, body(world, gates), format="json")
    assert response.status_code == 201, response.json()
    return Release.objects.get(pk=response.json()["id"])


def test_apmo_creates_a_release_with_readiness_and_an_etag(world, gates, api_client_for):
    response = api_client_for(world.user("apmo")).post(URL, body(world, gates), format="json")
    assert response.status_code == 201
    data = response.json()
    assert response["ETag"] == '"1"'
    assert data["readiness"]["state"] == "at_risk"
    assert data["readiness"]["gates_passed"] == 1
    assert [gate["outcome"] for gate in data["readiness"]["gates"]] == ["passed", "at_risk"]
    assert data["value_streams"] == [{"id": world.value_stream.pk, "key": "CARD", "name": "Card Payments"}]
    assert [point["id"] for point in data["integration_points"]] == [point.pk for point in gates]
    assert Milestone.objects.filter(release_id=data["id"], kind=MilestoneKind.RELEASE).count() == 1


def test_every_member_reads_releases_and_outsiders_see_none(world, release, api_client_for):
    for role in ("viewer", "rte", "portfolio_manager"):
        response = api_client_for(world.user(role)).get(URL)
        assert [row["name"] for row in response.json()["results"]] == ["R26.4 Elbe"]
    assert api_client_for(world.user("outsider")).get(URL).json()["results"] == []
    assert api_client_for(world.user("outsider")).get(f"{URL}{release.pk}/").status_code == 404


def test_a_release_answers_with_its_etag(world, release, api_client_for):
    response = api_client_for(world.user("viewer")).get(f"{URL}{release.pk}/")
    assert response.status_code == 200 and response["ETag"] == '"1"'


@pytest.mark.parametrize("role", ["viewer", "portfolio_manager", "enterprise_architect", "rte", "other_rte"])
def test_other_roles_may_not_write_releases(world, gates, release, api_client_for, role):
    api = api_client_for(world.user(role))
    assert api.post(URL, body(world, gates, name="Another"), format="json").status_code == 403
    assert api.patch(f"{URL}{release.pk}/", {"name": "X"}, format="json").status_code == 403
    assert api.delete(f"{URL}{release.pk}/").status_code == 403
    assert Release.objects.get(portfolio=world.portfolio).name == "R26.4 Elbe"


def test_the_ste_manages_releases_of_their_value_stream_only(world, gates, api_client_for):
    api = api_client_for(world.user("ste"))
    both = [world.value_stream.pk, world.other_value_stream.pk]
    assert api.post(URL, body(world, gates, value_streams=both), format="json").status_code == 403
    created = api.post(URL, body(world, gates), format="json")
    assert created.status_code == 201
    url = f"{URL}{created.json()['id']}/"
    assert api.patch(url, {"value_streams": both}, format="json").status_code == 403
    assert api.patch(url, {"name": "R26.4 Elbe (cards)"}, format="json").status_code == 200
    assert api.delete(url).status_code == 204


def test_a_stale_if_match_answers_412_with_the_current_release(world, release, api_client_for):
    api = api_client_for(world.user("apmo"))
    url = f"{URL}{release.pk}/"
    changed = api.patch(url, {"date": "2026-12-11"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed["ETag"] == '"2"'
    assert Milestone.objects.get(release=release).date == datetime.date(2026, 12, 11)
    stale = api.patch(url, {"name": "Lost"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["current"]["date"] == "2026-12-11" and stale["ETag"] == '"2"'
    assert api.delete(url, HTTP_IF_MATCH='"1"').status_code == 412
    assert api.delete(url, HTTP_IF_MATCH='"2"').status_code == 204
    assert not Milestone.objects.filter(kind=MilestoneKind.RELEASE, portfolio=world.portfolio).exists()


def test_invalid_releases_answer_400_naming_the_field(world, gates, release, api_client_for):
    api = api_client_for(world.user("apmo"))
    unrelated = factories.IntegrationPointFactory(portfolio=world.portfolio, program_increment=world.pi)
    unrelated.trains.set([world.other_art])
    response = api.post(URL, body(world, gates, name="R2", integration_points=[unrelated.pk]), format="json")
    assert response.status_code == 400 and "integration_points" in response.json()
    response = api.post(URL, body(world, gates, name="R3", value_streams=[]), format="json")
    assert response.status_code == 400 and "value_streams" in response.json()
    response = api.post(URL, body(world, gates), format="json")
    assert response.status_code == 400 and "already has a release" in response.json()["name"][0]
    foreign = factories.IntegrationPointFactory()
    response = api.post(URL, body(world, gates, name="R4", integration_points=[foreign.pk]), format="json")
    assert response.status_code == 400 and "integration_points" in response.json()


def test_releases_filter_by_value_stream_and_date(world, release, api_client_for):
    api = api_client_for(world.user("viewer"))
    assert len(api.get(URL, {"value_stream": world.value_stream.pk}).json()["results"]) == 1
    assert api.get(URL, {"value_stream": world.other_value_stream.pk}).json()["results"] == []
    assert api.get(URL, {"date_after": "2027-01-01"}).json()["results"] == []


@pytest.mark.parametrize("role", ("apmo", "viewer", "automation"))
def test_release_api_list_query_count_is_the_same_on_small_and_medium_demo(
    demo, api_client_for, role, django_assert_max_num_queries
):
    api = api_client_for(demo.users[role])
    with django_assert_max_num_queries(RELEASE_API_LIST_QUERIES):
        response = api.get(URL, {"portfolio": demo.portfolio.pk})
    assert response.status_code == 200 and response.json()["results"]
    assert all("readiness" in row for row in response.json()["results"])
