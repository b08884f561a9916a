"""The roadmap pages, the CSV and the API cost a number of queries that does not grow
with the portfolio: the same bound on the small and the medium demo."""

import pytest
from django.urls import reverse

from valuestreams.models import Train, TrainKind

# Session and user, memberships (the layout), then the roadmap's own: PIs, value
# streams, themes, trains, epics, their themes, epic–value stream links, capabilities
# and features aggregated, milestones (and capabilities of expanded lanes).
PORTFOLIO_ROADMAP_QUERIES = 14
# Session, user, memberships; the train; PIs, ARTs, capabilities, features, epics, milestones.
SOLUTION_ROADMAP_QUERIES = 10
CSV_QUERIES = 13
API_ROADMAP_QUERIES = 13  # no session: roles, the portfolio, then the roadmap (an expanded lane)
API_LIST_QUERIES = 3  # roles, count, page (visible trains are a subquery)


def fresh(user):
    """The user as a request loads it: nothing cached on it."""
    return type(user).objects.get(pk=user.pk)


def all_pis(demo):
    pis = demo.portfolio.cadence.program_increments.order_by("start_date")
    return {"pi_from": pis.first().pk, "pi_to": pis.last().pk}


def solution_train(demo):
    return Train.objects.get(engineer=demo.users["ste"], kind=TrainKind.SOLUTION)


@pytest.mark.parametrize("view", ["default", "all", "expanded", "filtered"])
def test_the_portfolio_roadmap_costs_a_fixed_number_of_queries(demo, client, django_assert_max_num_queries, view):
    value_stream = demo.portfolio.value_streams.order_by("name").first()
    params = {
        "default": {},
        "all": all_pis(demo),
        "expanded": {**all_pis(demo), "expand": [vs.pk for vs in demo.portfolio.value_streams.all()]},
        "filtered": {"value_stream": value_stream.pk, "state": "implementing"},
    }[view]
    client.force_login(fresh(demo.users["portfolio_manager"]))

    with django_assert_max_num_queries(PORTFOLIO_ROADMAP_QUERIES):
        response = client.get("/roadmap/", params)

    assert response.status_code == 200
    assert response.context["roadmap"].bar_count > 0


def test_the_csv_costs_a_fixed_number_of_queries(demo, client, django_assert_max_num_queries):
    client.force_login(fresh(demo.users["viewer"]))
    params = all_pis(demo)
    with django_assert_max_num_queries(CSV_QUERIES):
        response = client.get("/roadmap/export.csv", params)
    assert response.status_code == 200
    assert response.content.count(b"\n") > 10


@pytest.mark.parametrize("role", ["ste", "viewer"])
def test_a_solution_roadmap_costs_a_fixed_number_of_queries(demo, client, django_assert_max_num_queries, role):
    client.force_login(fresh(demo.users[role]))
    url = reverse("roadmap:solution-roadmap", args=[solution_train(demo).pk])
    params = all_pis(demo)

    with django_assert_max_num_queries(SOLUTION_ROADMAP_QUERIES):
        response = client.get(url, params)

    assert response.status_code == 200
    assert response.context["roadmap"].card_count > 0
    assert bool(response.context["editable"]) is (role == "ste")


def test_the_roadmap_api_costs_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries):
    api = api_client_for(fresh(demo.users["viewer"]))
    params = {**all_pis(demo), "expand": demo.portfolio.value_streams.first().pk}
    with django_assert_max_num_queries(API_ROADMAP_QUERIES):
        response = api.get("/api/v1/roadmap/", params)
    assert response.status_code == 200
    assert response.json()["lanes"]


@pytest.mark.parametrize("url", ["/api/v1/capabilities/", "/api/v1/features/", "/api/v1/milestones/"])
def test_roadmap_api_lists_cost_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries, url):
    api = api_client_for(fresh(demo.users["viewer"]))
    with django_assert_max_num_queries(API_LIST_QUERIES):
        response = api.get(url, {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) > 10
