"""The dependency map page: who sees it, what its SVG draws, where its links go, its
filters and options, and how many queries it costs."""

import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from tests.factories import (
    DependencyFactory,
    MembershipFactory,
    PortfolioFactory,
    ProgramIncrementFactory,
    TrainFactory,
    ValueStreamFactory,
)
from valuestreams import map_views
from valuestreams.filters import DependencyFilterSet
from valuestreams.models import Dependency

pytestmark = pytest.mark.django_db

MAP_URL = "/dependencies/map/"
MEMBER_ROLES = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
DEMO_ROLES = ("apmo", "portfolio_manager", "enterprise_architect", "viewer", "rte", "other_rte", "ste", "automation")
# Session, user, memberships; the dependencies, value streams and trains of the map;
# the PI and value stream choices of the filter form; a chosen PI and value stream.
MAP_QUERIES = 10
SVG = "{http://www.w3.org/2000/svg}"


def depend(world, consumer, provider, *, pi=None, **kwargs):
    return DependencyFactory(
        portfolio=world.portfolio, consumer=consumer, provider=provider, needed_by_pi=pi or world.pi, **kwargs
    )


def iteration(world, number):
    return world.pi.iterations.get(number=number)


def svg_of(response):
    """The map's <svg> element, parsed (the markup is well-formed XML)."""
    content = response.content.decode()
    match = re.search(r'<svg class="dep-map.*?</svg>', content, re.S)
    assert match, "no map on the page"
    return ET.fromstring(match.group(0))  # noqa: S314 (our own markup, in a test)


def nodes_of(svg) -> dict[int, ET.Element]:
    return {int(a.get("id").removeprefix("node-")): a for a in svg.iter(f"{SVG}a") if "map-node" in a.get("class", "")}


def edges_of(svg) -> list[ET.Element]:
    return [a for a in svg.iter(f"{SVG}a") if "map-edge" in a.get("class", "")]


def title_of(element) -> str:
    return element.find(f"{SVG}title").text


def count_of(edge) -> int:
    """The number of dependencies an edge's tooltip gives."""
    return int(re.search(r": (\d+) dependenc", title_of(edge)).group(1))


def query_of(href: str) -> dict[str, str]:
    parts = urlsplit(href)
    return {name: values[-1] for name, values in parse_qs(parts.query).items()}


def edge_between(svg, provider, consumer) -> ET.Element:
    [edge] = [
        e
        for e in edges_of(svg)
        if query_of(e.get("href")).get("provider") == str(provider.pk)
        and query_of(e.get("href")).get("consumer") == str(consumer.pk)
    ]
    return edge


# --- Access -------------------------------------------------------------------------


def test_the_map_is_named_in_the_navigation():
    assert reverse("valuestreams:dependency-map") == MAP_URL


def test_anonymous_is_redirected_to_login(client):
    assertRedirects(client.get(MAP_URL), f"{reverse('login')}?next={MAP_URL}", fetch_redirect_response=False)


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_every_member_sees_the_map(client_for, world, role):
    depend(world, world.other_art, world.art)
    response = client_for(world.user(role)).get(MAP_URL)
    assert response.status_code == 200
    assert set(nodes_of(svg_of(response))) == {world.solution_train.pk, world.art.pk, world.other_art.pk}


def test_a_user_without_a_portfolio_gets_the_no_portfolio_page(client_for, world):
    response = client_for(world.user("outsider")).get(MAP_URL)
    assert response.status_code == 200
    assertNotContains(response, "Card Issuing ART")
    assertNotContains(response, 'class="dep-map')


def test_a_member_of_another_portfolio_sees_only_their_own_trains(client_for, world):
    depend(world, world.other_art, world.art)
    other = PortfolioFactory(name="Insurance Portfolio")
    MembershipFactory(user=world.user("outsider"), portfolio=other)
    theirs = TrainFactory(value_stream=ValueStreamFactory(portfolio=other), name="Claims ART")
    partner = TrainFactory(value_stream=ValueStreamFactory(portfolio=other), name="Policy ART")
    DependencyFactory(portfolio=other, consumer=theirs, provider=partner)

    response = client_for(world.user("outsider")).get(MAP_URL)

    svg = svg_of(response)
    assert set(nodes_of(svg)) == {theirs.pk, partner.pk}
    assert len(edges_of(svg)) == 1
    for name in ("Card Issuing ART", "Loan Origination ART", "Card Platform Solution Train"):
        assertNotContains(response, name)


def test_a_filter_naming_another_portfolios_value_stream_shows_nothing_of_it(client_for, world):
    other_stream = ValueStreamFactory(name="Hidden Stream")
    TrainFactory(value_stream=other_stream, name="Hidden ART")
    response = client_for(world.user("viewer")).get(MAP_URL, {"value_stream": other_stream.pk})
    assert response.status_code == 200
    assertNotContains(response, "Hidden ART")


# --- What the SVG draws -------------------------------------------------------------


def test_a_node_per_train_and_one_edge_per_pair_with_its_count_and_worst_colour(client_for, world):
    depend(
        world,
        world.other_art,
        world.art,
        needed_by_iteration=iteration(world, 2),
        state="committed",
        committed_pi=world.pi,
        committed_iteration=iteration(world, 1),
    )  # green
    depend(
        world,
        world.other_art,
        world.art,
        needed_by_iteration=iteration(world, 2),
        state="committed",
        committed_pi=world.pi,
        committed_iteration=iteration(world, 3),
    )  # red, and late
    depend(world, world.other_art, world.art)  # grey
    depend(world, world.art, world.other_art)  # the other way: its own edge

    response = client_for(world.user("viewer")).get(MAP_URL)

    svg = svg_of(response)
    nodes = nodes_of(svg)
    assert set(nodes) == {world.solution_train.pk, world.art.pk, world.other_art.pk}
    assert "solution train" in title_of(nodes[world.solution_train.pk])
    assert "node-solution" in nodes[world.solution_train.pk].get("class")
    assert len(edges_of(svg)) == 2
    edge = edge_between(svg, world.art, world.other_art)
    assert "edge-red" in edge.get("class") and "edge-across" in edge.get("class")
    late = sum(d.is_late_on(timezone.localdate()) for d in Dependency.objects.filter(provider=world.art))
    assert late >= 1  # the red one, whatever the day
    assert (
        title_of(edge)
        == f"Card Issuing ART → Loan Origination ART: 3 dependencies, {late} late (1 red, 1 green, 1 grey)"
    )
    assert edge.find(f"{SVG}path").get("marker-end").startswith("url(#arrow-red-")
    assert svg.find(f".//{SVG}marker[@id='arrow-red-sm']") is not None
    back = edge_between(svg, world.other_art, world.art)
    assert "edge-grey" in back.get("class")
    # The table below the map holds the same data.
    assertContains(response, '<th scope="row">Card Issuing ART</th><td>Loan Origination ART</td>', html=False)


def test_edges_within_a_value_stream_are_drawn_dashed_and_cross_ones_solid(client_for, world):
    depend(world, world.art, world.solution_train)
    depend(world, world.other_art, world.art)
    svg = svg_of(client_for(world.user("viewer")).get(MAP_URL))
    assert "edge-within" in edge_between(svg, world.solution_train, world.art).get("class")
    assert "edge-across" in edge_between(svg, world.art, world.other_art).get("class")


def test_the_svg_has_a_title_and_description_and_a_table_alternative(client_for, world):
    depend(world, world.other_art, world.art)
    response = client_for(world.user("viewer")).get(MAP_URL)
    svg = svg_of(response)
    assert svg.get("aria-labelledby") == "map-title"
    assert svg.get("aria-describedby") == "map-desc"
    assert svg.find(f"{SVG}title").text.startswith("Dependency map of Payments Portfolio")
    assert svg.get("viewBox").startswith("0 0 ")
    assertContains(response, '<h2 id="map-edges-heading" tabindex="-1">Edges</h2>', html=True)


def test_a_loop_is_listed_with_an_example_and_its_trains_are_outlined(client_for, world):
    third = TrainFactory(value_stream=world.other_value_stream, name="Collections ART", key="COL")
    depend(world, world.other_art, world.art)
    depend(world, third, world.other_art)
    depend(world, world.art, third)

    response = client_for(world.user("viewer")).get(MAP_URL)

    nodes = nodes_of(svg_of(response))
    for train in (world.art, world.other_art, third):
        assert "node-loop" in nodes[train.pk].get("class")
        assert "in a loop" in title_of(nodes[train.pk])
    assert "node-loop" not in nodes[world.solution_train.pk].get("class")
    content = response.content.decode()
    loops = content[content.index('id="map-loops-heading"') : content.index('id="map-hubs-heading"')]
    assert "3 trains" in loops
    example = re.sub(r"<[^>]+>", "", loops[loops.index('class="loop-example">') + 21 :].split("</span>")[0])
    names = [name.strip() for name in example.split("→")]
    assert len(names) == 4 and names[0] == names[-1]


def test_a_hub_is_marked_and_listed(client_for, world):
    stream = ValueStreamFactory(portfolio=world.portfolio)
    for _ in range(8):
        depend(world, TrainFactory(value_stream=stream), world.art)

    response = client_for(world.user("viewer")).get(MAP_URL)

    node = nodes_of(svg_of(response))[world.art.pk]
    assert "node-hub" in node.get("class")
    assert node.find(f".//{SVG}g[@class='hub-badge']") is not None
    content = response.content.decode()
    hubs = content[content.index('id="map-hubs-heading"') :]
    assert f'href="/dependencies/?train={world.art.pk}">Card Issuing ART</a>' in hubs


def test_names_are_escaped_in_the_svg(client_for, world):
    evil = TrainFactory(value_stream=world.other_value_stream, name='<script>alert("x")</script> & Co')
    depend(world, evil, world.art)
    response = client_for(world.user("viewer")).get(MAP_URL)
    assertNotContains(response, "<script>alert")
    nodes = nodes_of(svg_of(response))  # still well-formed
    assert title_of(nodes[evil.pk]).startswith('<script>alert("x")</script> & Co')


# --- Modes, filters and options -------------------------------------------------------


def test_the_value_stream_mode_aggregates_edges_between_value_streams(client_for, world):
    third = TrainFactory(value_stream=world.other_value_stream, name="Collections ART", key="COL")
    depend(world, world.other_art, world.art)
    depend(world, third, world.art)
    depend(world, third, world.solution_train)
    depend(world, third, world.other_art)  # inside one value stream: counted on its node

    response = client_for(world.user("viewer")).get(MAP_URL, {"mode": "value_streams"})

    svg = svg_of(response)
    nodes = nodes_of(svg)
    assert set(nodes) == {world.value_stream.pk, world.other_value_stream.pk}
    [edge] = edges_of(svg)
    assert title_of(edge).startswith("Card Payments → Lending: 3 dependencies")
    assert "1 dependency within" in title_of(nodes[world.other_value_stream.pk])
    assertContains(response, '<a href="/dependencies/map/?mode=value_streams" aria-current="page">', html=False)


def test_the_state_and_pi_filters_narrow_the_edges(client_for, world):
    next_pi = ProgramIncrementFactory(cadence=world.portfolio.cadence, number=2)
    depend(world, world.other_art, world.art, state="delivered")
    depend(world, world.other_art, world.art)
    depend(world, world.art, world.other_art, pi=next_pi)
    client = client_for(world.user("viewer"))

    svg = svg_of(client.get(MAP_URL, {"state": "requested"}))
    assert [count_of(e) for e in edges_of(svg)] == [1, 1]

    svg = svg_of(client.get(MAP_URL, {"pi": next_pi.pk}))
    [edge] = edges_of(svg)
    assert title_of(edge).startswith("Loan Origination ART → Card Issuing ART: 1 dependency")
    assert query_of(edge.get("href"))["pi"] == str(next_pi.pk)

    svg = svg_of(client.get(MAP_URL, {"state": "cancelled"}))
    assert edges_of(svg) == []


def test_a_chosen_value_stream_shows_its_trains_and_their_partners_only(client_for, world):
    elsewhere = ValueStreamFactory(portfolio=world.portfolio, name="Wealth")
    lone = TrainFactory(value_stream=elsewhere, name="Pensions ART")
    partner = TrainFactory(value_stream=elsewhere, name="Advisory ART")
    depend(world, partner, world.art)
    depend(world, world.other_art, lone)  # does not touch Card Payments

    svg = svg_of(client_for(world.user("viewer")).get(MAP_URL, {"value_stream": world.value_stream.pk}))

    assert set(nodes_of(svg)) == {world.solution_train.pk, world.art.pk, partner.pk}
    [edge] = edges_of(svg)
    assert query_of(edge.get("href"))["value_stream"] == str(world.value_stream.pk)


def test_edges_within_value_streams_and_small_edges_are_left_out_when_there_are_too_many(
    client_for, world, monkeypatch
):
    third = TrainFactory(value_stream=world.other_value_stream, name="Collections ART", key="COL")
    depend(world, world.art, world.solution_train)  # within Card Payments
    depend(world, third, world.other_art)  # within Lending
    for _ in range(3):
        depend(world, world.other_art, world.art)
    depend(world, third, world.art)
    monkeypatch.setattr(map_views, "LEGIBLE_EDGES", 1)
    client = client_for(world.user("viewer"))

    response = client.get(MAP_URL)
    [edge] = edges_of(svg_of(response))
    assert title_of(edge).startswith("Card Issuing ART → Loan Origination ART: 3 dependencies")
    assertContains(response, "Showing 1 of 4 edges: only those across value streams, with at least 2 dependencies.")
    assertContains(response, "Show all edges")

    everything = client.get(MAP_URL, {"within": "show", "min": "1"})
    assert len(edges_of(svg_of(everything))) == 4
    assertNotContains(everything, "Showing 1 of")

    within_only_big = client.get(MAP_URL, {"within": "show", "min": "3"})
    assert len(edges_of(svg_of(within_only_big))) == 1


def test_loops_count_every_dependency_even_edges_not_drawn(client_for, world, monkeypatch):
    depend(world, world.other_art, world.art)
    depend(world, world.other_art, world.art)
    depend(world, world.art, world.other_art)  # a small edge that closes the loop
    monkeypatch.setattr(map_views, "LEGIBLE_EDGES", 1)
    response = client_for(world.user("viewer")).get(MAP_URL)
    assert len(edges_of(svg_of(response))) == 1
    assert "node-loop" in nodes_of(svg_of(response))[world.art.pk].get("class")


@pytest.mark.parametrize("query", [{"mode": "nonsense"}, {"min": "many"}, {"within": "?"}, {"pi": "x"}, {"state": "z"}])
def test_bad_options_fall_back_to_the_defaults(client_for, world, query):
    depend(world, world.other_art, world.art)
    response = client_for(world.user("viewer")).get(MAP_URL, query)
    assert response.status_code == 200
    assert len(nodes_of(svg_of(response))) == 3


# --- Links ---------------------------------------------------------------------------


def test_nodes_and_edges_link_to_the_dependency_list_behind_them(client_for, world):
    depend(world, world.other_art, world.art)
    depend(world, world.other_art, world.art, state="committed", committed_pi=world.pi)
    depend(world, world.art, world.solution_train)
    client = client_for(world.user("viewer"))

    svg = svg_of(client.get(MAP_URL, {"pi": world.pi.pk, "state": "requested"}))

    node = nodes_of(svg)[world.art.pk]
    assert urlsplit(node.get("href")).path == "/dependencies/"
    assert query_of(node.get("href")) == {"train": str(world.art.pk), "pi": str(world.pi.pk), "state": "requested"}
    edge = edge_between(svg, world.art, world.other_art)
    assert urlsplit(edge.get("href")).path == "/dependencies/"
    assert query_of(edge.get("href")) == {
        "provider": str(world.art.pk),
        "consumer": str(world.other_art.pk),
        "pi": str(world.pi.pk),
        "state": "requested",
    }


def test_an_edges_link_lists_exactly_the_dependencies_it_counts(client_for, world):
    """The list's FilterSet, given the edge's link, finds as many dependencies as the edge says."""
    third = TrainFactory(value_stream=world.other_value_stream, name="Collections ART", key="COL")
    for _ in range(3):
        depend(world, world.other_art, world.art)
    depend(world, world.art, world.other_art)
    depend(world, third, world.art)
    request = client_for(world.user("viewer")).get(MAP_URL).wsgi_request
    svg = svg_of(client_for(world.user("viewer")).get(MAP_URL))
    for edge in edges_of(svg):
        count = count_of(edge)
        filterset = DependencyFilterSet(
            QueryDict(urlsplit(edge.get("href")).query),
            queryset=Dependency.objects.all(),
            portfolio=world.portfolio,
            request=request,
        )
        assert filterset.is_valid()
        assert filterset.qs.count() == count


def test_each_value_stream_box_links_to_its_dependencies(client_for, world):
    depend(world, world.other_art, world.art)
    svg = svg_of(client_for(world.user("viewer")).get(MAP_URL))
    hrefs = {a.get("href") for g in svg.iter(f"{SVG}g") if g.get("class") == "map-group" for a in g.iter(f"{SVG}a")}
    assert hrefs == {
        f"/dependencies/?value_stream={world.value_stream.pk}",
        f"/dependencies/?value_stream={world.other_value_stream.pk}",
    }


# --- Queries ---------------------------------------------------------------------------


def test_the_query_count_does_not_grow_with_the_portfolio(client_for, world, django_assert_max_num_queries):
    client = client_for(world.user("viewer"))
    depend(world, world.other_art, world.art)
    with django_assert_max_num_queries(MAP_QUERIES):
        client.get(MAP_URL)
    for i in range(4):
        stream = ValueStreamFactory(portfolio=world.portfolio)
        for _ in range(3):
            depend(world, TrainFactory(value_stream=stream), world.art if i % 2 else world.other_art)
    with django_assert_max_num_queries(MAP_QUERIES):
        client.get(MAP_URL)


@pytest.mark.parametrize("mode", ["trains", "value_streams"])
@pytest.mark.parametrize("role", DEMO_ROLES)
def test_query_count_is_the_same_on_small_and_medium_demo(client_for, demo, role, mode, django_assert_max_num_queries):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(MAP_QUERIES):
        response = client.get(MAP_URL, {"mode": mode})
    assert response.status_code == 200
    assert edges_of(svg_of(response))


@pytest.mark.parametrize("mode", ["trains", "value_streams"])
def test_query_count_with_every_filter_on_small_and_medium_demo(client_for, demo, mode, django_assert_max_num_queries):
    portfolio = demo.portfolio
    pi = (
        Dependency.objects.filter(portfolio=portfolio)
        .order_by("needed_by_pi")
        .values_list("needed_by_pi", flat=True)[0]
    )
    stream = portfolio.value_streams.order_by("pk").first()
    client = client_for(demo.users["viewer"])
    query = {"mode": mode, "pi": pi, "value_stream": stream.pk, "state": "open", "within": "show", "min": "1"}
    with django_assert_max_num_queries(MAP_QUERIES):
        response = client.get(MAP_URL, query)
    assert response.status_code == 200
    assert nodes_of(svg_of(response))


# --- Layout ----------------------------------------------------------------------------


def boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def busy_world(world, streams=5, trains=4):
    """Several value streams whose trains all trade with the world's two ARTs and each other."""
    made = []
    for i in range(streams):
        stream = ValueStreamFactory(portfolio=world.portfolio, name=f"Stream {i}")
        for _ in range(trains):
            train = TrainFactory(value_stream=stream)
            depend(world, train, world.art)
            depend(world, world.other_art, train)
            if made:
                depend(world, train, made[-1])
            made.append(train)
    return made


@pytest.mark.parametrize(
    "options",
    [{}, {"mode": "value_streams"}, {"value_stream": "focus"}, {"within": "show", "min": "1"}],
    ids=["trains", "value-streams", "a-chosen-value-stream", "all-edges"],
)
def test_nodes_and_count_labels_never_overlap(client_for, world, options):
    busy_world(world)
    query = dict(options)
    if query.get("value_stream") == "focus":
        query["value_stream"] = world.value_stream.pk
    svg = svg_of(client_for(world.user("viewer")).get(MAP_URL, query))
    nodes = [
        tuple(float(r.get(k)) for k in ("x", "y")) + (float(r.get("width")), float(r.get("height")))
        for r in svg.iter(f"{SVG}rect")
        if r.get("class") == "node-box"
    ]
    nodes = [(x, y, x + w, y + h) for x, y, w, h in nodes]
    labels = [
        (
            float(r.get("x")),
            float(r.get("y")),
            float(r.get("x")) + float(r.get("width")),
            float(r.get("y")) + float(r.get("height")),
        )
        for g in svg.iter(f"{SVG}g")
        if "edge-label" in g.get("class", "").split()
        for r in g.iter(f"{SVG}rect")
    ]
    assert labels, "some edges carry their count"
    width, height = (float(v) for v in svg.get("viewBox").split()[2:])
    for i, a in enumerate(nodes + labels):
        assert 0 <= a[0] <= a[2] <= width and 0 <= a[1] <= a[3] <= height
        for b in (nodes + labels)[i + 1 :]:
            assert not boxes_overlap(a, b), (a, b)


def test_a_chosen_value_stream_sits_between_its_partners(client_for, world):
    busy_world(world, streams=3, trains=2)
    svg = svg_of(client_for(world.user("viewer")).get(MAP_URL, {"value_stream": world.value_stream.pk}))
    groups = {
        g.find(f".//{SVG}text").text: float(g.find(f"{SVG}rect").get("x"))
        for g in svg.iter(f"{SVG}g")
        if g.get("class") == "map-group"
    }
    chosen = groups.pop("Card Payments")
    assert min(groups.values()) < chosen < max(groups.values())


def test_a_bad_filter_is_shown_and_the_good_ones_still_apply(client_for, world):
    depend(world, world.other_art, world.art)
    depend(world, world.other_art, world.art, state="delivered")
    response = client_for(world.user("viewer")).get(MAP_URL, {"pi": "999999", "state": "delivered"})
    [edge] = edges_of(svg_of(response))
    assert count_of(edge) == 1
    assert query_of(edge.get("href"))["state"] == "delivered"
    assert "pi" not in query_of(edge.get("href"))
    assertContains(response, 'class="field-error"')
