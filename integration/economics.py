"""The economics of integration cadence: pure arithmetic, no database.

Integrating every T days costs a transaction cost A each time (effort, environments,
automation), so A / T per day; meanwhile finished work waits for integration, on
average T / 2 days, at a holding cost h per day of deferral (deferred learning,
possible rework), so h × T / 2 per day. The total per day is a U-curve:

    cost(T) = A / T + h × T / 2

Its derivative −A / T² + h / 2 is zero at T* = √(2A / h), where the two parts are
equal and the total is √(2Ah) (the economic-order-quantity result). Costs may be in
any one unit (person-days, money) as long as both are in the same one: T* does not
depend on the unit.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0 or math.isinf(value):
            raise ValueError(f"{name} must be a positive number (got {value!r}).")


def transaction_cost_per_day(interval_days: float, *, transaction_cost: float) -> float:
    """What integrating every ``interval_days`` costs per day in transactions: A / T."""
    _check_positive(interval_days=interval_days)
    return transaction_cost / interval_days


def holding_cost_at(interval_days: float, *, holding_cost_per_day: float) -> float:
    """What work waiting for integration costs per day at that interval: h × T / 2."""
    return holding_cost_per_day * interval_days / 2


def cost_per_day(interval_days: float, *, transaction_cost: float, holding_cost_per_day: float) -> float:
    """The total cost per day of integrating every ``interval_days``: A / T + h × T / 2."""
    return transaction_cost_per_day(interval_days, transaction_cost=transaction_cost) + holding_cost_at(
        interval_days, holding_cost_per_day=holding_cost_per_day
    )


def optimal_interval(*, transaction_cost: float, holding_cost_per_day: float) -> float:
    """T* = √(2A / h): the interval in days at which the total cost per day is least."""
    _check_positive(transaction_cost=transaction_cost, holding_cost_per_day=holding_cost_per_day)
    return math.sqrt(2 * transaction_cost / holding_cost_per_day)


def minimum_cost_per_day(*, transaction_cost: float, holding_cost_per_day: float) -> float:
    """The total cost per day at T*: √(2Ah)."""
    _check_positive(transaction_cost=transaction_cost, holding_cost_per_day=holding_cost_per_day)
    return math.sqrt(2 * transaction_cost * holding_cost_per_day)


@dataclass(frozen=True)
class CurvePoint:
    """The costs per day of integrating every ``interval`` days."""

    interval: float
    transaction: float
    holding: float

    @property
    def total(self) -> float:
        return self.transaction + self.holding


@dataclass(frozen=True)
class UCurve:
    """The total cost per day over candidate intervals, with its minimum."""

    transaction_cost: float
    holding_cost_per_day: float
    points: tuple[CurvePoint, ...]
    optimum: CurvePoint

    def at(self, interval: float) -> CurvePoint:
        return curve_point(
            interval, transaction_cost=self.transaction_cost, holding_cost_per_day=self.holding_cost_per_day
        )


def curve_point(interval: float, *, transaction_cost: float, holding_cost_per_day: float) -> CurvePoint:
    return CurvePoint(
        interval=interval,
        transaction=transaction_cost_per_day(interval, transaction_cost=transaction_cost),
        holding=holding_cost_at(interval, holding_cost_per_day=holding_cost_per_day),
    )


def u_curve(intervals: Iterable[float], *, transaction_cost: float, holding_cost_per_day: float) -> UCurve:
    """The curve over ``intervals`` (days, each > 0), and the exact optimum T*."""
    optimum = optimal_interval(transaction_cost=transaction_cost, holding_cost_per_day=holding_cost_per_day)
    costs = {"transaction_cost": transaction_cost, "holding_cost_per_day": holding_cost_per_day}
    return UCurve(
        transaction_cost=transaction_cost,
        holding_cost_per_day=holding_cost_per_day,
        points=tuple(curve_point(interval, **costs) for interval in intervals),
        optimum=curve_point(optimum, **costs),
    )


def candidate_intervals(*, pi_length: int, include: Iterable[float | None] = (), step: float = 0.25) -> list[float]:
    """Intervals from one day, every ``step`` days, far enough to show the bottom of the U
    and every interval in ``include`` (T*, the current cadence) with room to its right:
    2.5 times the largest of them, at least one PI and at most two, stretched past two
    PIs only to show an interval beyond."""
    _check_positive(pi_length=pi_length, step=step)
    shown = [value for value in include if value]
    largest = max(shown, default=pi_length)
    reach = min(2 * pi_length, max(pi_length, math.ceil(2.5 * largest)))
    reach = max(reach, math.ceil(1.25 * largest))
    count = int(round((reach - 1) / step))
    return [1 + i * step for i in range(count + 1)]
