"""The API against its own contract: schemathesis generates requests from the OpenAPI
document the app serves at /api/schema/ and sends them in-process, through the WSGI
application, as the small demo's APMO with an API token.

Each operation gets valid requests and invalid ones (schemathesis' positive and
negative modes). No response may be a server error; every response must match its
operation's response schema in the document, with a status code the operation
documents (errors included: ``portfolio.api.schema.ApiAutoSchema`` documents the
400/401/403/404 answers of every operation).

The document is read from /api/schema/ when the module is collected, by calling that
URL's view as a logged-in user (no database needed), so that pytest has one test per
operation to share among xdist workers. (schemathesis' own ``parametrize`` gives all
of them one node id under pytest 9, which xdist cannot tell apart.)
"""

import json
import os

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIRequestFactory, force_authenticate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from portfolio.wsgi import application
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.apicontract

SCHEMA_URL = "/api/schema/"


@schemathesis.check
def authenticated(ctx, response, case):
    """The token is accepted: a 401 would mean the run tested the login wall only."""
    if response.status_code == 401:
        raise AssertionError(f"{case.operation.label} answered 401: the API token was not accepted")
    return None


CHECKS = [authenticated, not_a_server_error, response_schema_conformance, status_code_conformance]
EXAMPLES_PER_MODE = 12


def served_schema() -> dict:
    """The document /api/schema/?format=json answers a logged-in user."""
    request = APIRequestFactory().get(SCHEMA_URL, {"format": "json"})
    force_authenticate(request, user=get_user_model()(username="schema-reader"))
    match = resolve(SCHEMA_URL)
    response = match.func(request, *match.args, **match.kwargs)
    response.render()
    assert response.status_code == 200, response.content
    return json.loads(response.content)


if os.environ.get("API_CONTRACT") != "1":
    pytest.skip(
        "the API contract run takes minutes, so it has its own CI step: API_CONTRACT=1 pytest tests/api_contract -n 2",
        allow_module_level=True,
    )

schema = schemathesis.openapi.from_dict(served_schema())
schema.app = application
LOADED = list(schema.get_all_operations())
OPERATIONS = [result.ok().label for result in LOADED if isinstance(result, Ok)]


@pytest.fixture
def in_test_transaction():
    """Calls into the WSGI application keep the test's database connection, as Django's
    test client does: the request signals would otherwise close it mid-transaction
    (on PostgreSQL; SQLite's in-memory database ignores the close)."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


def _seed_contract_demo() -> str:
    from portfolio.demo import build_demo

    demo = build_demo(size="small", seed=1, today=DEMO_TODAY, slug="contract", user_prefix="contract-")
    return Token.objects.get_or_create(user=demo.users["apmo"])[0].key


@pytest.fixture(scope="session")
def _contract_token(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return {"key": _seed_contract_demo()}


@pytest.fixture
def token(_contract_token, db) -> str:
    """An API token of the APMO of a small demo portfolio, seeded once per session (and
    again if a transactional test flushed the database meanwhile)."""
    if not Token.objects.filter(key=_contract_token["key"]).exists():
        _contract_token["key"] = _seed_contract_demo()
    return _contract_token["key"]


def test_every_operation_of_the_schema_can_be_generated():
    problems = [str(result.err()) for result in LOADED if not isinstance(result, Ok)]
    assert not problems, "\n".join(problems)
    assert len(OPERATIONS) > 50


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_answers_as_its_schema_says(label, token, in_test_transaction):
    operation = schema.find_operation_by_label(label)
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=2 * EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def answers_as_documented(case):
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)

    answers_as_documented()
