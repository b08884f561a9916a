"""Fixtures of the roadmap tests.

``rm``: the ``world`` portfolio with six PIs of 70 days on its cadence (each with five
iterations), the second of which holds today: ``pis[0]`` is past, ``pis[1]`` current,
``pis[2:]`` later. The default view shows ``pis[1:5]``. A second cadence, three days
later, has the same PIs for a train off the cadence. Epics, capabilities and features
are added by each test through ``rm.capability(...)`` and ``rm.feature(...)``.
"""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from cadence.models import Cadence, Iteration, ProgramIncrement
from tests import factories
from valuestreams.models import Capability, Commitment, Feature

PI_DAYS = 70
OFFSET_DAYS = 3


def make_pis(cadence: Cadence, first_start: datetime.date, count: int, *, prefix: str) -> list[ProgramIncrement]:
    pis = []
    for n in range(count):
        start = first_start + datetime.timedelta(days=PI_DAYS * n)
        pi = ProgramIncrement.objects.create(
            cadence=cadence,
            name=f"{prefix}{n}",
            number=n + 1,
            start_date=start,
            end_date=start + datetime.timedelta(days=PI_DAYS - 1),
            planning_date=start,
            intake_cutoff=start - datetime.timedelta(days=14),
        )
        for i in range(5):
            begin = start + datetime.timedelta(days=14 * i)
            Iteration.objects.create(
                program_increment=pi,
                number=i + 1,
                start_date=begin,
                end_date=begin + datetime.timedelta(days=13),
                is_innovation_planning=i == 4,
            )
        pis.append(pi)
    return pis


@dataclass
class RoadmapWorld:
    world: object
    today: datetime.date
    pis: list  # of the portfolio's cadence: [past, current, later...]
    offset_pis: list  # of the offset cadence, three days later
    offset_cadence: Cadence

    def __getattr__(self, name):
        return getattr(self.world, name)

    def epic(self, *, touches=(), target=None, **kwargs):
        epic = factories.EpicFactory(portfolio=self.world.portfolio, target_pi=target, **kwargs)
        for value_stream in touches:
            value_stream.epics.add(epic)
        return epic

    def capability(self, *, pi=None, epic=None, train=None, committed=False, **kwargs) -> Capability:
        return factories.CapabilityFactory(
            train=train or self.world.solution_train,
            epic=epic,
            program_increment=pi,
            commitment=Commitment.COMMITTED if committed else Commitment.FORECAST,
            **kwargs,
        )

    def feature(self, *, pi=None, epic=None, train=None, capability=None, committed=False, **kwargs) -> Feature:
        return factories.FeatureFactory(
            train=train or self.world.art,
            epic=epic,
            capability=capability,
            program_increment=pi,
            commitment=Commitment.COMMITTED if committed else Commitment.FORECAST,
            **kwargs,
        )


@pytest.fixture
def rm(world) -> RoadmapWorld:
    today = timezone.localdate()
    world.pi.delete()  # the world's PI would overlap these
    current_start = today - datetime.timedelta(days=20)
    first = current_start - datetime.timedelta(days=PI_DAYS)
    pis = make_pis(world.portfolio.cadence, first, 6, prefix="PI ")
    offset = factories.CadenceFactory(name="Offset cadence", start_date=first + datetime.timedelta(days=OFFSET_DAYS))
    offset_pis = make_pis(offset, first + datetime.timedelta(days=OFFSET_DAYS), 6, prefix="Off ")
    return RoadmapWorld(world=world, today=today, pis=pis, offset_pis=offset_pis, offset_cadence=offset)
