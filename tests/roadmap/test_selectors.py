"""The derivation of the roadmaps: spans from capabilities and features, the target PI
where an epic is not split, committed and forecast, the mismatch with the target PI on
both roadmaps, windows, packing and milestones."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadmap.models import MilestoneKind
from roadmap.selectors import (
    COMMITTED,
    FORECAST,
    GAP,
    MIXED,
    SOURCE_TARGET,
    SOURCE_WORK,
    TARGET,
    RoadmapFilters,
    build_portfolio_roadmap,
    build_solution_roadmap,
    pack,
    solution_roadmap_train,
)
from tests import factories

pytestmark = pytest.mark.django_db


def roadmap(rm, **filters):
    return build_portfolio_roadmap(portfolio=rm.portfolio, today=rm.today, filters=RoadmapFilters(**filters))


def all_pis(rm, **filters):
    return roadmap(rm, pi_from_id=rm.pis[0].pk, pi_to_id=rm.pis[-1].pk, **filters)


def lane(result, value_stream):
    return next(lane for lane in result.lanes if lane.value_stream.pk == value_stream.pk)


def bar_of(result, value_stream, epic):
    bars = [bar for bar in lane(result, value_stream).bars if bar.epic.id == epic.pk]
    assert len(bars) <= 1
    return bars[0] if bars else None


def solution(rm, train=None, **window):
    train = solution_roadmap_train(user=rm.user("viewer"), train_id=(train or rm.solution_train).pk)
    return build_solution_roadmap(train=train, today=rm.today, **window)


def row_of(result, epic):
    rows = [row for row in result.rows if row.epic and row.epic.id == epic.pk]
    return rows[0] if rows else None


# --- Spans ------------------------------------------------------------------------------


def test_an_epic_spans_the_pis_its_capabilities_and_features_occupy(rm):
    epic = rm.epic(touches=[rm.value_stream])
    rm.capability(epic=epic, pi=rm.pis[1], committed=True)
    rm.feature(epic=epic, pi=rm.pis[3])

    bar = bar_of(roadmap(rm), rm.value_stream, epic)

    assert (bar.first_pi.id, bar.last_pi.id) == (rm.pis[1].pk, rm.pis[3].pk)
    assert (bar.start, bar.end) == (0, 2)
    assert [s.status for s in bar.segments] == [COMMITTED, GAP, FORECAST]
    assert (bar.status, bar.source) == (MIXED, SOURCE_WORK)
    assert (bar.capabilities, bar.features) == (1, 1)
    assert bar.roadmap_train_id == rm.solution_train.pk


def test_a_feature_counts_for_its_capabilitys_epic(rm):
    epic = rm.epic()
    capability = rm.capability(epic=epic, pi=rm.pis[2])
    rm.feature(capability=capability, pi=rm.pis[4])

    bar = bar_of(roadmap(rm), rm.value_stream, epic)

    assert (bar.first_pi.id, bar.last_pi.id) == (rm.pis[2].pk, rm.pis[4].pk)
    assert bar.features == 1


def test_work_only_counts_in_the_value_stream_that_carries_it(rm):
    epic = rm.epic(touches=[rm.value_stream, rm.other_value_stream], target=rm.pis[2])
    rm.capability(epic=epic, pi=rm.pis[1], committed=True)

    result = roadmap(rm)

    assert bar_of(result, rm.value_stream, epic).source == SOURCE_WORK
    other = bar_of(result, rm.other_value_stream, epic)
    assert (other.source, other.status, other.first_pi.id) == (SOURCE_TARGET, TARGET, rm.pis[2].pk)


def test_an_epic_not_split_yet_sits_on_its_target_pi(rm):
    epic = rm.epic(touches=[rm.other_value_stream], target=rm.pis[3])

    bar = bar_of(roadmap(rm), rm.other_value_stream, epic)

    assert (bar.source, bar.status, bar.start, bar.end) == (SOURCE_TARGET, TARGET, 2, 2)
    assert [s.status for s in bar.segments] == [TARGET]
    assert bar_of(roadmap(rm), rm.value_stream, epic) is None


def test_an_epic_with_neither_work_nor_a_target_is_counted_as_not_placed(rm):
    rm.epic(touches=[rm.value_stream])

    assert lane(roadmap(rm), rm.value_stream).bars == []
    assert lane(roadmap(rm), rm.value_stream).unplaced == 1


def test_committed_and_forecast_pis_look_different(rm):
    committed, forecast = rm.epic(), rm.epic()
    rm.capability(epic=committed, pi=rm.pis[1], committed=True)
    rm.feature(epic=committed, pi=rm.pis[1], committed=True)
    rm.capability(epic=forecast, pi=rm.pis[2])
    rm.feature(epic=forecast, pi=rm.pis[3])

    result = roadmap(rm)

    assert bar_of(result, rm.value_stream, committed).status == COMMITTED
    assert bar_of(result, rm.value_stream, forecast).status == FORECAST
    assert [s.status for s in bar_of(result, rm.value_stream, forecast).segments] == [FORECAST, FORECAST]


def test_a_pi_with_committed_and_forecast_work_counts_as_committed(rm):
    epic = rm.epic()
    rm.capability(epic=epic, pi=rm.pis[1], committed=True)
    rm.feature(epic=epic, pi=rm.pis[1])

    segment = bar_of(roadmap(rm), rm.value_stream, epic).segments[0]

    assert (segment.status, segment.committed, segment.forecast) == (COMMITTED, 1, 1)


def test_work_of_a_train_off_the_cadence_counts_in_the_portfolio_pi_it_starts_in(rm):
    rm.other_art.cadence = rm.offset_cadence
    rm.other_art.save()
    epic = rm.epic()
    rm.capability(epic=epic, train=rm.other_art, pi=rm.offset_pis[2])

    bar = bar_of(roadmap(rm), rm.other_value_stream, epic)

    assert bar.first_pi.id == rm.pis[2].pk


def test_work_on_no_pi_does_not_count(rm):
    epic = rm.epic(touches=[rm.value_stream], target=rm.pis[4])
    rm.capability(epic=epic, pi=None)
    rm.feature(epic=epic, pi=None)

    bar = bar_of(roadmap(rm), rm.value_stream, epic)

    assert (bar.source, bar.first_pi.id) == (SOURCE_TARGET, rm.pis[4].pk)


# --- The mismatch with the target PI, on both roadmaps ----------------------------------


def test_work_starting_after_the_target_pi_is_flagged_on_both_roadmaps(rm):
    late = rm.epic(touches=[rm.value_stream], target=rm.pis[1])
    rm.capability(epic=late, pi=rm.pis[3])
    on_time = rm.epic(touches=[rm.value_stream], target=rm.pis[2])
    rm.capability(epic=on_time, pi=rm.pis[2])
    rm.feature(epic=on_time, pi=rm.pis[4])

    portfolio = roadmap(rm)
    assert bar_of(portfolio, rm.value_stream, late).later_than_target
    assert not bar_of(portfolio, rm.value_stream, on_time).later_than_target
    assert lane(portfolio, rm.value_stream).later_than_target == 1

    result = solution(rm)
    assert row_of(result, late).later_than_target
    assert not row_of(result, on_time).later_than_target
    assert result.later_than_target == 1


def test_the_mismatch_compares_dates_across_cadences(rm):
    rm.other_art.cadence = rm.offset_cadence
    rm.other_art.save()
    same_pi = rm.epic(target=rm.pis[2])
    rm.capability(epic=same_pi, train=rm.other_art, pi=rm.offset_pis[2])  # starts 3 days into pis[2]
    next_pi = rm.epic(target=rm.pis[2])
    rm.capability(epic=next_pi, train=rm.other_art, pi=rm.offset_pis[3])

    result = roadmap(rm)

    assert not bar_of(result, rm.other_value_stream, same_pi).later_than_target
    assert bar_of(result, rm.other_value_stream, next_pi).later_than_target


def test_an_epic_without_a_target_is_never_late(rm):
    epic = rm.epic()
    rm.capability(epic=epic, pi=rm.pis[4])

    assert not bar_of(roadmap(rm), rm.value_stream, epic).later_than_target


# --- Contribution back: the solution roadmaps --------------------------------------------


def test_an_epic_touching_the_value_stream_appears_at_its_target_pi_on_its_solution_roadmap(rm):
    epic = rm.epic(touches=[rm.value_stream], target=rm.pis[2])

    row = row_of(solution(rm), epic)

    assert row is not None
    assert (row.split, row.touches, row.target_column) == (False, True, 1)
    assert not any(row.cells)
    assert row_of(solution(rm, rm.other_art), epic) is None  # another value stream's roadmap


def test_a_solution_roadmap_shows_its_capabilities_and_its_arts_features(rm):
    epic = rm.epic(touches=[rm.value_stream], target=rm.pis[1])
    capability = rm.capability(epic=epic, pi=rm.pis[1], committed=True)
    rm.feature(capability=capability, pi=rm.pis[1], committed=True)
    loose = rm.feature(epic=epic, pi=rm.pis[2])
    outside_epic = rm.feature(pi=rm.pis[1])

    result = solution(rm)
    row = row_of(result, epic)

    cards = [[(card.kind, card.id) for card in cell] for cell in row.cells]
    assert cards == [[("capability", capability.pk)], [("feature", loose.pk)], [], []]
    assert (row.cells[0][0].features, row.cells[0][0].committed_features) == (1, 1)
    assert row.target_column == 0
    no_epic = next(r for r in result.rows if r.epic is None)
    assert [card.id for card in no_epic.cells[0]] == [outside_epic.pk]


def test_work_on_no_pi_is_listed_apart_on_the_solution_roadmap(rm):
    unplaced = rm.capability(pi=None)

    result = solution(rm)

    assert [card.id for card in result.unplaced] == [unplaced.pk]
    assert result.unplaced_total == 1


def test_the_window_of_a_solution_roadmap_hides_rows_outside_it(rm):
    epic = rm.epic()
    rm.capability(epic=epic, pi=rm.pis[5])

    assert row_of(solution(rm), epic) is None
    assert solution(rm).hidden_rows == 1
    assert row_of(solution(rm, pi_from_id=rm.pis[2].pk, pi_to_id=rm.pis[5].pk), epic) is not None


# --- Windows, filters, packing ------------------------------------------------------------


def test_the_default_view_is_the_current_pi_and_the_next_three(rm):
    result = roadmap(rm)

    assert [c.id for c in result.columns] == [pi.pk for pi in rm.pis[1:5]]
    assert result.is_default_window
    assert result.current.id == rm.pis[1].pk
    assert 0 < result.today_left < 25


def test_a_pi_range_clips_the_bars_that_run_past_it(rm):
    epic = rm.epic()
    rm.capability(epic=epic, pi=rm.pis[0], committed=True)
    rm.feature(epic=epic, pi=rm.pis[5])

    default = bar_of(roadmap(rm), rm.value_stream, epic)
    assert (default.start, default.end, default.clipped_start, default.clipped_end) == (0, 3, True, True)
    whole = bar_of(all_pis(rm), rm.value_stream, epic)
    assert (whole.start, whole.end, whole.clipped_start, whole.clipped_end) == (0, 5, False, False)
    only_later = roadmap(rm, pi_from_id=rm.pis[2].pk, pi_to_id=rm.pis[3].pk)
    assert [c.id for c in only_later.columns] == [rm.pis[2].pk, rm.pis[3].pk]
    assert only_later.today_left is None


def test_filters_narrow_lanes_and_epics(rm):
    theme = factories.StrategicThemeFactory(portfolio=rm.portfolio, name="Open banking")
    themed = rm.epic(touches=[rm.value_stream, rm.other_value_stream], target=rm.pis[2], state="implementing")
    themed.themes.add(theme)
    other = rm.epic(touches=[rm.value_stream], target=rm.pis[2], state="analyzing")

    by_stream = roadmap(rm, value_stream_id=rm.other_value_stream.pk)
    assert [lane.value_stream.pk for lane in by_stream.lanes] == [rm.other_value_stream.pk]
    by_theme = roadmap(rm, theme_id=theme.pk)
    assert {bar.epic.id for bar in lane(by_theme, rm.value_stream).bars} == {themed.pk}
    assert bar_of(by_theme, rm.value_stream, themed).epic.themes == ("Open banking",)
    by_state = roadmap(rm, state="analyzing")
    assert {bar.epic.id for bar in lane(by_state, rm.value_stream).bars} == {other.pk}


def test_an_expanded_lane_lists_its_capabilities(rm):
    epic = rm.epic()
    first = rm.capability(epic=epic, pi=rm.pis[1], committed=True)
    second = rm.capability(pi=rm.pis[1])
    rm.capability(pi=rm.pis[5])  # outside the view

    collapsed = lane(roadmap(rm), rm.value_stream)
    expanded = lane(roadmap(rm, expand=frozenset({rm.value_stream.pk})), rm.value_stream)

    assert collapsed.capabilities == [] and not collapsed.expanded
    assert {bar.capability_id for bar in expanded.capabilities} == {first.pk, second.pk}
    assert expanded.capability_rows == 2
    assert {bar.row for bar in expanded.capabilities} == {0, 1}


def test_bars_in_a_lane_never_overlap(rm):
    for start, end in [(1, 3), (2, 2), (4, 5), (1, 1), (3, 4), (2, 5)]:
        epic = rm.epic()
        rm.capability(epic=epic, pi=rm.pis[start])
        rm.feature(epic=epic, pi=rm.pis[end])

    result = lane(all_pis(rm), rm.value_stream)

    for a in result.bars:
        for b in result.bars:
            if a is not b and a.row == b.row:
                assert a.end < b.start or b.end < a.start
    assert result.rows == 3  # at most three bars share a PI


@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 5)), max_size=40))
def test_packing_uses_as_few_rows_as_the_most_items_overlapping(intervals):
    class Item:
        def __init__(self, start, length):
            self.start, self.end, self.row = start, start + length, None

    items = [Item(start, length) for start, length in intervals]
    rows = pack(items, start=lambda i: i.start, end=lambda i: i.end)

    for a in items:
        for b in items:
            if a is not b and a.row == b.row:
                assert a.end < b.start or b.end < a.start
    deepest = max((sum(1 for i in items if i.start <= point <= i.end) for point in range(17)), default=0)
    assert rows == deepest


# --- Milestones ------------------------------------------------------------------------------


def test_milestones_mark_the_portfolio_and_the_lanes_of_their_trains(rm):
    day = rm.pis[2].start_date + datetime.timedelta(days=35)
    portfolio_milestone = factories.MilestoneFactory(portfolio=rm.portfolio, date=day, kind=MilestoneKind.FIXED_DATE)
    train_milestone = factories.MilestoneFactory(
        portfolio=rm.portfolio, train=rm.other_art, date=day, kind=MilestoneKind.LEARNING
    )
    factories.MilestoneFactory(portfolio=rm.portfolio, date=rm.pis[5].start_date)  # outside the view

    result = roadmap(rm)

    assert [m.id for m in result.milestones] == [portfolio_milestone.pk]
    assert result.milestones[0].left == pytest.approx(100 * (1 + 35 / 70) / 4)
    assert [m.id for m in lane(result, rm.other_value_stream).milestones] == [train_milestone.pk]
    assert lane(result, rm.value_stream).milestones == []


def test_milestone_labels_are_packed_into_rows_and_flipped_at_the_right_edge(rm):
    for offset in (1, 2, 3):
        factories.MilestoneFactory(portfolio=rm.portfolio, date=rm.pis[1].start_date + datetime.timedelta(days=offset))
    factories.MilestoneFactory(portfolio=rm.portfolio, date=rm.pis[4].end_date)

    result = roadmap(rm)

    assert result.milestone_rows == 3
    assert [m.flip for m in result.milestones] == [False, False, False, True]
