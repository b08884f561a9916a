"""Train status reports through the REST API: a train's history, posting a status (with
the stale-base conflict), the flat list for dashboards, and each train's latest status."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portfolio.models import Role
from tests.factories import MembershipFactory, PortfolioFactory, StatusReportFactory, TrainFactory, ValueStreamFactory
from valuestreams.models import StatusReport, Train

pytestmark = pytest.mark.django_db

MEMBERS = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")


def fresh(user):
    """The user as a new request would load it (roles not yet cached on the object)."""
    return get_user_model().objects.get(pk=user.pk)


def history_url(train) -> str:
    return f"/api/v1/trains/{train.pk}/status-reports/"


def status(based_on=None, **changes) -> dict:
    return {
        "health": "at_risk",
        "pi_confidence": 3,
        "summary": "Integration environment unstable.",
        "risks": "Vendor API late.",
        "blockers": "",
        "based_on": based_on,
        **changes,
    }


def report(train, minutes_ago: int, **fields) -> StatusReport:
    """A report posted ``minutes_ago``, based on the train's latest one before it."""
    latest = train.status_reports.first()
    return StatusReportFactory(
        train=train, based_on=latest, created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago), **fields
    )


# --- Who may post and read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("apmo", 201),
        ("rte", 201),
        ("ste", 201),  # the STE of the solution train the ART belongs to
        ("viewer", 403),
        ("portfolio_manager", 403),
        ("enterprise_architect", 403),
        ("other_rte", 403),
        ("outsider", 404),
    ],
)
def test_who_may_post_an_arts_status(world, api_client_for, role, expected):
    response = api_client_for(world.user(role)).post(history_url(world.art), status())
    assert response.status_code == expected, response.json()
    assert StatusReport.objects.filter(train=world.art).count() == (1 if expected == 201 else 0)


@pytest.mark.parametrize(
    ("role", "train", "expected"),
    [
        ("ste", "solution_train", 201),
        ("rte", "solution_train", 403),
        ("other_rte", "other_art", 201),
        ("rte", "other_art", 403),
        ("ste", "other_art", 403),
    ],
)
def test_engineers_post_only_for_their_own_trains(world, api_client_for, role, train, expected):
    response = api_client_for(world.user(role)).post(history_url(getattr(world, train)), status())
    assert response.status_code == expected
    if expected == 403:
        assert "valuestreams.post_status_report" in response.json()["detail"]


@pytest.mark.parametrize("role", MEMBERS)
def test_every_member_reads_a_trains_history_and_the_flat_list(world, api_client_for, role):
    posted = report(world.art, 10)
    api = api_client_for(world.user(role))
    assert [r["id"] for r in api.get(history_url(world.art)).json()["results"]] == [posted.pk]
    assert [r["id"] for r in api.get("/api/v1/status-reports/").json()["results"]] == [posted.pk]
    assert api.get(f"/api/v1/status-reports/{posted.pk}/").status_code == 200


def test_outsiders_get_404_and_see_no_reports(world, api_client_for):
    posted = report(world.art, 10)
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.APMO)
    report(TrainFactory(value_stream=ValueStreamFactory(portfolio=other)), 5)
    api = api_client_for(world.user("outsider"))
    assert api.get(history_url(world.art)).status_code == 404
    assert api.get(f"/api/v1/status-reports/{posted.pk}/").status_code == 404
    assert posted.pk not in [r["id"] for r in api.get("/api/v1/status-reports/").json()["results"]]


def test_a_missing_train_is_404(world, api_client_for):
    assert api_client_for(world.user("apmo")).get("/api/v1/trains/999999/status-reports/").status_code == 404


def test_anonymous_requests_are_refused_with_401(world):
    api = APIClient()
    assert api.get(history_url(world.art)).status_code == 401
    assert api.post(history_url(world.art), status(), format="json").status_code == 401
    assert api.get("/api/v1/status-reports/").status_code == 401


# --- Posting: history, the answer, the stale base --------------------------------------


def test_each_post_is_a_new_report_and_the_history_is_newest_first_and_paginated(world, api_client_for):
    api = api_client_for(world.user("rte"))
    first = api.post(history_url(world.art), status(summary="Week 1"))
    assert first.status_code == 201
    body = first.json()
    assert body["train"] == {"id": world.art.pk, "key": "CIA", "name": "Card Issuing ART", "kind": "art"}
    assert (body["author"]["username"], body["based_on"], body["value_stream"]) == (
        "w-rte",
        None,
        world.value_stream.pk,
    )
    previous = body["id"]
    for week in (2, 3):
        response = api.post(history_url(world.art), status(based_on=previous, summary=f"Week {week}"))
        assert response.status_code == 201, response.json()
        previous = response.json()["id"]
    page = api.get(history_url(world.art), {"page_size": 2}).json()
    assert page["count"] == 3
    assert [r["summary"] for r in page["results"]] == ["Week 3", "Week 2"]
    assert page["next"] is not None
    assert [r["summary"] for r in api.get(page["next"]).json()["results"]] == ["Week 1"]


def test_two_people_posting_against_the_same_report_second_gets_409_with_the_first(world, api_client_for):
    """The RTE and the STE load the history, both write against the same latest report:
    the STE's post is refused with the RTE's report, nothing is lost, and the STE can
    post again based on what the RTE wrote."""
    base = report(world.art, 60, summary="Last week")
    rte, ste = api_client_for(world.user("rte")), api_client_for(world.user("ste"))
    seen_by_rte = rte.get(history_url(world.art)).json()["results"][0]["id"]
    seen_by_ste = ste.get(history_url(world.art)).json()["results"][0]["id"]
    assert seen_by_rte == seen_by_ste == base.pk

    first = rte.post(history_url(world.art), status(based_on=seen_by_rte, summary="RTE: on track"))
    assert first.status_code == 201
    second = ste.post(history_url(world.art), status(based_on=seen_by_ste, summary="STE: at risk"))
    assert second.status_code == 409
    body = second.json()
    assert body["current"]["id"] == first.json()["id"]
    assert body["current"]["summary"] == "RTE: on track"
    assert body["current"]["author"]["username"] == "w-rte"
    assert "posted a newer status" in body["detail"]
    assert [r.summary for r in StatusReport.objects.filter(train=world.art)] == ["RTE: on track", "Last week"]

    again = ste.post(history_url(world.art), status(based_on=body["current"]["id"], summary="STE: at risk"))
    assert again.status_code == 201
    assert StatusReport.objects.filter(train=world.art).count() == 3


def test_two_first_reports_conflict_too(world, api_client_for):
    first = api_client_for(world.user("rte")).post(history_url(world.art), status(summary="First"))
    second = api_client_for(world.user("apmo")).post(history_url(world.art), status(summary="Also first"))
    assert (first.status_code, second.status_code) == (201, 409)
    assert second.json()["current"]["id"] == first.json()["id"]


def test_posting_without_a_base_when_the_train_has_reports_is_a_conflict(world, api_client_for):
    existing = report(world.art, 30)
    response = api_client_for(world.user("rte")).post(history_url(world.art), status(based_on=None))
    assert response.status_code == 409
    assert response.json()["current"]["id"] == existing.pk


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"health": "great"}, "health"),
        ({"pi_confidence": 9}, "pi_confidence"),
        ({"pi_confidence": 0}, "pi_confidence"),
        ({"pi_confidence": "high"}, "pi_confidence"),
        ({"summary": ""}, "summary"),
        ({"summary": None}, "summary"),
        ({"based_on": "latest"}, "based_on"),
    ],
    ids=["bad health", "confidence 9", "confidence 0", "confidence text", "empty summary", "null summary", "base"],
)
def test_bad_input_answers_400_naming_the_field(world, api_client_for, changes, field):
    response = api_client_for(world.user("rte")).post(history_url(world.art), status(**changes))
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not StatusReport.objects.filter(train=world.art).exists()


@pytest.mark.parametrize("missing", ["summary", "health", "pi_confidence", "based_on"])
def test_a_missing_field_answers_400_naming_it(world, api_client_for, missing):
    payload = status()
    del payload[missing]
    response = api_client_for(world.user("rte")).post(history_url(world.art), payload)
    assert response.status_code == 400
    assert missing in response.json()


def test_a_base_from_another_train_is_refused_naming_based_on(world, api_client_for):
    elsewhere = report(world.other_art, 10)
    response = api_client_for(world.user("rte")).post(history_url(world.art), status(based_on=elsewhere.pk))
    assert response.status_code == 400
    assert "no status report with id" in response.json()["based_on"][0]


def test_an_automation_token_posts_as_its_user(world):
    """A pipeline with the RTE's service token posts the ART's status; the report is the RTE's."""
    token = Token.objects.create(user=world.user("rte"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.post(history_url(world.art), status(summary="From the pipeline"), format="json")
    assert response.status_code == 201, response.json()
    assert StatusReport.objects.get(train=world.art).author == world.user("rte")


def test_a_token_of_a_user_who_may_not_post_is_refused(world):
    robot = get_user_model().objects.create_user("w-robot")
    MembershipFactory(user=robot, portfolio=world.portfolio, role=Role.VIEWER)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=robot).key}")
    assert api.get(history_url(world.art)).status_code == 200
    assert api.post(history_url(world.art), status(), format="json").status_code == 403


def test_a_bad_token_answers_401(world):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.post(history_url(world.art), status(), format="json").status_code == 401


# --- The flat list and the trains' latest status -------------------------------------------


@pytest.fixture
def reports(world):
    older = report(world.art, 60 * 24 * 10, health="on_track")
    art_latest = report(world.art, 60, health="off_track")
    other = report(world.other_art, 30, health="at_risk")
    solution = report(world.solution_train, 20, health="on_track")
    return {"older": older, "art_latest": art_latest, "other": other, "solution": solution}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["solution", "other", "art_latest", "older"]),
        ({"train": "ART"}, ["art_latest", "older"]),
        ({"value_stream": "LEND"}, ["other"]),
        ({"health": "on_track"}, ["solution", "older"]),
        ({"since": "RECENT"}, ["solution", "other", "art_latest"]),
        ({"latest": "true"}, ["solution", "other", "art_latest"]),
        ({"latest": "false"}, ["older"]),
        ({"portfolio": "PORTFOLIO"}, ["solution", "other", "art_latest", "older"]),
        ({"ordering": "created_at"}, ["older", "art_latest", "other", "solution"]),
    ],
)
def test_the_flat_list_filters(world, api_client_for, reports, params, expected):
    values = {
        "ART": world.art.pk,
        "LEND": world.other_value_stream.pk,
        "RECENT": (timezone.localdate() - datetime.timedelta(days=2)).isoformat(),
        "PORTFOLIO": world.portfolio.pk,
    }
    params = {name: values.get(value, value) for name, value in params.items()}
    response = api_client_for(world.user("viewer")).get("/api/v1/status-reports/", params)
    assert response.status_code == 200
    ids = {report.pk: name for name, report in reports.items()}
    assert [ids[r["id"]] for r in response.json()["results"]] == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [({"health": "great"}, "health"), ({"since": "last week"}, "since"), ({"train": 999999}, "train")],
)
def test_a_bad_filter_answers_400_naming_it(world, api_client_for, params, field):
    response = api_client_for(world.user("viewer")).get("/api/v1/status-reports/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_each_train_shows_its_latest_status(world, api_client_for, reports):
    api = api_client_for(world.user("viewer"))
    trains = {t["key"]: t for t in api.get("/api/v1/trains/").json()["results"]}
    latest = trains["CIA"]["latest_status"]
    assert latest["id"] == reports["art_latest"].pk
    assert (latest["health"], latest["pi_confidence"]) == ("off_track", 4)
    assert api.get(f"/api/v1/trains/{world.other_art.pk}/").json()["latest_status"]["health"] == "at_risk"
    fresh_train = TrainFactory(value_stream=world.value_stream)
    assert api.get(f"/api/v1/trains/{fresh_train.pk}/").json()["latest_status"] is None


# --- Query counts: the same bound on the small and the medium demo ------------------------


def test_the_flat_list_costs_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries):
    api = api_client_for(fresh(demo.users["viewer"]))
    # roles, count, page
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/status-reports/", {"page_size": 100})
    assert len(response.json()["results"]) == 100
    # + the chosen value stream
    value_stream = demo.portfolio.value_streams.first()
    api = api_client_for(fresh(demo.users["viewer"]))
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/status-reports/", {"value_stream": value_stream.pk, "latest": "true"})
    assert response.status_code == 200
    assert response.json()["results"]


def test_a_trains_history_costs_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries):
    train = Train.objects.filter(value_stream__portfolio=demo.portfolio, status_reports__isnull=False).first()
    api = api_client_for(fresh(demo.users["viewer"]))
    # roles, the train, count, page
    with django_assert_max_num_queries(4):
        response = api.get(history_url(train), {"page_size": 100})
    assert response.json()["results"]


def test_posting_a_status_costs_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries):
    train = Train.objects.filter(value_stream__portfolio=demo.portfolio, status_reports__isnull=False).first()
    latest = train.status_reports.first()
    api = api_client_for(fresh(demo.users["apmo"]))
    # roles, the train, the base, the latest report, full_clean's three foreign-key
    # checks, the insert and four savepoint statements
    with django_assert_max_num_queries(12):
        response = api.post(history_url(train), status(based_on=latest.pk))
    assert response.status_code == 201, response.json()


def test_the_schema_documents_the_based_on_scheme_and_the_409(world, client_for):
    paths = client_for(world.user("viewer")).get("/api/schema/", {"format": "json"}).json()["paths"]
    post = paths["/api/v1/trains/{train_id}/status-reports/"]["post"]
    assert set(post["responses"]) == {"201", "400", "401", "403", "404", "409"}
    assert "`based_on`" in post["description"]
    assert {"/api/v1/status-reports/", "/api/v1/dependencies/{id}/{transition}/", "/api/v1/dependency-map/"} <= set(
        paths
    )
