"""Fixtures of the cadence tests.

``calendar``: the ``world`` portfolio on a cadence of generated PIs (10 weeks: four
two-week iterations and an IP iteration) whose third PI is today's, and the world's
other ART on a copy of it that starts three days later.
"""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from cadence.models import Cadence
from cadence.services import program_increments_generate

OFFSET_DAYS = 3
PIS = 6


def monday_of(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def make_cadence(name: str, start: datetime.date, *, pis: int = PIS, **layout) -> Cadence:
    cadence = Cadence.objects.create(
        name=name,
        start_date=start,
        iterations_per_pi=layout.pop("iterations_per_pi", 5),
        iteration_length_days=layout.pop("iteration_length_days", 14),
        has_ip_iteration=layout.pop("has_ip_iteration", True),
        intake_cutoff_days=layout.pop("intake_cutoff_days", 14),
    )
    if pis:
        program_increments_generate(actor=None, cadence=cadence, count=pis)
    return cadence


@dataclass
class Calendar:
    world: object
    cadence: Cadence
    offset: Cadence
    today: datetime.date

    @property
    def pis(self):
        return list(self.cadence.program_increments.order_by("start_date"))

    @property
    def current(self):
        return next(pi for pi in self.pis if pi.contains(self.today))


@pytest.fixture
def calendar(world) -> Calendar:
    today = timezone.localdate()
    start = monday_of(today) - datetime.timedelta(days=2 * 70)
    cadence = make_cadence("Payments cadence", start)
    offset = make_cadence("Lending cadence", start + datetime.timedelta(days=OFFSET_DAYS))
    world.portfolio.cadence = cadence
    world.portfolio.save()
    world.other_art.cadence = offset
    world.other_art.save()
    return Calendar(world=world, cadence=cadence, offset=offset, today=today)
