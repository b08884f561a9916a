"""factory_boy factories for the domain. Build a small, explicit world per test."""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from cadence.models import Cadence, Iteration, ProgramIncrement
from integration.models import IntegrationPoint, Release
from portfolio.models import Epic, Membership, Portfolio, Role, StrategicTheme
from roadmap.models import Milestone
from valuestreams.models import (
    Capability,
    Dependency,
    Feature,
    Health,
    StatusReport,
    Team,
    Train,
    TrainKind,
    ValueStream,
)

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CadenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cadence

    name = factory.Sequence(lambda n: f"Cadence {n}")
    start_date = datetime.date(2026, 1, 5)
    iterations_per_pi = 5
    iteration_length_days = 14


class ProgramIncrementFactory(factory.django.DjangoModelFactory):
    """A PI of 5 two-week iterations; consecutive PIs of one cadence follow each other."""

    class Meta:
        model = ProgramIncrement
        skip_postgeneration_save = True

    cadence = factory.SubFactory(CadenceFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda pi: f"PI {pi.number}")
    start_date = factory.LazyAttribute(lambda pi: pi.cadence.start_date + datetime.timedelta(days=70 * (pi.number - 1)))
    end_date = factory.LazyAttribute(lambda pi: pi.start_date + datetime.timedelta(days=69))
    planning_date = factory.LazyAttribute(lambda pi: pi.start_date)
    intake_cutoff = factory.LazyAttribute(lambda pi: pi.start_date - datetime.timedelta(days=14))

    @factory.post_generation
    def with_iterations(pi, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        for i in range(5):
            start = pi.start_date + datetime.timedelta(days=14 * i)
            Iteration.objects.create(
                program_increment=pi,
                number=i + 1,
                start_date=start,
                end_date=start + datetime.timedelta(days=13),
                is_innovation_planning=i == 4,
            )


class PortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portfolio

    name = factory.Sequence(lambda n: f"Portfolio {n}")
    slug = factory.Sequence(lambda n: f"portfolio-{n}")
    cadence = factory.SubFactory(CadenceFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    portfolio = factory.SubFactory(PortfolioFactory)
    role = Role.VIEWER


class StrategicThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StrategicTheme

    portfolio = factory.SubFactory(PortfolioFactory)
    name = factory.Sequence(lambda n: f"Theme {n}")


class EpicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Epic

    portfolio = factory.SubFactory(PortfolioFactory)
    key = factory.Sequence(lambda n: f"EP-{n + 100}")
    title = factory.Sequence(lambda n: f"Epic {n}")
    business_value = 8
    time_criticality = 5
    risk_reduction = 3
    job_size = 8


class ValueStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValueStream

    portfolio = factory.SubFactory(PortfolioFactory)
    name = factory.Sequence(lambda n: f"Value stream {n}")
    key = factory.Sequence(lambda n: f"VS{n}")


class TrainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Train

    value_stream = factory.SubFactory(ValueStreamFactory)
    kind = TrainKind.ART
    name = factory.Sequence(lambda n: f"Train {n}")
    key = factory.Sequence(lambda n: f"T{n}")


class SolutionTrainFactory(TrainFactory):
    kind = TrainKind.SOLUTION
    name = factory.Sequence(lambda n: f"Solution train {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    train = factory.SubFactory(TrainFactory)
    portfolio = factory.LazyAttribute(lambda t: t.train.value_stream.portfolio)
    name = factory.Sequence(lambda n: f"Team {n}")


class StatusReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusReport

    train = factory.SubFactory(TrainFactory)
    author = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    health = Health.ON_TRACK
    pi_confidence = 4
    summary = "Steady progress on PI objectives."


class CapabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Capability

    train = factory.SubFactory(SolutionTrainFactory)
    key = factory.Sequence(lambda n: f"CAP-{n}")
    name = factory.Sequence(lambda n: f"Capability {n}")


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature

    train = factory.SubFactory(TrainFactory)
    key = factory.Sequence(lambda n: f"F-{n}")
    name = factory.Sequence(lambda n: f"Feature {n}")


class DependencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dependency

    consumer = factory.SubFactory(TrainFactory)
    provider = factory.SubFactory(
        TrainFactory,
        value_stream=factory.SubFactory(ValueStreamFactory, portfolio=factory.SelfAttribute("...portfolio")),
    )
    portfolio = factory.LazyAttribute(lambda d: d.consumer.value_stream.portfolio)
    key = factory.Sequence(lambda n: f"D-{n}")
    title = factory.Sequence(lambda n: f"Dependency {n}")
    needed_by_pi = factory.SubFactory(
        ProgramIncrementFactory, cadence=factory.LazyAttribute(lambda o: o.factory_parent.portfolio.cadence)
    )


class IntegrationPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntegrationPoint

    portfolio = factory.SubFactory(PortfolioFactory)
    name = factory.Sequence(lambda n: f"Integration point {n}")
    program_increment = factory.SubFactory(
        ProgramIncrementFactory, cadence=factory.SelfAttribute("..portfolio.cadence")
    )
    date = factory.LazyAttribute(lambda ip: ip.program_increment.end_date)


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    portfolio = factory.SubFactory(PortfolioFactory)
    name = factory.Sequence(lambda n: f"Release {n}")
    date = datetime.date(2026, 6, 30)


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    portfolio = factory.SubFactory(PortfolioFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")
    date = datetime.date(2026, 5, 1)
