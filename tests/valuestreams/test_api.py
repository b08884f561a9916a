"""Value streams, trains (solution trains, ARTs) and teams through the REST API."""

import pytest
from django.contrib.auth import get_user_model

from portfolio.api.serializers import UniqueWithin
from portfolio.models import Role
from tests.factories import (
    MembershipFactory,
    PortfolioFactory,
    StatusReportFactory,
    TeamFactory,
    TrainFactory,
    ValueStreamFactory,
)
from valuestreams.models import Team, Train, TrainKind, ValueStream

pytestmark = pytest.mark.django_db

MEMBERS = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
NOT_APMO = ("viewer", "portfolio_manager", "enterprise_architect", "rte", "ste")


def fresh(user):
    """The user as a new request would load it (roles not yet cached on the object)."""
    return get_user_model().objects.get(pk=user.pk)


# What a valid create looks like on each endpoint, and the object each detail test reads.
NEW = {
    "value-streams": lambda w: {"portfolio": w.portfolio.pk, "name": "Mortgages", "key": "MORT"},
    "trains": lambda w: {"value_stream": w.value_stream.pk, "name": "Card Fraud ART", "key": "CFA"},
    "solution-trains": lambda w: {"value_stream": w.other_value_stream.pk, "name": "Lending Solution", "key": "LS"},
    "arts": lambda w: {"value_stream": w.value_stream.pk, "name": "Acquiring ART", "key": "ACQ"},
    "teams": lambda w: {"portfolio": w.portfolio.pk, "name": "Falcons", "kind": "agile", "train": w.art.pk},
}
EXISTING = {
    "value-streams": lambda w: w.value_stream,
    "trains": lambda w: w.art,
    "solution-trains": lambda w: w.solution_train,
    "arts": lambda w: w.other_art,
    "teams": lambda w: TeamFactory(train=w.art, name="Owls"),
}
RENAME = {"value-streams": "name", "trains": "name", "solution-trains": "name", "arts": "name", "teams": "name"}
ENDPOINTS = list(NEW)


def url(endpoint, obj=None):
    return f"/api/v1/{endpoint}/{obj.pk}/" if obj is not None else f"/api/v1/{endpoint}/"


# --- Reading: members read everything of their portfolio, outsiders nothing -----------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", MEMBERS)
def test_every_member_reads_lists_and_objects(world, api_client_for, endpoint, role):
    obj = EXISTING[endpoint](world)
    api = api_client_for(world.user(role))
    listed = api.get(url(endpoint))
    assert listed.status_code == 200
    assert obj.pk in [row["id"] for row in listed.json()["results"]]
    detail = api.get(url(endpoint, obj))
    assert detail.status_code == 200
    assert detail["ETag"] == f'"{obj.version}"'


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_outsiders_get_empty_lists_and_404(world, api_client_for, endpoint):
    obj = EXISTING[endpoint](world)
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.APMO)
    TeamFactory(train=TrainFactory(value_stream=ValueStreamFactory(portfolio=other), kind=TrainKind.ART))
    api = api_client_for(world.user("outsider"))
    listed = api.get(url(endpoint)).json()
    assert obj.pk not in [row["id"] for row in listed["results"]]
    assert api.get(url(endpoint, obj)).status_code == 404
    assert api.patch(url(endpoint, obj), {RENAME[endpoint]: "Mine now"}).status_code == 404
    assert api.delete(url(endpoint, obj)).status_code == 404


def test_anonymous_requests_are_refused(world, client):
    for endpoint in ENDPOINTS:
        assert client.get(url(endpoint)).status_code in (401, 403)


# --- Writing: only the portfolio's APMO ----------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_apmo_creates_changes_and_deletes(world, api_client_for, endpoint):
    api = api_client_for(world.user("apmo"))
    created = api.post(url(endpoint), NEW[endpoint](world))
    assert created.status_code == 201, created.json()
    assert created["ETag"] == '"1"'
    obj_url = f"{url(endpoint)}{created.json()['id']}/"
    changed = api.patch(obj_url, {RENAME[endpoint]: "Renamed"}, HTTP_IF_MATCH=created["ETag"])
    assert changed.status_code == 200, changed.json()
    assert (changed.json()[RENAME[endpoint]], changed.json()["version"], changed["ETag"]) == ("Renamed", 2, '"2"')
    assert api.delete(obj_url).status_code == 204
    assert api.get(obj_url).status_code == 404


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", NOT_APMO)
def test_other_members_may_not_create_change_or_delete(world, api_client_for, endpoint, role):
    obj = EXISTING[endpoint](world)
    api = api_client_for(world.user(role))
    created = api.post(url(endpoint), NEW[endpoint](world))
    assert created.status_code == 403
    assert "valuestreams.manage_trains" in created.json()["detail"]
    assert api.patch(url(endpoint, obj), {RENAME[endpoint]: "Renamed"}).status_code == 403
    assert api.delete(url(endpoint, obj)).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_an_rte_may_not_change_even_their_own_train(world, api_client_for):
    response = api_client_for(world.user("rte")).patch(url("trains", world.art), {"name": "Mine"})
    assert response.status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_creating_in_a_portfolio_you_are_not_in_answers_400_not_500(world, api_client_for, endpoint):
    """An APMO elsewhere names a parent in this portfolio: it is refused like an unknown id."""
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.APMO)
    payload = NEW[endpoint](world)
    response = api_client_for(world.user("outsider")).post(url(endpoint), payload)
    assert response.status_code == 400
    parent = "value_stream" if "value_stream" in payload else "portfolio"
    assert "that you can see" in response.json()[parent][0]


# --- Bad input: 400 naming the field ---------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "payload", "field"),
    [
        ("trains", lambda w: {"value_stream": w.value_stream.pk, "name": "X", "key": "X", "kind": "bus"}, "kind"),
        ("trains", lambda w: {"value_stream": w.value_stream.pk, "key": "X"}, "name"),
        ("trains", lambda w: {"value_stream": w.value_stream.pk, "name": "Card Issuing ART", "key": "X"}, "name"),
        ("trains", lambda w: {"value_stream": w.value_stream.pk, "name": "X", "key": "CIA"}, "key"),
        ("trains", lambda w: {"value_stream": 99999, "name": "X", "key": "X"}, "value_stream"),
        ("trains", lambda w: {"value_stream": "CARD", "name": "X", "key": "X"}, "value_stream"),
        (
            "trains",
            lambda w: {"value_stream": w.value_stream.pk, "name": "X", "key": "X", "solution_train": w.art.pk},
            "solution_train",
        ),
        (
            "trains",
            lambda w: {"value_stream": w.value_stream.pk, "name": "X", "key": "X", "solution_train": 99999},
            "solution_train",
        ),
        (
            "trains",
            lambda w: {
                "value_stream": w.value_stream.pk,
                "name": "X",
                "key": "X",
                "kind": "solution",
                "solution_train": w.solution_train.pk,
            },
            "solution_train",
        ),
        (
            "trains",
            lambda w: {"value_stream": w.value_stream.pk, "name": "X", "key": "X", "engineer": w.user("outsider").pk},
            "engineer",
        ),
        ("arts", lambda w: {"value_stream": w.value_stream.pk, "name": "X", "key": "X", "kind": "solution"}, "kind"),
        ("value-streams", lambda w: {"portfolio": w.portfolio.pk, "name": "Lending", "key": "NEW"}, "name"),
        ("value-streams", lambda w: {"portfolio": w.portfolio.pk, "name": "New", "key": "LEND"}, "key"),
        ("value-streams", lambda w: {"name": "New", "key": "NEW"}, "portfolio"),
        ("teams", lambda w: {"portfolio": w.portfolio.pk, "name": "Nomads", "kind": "agile"}, "train"),
        ("teams", lambda w: {"portfolio": w.portfolio.pk, "name": "X", "kind": "tiger", "train": w.art.pk}, "kind"),
        ("teams", lambda w: {"portfolio": w.portfolio.pk, "name": "X", "kind": "system", "serves": [99999]}, "serves"),
    ],
    ids=[
        "bad kind",
        "missing name",
        "duplicate name",
        "duplicate key",
        "unknown value stream",
        "value stream by key",
        "solution train is an ART",
        "unknown solution train",
        "solution train in a solution train",
        "engineer not a member",
        "solution train on /arts/",
        "duplicate value stream name",
        "duplicate value stream key",
        "missing portfolio",
        "agile team without train",
        "bad team kind",
        "unknown served train",
    ],
)
def test_bad_input_answers_400_naming_the_field(world, api_client_for, endpoint, payload, field):
    response = api_client_for(world.user("apmo")).post(url(endpoint), payload(world))
    assert response.status_code == 400
    assert field in response.json(), response.json()


def test_an_engineer_must_be_a_member_of_the_trains_portfolio(world, api_client_for):
    """A co-member of another portfolio is visible to the APMO, yet not a member here."""
    other = PortfolioFactory()
    MembershipFactory(user=world.user("apmo"), portfolio=other, role=Role.VIEWER)
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.VIEWER)
    response = api_client_for(world.user("apmo")).patch(
        url("trains", world.art), {"engineer": world.user("outsider").pk}
    )
    assert response.status_code == 400
    assert response.json() == {"engineer": ["w-outsider is not a member of this portfolio."]}


def test_a_team_serves_only_trains_of_its_portfolio(world, api_client_for):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("apmo"), portfolio=other, role=Role.APMO)
    foreign = TrainFactory(value_stream=ValueStreamFactory(portfolio=other))
    response = api_client_for(world.user("apmo")).post(
        url("teams"),
        {"portfolio": world.portfolio.pk, "name": "Platform", "kind": "shared_service", "serves": [foreign.pk]},
    )
    assert response.status_code == 400
    assert "serves" in response.json()


def test_a_solution_train_with_arts_keeps_its_kind(world, api_client_for):
    response = api_client_for(world.user("apmo")).patch(url("trains", world.solution_train), {"kind": "art"})
    assert response.status_code == 400
    assert "kind" in response.json()


def test_a_train_moves_only_within_its_portfolio(world, api_client_for):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("apmo"), portfolio=other, role=Role.APMO)
    elsewhere = ValueStreamFactory(portfolio=other)
    api = api_client_for(world.user("apmo"))
    response = api.patch(url("trains", world.other_art), {"value_stream": elsewhere.pk})
    assert response.status_code == 400
    assert "value_stream" in response.json()
    moved = api.patch(url("trains", world.other_art), {"value_stream": world.value_stream.pk})
    assert moved.status_code == 200
    assert moved.json()["value_stream"]["key"] == "CARD"


def test_a_team_and_a_value_stream_stay_in_the_portfolio_they_were_created_in(world, api_client_for):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("apmo"), portfolio=other, role=Role.APMO)
    api = api_client_for(world.user("apmo"))
    response = api.patch(url("value-streams", world.value_stream), {"portfolio": other.pk, "name": "Cards"})
    assert response.status_code == 200
    assert response.json()["portfolio"]["id"] == world.portfolio.pk


def test_a_race_on_a_unique_name_answers_409(world, api_client_for, monkeypatch):
    """Validation checks uniqueness; a write that slips in between hits the database
    constraint, which answers 409 rather than 500."""
    monkeypatch.setattr(UniqueWithin, "__call__", lambda self, attrs, serializer: None)
    monkeypatch.setattr(Train, "validate_constraints", lambda self, exclude=None: None)
    response = api_client_for(world.user("apmo")).post(
        url("trains"), {"value_stream": world.value_stream.pk, "name": "Card Issuing ART", "key": "CIA"}
    )
    assert response.status_code == 409
    assert Train.objects.filter(value_stream=world.value_stream, name="Card Issuing ART").count() == 1


def test_a_train_with_status_history_cannot_be_deleted_and_answers_409(world, api_client_for):
    first = StatusReportFactory(train=world.other_art)
    StatusReportFactory(train=world.other_art, based_on=first)
    response = api_client_for(world.user("apmo")).delete(url("trains", world.other_art))
    assert response.status_code in (204, 409)
    if response.status_code == 409:
        assert Train.objects.filter(pk=world.other_art.pk).exists()


# --- Optimistic concurrency -----------------------------------------------------------


def test_a_stale_if_match_answers_412_and_writes_nothing(world, api_client_for):
    api = api_client_for(world.user("apmo"))
    etag = api.get(url("trains", world.art))["ETag"]
    assert api.patch(url("trains", world.art), {"name": "First"}, HTTP_IF_MATCH=etag).status_code == 200

    stale = api.put(
        url("trains", world.art),
        {"value_stream": world.value_stream.pk, "name": "Second", "key": "CIA", "kind": "art"},
        HTTP_IF_MATCH=etag,
    )
    assert stale.status_code == 412
    assert stale.json()["current"]["name"] == "First"
    assert stale["ETag"] == '"2"'
    world.art.refresh_from_db()
    assert (world.art.name, world.art.version) == ("First", 2)


def test_the_current_if_match_succeeds_and_no_if_match_is_accepted(world, api_client_for):
    api = api_client_for(world.user("apmo"))
    team = TeamFactory(train=world.art, name="Owls")
    assert api.patch(url("teams", team), {"name": "Hawks"}, HTTP_IF_MATCH='"1"').status_code == 200
    assert api.patch(url("teams", team), {"name": "Kites"}).status_code == 200
    team.refresh_from_db()
    assert (team.name, team.version) == ("Kites", 3)


def test_a_stale_delete_answers_412(world, api_client_for):
    api = api_client_for(world.user("apmo"))
    assert api.patch(url("value-streams", world.other_value_stream), {"description": "Loans"}).status_code == 200
    assert api.delete(url("value-streams", world.other_value_stream), HTTP_IF_MATCH='"1"').status_code == 412
    assert ValueStream.objects.filter(pk=world.other_value_stream.pk).exists()


# --- Fixed-kind endpoints, filters, nested forms, pagination ----------------------------


def test_solution_trains_and_arts_list_one_kind_each(world, api_client_for):
    api = api_client_for(world.user("viewer"))
    solution = [t["key"] for t in api.get(url("solution-trains")).json()["results"]]
    arts = [t["key"] for t in api.get(url("arts")).json()["results"]]
    assert (solution, sorted(arts)) == (["CPS"], ["CIA", "LOA"])
    assert api.get(url("solution-trains", world.art)).status_code == 404


def test_creating_on_solution_trains_makes_a_solution_train(world, api_client_for):
    response = api_client_for(world.user("apmo")).post(url("solution-trains"), NEW["solution-trains"](world))
    assert response.status_code == 201
    assert response.json()["kind"] == "solution"


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"kind": "solution"}, ["CPS"]),
        ({"kind": "art"}, ["CIA", "LOA"]),
        ({"value_stream": "VS_LEND"}, ["LOA"]),
        ({"solution_train": "CPS"}, ["CIA"]),
        ({"portfolio": "PORTFOLIO"}, ["CIA", "CPS", "LOA"]),
        ({"engineer": "w-rte"}, ["CIA"]),
        ({"q": "card"}, ["CIA", "CPS"]),
    ],
)
def test_trains_filter(world, api_client_for, params, keys):
    ids = {
        "VS_LEND": world.other_value_stream.pk,
        "CPS": world.solution_train.pk,
        "PORTFOLIO": world.portfolio.pk,
        "w-rte": world.user("rte").pk,
    }
    params = {name: ids.get(value, value) for name, value in params.items()}
    response = api_client_for(world.user("viewer")).get(url("trains"), params)
    assert response.status_code == 200
    assert sorted(t["key"] for t in response.json()["results"]) == keys


@pytest.mark.parametrize(
    ("params", "field"),
    [({"kind": "bus"}, "kind"), ({"value_stream": 99999}, "value_stream"), ({"portfolio": "x"}, "portfolio")],
)
def test_a_bad_filter_answers_400_naming_it(world, api_client_for, params, field):
    response = api_client_for(world.user("viewer")).get(url("trains"), params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_filter_naming_another_portfolio_reveals_nothing(world, api_client_for):
    other = PortfolioFactory()
    response = api_client_for(world.user("viewer")).get(url("trains"), {"portfolio": other.pk})
    assert response.status_code == 400
    assert response.json() == api_client_for(world.user("viewer")).get(url("trains"), {"portfolio": 99999}).json()


def test_teams_filter_by_kind_train_and_served_train(world, api_client_for):
    TeamFactory(train=world.art, name="Owls")
    platform = TeamFactory(train=None, portfolio=world.portfolio, name="Platform", kind="shared_service")
    platform.serves.set([world.other_art])
    api = api_client_for(world.user("viewer"))
    names = lambda params: [t["name"] for t in api.get(url("teams"), params).json()["results"]]  # noqa: E731
    assert names({"kind": "shared_service"}) == ["Platform"]
    assert names({"train": world.art.pk}) == ["Owls"]
    assert names({"serves": world.other_art.pk}) == ["Platform"]


def test_value_streams_filter_by_portfolio_and_text(world, api_client_for):
    api = api_client_for(world.user("viewer"))
    response = api.get(url("value-streams"), {"portfolio": world.portfolio.pk, "q": "lend"})
    assert [v["key"] for v in response.json()["results"]] == ["LEND"]


def test_lists_order_by_a_chosen_field(world, api_client_for):
    response = api_client_for(world.user("viewer")).get(url("trains"), {"ordering": "-key"})
    assert [t["key"] for t in response.json()["results"]] == ["LOA", "CPS", "CIA"]


def test_related_objects_are_shown_in_their_brief_form(world, api_client_for):
    team = TeamFactory(train=world.art, name="Owls", kind="system")
    team.serves.set([world.other_art])
    api = api_client_for(world.user("viewer"))
    train = api.get(url("trains", world.art)).json()
    assert train["value_stream"] == {"id": world.value_stream.pk, "key": "CARD", "name": "Card Payments"}
    assert train["solution_train"] == {
        "id": world.solution_train.pk,
        "key": "CPS",
        "name": "Card Platform Solution Train",
        "kind": "solution",
    }
    assert train["engineer"]["username"] == "w-rte"
    assert (train["portfolio"], train["team_count"]) == (world.portfolio.pk, 1)
    body = api.get(url("teams", team)).json()
    assert body["serves"] == [{"id": world.other_art.pk, "key": "LOA", "name": "Loan Origination ART", "kind": "art"}]
    assert api.get(url("value-streams", world.value_stream)).json()["train_count"] == 2


def test_a_brief_object_is_accepted_back_as_a_reference(world, api_client_for):
    api = api_client_for(world.user("apmo"))
    train = api.get(url("trains", world.other_art)).json()
    response = api.put(
        url("trains", world.other_art),
        {**train, "name": "Loans ART", "value_stream": train["value_stream"]},
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Loans ART"


def test_the_apmo_sets_the_trains_a_shared_service_serves(world, api_client_for):
    api = api_client_for(world.user("apmo"))
    created = api.post(
        url("teams"),
        {"portfolio": world.portfolio.pk, "name": "Platform", "kind": "shared_service", "serves": [world.art.pk]},
    )
    assert created.status_code == 201, created.json()
    changed = api.patch(f"{url('teams')}{created.json()['id']}/", {"serves": [world.art.pk, world.other_art.pk]})
    assert changed.status_code == 200
    assert sorted(t["key"] for t in changed.json()["serves"]) == ["CIA", "LOA"]
    assert changed.json()["version"] == 2
    assert Team.objects.get(portfolio=world.portfolio, name="Platform").serves.count() == 2


def test_team_lists_are_paginated(world, api_client_for):
    for n in range(5):
        TeamFactory(train=world.art, name=f"Team {n}")
    api = api_client_for(world.user("viewer"))
    page = api.get(url("teams"), {"page_size": 2, "page": 3}).json()
    assert (page["count"], len(page["results"]), page["next"]) == (5, 1, None)


# --- Query counts: the same bound on the small and the medium demo ----------------------


@pytest.mark.parametrize(
    ("endpoint", "params", "bound"),
    [
        # roles, count, page
        ("value-streams", {}, 3),
        ("trains", {}, 3),
        ("solution-trains", {}, 3),
        ("arts", {}, 3),
        # + the trains filter's chosen value stream
        ("trains", {"kind": "art", "value_stream": "FIRST"}, 4),
        # + the trains the teams serve
        ("teams", {}, 4),
    ],
)
def test_lists_cost_a_fixed_number_of_queries(
    demo, api_client_for, django_assert_max_num_queries, endpoint, params, bound
):
    if params.get("value_stream") == "FIRST":
        params = {**params, "value_stream": ValueStream.objects.filter(portfolio=demo.portfolio).first().pk}
    api = api_client_for(fresh(demo.users["viewer"]))
    with django_assert_max_num_queries(bound):
        response = api.get(url(endpoint), {**params, "page_size": 100})
    assert response.status_code == 200
    assert response.json()["results"]
