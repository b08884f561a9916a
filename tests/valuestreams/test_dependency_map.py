import datetime

import pytest

from tests.factories import DependencyFactory, FeatureFactory, TrainFactory, ValueStreamFactory
from valuestreams.dependency_map import build_dependency_map, slip_impact
from valuestreams.models import Dependency

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 10, 20)


def depend(world, consumer, provider, **kwargs):
    return DependencyFactory(
        portfolio=world.portfolio, consumer=consumer, provider=provider, needed_by_pi=world.pi, **kwargs
    )


def test_one_edge_per_provider_consumer_pair_with_count_and_worst_colour(world):
    iterations = {i.number: i for i in world.pi.iterations.all()}
    depend(
        world,
        world.other_art,
        world.art,
        needed_by_iteration=iterations[2],
        state="committed",
        committed_pi=world.pi,
        committed_iteration=iterations[1],
    )  # green
    depend(
        world,
        world.other_art,
        world.art,
        needed_by_iteration=iterations[2],
        state="committed",
        committed_pi=world.pi,
        committed_iteration=iterations[3],
    )  # red
    depend(world, world.other_art, world.art)  # grey
    result = build_dependency_map(
        Dependency.objects.filter(portfolio=world.portfolio), portfolio=world.portfolio, today=TODAY
    )
    [edge] = result.edges
    assert (edge.provider, edge.consumer, edge.count, edge.colour) == (world.art.pk, world.other_art.pk, 3, "red")
    assert edge.cross_value_stream
    assert edge.colours == {"green": 1, "red": 1, "grey": 1}


def test_loops_are_reported_as_strongly_connected_components_with_an_example(world):
    third = TrainFactory(value_stream=world.other_value_stream, name="Collections ART", key="COL")
    depend(world, world.other_art, world.art)
    depend(world, third, world.other_art)
    depend(world, world.art, third)
    result = build_dependency_map(
        Dependency.objects.filter(portfolio=world.portfolio), portfolio=world.portfolio, today=TODAY
    )
    [cycle] = result.cycles
    assert sorted(cycle.members) == sorted(["Card Issuing ART", "Loan Origination ART", "Collections ART"])
    assert cycle.example[0] == cycle.example[-1] and len(cycle.example) == 4
    assert all(e.in_cycle for e in result.edges)
    assert not next(n for n in result.nodes if n.id == world.solution_train.pk).in_cycle


def test_value_stream_view_aggregates_edges_between_value_streams(world):
    third = TrainFactory(value_stream=world.other_value_stream, name="Collections ART", key="COL")
    depend(world, world.other_art, world.art)
    depend(world, third, world.art)
    depend(world, third, world.other_art)  # inside one value stream: not drawn
    result = build_dependency_map(
        Dependency.objects.filter(portfolio=world.portfolio),
        portfolio=world.portfolio,
        today=TODAY,
        mode="value_streams",
    )
    [edge] = result.edges
    assert (edge.provider, edge.consumer, edge.count) == (world.value_stream.pk, world.other_value_stream.pk, 2)
    assert result.dependency_count == 3


def test_nodes_do_not_overlap(world):
    for i in range(6):
        vs = ValueStreamFactory(portfolio=world.portfolio)
        for j in range(5):
            train = TrainFactory(value_stream=vs)
            depend(world, train, world.art if (i + j) % 2 else world.other_art)
    result = build_dependency_map(
        Dependency.objects.filter(portfolio=world.portfolio), portfolio=world.portfolio, today=TODAY
    )
    boxes = [(n.x, n.y, n.x + n.w, n.y + n.h) for n in result.nodes]
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            ax1, ay1, ax2, ay2 = boxes[a]
            bx1, by1, bx2, by2 = boxes[b]
            assert ax2 <= bx1 or bx2 <= ax1 or ay2 <= by1 or by2 <= ay1, (result.nodes[a], result.nodes[b])
    assert all(n.x >= 0 and n.x + n.w <= result.width and n.y + n.h <= result.height for n in result.nodes)


def test_hubs_are_trains_with_many_partners(world):
    vs = ValueStreamFactory(portfolio=world.portfolio)
    for _ in range(8):
        depend(world, TrainFactory(value_stream=vs), world.art)
    result = build_dependency_map(
        Dependency.objects.filter(portfolio=world.portfolio), portfolio=world.portfolio, today=TODAY
    )
    assert [n.id for n in result.hubs] == [world.art.pk]


def test_slip_impact_follows_features_transitively_one_query_per_step(world, django_assert_num_queries):
    third = TrainFactory(value_stream=world.other_value_stream, name="Collections ART", key="COL")
    needing = FeatureFactory(train=world.other_art, epic=None)
    onward = FeatureFactory(train=third)
    slipping = depend(world, world.other_art, world.art, consumer_feature=needing)
    second = depend(world, third, world.other_art, provider_feature=needing, consumer_feature=onward)
    third_step = depend(world, world.art, third, provider_feature=onward)
    depend(world, world.art, third)  # unrelated
    with django_assert_num_queries(3):  # two steps over the graph, then the features
        impact = slip_impact(slipping)
    assert {d.pk for d in impact.dependencies} == {second.pk, third_step.pk}
    assert {f.pk for f in impact.features} == {needing.pk, onward.pk}
    assert impact.counts["dependencies"] == 2
