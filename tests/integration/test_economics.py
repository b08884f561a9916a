"""The U-curve of integration cadence economics: pure arithmetic and the chart's geometry."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration import economics
from integration.analytics_charts import label_width, nice_ceiling, ticks, u_curve_chart, velocity_chart

costs = st.floats(min_value=0.05, max_value=500, allow_nan=False, allow_infinity=False)


def test_cost_per_day_is_transaction_cost_over_t_plus_holding_cost_times_t_over_two():
    assert economics.cost_per_day(10, transaction_cost=20, holding_cost_per_day=0.5) == pytest.approx(2 + 2.5)


def test_optimal_interval_is_the_square_root_of_twice_the_transaction_cost_over_the_holding_cost():
    assert economics.optimal_interval(transaction_cost=8, holding_cost_per_day=1) == pytest.approx(4)
    assert economics.optimal_interval(transaction_cost=49, holding_cost_per_day=0.5) == pytest.approx(14)


def test_at_the_optimum_the_two_parts_are_equal_and_the_total_is_root_of_2ah():
    curve = economics.u_curve([1, 2, 3], transaction_cost=49, holding_cost_per_day=0.5)
    assert curve.optimum.interval == pytest.approx(14)
    assert curve.optimum.transaction == pytest.approx(curve.optimum.holding)
    assert curve.optimum.total == pytest.approx(math.sqrt(2 * 49 * 0.5))
    assert economics.minimum_cost_per_day(transaction_cost=49, holding_cost_per_day=0.5) == pytest.approx(7)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_costs_must_be_positive_numbers(bad):
    with pytest.raises(ValueError, match="positive"):
        economics.optimal_interval(transaction_cost=bad, holding_cost_per_day=1)
    with pytest.raises(ValueError, match="positive"):
        economics.optimal_interval(transaction_cost=1, holding_cost_per_day=bad)


def test_an_interval_must_be_positive():
    with pytest.raises(ValueError):
        economics.cost_per_day(0, transaction_cost=1, holding_cost_per_day=1)


@given(transaction_cost=costs, holding_cost_per_day=costs)
def test_the_curves_minimum_over_a_fine_grid_is_at_t_star(transaction_cost, holding_cost_per_day):
    optimum = economics.optimal_interval(transaction_cost=transaction_cost, holding_cost_per_day=holding_cost_per_day)
    step = optimum / 500
    grid = [step * i for i in range(1, 2001)]  # from T*/500 to 4 T*
    curve = economics.u_curve(grid, transaction_cost=transaction_cost, holding_cost_per_day=holding_cost_per_day)
    lowest = min(curve.points, key=lambda point: point.total)
    assert abs(lowest.interval - optimum) <= step
    # Nothing on the grid beats the exact optimum.
    assert lowest.total >= curve.optimum.total * (1 - 1e-12)


@given(transaction_cost=costs, holding_cost_per_day=costs, factor=st.floats(min_value=1.01, max_value=50))
def test_the_curve_rises_on_both_sides_of_t_star(transaction_cost, holding_cost_per_day, factor):
    optimum = economics.optimal_interval(transaction_cost=transaction_cost, holding_cost_per_day=holding_cost_per_day)
    cost = {"transaction_cost": transaction_cost, "holding_cost_per_day": holding_cost_per_day}
    at_optimum = economics.cost_per_day(optimum, **cost)
    assert economics.cost_per_day(optimum * factor, **cost) > at_optimum
    assert economics.cost_per_day(optimum / factor, **cost) > at_optimum


def test_candidate_intervals_show_the_bottom_of_the_u_within_one_to_two_pis():
    # 2.5 × the largest interval shown, at least a PI ...
    assert economics.candidate_intervals(pi_length=70, include=(10, 14, None))[-1] == 70
    assert economics.candidate_intervals(pi_length=70, include=(4.3, 14, 40))[-1] == 100
    # ... at most two PIs ...
    intervals = economics.candidate_intervals(pi_length=70, include=(84,))
    assert intervals[0] == 1 and intervals[-1] == 140
    # ... unless an interval to show lies beyond.
    assert economics.candidate_intervals(pi_length=70, include=(200,))[-1] >= 250


# --- The charts' geometry -------------------------------------------------------------


def test_nice_ceilings_and_ticks():
    assert [nice_ceiling(v) for v in (0.7, 3, 4.2, 7, 12, 0)] == [1, 5, 5, 10, 20, 1]
    assert ticks(10) == [0, 2, 4, 6, 8, 10]


def test_the_u_curve_chart_marks_t_star_on_the_curve_and_keeps_labels_apart():
    curve = economics.u_curve(
        economics.candidate_intervals(pi_length=70, include=(70,)), transaction_cost=6, holding_cost_per_day=0.2
    )
    markers = [
        ("optimum", curve.optimum.interval, curve.optimum.total, "T* = 7.7 days", "1.55 person-days/day"),
        ("cadence", 14, curve.at(14).total, "Cadence: 14 days", "1.83 person-days/day"),
        ("actual", 70, curve.at(70).total, "Actual: 70 days", "7.09 person-days/day"),
    ]
    chart = u_curve_chart(
        intervals=[p.interval for p in curve.points],
        totals=[p.total for p in curve.points],
        transactions=[p.transaction for p in curve.points],
        holdings=[p.holding for p in curve.points],
        markers=markers,
        unit="person-days",
    )
    by_kind = {marker.kind: marker for marker in chart.markers}
    assert chart.left < by_kind["optimum"].x < by_kind["cadence"].x < by_kind["actual"].x < chart.right
    assert all(chart.top <= marker.dot_y <= chart.bottom for marker in chart.markers)
    # No two labels in one row overlap.
    extents = []
    for marker in chart.markers:
        width = label_width(f"{marker.label} · {marker.detail}")
        start = marker.label_x if marker.anchor == "start" else marker.label_x - width
        extents.append((marker.label_y, start, start + width))
    for i, (row, start, end) in enumerate(extents):
        for other_row, other_start, other_end in extents[i + 1 :]:
            assert row != other_row or end <= other_start or other_end <= start
    assert chart.total_path.startswith("M")


def test_the_velocity_chart_shares_one_scale_across_value_streams():
    chart = velocity_chart(
        columns=[("PI 1", "", False), ("PI 2", "current", True)],
        total=("All", [(3, 4), (1, 5)]),
        rows=[("A", "A", [(2, 2), (0, 3)]), ("B", "B", [(1, 4), (1, 1)])],
    )
    total, first, second = chart.rows
    assert total.total and not first.total
    # The same count draws the same height in every value-stream row.
    assert first.bars[1].scheduled_height == pytest.approx(second.bars[1].scheduled_height * 3)
    assert second.bars[0].scheduled_height == pytest.approx(first.bars[0].passed_height * 2)
    assert [column.current for column in chart.columns] == [False, True]
