"""Fixtures of the integration tests.

- ``NOW``: a fixed moment inside ``world.pi`` (PI 26.4, 5 Oct – 13 Dec 2026) that the
  services are given, so that checks do not depend on the day the suite runs.
- ``point``: an integration point of ``world``'s solution train two weeks after NOW,
  with the ART and the other ART taking part, one dependency between them, a feature
  of each and two acceptance criteria; everything still open, trains on track.
- ``automation``: a service user (viewer, with an API token), like the demo's
  ``ci-pipeline``.
- ``hanging_broker``: a TCP port that accepts connections and never answers.
"""

import datetime
import socket
from dataclasses import dataclass

import pytest
from rest_framework.authtoken.models import Token

from integration.models import AcceptanceCriterion, Depth
from portfolio.celery import app
from portfolio.models import Role
from tests import factories
from valuestreams.models import DependencyState, Health, WorkState

NOW = datetime.datetime(2026, 11, 23, 10, 7, tzinfo=datetime.UTC)
WINDOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


@dataclass
class PointWorld:
    point: object
    dependency: object
    features: list
    criteria: list


def with_emails(world):
    for name in ("rte", "other_rte", "ste", "apmo"):
        user = world.user(name)
        user.email = f"{name}@bank.example"
        user.save()


def report(train, health=Health.ON_TRACK, *, at=NOW - datetime.timedelta(days=1)):
    """A new status report of the train, based on its latest (the history's rule)."""
    latest = train.status_reports.order_by("-created_at", "-id").first()
    return factories.StatusReportFactory(train=train, health=health, created_at=at, author=None, based_on=latest)


@pytest.fixture
def point_world(world) -> PointWorld:
    point = factories.IntegrationPointFactory(
        portfolio=world.portfolio,
        name="PI 26.4 · I4 Card Issuing + Loan Origination",
        program_increment=world.pi,
        date=TODAY + datetime.timedelta(days=14),
        depth=Depth.PARTIAL,
        solution_train=world.solution_train,
    )
    point.trains.set([world.art, world.other_art])
    point.value_streams.set([world.value_stream, world.other_value_stream])
    dependency = factories.DependencyFactory(
        portfolio=world.portfolio,
        consumer=world.art,
        provider=world.other_art,
        key="DEP-1",
        title="Credit limit API",
        needed_by_pi=world.pi,
        state=DependencyState.COMMITTED,
        committed_pi=world.pi,
    )
    point.dependencies.set([dependency])
    features = [
        factories.FeatureFactory(train=world.art, key="CIA-1", name="Card limits", program_increment=world.pi),
        factories.FeatureFactory(train=world.other_art, key="LOA-1", name="Loan offer", program_increment=world.pi),
    ]
    point.features.set(features)
    criteria = [
        AcceptanceCriterion.objects.create(integration_point=point, text="Smoke tests green", position=1),
        AcceptanceCriterion.objects.create(integration_point=point, text="Demo recorded", position=2),
    ]
    for train in (world.art, world.other_art):
        report(train)
    return PointWorld(point=point, dependency=dependency, features=features, criteria=criteria)


def make_ready(pw: PointWorld) -> None:
    """Everything the point requires delivered, done and met."""
    pw.dependency.state = DependencyState.DELIVERED
    pw.dependency.delivered_on = TODAY
    pw.dependency.save()
    for feature in pw.features:
        feature.state = WorkState.DONE
        feature.done_on = TODAY
        feature.save()
    AcceptanceCriterion.objects.filter(integration_point=pw.point).update(met=True)


@pytest.fixture
def point(point_world):
    return point_world.point


@pytest.fixture
def automation(world):
    user = factories.UserFactory(username="w-ci-pipeline")
    factories.MembershipFactory(user=user, portfolio=world.portfolio, role=Role.VIEWER)
    Token.objects.create(user=user)
    return user


@pytest.fixture
def token_client(automation):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {automation.auth_token.key}")
    return api


@pytest.fixture
def hanging_broker(monkeypatch):
    """A TCP port that accepts connections and never answers, like a hung Redis."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery prefers it to its configuration
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    app.conf.update(
        task_always_eager=False,
        broker_url=f"redis://127.0.0.1:{port}/0",
        broker_transport_options={"socket_timeout": 1.0, "socket_connect_timeout": 1.0, "max_retries": 0},
    )
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.update(saved)
    app._pool = None
    app.amqp._producer_pool = None
    server.close()
