"""Reads of the cadence: the calendar's window, its tracks, boundary offsets, and the
synchronisation check (valuestreams.selectors.sync_warnings)."""

import datetime

import pytest

from cadence import selectors
from cadence.models import ProgramIncrement
from tests.cadence.conftest import OFFSET_DAYS, make_cadence
from tests.factories import DependencyFactory, TrainFactory, ValueStreamFactory
from valuestreams.models import DependencyState
from valuestreams.selectors import cadence_followers, sync_warnings

pytestmark = pytest.mark.django_db

D = datetime.date
DAY = datetime.timedelta(days=1)


def pi(start: datetime.date, end: datetime.date, number: int = 1) -> ProgramIncrement:
    return ProgramIncrement(number=number, name=f"PI {number}", start_date=start, end_date=end)


# --- Boundary offsets (no database) -----------------------------------------------------------


def test_boundary_offsets_compare_starts_and_ends_with_the_nearest_reference_boundary():
    reference = [pi(D(2027, 1, 4), D(2027, 3, 14)), pi(D(2027, 3, 15), D(2027, 5, 23), 2)]
    shifted = [pi(D(2027, 1, 7), D(2027, 3, 17)), pi(D(2027, 3, 18), D(2027, 5, 26), 2)]
    offsets = selectors.boundary_offsets(reference, shifted)
    assert [(o.boundary, o.days) for o in offsets] == [("start", 3), ("end", 3), ("start", 3)]
    # The last end (27 May) lies past the reference's last boundary (24 May): not compared.
    assert offsets[1].reference_date == D(2027, 3, 14)


def test_boundary_offsets_are_zero_for_the_same_boundaries_and_negative_when_earlier():
    reference = [pi(D(2027, 1, 4), D(2027, 3, 14))]
    assert {o.days for o in selectors.boundary_offsets(reference, reference)} == {0}
    earlier = [pi(D(2027, 1, 2), D(2027, 3, 12))]
    assert [
        o.days for o in selectors.boundary_offsets(reference, earlier, between=(D(2027, 1, 1), D(2027, 3, 15)))
    ] == [
        -2,
        -2,
    ]


def test_a_shorter_pi_is_compared_at_each_of_its_own_boundaries():
    reference = [pi(D(2027, 1, 4), D(2027, 3, 14)), pi(D(2027, 3, 15), D(2027, 5, 23), 2)]
    short = [pi(D(2027, 1, 4), D(2027, 2, 28)), pi(D(2027, 3, 1), D(2027, 5, 9), 2)]
    assert [o.days for o in selectors.boundary_offsets(reference, short)] == [0, -14, -14, -14]


# --- The calendar's window ---------------------------------------------------------------------


def test_the_default_window_runs_from_the_pi_before_todays_to_three_after(calendar):
    window = selectors.calendar_window(cadence_id=calendar.cadence.pk, today=calendar.today)
    names = [p.name for p in window.program_increments]
    pis = calendar.pis
    assert window.current == calendar.current == pis[2]
    assert window.program_increments == pis[1:6]
    assert (window.earlier, window.later) == (pis[0].number, None)
    assert window.is_default
    assert len(names) == 5


def test_the_window_moves_to_a_chosen_first_pi_and_stays_within_the_cadence(calendar):
    pis = calendar.pis
    window = selectors.calendar_window(cadence_id=calendar.cadence.pk, today=calendar.today, first_number=1)
    assert window.program_increments == pis[0:5]
    assert (window.earlier, window.later, window.is_default) == (None, pis[1].number, False)
    beyond = selectors.calendar_window(cadence_id=calendar.cadence.pk, today=calendar.today, first_number=99)
    assert beyond.is_default


def test_no_window_without_pis():
    cadence = make_cadence("Empty", D(2027, 1, 4), pis=0)
    assert selectors.calendar_window(cadence_id=cadence.pk, today=D(2027, 2, 1)) is None


def test_tracks_place_pis_iterations_and_events_on_the_window_axis(calendar):
    window = selectors.calendar_window(cadence_id=calendar.cadence.pk, today=calendar.today)
    tracks = selectors.cadence_tracks(
        cadence_ids=[calendar.cadence.pk, calendar.offset.pk], window=window, today=calendar.today
    )
    own = tracks[calendar.cadence.pk]
    assert [bar.program_increment for bar in own.pis] == window.program_increments
    assert own.pis[0].placement.left == 0
    assert sum(bar.placement.width for bar in own.pis) == pytest.approx(100, abs=0.01)
    assert [bar.is_current for bar in own.pis] == [False, True, False, False, False]
    assert all(len(bar.iterations) == 5 for bar in own.pis)
    # The offset cadence's PIs are clipped at the window's edges.
    offset = tracks[calendar.offset.pk]
    assert offset.pis[0].placement.clipped_start
    assert offset.pis[-1].placement.clipped_end


def test_tracks_cost_three_queries_whatever_the_cadences(calendar, django_assert_num_queries):
    window = selectors.calendar_window(cadence_id=calendar.cadence.pk, today=calendar.today)
    with django_assert_num_queries(3):
        selectors.cadence_tracks(
            cadence_ids=[calendar.cadence.pk, calendar.offset.pk], window=window, today=calendar.today
        )


def test_month_ticks_mark_the_first_of_each_month_in_the_window(calendar):
    window = selectors.calendar_window(cadence_id=calendar.cadence.pk, today=calendar.today)
    ticks = selectors.month_ticks(window)
    assert all(tick.day.day == 1 and window.contains(tick.day) for tick in ticks)
    assert 11 <= len(ticks) <= 12


# --- Who uses which cadence -----------------------------------------------------------------


def test_cadence_usage_follows_portfolios_value_streams_and_trains(calendar):
    world = calendar.world
    stream_cadence = make_cadence("Stream", D(2027, 1, 4), pis=0)
    world.other_value_stream.cadence = stream_cadence
    world.other_value_stream.save()
    usage = selectors.cadence_usage([world.portfolio.pk])
    assert usage == {
        calendar.cadence.pk: {world.portfolio.pk},
        calendar.offset.pk: {world.portfolio.pk},
        stream_cadence.pk: {world.portfolio.pk},
    }
    assert set(selectors.cadences_used_by([world.portfolio.pk])) == {calendar.cadence, calendar.offset, stream_cadence}
    assert selectors.cadence_usage([]) == {}


# --- The synchronisation check ----------------------------------------------------------------


def test_a_train_on_an_offset_cadence_is_listed_with_the_days_it_is_off(calendar):
    world = calendar.world
    [warning] = sync_warnings(world.portfolio, calendar.today)
    assert warning.train == world.other_art
    assert warning.value_stream == world.other_value_stream
    assert warning.cadence == calendar.offset
    assert (warning.offset_days, warning.days) == (OFFSET_DAYS, OFFSET_DAYS)
    assert warning.offset_label == "3 days later"
    assert {o.days for o in warning.offsets} == {OFFSET_DAYS}
    assert warning.furthest.boundary == "start"


def test_aligned_trains_are_not_listed(calendar):
    world = calendar.world
    # A train on a copy of the portfolio cadence with the same dates is in sync.
    twin = make_cadence("Twin", calendar.pis[0].start_date)
    TrainFactory(value_stream=world.value_stream, name="Twin ART", key="TWN", cadence=twin)
    listed = {w.train for w in sync_warnings(world.portfolio, calendar.today)}
    assert listed == {world.other_art}
    assert world.art not in listed and world.solution_train not in listed


def test_trains_inherit_their_value_streams_cadence(calendar):
    world = calendar.world
    world.other_art.cadence = None
    world.other_art.save()
    world.value_stream.cadence = calendar.offset
    world.value_stream.save()
    listed = {w.train: w.offset_days for w in sync_warnings(world.portfolio, calendar.today)}
    assert listed == {world.solution_train: OFFSET_DAYS, world.art: OFFSET_DAYS}


def test_a_warning_names_the_value_streams_the_train_has_open_dependencies_with(calendar):
    world = calendar.world
    cards = world.value_stream
    other_stream = ValueStreamFactory(portfolio=world.portfolio, name="Wealth", key="WLT")
    wealth_art = TrainFactory(value_stream=other_stream, name="Wealth ART", key="WA")
    pi = calendar.current
    DependencyFactory(consumer=world.other_art, provider=world.art, needed_by_pi=pi, portfolio=world.portfolio)
    DependencyFactory(
        consumer=world.other_art, provider=world.solution_train, needed_by_pi=pi, portfolio=world.portfolio
    )
    DependencyFactory(consumer=wealth_art, provider=world.other_art, needed_by_pi=pi, portfolio=world.portfolio)
    DependencyFactory(
        consumer=wealth_art,
        provider=world.other_art,
        needed_by_pi=pi,
        portfolio=world.portfolio,
        state=DependencyState.CANCELLED,
    )
    [warning] = sync_warnings(world.portfolio, calendar.today)
    assert [(link.value_stream, link.needs, link.provides) for link in warning.linked_value_streams] == [
        (cards, 2, 0),
        (other_stream, 0, 1),
    ]


def test_a_train_whose_cadence_has_no_pi_in_the_window_is_listed_without_a_number(calendar):
    world = calendar.world
    empty = make_cadence("Not yet", calendar.today + 400 * DAY, pis=1)
    world.other_art.cadence = empty
    world.other_art.save()
    [warning] = sync_warnings(world.portfolio, calendar.today)
    assert warning.offset_days is None
    assert warning.offset_label == "no PI in the window compared"


def test_no_warnings_without_a_portfolio_cadence(calendar):
    world = calendar.world
    world.portfolio.cadence = None
    world.portfolio.save()
    assert sync_warnings(world.portfolio, calendar.today) == []


def test_sync_warnings_cost_a_fixed_number_of_queries(calendar, django_assert_max_num_queries):
    for n in range(5):
        TrainFactory(value_stream=calendar.world.other_value_stream, name=f"Extra {n}", cadence=calendar.offset)
    # followers (2), window, PIs of the other cadences, dependencies
    with django_assert_max_num_queries(5):
        warnings = sync_warnings(calendar.world.portfolio, calendar.today)
    assert len(warnings) == 6


def test_cadence_followers_give_each_value_stream_and_train_its_cadence(calendar):
    world = calendar.world
    rows = {row.value_stream: row for row in cadence_followers(world.portfolio)}
    cards, lending = rows[world.value_stream], rows[world.other_value_stream]
    assert (cards.cadence_id, cards.declares_own) == (calendar.cadence.pk, False)
    assert {t.train: t.cadence_id for t in cards.trains} == {
        world.solution_train: calendar.cadence.pk,
        world.art: calendar.cadence.pk,
    }
    assert [t.train for t in lending.trains_on_own_cadence] == [world.other_art]
