"""The dependency map as JSON: /api/v1/dependency-map/."""

import pytest
from django.contrib.auth import get_user_model

from portfolio.models import Role
from tests.factories import MembershipFactory, PortfolioFactory, TrainFactory
from valuestreams.services import dependency_raise, dependency_transition

pytestmark = pytest.mark.django_db

MAP = "/api/v1/dependency-map/"
MEMBERS = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def depend(world, consumer, provider, title="Needs something", needed_by=3):
    return dependency_raise(
        actor=world.user("apmo"),
        consumer=consumer,
        provider=provider,
        title=title,
        needed_by_pi=world.pi,
        needed_by_iteration=world.pi.iterations.get(number=needed_by),
    )


@pytest.mark.parametrize("role", MEMBERS)
def test_every_member_reads_the_map_of_their_portfolio(world, api_client_for, role):
    depend(world, world.other_art, world.art)
    response = api_client_for(world.user(role)).get(MAP)
    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio"], body["mode"], body["dependency_count"]) == (world.portfolio.pk, "trains", 1)


def test_the_map_has_nodes_edges_and_totals_as_the_page_draws_them(world, api_client_for):
    red = depend(world, world.other_art, world.art, "Tokenisation", needed_by=2)
    for action, extra in (("accept", {}), ("commit", {"committed_pi": world.pi})):
        red = dependency_transition(
            actor=world.user("apmo"), dependency=red, action=action, expected_version=None, **extra
        )
    depend(world, world.other_art, world.art, "Card lookup")
    body = api_client_for(world.user("viewer")).get(MAP).json()
    nodes = {n["id"]: n for n in body["nodes"]}
    assert set(nodes) == {world.art.pk, world.other_art.pk, world.solution_train.pk}
    art = nodes[world.art.pk]
    assert (art["label"], art["kind"], art["value_stream_id"], art["gives"], art["needs"]) == (
        "Card Issuing ART",
        "art",
        world.value_stream.pk,
        1,
        0,
    )
    assert nodes[world.solution_train.pk]["kind"] == "solution"
    assert {"x", "y", "w", "h", "in_cycle", "hub", "sublabel"} <= set(art)
    [edge] = body["edges"]
    assert (edge["provider"], edge["consumer"], edge["count"]) == (world.art.pk, world.other_art.pk, 2)
    assert (edge["colour"], edge["colours"], edge["cross_value_stream"], edge["in_cycle"]) == (
        "red",
        {"red": 1, "grey": 1},
        True,
        False,
    )
    assert edge["path"].startswith("M")
    assert body["colour_totals"] == {"red": 1, "amber": 0, "green": 0, "grey": 1}
    assert body["cycles"] == []
    assert sorted(g["label"] for g in body["groups"]) == ["Card Payments", "Lending"]
    assert body["width"] > 0 and body["height"] > 0


def test_the_map_reports_a_loop_once_one_is_created(world, api_client_for):
    depend(world, world.other_art, world.art, "Card tokens")
    api = api_client_for(world.user("enterprise_architect"))
    assert api.get(MAP).json()["cycles"] == []
    depend(world, world.art, world.other_art, "Credit decisions")
    body = api.get(MAP).json()
    assert body["cycles"] == [
        {
            "members": ["Card Issuing ART", "Loan Origination ART"],
            "example": body["cycles"][0]["example"],
        }
    ]
    example = body["cycles"][0]["example"]
    assert example[0] == example[-1] and set(example) == {"Card Issuing ART", "Loan Origination ART"}
    assert all(edge["in_cycle"] for edge in body["edges"])
    assert {n["id"] for n in body["nodes"] if n["in_cycle"]} == {world.art.pk, world.other_art.pk}


def test_the_value_stream_view_aggregates_edges_between_value_streams(world, api_client_for):
    depend(world, world.other_art, world.art)
    depend(world, world.other_art, world.solution_train)
    depend(world, world.art, world.solution_train)  # inside Card Payments: counted, not drawn
    body = api_client_for(world.user("viewer")).get(MAP, {"mode": "value_streams"}).json()
    assert body["mode"] == "value_streams"
    assert {(n["id"], n["kind"]) for n in body["nodes"]} == {
        (world.value_stream.pk, "value_stream"),
        (world.other_value_stream.pk, "value_stream"),
    }
    [edge] = body["edges"]
    assert (edge["provider"], edge["consumer"], edge["count"]) == (
        world.value_stream.pk,
        world.other_value_stream.pk,
        2,
    )
    assert body["dependency_count"] == 3


def test_the_map_takes_the_dependency_filters(world, api_client_for):
    cancelled = depend(world, world.other_art, world.art, "Dropped")
    dependency_transition(
        actor=world.user("apmo"), dependency=cancelled, action="cancel", expected_version=None, reason="Descoped"
    )
    depend(world, world.art, world.solution_train, "Inside")
    api = api_client_for(world.user("viewer"))
    assert api.get(MAP).json()["dependency_count"] == 2
    opened = api.get(MAP, {"state": "open"}).json()
    assert opened["dependency_count"] == 1
    assert [(e["provider"], e["consumer"]) for e in opened["edges"]] == [(world.solution_train.pk, world.art.pk)]
    cross = api.get(MAP, {"cross_value_stream": "true"}).json()
    assert [(e["provider"], e["consumer"]) for e in cross["edges"]] == [(world.art.pk, world.other_art.pk)]
    lending = api.get(MAP, {"value_stream": world.other_value_stream.pk}).json()
    assert lending["dependency_count"] == 1
    # The value stream's trains, and the trains its dependencies touch.
    assert {n["id"] for n in lending["nodes"]} == {world.other_art.pk, world.art.pk}


def test_another_portfolio_is_chosen_by_id_and_only_among_ones_own(world, api_client_for):
    other = PortfolioFactory(name="Another portfolio")
    MembershipFactory(user=world.user("viewer"), portfolio=other, role=Role.VIEWER)
    TrainFactory(value_stream__portfolio=other, name="Elsewhere ART")
    depend(world, world.other_art, world.art)
    api = api_client_for(world.user("viewer"))
    body = api.get(MAP, {"portfolio": other.pk}).json()
    assert (body["portfolio"], body["dependency_count"], [n["label"] for n in body["nodes"]]) == (
        other.pk,
        0,
        ["Elsewhere ART"],
    )
    assert api.get(MAP).json()["portfolio"] == other.pk  # the first by name: "Another portfolio"
    assert api.get(MAP, {"portfolio": world.portfolio.pk}).json()["dependency_count"] == 1


@pytest.mark.parametrize("portfolio", ["OTHER", 999999, "payments"])
def test_a_portfolio_that_is_not_ones_own_answers_404(world, api_client_for, portfolio):
    other = PortfolioFactory()
    chosen = other.pk if portfolio == "OTHER" else portfolio
    assert api_client_for(world.user("viewer")).get(MAP, {"portfolio": chosen}).status_code == 404


def test_someone_without_a_portfolio_gets_404_and_anonymous_401(world, api_client_for, client):
    assert api_client_for(world.user("outsider")).get(MAP).status_code == 404
    assert client.get(MAP).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [({"mode": "epics"}, "mode"), ({"pi": 999999}, "pi"), ({"state": "lost"}, "state"), ({"train": "x"}, "train")],
)
def test_bad_parameters_answer_400_naming_them(world, api_client_for, params, field):
    response = api_client_for(world.user("viewer")).get(MAP, params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_train_of_another_portfolio_is_not_a_choice_in_this_ones_map(world, api_client_for):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("viewer"), portfolio=other, role=Role.VIEWER)
    elsewhere = TrainFactory(value_stream__portfolio=other)
    response = api_client_for(world.user("viewer")).get(MAP, {"portfolio": world.portfolio.pk, "train": elsewhere.pk})
    assert response.status_code == 400
    assert "train" in response.json()


# --- Query counts: the same bound on the small and the medium demo ------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"mode": "value_streams"},
        {"state": "open", "late": "true", "cross_value_stream": "true"},
        {"value_stream": "FIRST_VS", "pi": "FIRST_PI", "portfolio": "DEMO"},
    ],
)
def test_the_map_costs_a_fixed_number_of_queries(demo, api_client_for, django_assert_max_num_queries, params):
    from valuestreams.models import Dependency

    first = Dependency.objects.filter(portfolio=demo.portfolio).select_related("consumer").first()
    values = {
        "FIRST_VS": first.consumer.value_stream_id,
        "FIRST_PI": first.needed_by_pi_id,
        "DEMO": demo.portfolio.pk,
    }
    params = {name: values.get(value, value) for name, value in params.items()}
    api = api_client_for(fresh(demo.users["rte"]))
    # roles, the portfolio, [the chosen value stream and PI], dependencies, value streams, trains
    with django_assert_max_num_queries(8):
        response = api.get(MAP, params)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["nodes"]
    assert body["dependency_count"] > 0
