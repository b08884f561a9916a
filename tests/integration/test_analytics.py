"""Idle work, portfolio velocity and the economics of a value stream's integration cadence
(the selectors and the economics write), on ``world`` and on the demo portfolios."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from integration import analytics
from integration.models import Depth, IntegrationEconomics, IntegrationResult, Outcome, ResultVerdict
from portfolio.core.concurrency import StaleVersion
from tests import factories
from tests.conftest import DEMO_TODAY
from valuestreams.models import ValueStream, WorkState

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 23)  # inside world.pi (PI 26.4, 5 Oct – 13 Dec 2026)
IDLE_QUERIES = 7
VELOCITY_QUERIES = 5
ECONOMICS_QUERIES = 9


def days_ago(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


def done(train, n_days_ago: int, **kwargs):
    return factories.FeatureFactory(train=train, state=WorkState.DONE, done_on=days_ago(n_days_ago), **kwargs)


def point(
    world, n_days_ago: int, *, outcome=Outcome.PASSED, depth=Depth.PARTIAL, features=(), trains=(), streams=(), pi=None
):
    created = factories.IntegrationPointFactory(
        portfolio=world.portfolio,
        program_increment=pi or world.pi,
        date=days_ago(n_days_ago),
        outcome=outcome,
        depth=depth,
    )
    created.features.set(features)
    created.trains.set(trains)
    created.value_streams.set(streams)
    return created


def idle_keys(world, **kwargs) -> set[str]:
    work = analytics.idle_work(world.portfolio, TODAY, **kwargs)
    return {feature.key for stream in work.value_streams for train in stream.trains for feature in train.features}


# --- What covers a done feature ------------------------------------------------------


def test_a_done_feature_no_point_covers_is_idle_for_the_days_since_it_was_done(world):
    feature = done(world.art, 30)
    work = analytics.idle_work(world.portfolio, TODAY)
    (stream,) = work.with_idle_work
    assert stream.value_stream == world.value_stream
    (train,) = stream.trains
    assert train.train == world.art
    assert [(f.key, f.idle_days, f.done_on) for f in train.features] == [(feature.key, 30, days_ago(30))]


def test_a_passed_point_requiring_the_feature_after_it_was_done_covers_it(world):
    covered, other = done(world.art, 30), done(world.art, 30)
    point(world, 20, features=[covered])
    assert idle_keys(world) == {other.key}


def test_a_point_before_the_feature_was_done_does_not_cover_it(world):
    feature = done(world.art, 30)
    point(world, 40, features=[feature], trains=[world.art])
    assert idle_keys(world) == {feature.key}


def test_a_point_on_the_day_the_feature_was_done_covers_it(world):
    feature = done(world.art, 30)
    point(world, 30, features=[feature])
    assert idle_keys(world) == set()


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.MISSED, Outcome.PENDING, Outcome.READY, Outcome.AT_RISK])
def test_a_point_that_did_not_pass_does_not_cover(world, outcome):
    feature = done(world.art, 30)
    point(world, 20, outcome=outcome, features=[feature], trains=[world.art])
    assert idle_keys(world) == {feature.key}


def test_a_pass_recorded_since_the_last_check_covers(world):
    feature = done(world.art, 30)
    missed = point(world, 20, outcome=Outcome.MISSED, features=[feature])
    IntegrationResult.objects.create(integration_point=missed, verdict=ResultVerdict.PASS)
    assert idle_keys(world) == set()


def test_a_fail_recorded_after_a_pass_result_uncovers_unless_the_outcome_says_passed(world):
    feature = done(world.art, 30)
    checked = point(world, 20, outcome=Outcome.AT_RISK, features=[feature])
    IntegrationResult.objects.create(integration_point=checked, verdict=ResultVerdict.PASS)
    IntegrationResult.objects.create(integration_point=checked, verdict=ResultVerdict.FAIL)
    assert idle_keys(world) == {feature.key}
    checked.outcome = Outcome.PASSED
    checked.save()
    assert idle_keys(world) == set()


def test_a_point_with_the_feature_s_train_taking_part_covers_it(world):
    done(world.art, 30)
    other = done(world.other_art, 30)
    point(world, 20, trains=[world.art])
    assert idle_keys(world) == {other.key}


def test_a_point_with_the_solution_train_covers_the_features_of_its_arts(world):
    feature = done(world.art, 30)
    point(world, 20, trains=[world.solution_train])
    assert idle_keys(world) == set()
    assert feature.train.solution_train == world.solution_train


def test_a_full_point_of_the_value_stream_covers_all_its_trains_a_partial_one_does_not(world):
    feature = done(world.art, 30)
    point(world, 20, depth=Depth.PARTIAL, streams=[world.value_stream])
    assert idle_keys(world) == {feature.key}
    point(world, 10, depth=Depth.FULL, streams=[world.value_stream])
    assert idle_keys(world) == set()


def test_a_point_dated_after_today_covers_nothing_yet(world):
    feature = done(world.art, 30)
    point(world, -3, features=[feature])
    assert idle_keys(world) == {feature.key}


def test_another_portfolios_points_cover_nothing(world):
    feature = done(world.art, 30)
    elsewhere = factories.IntegrationPointFactory(outcome=Outcome.PASSED, date=days_ago(5))
    elsewhere.features.set([feature])
    elsewhere.trains.set([world.art])
    assert idle_keys(world) == {feature.key}


def test_features_not_done_are_never_idle(world):
    factories.FeatureFactory(train=world.art, state=WorkState.IMPLEMENTING)
    assert idle_keys(world) == set()


# --- The threshold -----------------------------------------------------------------


def test_done_work_is_idle_only_after_more_than_n_days(world, settings):
    settings.INTEGRATION_IDLE_DAYS = 14
    at_threshold, past_it = done(world.art, 14), done(world.art, 15)
    assert idle_keys(world) == {past_it.key}
    settings.INTEGRATION_IDLE_DAYS = 10
    assert idle_keys(world) == {at_threshold.key, past_it.key}
    assert analytics.idle_work(world.portfolio, TODAY).threshold_days == 10


def test_the_threshold_defaults_to_fourteen_days(world, settings):
    del settings.INTEGRATION_IDLE_DAYS
    assert analytics.idle_days_threshold() == 14


def test_a_threshold_given_overrides_the_setting(world):
    feature = done(world.art, 5)
    assert idle_keys(world, threshold_days=3) == {feature.key}


# --- Sums -------------------------------------------------------------------------


def test_feature_days_are_summed_per_train_and_per_value_stream(world):
    second_art = factories.TrainFactory(value_stream=world.value_stream, name="Card Acquiring ART")
    done(world.art, 20), done(world.art, 30), done(second_art, 40), done(world.other_art, 100)
    work = analytics.idle_work(world.portfolio, TODAY)
    by_stream = {stream.value_stream.key: stream for stream in work.value_streams}
    card = by_stream["CARD"]
    assert card.feature_count == 3 and card.feature_days == 90
    assert {train.train.name: train.feature_days for train in card.trains} == {
        "Card Issuing ART": 50,
        "Card Acquiring ART": 40,
    }
    assert [train.train.name for train in card.trains] == ["Card Issuing ART", "Card Acquiring ART"]
    assert card.trains[0].features[0].idle_days == 30  # longest idle first
    assert by_stream["LEND"].feature_days == 100
    # Most feature-days first; every value stream listed, idle or not.
    assert [stream.value_stream.key for stream in work.value_streams] == ["LEND", "CARD"]
    assert work.feature_count == 4 and work.feature_days == 190 and work.train_count == 3
    assert work.max_idle_days == 100


def test_a_value_stream_without_idle_work_is_listed_clear(world):
    work = analytics.idle_work(world.portfolio, TODAY)
    assert {stream.value_stream.key for stream in work.value_streams} == {"CARD", "LEND"}
    assert work.with_idle_work == () and work.feature_days == 0


def test_idle_work_costs_the_same_queries_however_much_work(world, django_assert_num_queries):
    with django_assert_num_queries(IDLE_QUERIES):
        analytics.idle_work(world.portfolio, TODAY)
    for n in range(30):
        feature = done(world.art if n % 2 else world.other_art, 20 + n)
        if n % 3 == 0:
            point(world, 10 + n % 7, features=[feature], trains=[world.other_art])
    with django_assert_num_queries(IDLE_QUERIES):
        work = analytics.idle_work(world.portfolio, TODAY)
    assert work.feature_count > 0


def test_idle_work_on_the_demo_portfolios(demo, django_assert_num_queries):
    with django_assert_num_queries(IDLE_QUERIES):
        work = analytics.idle_work(demo.portfolio, DEMO_TODAY)
    assert work.feature_count > 0
    assert work.feature_days == sum(stream.feature_days for stream in work.value_streams)


# --- Velocity ----------------------------------------------------------------------


@pytest.fixture
def earlier_pi(world):
    return factories.ProgramIncrementFactory(
        cadence=world.portfolio.cadence,
        number=2,
        name="PI 26.3",
        start_date=datetime.date(2026, 7, 27),
        end_date=datetime.date(2026, 10, 4),
        planning_date=datetime.date(2026, 7, 27),
        intake_cutoff=datetime.date(2026, 7, 13),
    )


def test_velocity_counts_points_passed_per_pi_per_value_stream(world, earlier_pi):
    next_pi = factories.ProgramIncrementFactory(
        cadence=world.portfolio.cadence,
        number=3,
        name="PI 27.1",
        start_date=datetime.date(2026, 12, 14),
        end_date=datetime.date(2027, 2, 21),
        planning_date=datetime.date(2026, 12, 14),
        intake_cutoff=datetime.date(2026, 11, 30),
    )
    point(world, 70, streams=[world.value_stream], pi=earlier_pi)  # 14 Sep
    point(world, 60, outcome=Outcome.FAILED, trains=[world.art, world.other_art], pi=earlier_pi)
    point(world, 20, trains=[world.other_art])  # 3 Nov, the current PI
    point(world, -10, outcome=Outcome.PENDING, streams=[world.value_stream])  # still to come this PI
    point(world, -40, streams=[world.value_stream], pi=next_pi)  # a PI not started: not shown

    velocity = analytics.portfolio_velocity(world.portfolio, TODAY)
    assert [pi.name for pi in velocity.pis] == ["PI 26.3", "PI 26.4"]
    assert [pi.is_current for pi in velocity.pis] == [False, True]
    assert velocity.portfolio.passed == (1, 1) and velocity.portfolio.scheduled == (2, 2)
    rows = {row.key: row for row in velocity.value_streams}
    assert rows["CARD"].passed == (1, 0) and rows["CARD"].scheduled == (2, 1)
    assert rows["LEND"].passed == (0, 1) and rows["LEND"].scheduled == (1, 1)
    assert rows["CARD"].total_passed == 1 and velocity.portfolio.total_scheduled == 4
    assert "2 of 4 integration points passed" in velocity.summary


def test_a_result_pass_counts_toward_velocity(world):
    waiting = point(world, 10, outcome=Outcome.MISSED, streams=[world.value_stream])
    IntegrationResult.objects.create(integration_point=waiting, verdict=ResultVerdict.PASS)
    velocity = analytics.portfolio_velocity(world.portfolio, TODAY)
    assert velocity.portfolio.passed == (1,)


def test_velocity_without_points_shows_nothing(world):
    velocity = analytics.portfolio_velocity(world.portfolio, TODAY)
    assert not velocity.has_points
    assert velocity.chart.rows[0].total


def test_velocity_on_the_demo_portfolios(demo, django_assert_num_queries):
    with django_assert_num_queries(VELOCITY_QUERIES):
        velocity = analytics.portfolio_velocity(demo.portfolio, DEMO_TODAY)
    assert velocity.pis[-1].is_current
    assert velocity.portfolio.total_passed > 0
    assert len(velocity.chart.rows) == 1 + len(velocity.value_streams)


# --- Economics ---------------------------------------------------------------------


def loaded(value_stream) -> ValueStream:
    return analytics.value_stream_for_economics(
        value_streams=ValueStream.objects.all(), value_stream_id=value_stream.pk
    )


def test_history_counts_idle_feature_days_in_the_last_pi_and_the_spacing_of_passed_points(world):
    # Done 100 days ago, covered 20 days ago: idle for 50 of the window's 70 days.
    covered = done(world.art, 100)
    # Done 30 days ago, never covered: idle 30 days.
    done(world.art, 30)
    # Two passed points of the value stream, 30 days apart; a partial one naming the value
    # stream covers none of its features.
    point(world, 50, streams=[world.value_stream])
    point(world, 20, features=[covered], trains=[world.other_art], streams=[world.value_stream])
    history = analytics.economics_history(loaded(world.value_stream), today=TODAY, cadence=world.portfolio.cadence)
    assert history.window_days == 70
    assert history.idle_feature_days == 50 + 30
    assert history.mean_idle_features == pytest.approx(80 / 70)
    assert history.features_done == 1
    assert history.mean_trains_per_point == pytest.approx(0.5)
    assert history.actual_interval == 30
    assert history.points_counted == 2
    assert history.trains == 2  # the solution train and its ART


def test_the_estimate_follows_the_documented_heuristics():
    history = analytics.EconomicsHistory(
        window_start=TODAY,
        window_days=70,
        idle_feature_days=700,
        features_done=20,
        mean_trains_per_point=3,
        trains=4,
        actual_interval=20,
        points_counted=4,
    )
    estimate = analytics.estimate_costs(history, cadence_interval=14)
    assert estimate.transaction_cost == analytics.TRANSACTION_COST_PER_TRAIN * 3
    # h = 2 × c × (700 / 70 features idle) / 20 days
    assert estimate.holding_cost_per_day == pytest.approx(2 * analytics.IDLE_FEATURE_DAY_COST * 10 / 20)
    assert estimate.unit == "person-days"


def test_without_history_there_is_no_curve_until_costs_are_saved(world):
    page = analytics.integration_economics(loaded(world.other_value_stream), today=TODAY)
    assert page.source == "" and page.curve is None and page.chart is None
    assert page.cadence_interval == 14


def test_saved_costs_draw_the_curve_with_t_star_and_the_cadence(world):
    IntegrationEconomics.objects.create(
        value_stream=world.value_stream, transaction_cost=Decimal("49"), holding_cost_per_day=Decimal("0.5")
    )
    page = analytics.integration_economics(loaded(world.value_stream), today=TODAY)
    assert page.source == "saved"
    assert page.optimum.interval == pytest.approx(14)
    assert page.at_cadence.interval == 14 and page.at_cadence.total == pytest.approx(7)
    assert page.saving_per_day == pytest.approx(0)
    assert page.curve.points[-1].interval == 70  # T* and the cadence at 14 days: one PI shows them
    assert {marker.kind for marker in page.chart.markers} == {"optimum", "cadence"}
    assert "T* = 14.0 days" in page.summary


def test_economics_costs_the_same_queries_on_the_demo_portfolios(demo, django_assert_num_queries):
    stream = ValueStream.objects.filter(portfolio=demo.portfolio).order_by("name").first()
    stream = loaded(stream)
    with django_assert_num_queries(ECONOMICS_QUERIES - 1):
        page = analytics.integration_economics(stream, today=DEMO_TODAY)
    assert page.source == "estimate" and page.curve is not None


# --- Saving the costs ----------------------------------------------------------------


def save(world, user, *, version, transaction_cost="10", holding="0.5"):
    return analytics.economics_save(
        actor=user,
        value_stream=world.value_stream,
        transaction_cost=Decimal(transaction_cost),
        holding_cost_per_day=Decimal(holding),
        unit="person-days",
        expected_version=version,
    )


def test_apmo_saves_then_changes_the_costs_each_time_at_a_new_version(world):
    first = save(world, world.user("apmo"), version=0)
    assert first.version == 1 and first.updated_by == world.user("apmo")
    second = save(world, world.user("apmo"), version=1, transaction_cost="12")
    assert second.version == 2 and second.transaction_cost == Decimal("12")
    assert IntegrationEconomics.objects.filter(value_stream__portfolio=world.portfolio).count() == 1


def test_a_save_against_an_older_version_is_refused_with_the_current_figures(world):
    save(world, world.user("apmo"), version=0)
    save(world, world.user("apmo"), version=1, transaction_cost="12")
    with pytest.raises(StaleVersion) as stale:
        save(world, world.user("apmo"), version=1, transaction_cost="99")
    assert stale.value.current.transaction_cost == Decimal("12")
    with pytest.raises(StaleVersion):
        save(world, world.user("apmo"), version=0)  # a first save, but someone saved meanwhile


@pytest.mark.parametrize("role", ["viewer", "portfolio_manager", "enterprise_architect", "rte", "ste"])
def test_only_apmo_saves_the_costs(world, role):
    with pytest.raises(PermissionDenied):
        save(world, world.user(role), version=0)
    assert not IntegrationEconomics.objects.filter(value_stream__portfolio=world.portfolio).exists()
