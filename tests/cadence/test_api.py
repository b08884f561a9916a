"""The cadence API: cadences, PIs, iterations and events; reads for members, writes for APMO."""

import datetime

import pytest
from django.contrib.auth import get_user_model

from cadence import services
from cadence.models import CadenceEvent, Iteration, ProgramIncrement
from tests.factories import MembershipFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
MEMBER_ROLES = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
NOT_APMO = ("viewer", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")


def fresh(user):
    """The user as a new request would load it (roles not yet cached on the object)."""
    return get_user_model().objects.get(pk=user.pk)


def url(endpoint: str, pk=None, action=None) -> str:
    path = f"/api/v1/{endpoint}/"
    if pk is not None:
        path += f"{pk}/"
    if action:
        path += f"{action}/"
    return path


# --- Reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_members_read_the_cadences_their_portfolio_uses(api_client_for, calendar, role):
    api = api_client_for(calendar.world.user(role))
    cadences = api.get(url("cadences")).json()
    assert {c["name"] for c in cadences["results"]} == {"Payments cadence", "Lending cadence"}
    payments = next(c for c in cadences["results"] if c["name"] == "Payments cadence")
    assert (payments["program_increment_count"], payments["pi_length_days"]) == (6, 70)
    assert payments["last_pi_end"] == calendar.pis[-1].end_date.isoformat()
    assert api.get(url("program-increments")).json()["count"] == 12
    assert api.get(url("iterations")).json()["count"] == 60
    assert api.get(url("cadence-events")).json()["count"] == 12 * 12


def test_an_outsider_sees_none_of_them_and_gets_404_on_each(api_client_for, calendar):
    outsider = calendar.world.user("outsider")
    MembershipFactory(user=outsider, portfolio=PortfolioFactory(cadence=None))
    api = api_client_for(outsider)
    for endpoint in ("cadences", "program-increments", "iterations", "cadence-events"):
        assert api.get(url(endpoint)).json()["count"] == 0
    pi = calendar.current
    assert api.get(url("program-increments", pi.pk)).status_code == 404
    assert api.get(url("cadences", calendar.cadence.pk)).status_code == 404
    assert api.patch(url("program-increments", pi.pk), {"name": "x"}).status_code == 404


def test_pis_filter_by_cadence_portfolio_and_current(api_client_for, calendar):
    api = api_client_for(calendar.world.user("viewer"))
    by_cadence = api.get(url("program-increments"), {"cadence": calendar.cadence.pk}).json()
    assert [pi["id"] for pi in by_cadence["results"]] == [pi.pk for pi in calendar.pis]
    current = api.get(url("program-increments"), {"current": "true", "cadence": calendar.cadence.pk}).json()
    assert [pi["id"] for pi in current["results"]] == [calendar.current.pk]
    assert current["results"][0]["is_current"] is True
    assert api.get(url("program-increments"), {"portfolio": calendar.world.portfolio.pk}).json()["count"] == 12
    assert api.get(url("program-increments"), {"current": "false"}).json()["count"] == 10
    other = PortfolioFactory()
    assert api.get(url("program-increments"), {"portfolio": other.pk}).status_code == 400  # not one of yours


def test_iterations_and_events_filter_by_pi_and_kind(api_client_for, calendar):
    api = api_client_for(calendar.world.user("viewer"))
    pi = calendar.current
    iterations = api.get(url("iterations"), {"program_increment": pi.pk}).json()["results"]
    assert [it["number"] for it in iterations] == [1, 2, 3, 4, 5]
    assert iterations[-1]["is_innovation_planning"] is True
    assert iterations[0]["program_increment"]["name"] == pi.name
    events = api.get(url("cadence-events"), {"program_increment": pi.pk, "kind": "system_demo"}).json()["results"]
    assert len(events) == 4
    assert {e["iteration"]["number"] for e in events} == {1, 2, 3, 4}
    today = api.get(url("iterations"), {"current": "true", "cadence": calendar.cadence.pk}).json()["results"]
    assert len(today) == 1


def test_a_single_object_carries_its_version_as_etag(api_client_for, calendar):
    api = api_client_for(calendar.world.user("viewer"))
    response = api.get(url("program-increments", calendar.current.pk))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'


# --- Writing -------------------------------------------------------------------------------


def test_the_apmo_changes_a_pi_and_gets_the_new_etag(api_client_for, calendar):
    api = api_client_for(calendar.world.user("apmo"))
    pi = calendar.current
    response = api.patch(url("program-increments", pi.pk), {"name": "PI Renamed"}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert (response.json()["name"], response["ETag"]) == ("PI Renamed", '"2"')


@pytest.mark.parametrize("role", NOT_APMO)
def test_others_may_not_change_anything(api_client_for, calendar, role):
    api = api_client_for(calendar.world.user(role))
    pi = calendar.current
    assert api.patch(url("program-increments", pi.pk), {"name": "No"}).status_code == 403
    assert api.patch(url("iterations", pi.iterations.first().pk), {"start_date": "2020-01-01"}).status_code == 403
    assert api.patch(url("cadence-events", pi.events.first().pk), {"name": "No"}).status_code == 403
    assert api.patch(url("cadences", calendar.cadence.pk), {"name": "No"}).status_code == 403
    assert api.post(url("cadences", calendar.cadence.pk, "generate"), {"count": 1}).status_code == 403
    assert ProgramIncrement.objects.get(pk=pi.pk).name == pi.name


def test_an_overlapping_pi_answers_400_naming_the_field(api_client_for, calendar):
    api = api_client_for(calendar.world.user("apmo"))
    pi = calendar.current
    response = api.patch(url("program-increments", pi.pk), {"end_date": (pi.end_date + 10 * DAY).isoformat()})
    assert response.status_code == 400
    assert "would overlap" in response.json()["end_date"][0]
    response = api.patch(
        url("program-increments", pi.pk), {"start_date": (pi.start_date - 5 * DAY).isoformat(), "move_contents": True}
    )
    assert response.status_code == 400
    assert "would overlap" in response.json()["start_date"][0]


def test_an_overlap_only_the_database_sees_answers_400_too(api_client_for, calendar, monkeypatch):
    monkeypatch.setattr(ProgramIncrement, "clean", lambda self: None)
    real = services._overlap_error
    calls = []
    monkeypatch.setattr(services, "_overlap_error", lambda p: calls.append(p) or (real(p) if len(calls) > 1 else None))
    pi = calendar.current
    response = api_client_for(calendar.world.user("apmo")).patch(
        url("program-increments", pi.pk), {"end_date": (pi.end_date + 10 * DAY).isoformat()}
    )
    assert response.status_code == 400
    assert "would overlap" in response.json()["end_date"][0]


def test_a_stale_if_match_answers_412_with_the_current_state(api_client_for, calendar):
    api = api_client_for(calendar.world.user("apmo"))
    pi = calendar.current
    assert api.patch(url("program-increments", pi.pk), {"name": "First"}, HTTP_IF_MATCH='"1"').status_code == 200
    response = api.patch(url("program-increments", pi.pk), {"name": "Second"}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert response.json()["current"]["name"] == "First"
    assert response["ETag"] == '"2"'


def test_moving_a_pi_through_the_api_can_move_its_contents(api_client_for, calendar):
    api = api_client_for(calendar.world.user("apmo"))
    last = calendar.pis[-1]
    response = api.patch(
        url("program-increments", last.pk),
        {
            "start_date": (last.start_date + 7 * DAY).isoformat(),
            "end_date": (last.end_date + 7 * DAY).isoformat(),
            "move_contents": True,
        },
    )
    assert response.status_code == 200, response.json()
    first_iteration = Iteration.objects.get(program_increment=last, number=1)
    assert first_iteration.start_date == last.start_date + 7 * DAY
    assert "move_contents" not in response.json()


def test_iterations_out_of_order_answer_400(api_client_for, calendar):
    iteration = calendar.current.iterations.get(number=3)
    response = api_client_for(calendar.world.user("apmo")).patch(
        url("iterations", iteration.pk), {"start_date": (iteration.start_date - 2 * DAY).isoformat()}
    )
    assert response.status_code == 400
    assert "in order" in response.json()["start_date"][0]


def test_an_event_outside_its_pi_answers_400_and_one_inside_is_saved(api_client_for, calendar):
    api = api_client_for(calendar.world.user("apmo"))
    pi = calendar.current
    event = pi.events.get(kind="solution_demo")
    response = api.patch(url("cadence-events", event.pk), {"end_date": (pi.end_date + DAY).isoformat()})
    assert response.status_code == 400
    assert "end_date" in response.json()
    response = api.patch(
        url("cadence-events", event.pk),
        {"start_date": (event.start_date + DAY).isoformat(), "end_date": (event.start_date + DAY).isoformat()},
    )
    assert response.status_code == 200
    assert CadenceEvent.objects.get(pk=event.pk).version == 2


def test_the_apmo_generates_pis_through_the_api_once_per_request(api_client_for, calendar):
    api = api_client_for(calendar.world.user("apmo"))
    generate = url("cadences", calendar.cadence.pk, "generate")
    response = api.post(generate, {"count": 2, "after_number": 6})
    assert response.status_code == 201
    assert [pi["number"] for pi in response.json()] == [7, 8]
    again = api.post(generate, {"count": 2, "after_number": 6})
    assert (again.status_code, again.json()) == (201, [])
    assert api.post(generate, {"count": 0}).status_code == 400


def test_the_apmo_changes_the_cadence_definition(api_client_for, calendar):
    api = api_client_for(calendar.world.user("apmo"))
    response = api.patch(url("cadences", calendar.cadence.pk), {"intake_cutoff_days": 21})
    assert response.status_code == 200
    assert response.json()["intake_cutoff_days"] == 21
    response = api.patch(url("cadences", calendar.cadence.pk), {"start_date": "2030-01-07"})
    assert response.status_code == 400
    assert "start_date" in response.json()


# --- Query counts: the same bound on the small and the medium demo --------------------------------


@pytest.mark.parametrize(
    ("endpoint", "params", "bound"),
    [
        # roles, count, page (with the PI's cadence or the row's PI and iteration joined)
        ("cadences", {}, 3),
        ("program-increments", {}, 3),
        ("program-increments", {"current": "true"}, 3),
        ("iterations", {}, 3),
        ("cadence-events", {}, 3),
        # + the chosen cadence or portfolio
        ("program-increments", {"cadence": "CADENCE"}, 4),
        ("cadence-events", {"portfolio": "PORTFOLIO", "kind": "system_demo"}, 4),
    ],
)
def test_lists_cost_a_fixed_number_of_queries(
    demo, api_client_for, django_assert_max_num_queries, endpoint, params, bound
):
    replace = {"CADENCE": demo.portfolio.cadence_id, "PORTFOLIO": demo.portfolio.pk}
    params = {key: replace.get(value, value) for key, value in params.items()}
    api = api_client_for(fresh(demo.users["viewer"]))
    with django_assert_max_num_queries(bound):
        response = api.get(url(endpoint), {**params, "page_size": 100})
    assert response.status_code == 200
    assert response.json()["results"]
