"""Dependencies through the REST API: raising, editing (If-Match), the workflow actions
and who may take them, the representation (colour, late, events, available actions),
the filters shared with the list page, a slip's impact, and query counts."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.test import RequestFactory

from portfolio.models import Role
from tests.factories import (
    DependencyFactory,
    EpicFactory,
    FeatureFactory,
    MembershipFactory,
    PortfolioFactory,
    ProgramIncrementFactory,
    TrainFactory,
    ValueStreamFactory,
)
from valuestreams.filters import DependencyFilterSet
from valuestreams.models import Dependency, DependencyEvent, DependencyState
from valuestreams.selectors import dependencies_visible_to
from valuestreams.services import dependency_raise, dependency_transition

pytestmark = pytest.mark.django_db

MEMBERS = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
# The world's PI 26.4 runs 5 Oct – 13 Dec 2026 in five two-week iterations: I1 ends
# 18 Oct, I2 1 Nov, I3 15 Nov, I4 29 Nov, I5 13 Dec. "Today" is fixed inside I2.
TODAY = datetime.date(2026, 10, 20)

LIST = "/api/v1/dependencies/"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: TODAY)
    return TODAY


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def url(dependency, action: str = "") -> str:
    return f"{LIST}{dependency.pk}/{action + '/' if action else ''}"


def iteration(world, number: int):
    return world.pi.iterations.get(number=number)


def raise_dependency(world, *, consumer=None, provider=None, needed_by=3, title="Card tokenisation API", pi=None):
    """The other ART (Lending) needs something from the Card Issuing ART by an iteration."""
    pi = pi or world.pi
    return dependency_raise(
        actor=world.user("apmo"),
        consumer=consumer or world.other_art,
        provider=provider or world.art,
        title=title,
        needed_by_pi=pi,
        needed_by_iteration=pi.iterations.get(number=needed_by) if needed_by else None,
    )


def step(world, dependency, action, **kwargs):
    return dependency_transition(
        actor=world.user("apmo"), dependency=dependency, action=action, expected_version=None, **kwargs
    )


def in_state(world, state: str) -> Dependency:
    """A dependency of the other ART on the Card Issuing ART, moved to ``state``."""
    dependency = raise_dependency(world)
    if state in ("accepted", "committed", "delivered"):
        dependency = step(world, dependency, "accept")
    if state in ("committed", "delivered"):
        dependency = step(world, dependency, "commit", committed_pi=world.pi, committed_iteration=iteration(world, 2))
    if state == "delivered":
        dependency = step(world, dependency, "deliver")
    if state == "declined":
        dependency = step(world, dependency, "decline", reason="No capacity this PI.")
    if state == "flagged":
        dependency = step(world, dependency, "flag", flag="at_risk", reason="Vendor late.")
    return dependency


def new(world, **changes) -> dict:
    return {
        "consumer": world.art.pk,
        "provider": world.other_art.pk,
        "title": "Credit check before card issue",
        "description": "Issuing needs a credit decision API.",
        "needed_by_pi": world.pi.pk,
        "needed_by_iteration": iteration(world, 4).pk,
        **changes,
    }


# --- Reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBERS)
def test_every_member_reads_the_list_and_a_dependency(world, api_client_for, role):
    dependency = raise_dependency(world)
    api = api_client_for(world.user(role))
    assert [d["key"] for d in api.get(LIST).json()["results"]] == [dependency.key]
    detail = api.get(url(dependency))
    assert detail.status_code == 200
    assert detail["ETag"] == '"1"'
    assert api.get(url(dependency, "impact")).status_code == 200


def test_outsiders_see_nothing_and_get_404_everywhere(world, api_client_for):
    dependency = raise_dependency(world)
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.APMO)
    api = api_client_for(world.user("outsider"))
    assert api.get(LIST).json()["results"] == []
    assert api.get(url(dependency)).status_code == 404
    assert api.get(url(dependency, "impact")).status_code == 404
    assert api.patch(url(dependency), {"title": "Mine"}).status_code == 404
    assert api.post(url(dependency, "accept"), {}).status_code == 404
    assert api.post(url(dependency, "cancel"), {"reason": "x"}).status_code == 404
    # Raising one on a train of the portfolio: the train is unknown to them.
    response = api.post(LIST, new(world))
    assert response.status_code == 400
    assert "consumer" in response.json()
    assert Dependency.objects.filter(portfolio=world.portfolio).count() == 1


def test_anonymous_requests_are_refused(world, client):
    dependency = raise_dependency(world)
    assert client.get(LIST).status_code == 401
    assert client.post(url(dependency, "accept")).status_code == 401


def test_the_representation_carries_colour_lateness_dates_and_value_streams(world, api_client_for):
    dependency = raise_dependency(world, needed_by=3)
    step(world, dependency, "accept")
    step(world, dependency, "commit", committed_pi=world.pi, committed_iteration=iteration(world, 4))
    api = api_client_for(world.user("viewer"))
    row = api.get(LIST).json()["results"][0]
    assert (row["colour"], row["late"], row["cross_value_stream"]) == ("red", True, True)
    assert (row["needed_by"], row["committed_by"]) == ("2026-11-15", "2026-11-29")
    assert (row["state"], row["flag"], row["version"]) == ("committed", "", 3)
    assert row["consumer"]["key"] == "LOA" and row["provider"]["key"] == "CIA"
    assert row["consumer_value_stream"]["key"] == "LEND" and row["provider_value_stream"]["key"] == "CARD"
    assert row["needed_by_pi"]["name"] == "PI 26.4"
    assert row["committed_iteration"]["number"] == 4
    assert row["raised_by"]["username"] == "w-apmo"
    assert "events" not in row and "available_actions" not in row
    detail = api.get(url(dependency)).json()
    assert [e["action"] for e in detail["events"]] == ["commit", "accept", "raise"]
    assert detail["events"][0]["actor"]["username"] == "w-apmo"
    assert (detail["events"][0]["from_state"], detail["events"][0]["to_state"]) == ("accepted", "committed")
    assert detail["available_actions"] == []  # a viewer may take none


def test_grey_until_committed_and_late_once_the_needed_by_date_passed(world, api_client_for):
    raise_dependency(world, needed_by=1, title="Needed by I1")
    raise_dependency(world, needed_by=None, title="Needed by the PI")
    rows = {d["title"]: d for d in api_client_for(world.user("viewer")).get(LIST).json()["results"]}
    assert (rows["Needed by I1"]["colour"], rows["Needed by I1"]["late"]) == ("grey", True)
    assert (rows["Needed by the PI"]["needed_by"], rows["Needed by the PI"]["late"]) == ("2026-12-13", False)
    assert rows["Needed by the PI"]["committed_by"] is None


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        ("rte", ["accept", "decline", "flag"]),  # the provider's RTE
        ("ste", ["accept", "decline", "flag"]),  # the STE over the provider ART
        ("other_rte", ["cancel"]),  # the consumer's RTE
        ("apmo", ["accept", "decline", "flag", "cancel"]),
        ("enterprise_architect", ["accept", "decline", "flag", "cancel"]),
        ("viewer", []),
        ("portfolio_manager", []),
    ],
)
def test_available_actions_are_those_the_requesting_user_may_take_now(world, api_client_for, role, actions):
    dependency = raise_dependency(world)
    available = api_client_for(world.user(role)).get(url(dependency)).json()["available_actions"]
    assert [a["name"] for a in available] == actions
    assert all(a["needs_reason"] == (a["name"] in ("decline", "flag", "cancel")) for a in available)


def test_a_flagged_dependency_offers_clear_flag_by_its_path_name(world, api_client_for):
    dependency = in_state(world, "flagged")
    available = api_client_for(world.user("rte")).get(url(dependency)).json()["available_actions"]
    assert "clear-flag" in [a["name"] for a in available]


# --- Raising ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("rte", 201),  # the consumer ART's RTE
        ("ste", 201),  # the STE of the consumer ART's solution train
        ("apmo", 201),
        ("enterprise_architect", 201),
        ("viewer", 403),
        ("portfolio_manager", 403),
        ("other_rte", 403),  # the RTE of another ART
    ],
)
def test_who_may_raise_a_dependency_for_the_consumer(world, api_client_for, role, expected):
    response = api_client_for(world.user(role)).post(LIST, new(world))
    assert response.status_code == expected, response.json()
    if expected == 201:
        body = response.json()
        assert (body["state"], body["version"], body["key"]) == ("requested", 1, "DEP-1")
        assert response["ETag"] == '"1"'
        assert body["raised_by"]["username"] == f"w-{role}"
        event = DependencyEvent.objects.get(dependency_id=body["id"])
        assert (event.action, event.to_state, event.actor) == ("raise", "requested", world.user(role))
    else:
        assert "may raise" in response.json()["detail"]
        assert not Dependency.objects.filter(portfolio=world.portfolio).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (lambda w: {"needed_by_pi": 999999}, "needed_by_pi"),
        (lambda w: {"needed_by_pi": None}, "needed_by_pi"),
        (lambda w: {"provider": w.art.pk}, "provider"),  # the consumer itself
        (lambda w: {"provider": 999999}, "provider"),
        (lambda w: {"title": ""}, "title"),
        (lambda w: {"title": "x" * 201}, "title"),
        (lambda w: {"consumer": "CIA"}, "consumer"),
        (
            lambda w: {
                "needed_by_iteration": ProgramIncrementFactory(cadence=w.portfolio.cadence).iterations.first().pk
            },
            "needed_by_iteration",
        ),
        (lambda w: {"consumer_feature": FeatureFactory(train=w.other_art).pk}, "consumer_feature"),
    ],
    ids=[
        "unknown PI",
        "no PI",
        "provider is the consumer",
        "unknown provider",
        "empty title",
        "long title",
        "train by key",
        "iteration of another PI",
        "feature of another train",
    ],
)
def test_bad_input_answers_400_naming_the_field(world, api_client_for, changes, field):
    response = api_client_for(world.user("rte")).post(LIST, new(world, **changes(world)))
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Dependency.objects.filter(portfolio=world.portfolio).exists()


def test_a_missing_title_or_provider_answers_400(world, api_client_for):
    payload = new(world)
    del payload["title"], payload["provider"]
    response = api_client_for(world.user("rte")).post(LIST, payload)
    assert response.status_code == 400
    assert {"title", "provider"} <= set(response.json())


def test_what_a_member_of_two_portfolios_names_must_be_of_the_consumers(world, api_client_for):
    """The APMO also sees another portfolio: its trains, PIs and epics are refused here."""
    other = PortfolioFactory()
    MembershipFactory(user=world.user("apmo"), portfolio=other, role=Role.APMO)
    foreign_train = TrainFactory(value_stream=ValueStreamFactory(portfolio=other))
    foreign_pi = ProgramIncrementFactory(cadence=other.cadence)
    foreign_epic = EpicFactory(portfolio=other)
    api = api_client_for(world.user("apmo"))
    for changes, field in (
        ({"provider": foreign_train.pk}, "provider"),
        ({"needed_by_pi": foreign_pi.pk, "needed_by_iteration": None}, "needed_by_pi"),
        ({"epic": foreign_epic.pk}, "epic"),
    ):
        response = api.post(LIST, new(world, **changes))
        assert response.status_code == 400
        assert field in response.json(), response.json()


# --- Editing (If-Match) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("other_rte", 200),  # the consumer's RTE
        ("apmo", 200),
        ("enterprise_architect", 200),
        ("rte", 403),  # the provider's RTE
        ("ste", 403),
        ("viewer", 403),
        ("portfolio_manager", 403),
    ],
)
def test_who_may_edit_a_dependency(world, api_client_for, role, expected):
    dependency = raise_dependency(world)
    response = api_client_for(world.user(role)).patch(url(dependency), {"title": "Tokenisation API v2"})
    assert response.status_code == expected
    dependency.refresh_from_db()
    assert dependency.title == ("Tokenisation API v2" if expected == 200 else "Card tokenisation API")


def test_an_edit_with_a_stale_if_match_answers_412_and_writes_nothing(world, api_client_for):
    dependency = raise_dependency(world)
    consumer, apmo = api_client_for(world.user("other_rte")), api_client_for(world.user("apmo"))
    etag = consumer.get(url(dependency))["ETag"]
    assert apmo.get(url(dependency))["ETag"] == etag == '"1"'

    first = apmo.patch(url(dependency), {"title": "APMO's title"}, HTTP_IF_MATCH=etag)
    assert first.status_code == 200
    assert (first.json()["version"], first["ETag"]) == (2, '"2"')
    second = consumer.patch(url(dependency), {"title": "Consumer's title"}, HTTP_IF_MATCH=etag)
    assert second.status_code == 412
    assert second.json()["current"]["title"] == "APMO's title"
    assert second["ETag"] == '"2"'
    dependency.refresh_from_db()
    assert (dependency.title, dependency.version) == ("APMO's title", 2)


def test_a_full_update_changes_the_description_fields_but_not_the_workflow(world, api_client_for):
    dependency = in_state(world, "requested")
    api = api_client_for(world.user("other_rte"))
    current = api.get(url(dependency)).json()
    payload = {
        "title": "Tokenisation, batch",
        "description": "Batch endpoint too.",
        "provider": world.solution_train.pk,
        "needed_by_pi": world.pi.pk,
        "needed_by_iteration": iteration(world, 5).pk,
        "state": "delivered",
        "consumer": world.art.pk,
    }
    response = api.put(url(dependency), payload, HTTP_IF_MATCH=f'"{current["version"]}"')
    assert response.status_code == 200, response.json()
    dependency.refresh_from_db()
    assert (dependency.title, dependency.provider, dependency.needed_by_iteration.number) == (
        "Tokenisation, batch",
        world.solution_train,
        5,
    )
    assert (dependency.state, dependency.consumer) == ("requested", world.other_art)  # read only / create only


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (lambda w: {"provider": w.other_art.pk}, "provider"),
        (lambda w: {"needed_by_iteration": 999999}, "needed_by_iteration"),
        (lambda w: {"consumer_feature": FeatureFactory(train=w.art).pk}, "consumer_feature"),
    ],
    ids=["provider is the consumer", "unknown iteration", "feature of another train"],
)
def test_bad_edits_answer_400_naming_the_field(world, api_client_for, changes, field):
    dependency = raise_dependency(world)
    response = api_client_for(world.user("other_rte")).patch(url(dependency), changes(world))
    assert response.status_code == 400
    assert field in response.json(), response.json()
    dependency.refresh_from_db()
    assert dependency.version == 1


def test_an_unknown_dependency_is_404_for_every_action(world, api_client_for):
    api = api_client_for(world.user("apmo"))
    assert api.post(f"{LIST}999999/accept/", {}).status_code == 404
    assert api.post(f"{LIST}abc/accept/", {}).status_code == 404
    assert api.get(f"{LIST}999999/impact/").status_code == 404


def test_a_dependency_is_not_deleted_but_cancelled(world, api_client_for):
    dependency = raise_dependency(world)
    assert api_client_for(world.user("apmo")).delete(url(dependency)).status_code == 405


# --- The workflow -----------------------------------------------------------------------------

PROVIDER_SIDE = {"apmo": 200, "enterprise_architect": 200, "rte": 200, "ste": 200}
CONSUMER_SIDE = {"apmo": 200, "enterprise_architect": 200, "other_rte": 200}
# action: (the state it is taken from, its body, who may take it)
ACTIONS = {
    "accept": ("requested", {}, PROVIDER_SIDE),
    "decline": ("requested", {"reason": "No capacity."}, PROVIDER_SIDE),
    "commit": ("accepted", {"committed_pi": "PI", "committed_iteration": "I2"}, PROVIDER_SIDE),
    "deliver": ("committed", {}, PROVIDER_SIDE),
    "flag": ("requested", {"flag": "blocked", "reason": "Waiting on a vendor."}, PROVIDER_SIDE),
    "clear-flag": ("flagged", {}, PROVIDER_SIDE),
    "reopen": ("declined", {}, CONSUMER_SIDE),
    "cancel": ("requested", {"reason": "Descoped."}, CONSUMER_SIDE),
}


@pytest.mark.parametrize("role", [*MEMBERS, "outsider"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_who_may_take_each_step(world, api_client_for, action, role):
    state, body, allowed = ACTIONS[action]
    dependency = in_state(world, state)
    version = dependency.version
    values = {"PI": world.pi.pk, "I2": iteration(world, 2).pk}
    body = {name: values.get(value, value) for name, value in body.items()}
    response = api_client_for(world.user(role)).post(url(dependency, action), body)
    expected = 404 if role == "outsider" else allowed.get(role, 403)
    assert response.status_code == expected, response.json()
    dependency.refresh_from_db()
    if expected == 200:
        assert dependency.version == version + 1
        assert response["ETag"] == f'"{dependency.version}"'
        event = dependency.events.first()
        assert (event.action, event.actor) == (action.replace("-", "_"), world.user(role))
    else:
        assert dependency.version == version
    if expected == 403:
        assert "You may not" in response.json()["detail"]


def test_a_provider_accepts_commits_flags_and_delivers_through_the_api(world, api_client_for):
    dependency = raise_dependency(world, needed_by=3)
    api = api_client_for(world.user("rte"))
    accepted = api.post(url(dependency, "accept"), {}, HTTP_IF_MATCH='"1"')
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    feature = FeatureFactory(train=world.art, key="CIA-7")
    committed = api.post(
        url(dependency, "commit"),
        {
            "committed_pi": world.pi.pk,
            "committed_iteration": iteration(world, 3).pk,
            "provider_feature": feature.pk,
            "version": 2,
        },
    )
    assert committed.status_code == 200, committed.json()
    body = committed.json()
    assert (body["state"], body["colour"], body["committed_by"]) == ("committed", "amber", "2026-11-15")
    assert body["provider_feature"]["key"] == "CIA-7"
    assert [a["name"] for a in body["available_actions"]] == ["commit", "deliver", "flag"]
    flagged = api.post(url(dependency, "flag"), {"flag": "at_risk", "reason": "Test environment down."})
    assert (flagged.json()["flag"], flagged.json()["flag_reason"]) == ("at_risk", "Test environment down.")
    delivered = api.post(url(dependency, "deliver"), {}, HTTP_IF_MATCH=flagged["ETag"])
    assert delivered.status_code == 200
    body = delivered.json()
    assert (body["state"], body["flag"], body["colour"], body["late"]) == ("delivered", "", "green", False)
    assert body["delivered_on"] == TODAY.isoformat()
    assert [e["action"] for e in body["events"]] == ["deliver", "flag", "commit", "accept", "raise"]
    assert body["events"][1]["reason"] == "Test environment down."


def test_a_declined_dependency_is_requested_again_by_the_consumer(world, api_client_for):
    dependency = in_state(world, "declined")
    response = api_client_for(world.user("other_rte")).post(url(dependency, "reopen"), {})
    assert response.status_code == 200
    assert response.json()["state"] == "requested"


@pytest.mark.parametrize(
    ("state", "action", "body", "field", "message"),
    [
        ("requested", "deliver", {}, "action", "is requested: it cannot be delivered now"),
        ("delivered", "cancel", {"reason": "x"}, "action", "is delivered: it cannot be cancelled now"),
        ("requested", "reopen", {}, "action", "cannot be requested again now"),
        ("requested", "approve", {}, "action", "Unknown action"),
        ("accepted", "commit", {}, "committed_pi", "Choose the PI"),
        ("requested", "decline", {}, "reason", "needs a reason"),
        ("requested", "cancel", {"reason": "  "}, "reason", "needs a reason"),
        ("requested", "flag", {"reason": "Late"}, "flag", "at risk or blocked"),
        ("requested", "flag", {"flag": "urgent", "reason": "Late"}, "flag", "not a valid choice"),
        ("accepted", "commit", {"committed_pi": 999999}, "committed_pi", "that you can see"),
        ("accepted", "commit", {"committed_pi": "PI", "committed_iteration": "OTHER"}, "committed_iteration", "PI"),
        ("accepted", "commit", {"committed_pi": "PI", "provider_feature": "FOREIGN"}, "provider_feature", "provider"),
    ],
    ids=[
        "deliver a request",
        "cancel a delivered one",
        "reopen a request",
        "unknown action",
        "commit without PI",
        "decline without reason",
        "cancel with a blank reason",
        "flag without flag",
        "bad flag",
        "unknown PI",
        "iteration of another PI",
        "feature of the consumer",
    ],
)
def test_a_step_that_is_not_allowed_answers_400_naming_why(world, api_client_for, state, action, body, field, message):
    dependency = in_state(world, state)
    version = dependency.version
    other_pi = ProgramIncrementFactory(cadence=world.portfolio.cadence)
    values = {
        "PI": world.pi.pk,
        "OTHER": other_pi.iterations.first().pk,
        "FOREIGN": FeatureFactory(train=world.other_art).pk,
    }
    body = {name: values.get(value, value) for name, value in body.items()}
    response = api_client_for(world.user("apmo")).post(url(dependency, action), body)
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert message in str(response.json()[field])
    dependency.refresh_from_db()
    assert dependency.version == version


def test_a_stale_step_answers_412_with_the_current_state(world, api_client_for):
    dependency = raise_dependency(world)
    provider, consumer = api_client_for(world.user("rte")), api_client_for(world.user("other_rte"))
    etag = consumer.get(url(dependency))["ETag"]
    assert provider.post(url(dependency, "accept"), {}, HTTP_IF_MATCH=etag).status_code == 200
    stale = consumer.post(url(dependency, "cancel"), {"reason": "Descoped"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["current"]["state"] == "accepted"
    assert stale["ETag"] == '"2"'
    by_field = consumer.post(url(dependency, "cancel"), {"reason": "Descoped", "version": 1})
    assert by_field.status_code == 412
    dependency.refresh_from_db()
    assert (dependency.state, dependency.version) == ("accepted", 2)


def test_if_match_and_version_must_agree(world, api_client_for):
    dependency = raise_dependency(world)
    response = api_client_for(world.user("rte")).post(url(dependency, "accept"), {"version": 2}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 400
    assert "version" in response.json()


def test_a_step_without_a_version_is_taken_on_the_current_state(world, api_client_for):
    dependency = in_state(world, "accepted")
    response = api_client_for(world.user("rte")).post(url(dependency, "flag"), {"flag": "blocked", "reason": "x"})
    assert response.status_code == 200
    assert response.json()["flag"] == "blocked"


# --- Filters (shared with the list page) --------------------------------------------------------


@pytest.fixture
def spread(world):
    """Four dependencies, by title:
    - "Red": Lending needs from Card Issuing by I3, committed to I4 (red, late), across value streams;
    - "Inside": Card Issuing needs from its solution train by I4, accepted, flagged at risk;
    - "Overdue": Card Issuing needs from Lending by I1 (passed), requested, across value streams;
    - "Ledger export": the solution train needs from Lending in the next PI, delivered.
    """
    next_pi = ProgramIncrementFactory(
        cadence=world.portfolio.cadence,
        number=2,
        name="PI 27.1",
        start_date=datetime.date(2026, 12, 14),
        end_date=datetime.date(2027, 2, 21),
        planning_date=datetime.date(2026, 12, 14),
        intake_cutoff=datetime.date(2026, 11, 30),
    )
    red = raise_dependency(world, needed_by=3, title="Red")
    step(world, red, "accept")
    step(world, red, "commit", committed_pi=world.pi, committed_iteration=iteration(world, 4))
    inside = raise_dependency(world, consumer=world.art, provider=world.solution_train, needed_by=4, title="Inside")
    step(world, inside, "accept")
    step(world, inside, "flag", flag="at_risk", reason="Shared test rig.")
    raise_dependency(world, consumer=world.art, provider=world.other_art, needed_by=1, title="Overdue")
    ledger = raise_dependency(
        world, consumer=world.solution_train, provider=world.other_art, title="Ledger export", pi=next_pi
    )
    step(world, ledger, "accept")
    step(world, ledger, "commit", committed_pi=next_pi)
    step(world, ledger, "deliver")
    return {"next_pi": next_pi}


@pytest.mark.parametrize(
    ("params", "titles"),
    [
        ({}, ["Inside", "Ledger export", "Overdue", "Red"]),
        ({"pi": "NEXT_PI"}, ["Ledger export"]),
        ({"value_stream": "LEND"}, ["Ledger export", "Overdue", "Red"]),
        ({"value_stream": "CARD"}, ["Inside", "Ledger export", "Overdue", "Red"]),
        ({"train": "ART"}, ["Inside", "Overdue", "Red"]),
        ({"consumer": "ART"}, ["Inside", "Overdue"]),
        ({"provider": "ART"}, ["Red"]),
        ({"state": "open"}, ["Inside", "Overdue", "Red"]),
        ({"state": "delivered"}, ["Ledger export"]),
        ({"flag": "at_risk"}, ["Inside"]),
        ({"flag": "flagged"}, ["Inside"]),
        ({"cross_value_stream": "true"}, ["Ledger export", "Overdue", "Red"]),
        ({"cross_value_stream": "false"}, ["Inside"]),
        ({"late": "true"}, ["Overdue", "Red"]),
        ({"late": "false"}, ["Inside", "Ledger export"]),
        ({"late": "true", "cross_value_stream": "true", "consumer": "ART"}, ["Overdue"]),
        ({"q": "ledger"}, ["Ledger export"]),
        ({"q": "DEP-1"}, ["Red"]),
        ({"portfolio": "PORTFOLIO", "state": "requested"}, ["Overdue"]),
    ],
)
def test_dependencies_filter(world, api_client_for, spread, params, titles):
    values = {
        "NEXT_PI": spread["next_pi"].pk,
        "LEND": world.other_value_stream.pk,
        "CARD": world.value_stream.pk,
        "ART": world.art.pk,
        "PORTFOLIO": world.portfolio.pk,
    }
    params = {name: values.get(value, value) for name, value in params.items()}
    response = api_client_for(world.user("viewer")).get(LIST, params)
    assert response.status_code == 200, response.json()
    assert sorted(d["title"] for d in response.json()["results"]) == titles


@pytest.mark.parametrize(
    ("params", "field"),
    [({"pi": 999999}, "pi"), ({"state": "lost"}, "state"), ({"train": "CIA"}, "train"), ({"flag": "red"}, "flag")],
)
def test_a_bad_filter_answers_400_naming_it(world, api_client_for, params, field):
    response = api_client_for(world.user("viewer")).get(LIST, params)
    assert response.status_code == 400
    assert field in response.json()


def test_the_filter_set_serves_a_page_working_in_one_portfolio(world, spread):
    """The list page passes its portfolio: choices are that portfolio's, the form has no
    portfolio field, labels read well, and the results are the same as the API's."""
    other = PortfolioFactory(name="Another")
    MembershipFactory(user=world.user("viewer"), portfolio=other)
    TrainFactory(value_stream=ValueStreamFactory(portfolio=other), name="Elsewhere ART")
    request = RequestFactory().get("/dependencies/")
    request.user = world.user("viewer")
    filters = DependencyFilterSet(
        QueryDict(f"late=true&value_stream={world.value_stream.pk}"),
        queryset=dependencies_visible_to(request.user),
        request=request,
        portfolio=world.portfolio,
    )
    assert filters.is_valid(), filters.errors
    assert sorted(d.title for d in filters.qs) == ["Overdue", "Red"]
    assert "portfolio" not in filters.form.fields
    html = filters.form.as_div()
    for label in ("Needed by PI", "Value stream (either side)", "Train (either side)", "Cross-value-stream", "Late"):
        assert f"{label}:</label>" in html
    assert "Card Issuing ART (Card Payments)" in html
    assert "Elsewhere ART" not in html
    assert "Only across value streams" in html and "Open (requested, accepted or committed)" in html


def test_the_filter_set_decides_lateness_on_the_day_it_is_given(world, spread):
    request = RequestFactory().get("/")
    request.user = world.user("viewer")
    early = DependencyFilterSet(
        {"late": "true"},
        queryset=dependencies_visible_to(request.user),
        request=request,
        today=datetime.date(2026, 10, 1),
    )
    assert [d.title for d in early.qs] == ["Red"]


# --- A slip's impact ---------------------------------------------------------------------------------


def test_impact_lists_what_slips_downstream_with_counts(world, api_client_for):
    """The other ART's feature needs the dependency; that feature delivers a dependency of
    the solution train, whose feature belongs to an epic: all of it slips."""
    epic = EpicFactory(portfolio=world.portfolio, key="EP-7", title="Instant credit")
    needing = FeatureFactory(train=world.other_art, key="LOA-1", epic=epic)
    downstream_feature = FeatureFactory(train=world.solution_train, key="CPS-4", epic=epic)
    slipping = DependencyFactory(
        portfolio=world.portfolio,
        consumer=world.other_art,
        provider=world.art,
        needed_by_pi=world.pi,
        consumer_feature=needing,
        key="DEP-10",
    )
    downstream = DependencyFactory(
        portfolio=world.portfolio,
        consumer=world.solution_train,
        provider=world.other_art,
        needed_by_pi=world.pi,
        provider_feature=needing,
        consumer_feature=downstream_feature,
        key="DEP-11",
        state=DependencyState.ACCEPTED,
    )
    response = api_client_for(world.user("viewer")).get(url(slipping, "impact"))
    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"features": 2, "dependencies": 1, "epics": 1, "trains": 2}
    assert [f["key"] for f in body["features"]] == ["CPS-4", "LOA-1"]
    assert body["dependencies"] == [
        {
            "id": downstream.pk,
            "key": "DEP-11",
            "title": downstream.title,
            "state": "accepted",
            "consumer": {
                "id": world.solution_train.pk,
                "key": "CPS",
                "name": world.solution_train.name,
                "kind": "solution",
            },
            "provider": {"id": world.other_art.pk, "key": "LOA", "name": world.other_art.name, "kind": "art"},
        }
    ]
    assert body["epics"] == [{"id": epic.pk, "key": "EP-7", "title": "Instant credit", "kind": "business"}]
    assert sorted(t["key"] for t in body["trains"]) == ["CPS", "LOA"]
    assert body["steps"] == 2


# --- Query counts: the same bound on the small and the medium demo -------------------------------------


@pytest.mark.parametrize(
    ("params", "bound"),
    [
        # roles, count, the page's ids, its rows
        ({}, 4),
        ({"late": "true", "cross_value_stream": "true", "state": "open", "q": "a"}, 4),
        ({"ordering": "-needed_by_date", "flag": "flagged"}, 4),
        # + the chosen value stream / train
        ({"value_stream": "FIRST_VS", "late": "false"}, 5),
        ({"train": "FIRST_TRAIN", "cross_value_stream": "true"}, 5),
    ],
)
def test_the_list_costs_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries, params, bound):
    values = {
        "FIRST_VS": demo.portfolio.value_streams.first().pk,
        "FIRST_TRAIN": Dependency.objects.filter(portfolio=demo.portfolio).first().consumer_id,
    }
    params = {name: values.get(value, value) for name, value in params.items()}
    api = api_client_for(fresh(demo.users["viewer"]))
    with django_assert_max_num_queries(bound):
        response = api.get(LIST, {**params, "page_size": 100})
    assert response.status_code == 200, response.json()
    assert response.json()["results"]


def test_a_dependency_and_its_impact_cost_a_fixed_number_of_queries(
    demo, api_client_for, django_assert_max_num_queries
):
    dependency = Dependency.objects.filter(portfolio=demo.portfolio, consumer_feature__isnull=False).first()
    api = api_client_for(fresh(demo.users["apmo"]))
    # roles, the dependency, its events
    with django_assert_max_num_queries(3):
        response = api.get(url(dependency))
    assert response.json()["available_actions"] is not None
    with django_assert_max_num_queries(30):  # roles, the dependency, then one query per step downstream
        assert api.get(url(dependency, "impact")).status_code == 200
