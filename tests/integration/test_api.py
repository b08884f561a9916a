"""Integration points, check runs and results through the REST API: who reads and writes
what, ETags, the idempotent result endpoint, and query counts."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from integration import services
from integration.models import IntegrationPoint, IntegrationResult, Outcome
from portfolio.models import Membership, Role
from tests.factories import MembershipFactory, PortfolioFactory

from .conftest import NOW, WINDOW

pytestmark = pytest.mark.django_db

MEMBERS = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
LIST = "/api/v1/integration-points/"


def fresh(user):
    """The user as a new request would load it (roles not yet cached on the object)."""
    return get_user_model().objects.get(pk=user.pk)


def url(point=None, rest=""):
    return f"{LIST}{point.pk}/{rest}" if point is not None else LIST


def results_url(point):
    return url(point, "results/")


# --- Reading -------------------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBERS)
def test_every_member_reads_points_runs_and_results(point, world, api_client_for, role):
    services.integration_points_check(point_ids=[point.pk], window_start=WINDOW, now=NOW)
    services.integration_result_record(actor=world.user("apmo"), point=point, verdict="pass")
    api = api_client_for(world.user(role))
    listed = api.get(LIST, {"portfolio": world.portfolio.pk})
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert row["id"] == point.pk
    assert row["outcome"] == Outcome.PASSED
    assert row["latest_check"]["outcome"] == Outcome.NOT_READY
    assert row["latest_check"]["findings"] >= 3
    assert row["latest_result"]["verdict"] == "pass"
    detail = api.get(url(point))
    assert detail.status_code == 200
    assert detail["ETag"] == f'"{point.version}"'
    assert [c["text"] for c in detail.json()["criteria"]] == ["Smoke tests green", "Demo recorded"]
    runs = api.get(url(point, "check-runs/")).json()["results"]
    assert runs[0]["findings"][0]["kind"] == "dependency_not_delivered"
    assert runs[0]["findings"][0]["refs"] == {"dependency": [point.dependencies.get().pk]}
    assert api.get(url(point, f"check-runs/{runs[0]['id']}/")).status_code == 200
    assert api.get(results_url(point)).json()["results"][0]["verdict"] == "pass"


def test_outsiders_see_nothing(point, world, api_client_for):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.APMO)
    api = api_client_for(world.user("outsider"))
    assert point.pk not in [row["id"] for row in api.get(LIST).json()["results"]]
    assert api.get(url(point)).status_code == 404
    assert api.patch(url(point), {"name": "Mine"}).status_code == 404
    assert api.get(url(point, "check-runs/")).status_code == 404
    assert api.get(results_url(point)).status_code == 404
    assert api.post(results_url(point), {"verdict": "pass"}).status_code == 404


def test_anonymous_callers_are_refused(point, client):
    assert client.get(LIST).status_code == 401
    assert client.post(results_url(point), {"verdict": "pass"}).status_code == 401


def test_the_list_filters_as_the_page_does(point, world, api_client_for):
    api = api_client_for(world.user("viewer"))
    rows = api.get(LIST, {"value_stream": world.other_value_stream.pk, "outcome": "pending", "depth": "partial"})
    assert [row["id"] for row in rows.json()["results"]] == [point.pk]
    assert api.get(LIST, {"outcome": "ready", "portfolio": world.portfolio.pk}).json()["results"] == []
    assert (
        api.get(LIST, {"when": "past", "portfolio": world.portfolio.pk, "date_before": "2026-11-01"}).json()["results"]
        == []
    )


# --- Creating and editing ----------------------------------------------------------------


def new_point(world, **extra):
    return {
        "portfolio": world.portfolio.pk,
        "name": "PI 26.4 · Solution demo",
        "date": "2026-12-11",
        "program_increment": world.pi.pk,
        "depth": "full",
        "trains": [world.art.pk, world.solution_train.pk],
        "value_streams": [world.value_stream.pk],
        "criteria": [{"text": "Demo recorded"}, {"text": "Smoke tests green", "met": True}],
        **extra,
    }


def test_apmo_creates_a_point(world, api_client_for):
    response = api_client_for(world.user("apmo")).post(LIST, new_point(world), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["ETag"] == '"1"'
    assert body["outcome"] == "pending"
    assert [(c["text"], c["met"]) for c in body["criteria"]] == [("Demo recorded", False), ("Smoke tests green", True)]
    assert {t["id"] for t in body["trains"]} == {world.art.pk, world.solution_train.pk}


def test_an_ste_creates_points_of_their_solution_train_only(world, api_client_for):
    api = api_client_for(world.user("ste"))
    assert api.post(LIST, new_point(world), format="json").status_code == 403
    mine = new_point(world, solution_train=world.solution_train.pk)
    assert api.post(LIST, mine, format="json").status_code == 201


@pytest.mark.parametrize("role", ["viewer", "rte", "other_rte", "portfolio_manager", "enterprise_architect"])
def test_other_roles_may_not_create_or_change_points(point, world, api_client_for, role):
    api = api_client_for(world.user(role))
    body = new_point(world, solution_train=world.solution_train.pk)
    assert api.post(LIST, body, format="json").status_code == 403
    assert api.patch(url(point), {"name": "Renamed"}, format="json").status_code == 403


def test_a_stale_if_match_answers_412_with_the_current_point(point, world, api_client_for):
    api = api_client_for(world.user("ste"))
    ok = api.patch(url(point), {"name": "Renamed"}, format="json", HTTP_IF_MATCH='"1"')
    assert ok.status_code == 200
    assert ok["ETag"] == '"2"'
    stale = api_client_for(world.user("apmo")).patch(url(point), {"name": "Mine"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["current"]["name"] == "Renamed"
    assert stale["ETag"] == '"2"'


def test_a_point_may_not_name_another_portfolios_train(point, world, api_client_for):
    from tests.factories import TrainFactory, ValueStreamFactory

    other = PortfolioFactory()
    MembershipFactory(user=world.user("apmo"), portfolio=other, role=Role.APMO)
    stranger = TrainFactory(value_stream=ValueStreamFactory(portfolio=other))
    response = api_client_for(world.user("apmo")).patch(
        url(point), {"trains": [world.art.pk, stranger.pk]}, format="json"
    )
    assert response.status_code == 400
    assert "trains" in response.json()


def test_outcome_is_read_only(point, world, api_client_for):
    api = api_client_for(world.user("apmo"))
    assert api.patch(url(point), {"outcome": "passed"}, format="json").status_code == 200
    point.refresh_from_db()
    assert point.outcome == Outcome.PENDING


# --- Results --------------------------------------------------------------------------------


def test_a_retried_result_with_the_same_key_returns_the_first(point, world, api_client_for):
    api = api_client_for(world.user("apmo"))
    body = {"verdict": "pass", "notes": "Pipeline 4711 green", "source_url": "https://ci.example.org/4711"}
    first = api.post(results_url(point), body, format="json", HTTP_IDEMPOTENCY_KEY="pipeline-4711")
    assert first.status_code == 201, first.json()
    retry = api.post(results_url(point), body, format="json", HTTP_IDEMPOTENCY_KEY="pipeline-4711")
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert point.results.count() == 1
    point.refresh_from_db()
    assert point.outcome == Outcome.PASSED


def test_the_key_may_come_in_the_body(point, world, api_client_for):
    api = api_client_for(world.user("apmo"))
    body = {"verdict": "fail", "idempotency_key": "run-9"}
    assert api.post(results_url(point), body, format="json").status_code == 201
    assert api.post(results_url(point), body, format="json").status_code == 200
    assert api.post(results_url(point), body, format="json", HTTP_IDEMPOTENCY_KEY="run-9").status_code == 200
    assert point.results.count() == 1


def test_the_same_key_with_another_body_answers_409(point, world, api_client_for):
    api = api_client_for(world.user("apmo"))
    api.post(results_url(point), {"verdict": "pass"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    conflict = api.post(results_url(point), {"verdict": "fail"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert conflict.status_code == 409
    assert "verdict" in conflict.json()["detail"]
    assert conflict.json()["original"]["verdict"] == "pass"
    assert point.results.count() == 1


def test_two_different_keys_in_one_request_are_refused(point, world, api_client_for):
    response = api_client_for(world.user("apmo")).post(
        results_url(point), {"verdict": "pass", "idempotency_key": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="b"
    )
    assert response.status_code == 400
    assert "idempotency_key" in response.json()


def test_without_a_key_each_post_records_a_result(point, world, api_client_for):
    api = api_client_for(world.user("apmo"))
    assert api.post(results_url(point), {"verdict": "fail"}, format="json").status_code == 201
    assert api.post(results_url(point), {"verdict": "pass"}, format="json").status_code == 201
    assert point.results.count() == 2
    point.refresh_from_db()
    assert point.outcome == Outcome.PASSED


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("apmo", 201),
        ("ste", 201),  # the point's solution train's STE
        ("rte", 403),
        ("other_rte", 403),
        ("viewer", 403),
        ("portfolio_manager", 403),
        ("enterprise_architect", 403),
    ],
)
def test_who_records_results(point, world, api_client_for, role, status):
    response = api_client_for(world.user(role)).post(results_url(point), {"verdict": "pass"}, format="json")
    assert response.status_code == status
    assert point.results.count() == (1 if status == 201 else 0)


def test_an_automation_token_posts_as_its_user(point, world, token_client, automation):
    """The demo's pipeline user is a viewer: its token reads, and may record only once
    an APMO gives that user a role that records results."""
    assert token_client.get(results_url(point)).status_code == 200
    refused = token_client.post(results_url(point), {"verdict": "pass"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert refused.status_code == 403
    assert "integration.record_result" in refused.json()["detail"]
    Membership.objects.filter(user=automation).update(role=Role.APMO)
    recorded = token_client.post(results_url(point), {"verdict": "pass"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert recorded.status_code == 201
    assert recorded.json()["recorded_by"]["username"] == "w-ci-pipeline"
    again = token_client.post(results_url(point), {"verdict": "pass"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert again.status_code == 200
    assert IntegrationResult.objects.filter(integration_point=point).count() == 1


def test_an_automation_token_may_not_manage_points(point, world, token_client):
    assert token_client.patch(url(point), {"name": "x"}, format="json").status_code == 403


def test_a_bad_verdict_is_a_400(point, world, api_client_for):
    response = api_client_for(world.user("apmo")).post(results_url(point), {"verdict": "maybe"}, format="json")
    assert response.status_code == 400
    assert "verdict" in response.json()


# --- Query counts ---------------------------------------------------------------------------


def _checked(demo):
    ids = list(IntegrationPoint.objects.filter(portfolio=demo.portfolio).values_list("pk", flat=True))
    services.integration_points_check(point_ids=ids, window_start=WINDOW, now=NOW)
    return ids


def test_the_point_list_costs_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries):
    ids = _checked(demo)
    api = api_client_for(fresh(demo.users["viewer"]))
    with django_assert_max_num_queries(10):
        response = api.get(LIST, {"portfolio": demo.portfolio.pk, "page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == len(ids)


def test_a_point_its_runs_and_its_results_cost_a_fixed_number_of_queries(
    demo, api_client_for, django_assert_max_num_queries
):
    _checked(demo)
    point = IntegrationPoint.objects.filter(portfolio=demo.portfolio).exclude(results=None).first()
    api = api_client_for(fresh(demo.users["viewer"]))
    with django_assert_max_num_queries(10):
        assert api.get(url(point)).status_code == 200
    with django_assert_max_num_queries(6):
        assert api.get(url(point, "check-runs/")).status_code == 200
    with django_assert_max_num_queries(6):
        assert api.get(results_url(point)).status_code == 200


# --- Lists read their links page by page ---------------------------------------------------


def test_a_list_row_says_what_the_point_itself_says(demo, api_client_for):
    """The list reads the value streams, trains, dependencies and features of a whole page
    from the link tables at once; each row must still say what the serializer says of
    the point read through its related managers: trains and value streams by name, the
    ids in ascending order."""
    from integration.api.serializers import IntegrationPointSerializer
    from integration.selectors import attach_latest_checks, integration_point_list

    def by_name(briefs):
        return sorted(briefs, key=lambda brief: (brief["name"], brief["id"]))

    _checked(demo)
    viewer = fresh(demo.users["viewer"])
    rows = api_client_for(viewer).get(LIST, {"portfolio": demo.portfolio.pk, "page_size": 100}).json()["results"]
    request = SimpleNamespace(user=viewer)  # what the serializer reads of the request
    alone = attach_latest_checks(list(integration_point_list(user=viewer, portfolio=demo.portfolio)))
    expected = IntegrationPointSerializer(alone, many=True, context={"request": request}).data
    assert any(row["trains"] and row["dependencies"] and row["features"] for row in rows)
    for row, want in zip(rows, expected, strict=True):
        want = {
            **want,
            "trains": by_name(want["trains"]),
            "value_streams": by_name(want["value_streams"]),
            "dependencies": sorted(want["dependencies"]),
            "features": sorted(want["features"]),
        }
        assert {k: v for k, v in row.items() if v != want[k]} == {}, row["name"]


def test_check_runs_count_their_findings_when_recorded(point):
    from integration.models import IntegrationCheckRun

    services.integration_points_check(point_ids=[point.pk], window_start=WINDOW, now=NOW)
    run = IntegrationCheckRun.objects.get(integration_point=point)
    blocking = [finding for finding in run.findings if finding["severity"] == "blocking"]
    assert (run.finding_count, run.blocking_count) == (len(run.findings), len(blocking))
    assert run.blocking_count >= 1
