"""The portfolio level of the REST API: portfolios, memberships, tokens, ETags."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portfolio.models import Membership, Role
from tests.factories import MembershipFactory, PortfolioFactory, UserFactory

pytestmark = pytest.mark.django_db

MEMBERS = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
NOT_APMO = ("viewer", "portfolio_manager", "enterprise_architect", "rte", "ste")


def portfolio_url(portfolio):
    return f"/api/v1/portfolios/{portfolio.pk}/"


def membership_url(membership):
    return f"/api/v1/memberships/{membership.pk}/"


def fresh(user):
    """The user as a new request would load it (roles not yet cached on the object)."""
    return get_user_model().objects.get(pk=user.pk)


# --- Portfolios -----------------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBERS)
def test_members_list_only_the_portfolios_they_belong_to(world, api_client_for, role):
    PortfolioFactory(name="Someone else's")
    response = api_client_for(world.user(role)).get("/api/v1/portfolios/")
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()["results"]] == ["payments"]


def test_an_outsider_lists_no_portfolio_and_gets_404_on_one(world, api_client_for):
    api = api_client_for(world.user("outsider"))
    assert api.get("/api/v1/portfolios/").json()["count"] == 0
    assert api.get(portfolio_url(world.portfolio)).status_code == 404


def test_a_portfolio_shows_your_role_its_counts_and_its_etag(world, api_client_for):
    response = api_client_for(world.user("rte")).get(portfolio_url(world.portfolio))
    assert response.status_code == 200
    body = response.json()
    assert body["my_role"] == "viewer"
    assert (body["value_stream_count"], body["train_count"], body["member_count"]) == (2, 3, 7)
    assert response["ETag"] == f'"{body["version"]}"'


def test_the_apmo_changes_the_portfolio_settings(world, api_client_for):
    response = api_client_for(world.user("apmo")).patch(
        portfolio_url(world.portfolio), {"terminology": "planning_interval", "status_stale_days": 14}
    )
    assert response.status_code == 200, response.json()
    world.portfolio.refresh_from_db()
    assert (world.portfolio.terminology, world.portfolio.status_stale_days) == ("planning_interval", 14)
    assert response.json()["version"] == 2
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize("role", NOT_APMO)
def test_only_the_apmo_changes_the_portfolio_settings(world, api_client_for, role):
    response = api_client_for(world.user(role)).patch(portfolio_url(world.portfolio), {"status_stale_days": 14})
    assert response.status_code == 403
    assert "portfolio.change_portfolio" in response.json()["detail"]


def test_an_apmo_of_another_portfolio_gets_404_on_this_one(world, api_client_for):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.APMO)
    response = api_client_for(world.user("outsider")).patch(portfolio_url(world.portfolio), {"status_stale_days": 3})
    assert response.status_code == 404


def test_portfolios_are_neither_created_nor_deleted_through_the_api(world, api_client_for):
    api = api_client_for(world.user("apmo"))
    assert api.post("/api/v1/portfolios/", {"name": "New", "slug": "new"}).status_code == 405
    assert api.delete(portfolio_url(world.portfolio)).status_code == 405


def test_the_name_and_slug_of_a_portfolio_are_read_only(world, api_client_for):
    response = api_client_for(world.user("apmo")).patch(portfolio_url(world.portfolio), {"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["name"] == "Payments Portfolio"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"terminology": "safe7"}, "terminology"), ({"status_stale_days": 0}, "status_stale_days")],
)
def test_bad_portfolio_settings_answer_400_naming_the_field(world, api_client_for, change, field):
    response = api_client_for(world.user("apmo")).patch(portfolio_url(world.portfolio), change)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_stale_if_match_answers_412_with_the_current_state(world, api_client_for):
    api = api_client_for(world.user("apmo"))
    etag = api.get(portfolio_url(world.portfolio))["ETag"]
    assert api.patch(portfolio_url(world.portfolio), {"status_stale_days": 10}, HTTP_IF_MATCH=etag).status_code == 200

    stale = api.patch(portfolio_url(world.portfolio), {"status_stale_days": 3}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["current"]["status_stale_days"] == 10
    assert stale["ETag"] == '"2"'
    world.portfolio.refresh_from_db()
    assert world.portfolio.status_stale_days == 10


def test_a_malformed_if_match_answers_400(world, api_client_for):
    response = api_client_for(world.user("apmo")).patch(
        portfolio_url(world.portfolio), {"status_stale_days": 3}, HTTP_IF_MATCH="yesterday"
    )
    assert response.status_code == 400
    assert "If-Match" in response.json()


# --- Authentication -------------------------------------------------------------------


def test_a_token_authenticates_automation(world):
    token = Token.objects.create(user=world.user("viewer"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.get("/api/v1/portfolios/")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_wrong_token_is_refused(world):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api.get("/api/v1/portfolios/")
    # 403 rather than 401 because session authentication is listed first in the settings.
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Invalid token."


def test_the_token_endpoint_exchanges_a_password_for_the_token(world):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "w-viewer", "password": "pass-word-123"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=world.user("viewer")).key


def test_the_token_endpoint_refuses_a_wrong_password(world):
    response = APIClient().post("/api/v1/auth/token/", {"username": "w-viewer", "password": "nope"}, format="json")
    assert response.status_code == 400


# --- Memberships ------------------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBERS)
def test_members_see_every_membership_of_their_portfolio(world, api_client_for, role):
    MembershipFactory(portfolio=PortfolioFactory())
    response = api_client_for(world.user(role)).get("/api/v1/memberships/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 7
    assert {m["portfolio"]["slug"] for m in body["results"]} == {"payments"}


def test_an_outsider_sees_no_membership(world, api_client_for):
    api = api_client_for(world.user("outsider"))
    assert api.get("/api/v1/memberships/").json()["count"] == 0
    membership = Membership.objects.get(user=world.user("viewer"))
    assert api.get(membership_url(membership)).status_code == 404


def test_memberships_filter_by_role(world, api_client_for):
    response = api_client_for(world.user("viewer")).get("/api/v1/memberships/", {"role": "apmo"})
    assert [m["user"]["username"] for m in response.json()["results"]] == ["w-apmo"]


def test_the_apmo_adds_a_member(world, api_client_for):
    newcomer = UserFactory(username="newcomer")
    response = api_client_for(world.user("apmo")).post(
        "/api/v1/memberships/", {"user": newcomer.pk, "portfolio": world.portfolio.pk, "role": "portfolio_manager"}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["user"]["username"] == "newcomer"
    assert response["ETag"] == '"1"'
    assert Membership.objects.get(user=newcomer).role == Role.PORTFOLIO_MANAGER


@pytest.mark.parametrize("role", NOT_APMO)
def test_only_the_apmo_adds_members(world, api_client_for, role):
    newcomer = UserFactory(username="newcomer")
    response = api_client_for(world.user(role)).post(
        "/api/v1/memberships/", {"user": newcomer.pk, "portfolio": world.portfolio.pk}
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=newcomer).exists()


def test_adding_a_member_to_a_portfolio_you_are_not_in_answers_400_naming_it(world, api_client_for):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role=Role.APMO)
    response = api_client_for(world.user("outsider")).post(
        "/api/v1/memberships/", {"user": world.user("outsider").pk, "portfolio": world.portfolio.pk}
    )
    assert response.status_code == 400
    assert "you can see" in response.json()["portfolio"][0]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (lambda world: {"role": "viewer"}, "user"),
        (lambda world: {"user": 99999}, "user"),
        (lambda world: {"user": "w-outsider"}, "user"),
        (lambda world: {"user": world.user("outsider").pk, "role": "chief"}, "role"),
    ],
    ids=["missing user", "unknown user", "username instead of id", "unknown role"],
)
def test_bad_memberships_answer_400_naming_the_field(world, api_client_for, payload, field):
    response = api_client_for(world.user("apmo")).post(
        "/api/v1/memberships/", {**payload(world), "portfolio": world.portfolio.pk}
    )
    assert response.status_code == 400
    assert field in response.json()


def test_a_second_membership_of_the_same_person_answers_400_on_user(world, api_client_for):
    response = api_client_for(world.user("apmo")).post(
        "/api/v1/memberships/", {"user": world.user("viewer").pk, "portfolio": world.portfolio.pk}
    )
    assert response.status_code == 400
    assert response.json() == {"user": ["This person is already a member of the portfolio."]}


def test_the_apmo_changes_a_role_but_not_the_person_or_portfolio(world, api_client_for):
    membership = Membership.objects.get(user=world.user("viewer"))
    other = PortfolioFactory()
    MembershipFactory(user=world.user("apmo"), portfolio=other, role=Role.APMO)
    response = api_client_for(world.user("apmo")).patch(
        membership_url(membership), {"role": "enterprise_architect", "portfolio": other.pk, "user": 1}
    )
    assert response.status_code == 200, response.json()
    membership.refresh_from_db()
    assert (membership.role, membership.portfolio_id, membership.user_id) == (
        "enterprise_architect",
        world.portfolio.pk,
        world.user("viewer").pk,
    )


@pytest.mark.parametrize("role", NOT_APMO)
def test_only_the_apmo_changes_or_removes_memberships(world, api_client_for, role):
    membership = Membership.objects.get(user=world.user("other_rte"))
    api = api_client_for(world.user(role))
    assert api.patch(membership_url(membership), {"role": "apmo"}).status_code == 403
    assert api.delete(membership_url(membership)).status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER


def test_the_apmo_removes_a_member(world, api_client_for):
    membership = Membership.objects.get(user=world.user("other_rte"))
    assert api_client_for(world.user("apmo")).delete(membership_url(membership)).status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_apmo_can_neither_step_down_nor_be_removed(world, api_client_for):
    membership = Membership.objects.get(user=world.user("apmo"))
    api = api_client_for(world.user("apmo"))
    demoted = api.patch(membership_url(membership), {"role": "viewer"})
    assert demoted.status_code == 400
    assert "role" in demoted.json()
    assert api.delete(membership_url(membership)).status_code == 409
    MembershipFactory(user=UserFactory(), portfolio=world.portfolio, role=Role.APMO)
    assert api.patch(membership_url(membership), {"role": "viewer"}).status_code == 200


def test_a_membership_deleted_against_a_stale_version_is_kept(world, api_client_for):
    membership = Membership.objects.get(user=world.user("other_rte"))
    api = api_client_for(world.user("apmo"))
    assert api.patch(membership_url(membership), {"role": "enterprise_architect"}).status_code == 200
    assert api.delete(membership_url(membership), HTTP_IF_MATCH='"1"').status_code == 412
    assert api.delete(membership_url(membership), HTTP_IF_MATCH='"2"').status_code == 204


# --- Lists: pagination and query counts -------------------------------------------------


def test_lists_are_paginated(world, api_client_for):
    api = api_client_for(world.user("viewer"))
    first = api.get("/api/v1/memberships/", {"page_size": 3}).json()
    assert (first["count"], len(first["results"])) == (7, 3)
    last = api.get(first["next"].replace("http://testserver", "")).json()
    assert last["previous"] is not None


@pytest.mark.parametrize("url", ["/api/v1/portfolios/", "/api/v1/memberships/"])
def test_portfolio_lists_cost_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries, url):
    api = api_client_for(fresh(demo.users["viewer"]))
    # roles, count, page
    with django_assert_max_num_queries(3):
        response = api.get(url, {"page_size": 100})
    assert response.status_code == 200
    assert response.json()["results"]
