"""Shared fixtures.

- ``world``: one portfolio with a user in each role, two value streams, a solution
  train with an ART, a second ART in another value stream, and a PI. Built per test.
- ``demo``: the small and the medium demo portfolios, seeded once per test session
  (per xdist worker) by ``portfolio.demo.build_demo``; parametrised so a query-count
  test runs on both with the same bound.
"""

import datetime
import os
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model

from portfolio.models import Role
from tests import factories

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server with Playwright needs it

DEMO_TODAY = datetime.date(2026, 11, 23)


@dataclass
class World:
    portfolio: object
    users: dict = field(default_factory=dict)
    value_stream: object = None
    other_value_stream: object = None
    solution_train: object = None
    art: object = None
    other_art: object = None
    pi: object = None

    def user(self, role: str):
        return self.users[role]


@pytest.fixture
def world(db) -> World:
    portfolio = factories.PortfolioFactory(name="Payments Portfolio", slug="payments")
    users = {}
    for role in (Role.VIEWER, Role.APMO, Role.PORTFOLIO_MANAGER, Role.ENTERPRISE_ARCHITECT):
        users[role.value] = factories.UserFactory(username=f"w-{role.value}")
        factories.MembershipFactory(user=users[role.value], portfolio=portfolio, role=role)
    for name in ("rte", "other_rte", "ste"):
        users[name] = factories.UserFactory(username=f"w-{name}")
        factories.MembershipFactory(user=users[name], portfolio=portfolio, role=Role.VIEWER)
    users["outsider"] = factories.UserFactory(username="w-outsider")
    value_stream = factories.ValueStreamFactory(portfolio=portfolio, name="Card Payments", key="CARD")
    other_value_stream = factories.ValueStreamFactory(portfolio=portfolio, name="Lending", key="LEND")
    solution_train = factories.SolutionTrainFactory(
        value_stream=value_stream, name="Card Platform Solution Train", key="CPS", engineer=users["ste"]
    )
    art = factories.TrainFactory(
        value_stream=value_stream,
        name="Card Issuing ART",
        key="CIA",
        solution_train=solution_train,
        engineer=users["rte"],
    )
    other_art = factories.TrainFactory(
        value_stream=other_value_stream, name="Loan Origination ART", key="LOA", engineer=users["other_rte"]
    )
    pi = factories.ProgramIncrementFactory(
        cadence=portfolio.cadence,
        number=1,
        name="PI 26.4",
        start_date=datetime.date(2026, 10, 5),
        end_date=datetime.date(2026, 12, 13),
        planning_date=datetime.date(2026, 10, 5),
        intake_cutoff=datetime.date(2026, 9, 21),
    )
    return World(
        portfolio=portfolio,
        users=users,
        value_stream=value_stream,
        other_value_stream=other_value_stream,
        solution_train=solution_train,
        art=art,
        other_art=other_art,
        pi=pi,
    )


@pytest.fixture(scope="session")
def _demo_portfolios(django_db_setup, django_db_blocker):
    """Seed the small and the medium demo once per session; kept for every test."""
    from portfolio.demo import build_demo

    with django_db_blocker.unblock():
        small = build_demo(size="small", seed=1, today=DEMO_TODAY, slug="small-demo", user_prefix="small-")
        medium = build_demo(size="medium", seed=1, today=DEMO_TODAY, slug="medium-demo", user_prefix="medium-")
    return {"small": small, "medium": medium}


@pytest.fixture(params=["small", "medium"])
def demo(request, _demo_portfolios, db):
    """The small, then the medium demo portfolio (its ``users`` map role names to users)."""
    from portfolio.demo import build_demo
    from portfolio.models import Portfolio

    seeded = _demo_portfolios[request.param]
    if not Portfolio.objects.filter(pk=seeded.portfolio.pk).exists():
        # A transaction=True test flushed the database (pytest-django runs those last).
        seeded = build_demo(
            size=request.param, seed=1, today=DEMO_TODAY, slug=f"{request.param}-demo", user_prefix=f"{request.param}-"
        )
        _demo_portfolios[request.param] = seeded
    return seeded


@pytest.fixture
def client_for(client):
    """Log the test client in as a user and return it."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api_client_for():
    from rest_framework.test import APIClient

    def login(user):
        api = APIClient()
        api.force_authenticate(user=user)
        return api

    return login


User = get_user_model()
