"""The pages of idle work, portfolio velocity and integration cadence economics: what
they show, who may save the costs, bad input, conflicts, and their query counts."""

import datetime
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from pytest_django.asserts import assertContains, assertNotContains

from integration import analytics
from integration.models import IntegrationEconomics, Outcome
from tests import factories
from tests.conftest import DEMO_TODAY
from valuestreams.models import ValueStream, WorkState

pytestmark = pytest.mark.django_db

DEMO_ROLES = ("apmo", "portfolio_manager", "enterprise_architect", "viewer", "rte", "other_rte", "ste", "automation")
IDLE_PAGE_QUERIES = 10
VELOCITY_PAGE_QUERIES = 8
ECONOMICS_PAGE_QUERIES = 13
ROLES = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")


def economics_url(value_stream) -> str:
    return f"/integration/economics/{value_stream.pk}/"


@pytest.fixture
def idle_feature(world):
    today = datetime.date.today()
    return factories.FeatureFactory(
        train=world.art,
        key="CIA-101",
        name="Tokenise stored cards",
        state=WorkState.DONE,
        done_on=today - datetime.timedelta(days=40),
    )


# --- Idle work ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_idle_work_per_value_stream_and_train(client_for, world, idle_feature, role):
    response = client_for(world.user(role)).get("/integration/idle/")
    assertContains(response, "Idle work")
    assertContains(response, "Tokenise stored cards")
    assertContains(response, "Card Issuing ART")
    assertContains(response, f'id="vs-{world.value_stream.pk}"')
    assert response.context["idle"].feature_days == 40


def test_idle_work_says_so_when_there_is_none(client_for, world):
    response = client_for(world.user("viewer")).get("/integration/idle/")
    assertContains(response, "No idle work")


def test_covered_work_is_not_listed(client_for, world, idle_feature):
    covering = factories.IntegrationPointFactory(
        portfolio=world.portfolio, program_increment=world.pi, outcome=Outcome.PASSED, date=datetime.date.today()
    )
    covering.features.set([idle_feature])
    assertNotContains(client_for(world.user("viewer")).get("/integration/idle/"), "Tokenise stored cards")


def test_each_train_lists_its_longest_waits_and_links_to_all(client_for, world):
    today = datetime.date.today()
    for n in range(analytics.IDLE_LISTED_PER_TRAIN + 3):
        factories.FeatureFactory(
            train=world.art, key=f"CIA-{200 + n}", state=WorkState.DONE, done_on=today - datetime.timedelta(days=20 + n)
        )
    client = client_for(world.user("viewer"))
    response = client.get("/integration/idle/")
    assertContains(response, "CIA-212")  # the longest wait
    assertNotContains(response, "CIA-200")  # the shortest, past the first ten
    assertContains(response, f'href="?train={world.art.pk}"')
    assertContains(response, "3 more, shorter waits")
    everything = client.get("/integration/idle/", {"train": world.art.pk})
    assertContains(everything, "Idle work of Card Issuing ART")
    assertContains(everything, "CIA-200")
    assert everything.context["row"].feature_count == analytics.IDLE_LISTED_PER_TRAIN + 3


def test_a_train_without_idle_work_says_so_and_another_portfolios_train_is_not_found(client_for, world):
    client = client_for(world.user("viewer"))
    assertContains(client.get("/integration/idle/", {"train": world.other_art.pk}), "No idle work")
    assert client.get("/integration/idle/", {"train": factories.TrainFactory().pk}).status_code == 404


def test_pages_need_a_login(client, world):
    for url in ("/integration/idle/", "/integration/velocity/", economics_url(world.value_stream)):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Velocity -----------------------------------------------------------------------


def test_the_velocity_page_draws_an_accessible_chart_with_its_table(client_for, world):
    passed = factories.IntegrationPointFactory(
        portfolio=world.portfolio,
        program_increment=world.pi,
        outcome=Outcome.PASSED,
        date=world.pi.start_date + datetime.timedelta(days=10),
    )
    passed.value_streams.set([world.value_stream])
    response = client_for(world.user("viewer")).get("/integration/velocity/")
    page = response.content.decode()
    assert 'role="img"' in page and 'aria-labelledby="velocity-title velocity-desc"' in page
    assert '<title id="velocity-title">' in page and '<desc id="velocity-desc">' in page
    assertContains(response, "<table", count=1)
    assertContains(response, "1 of 1 integration points passed")
    assert response.context["velocity"].portfolio.total_passed == 1


def test_the_velocity_include_renders_with_its_one_context_variable(world):
    velocity = analytics.portfolio_velocity(world.portfolio, datetime.date(2026, 11, 23))
    html = render_to_string("integration/_velocity_chart.html", {"velocity": velocity})
    assert "<svg" in html and "velocity-title" in html


# --- Economics ----------------------------------------------------------------------


def test_apmo_sees_the_form_prefilled_and_the_curve(client_for, world):
    IntegrationEconomics.objects.create(
        value_stream=world.value_stream, transaction_cost=Decimal("49"), holding_cost_per_day=Decimal("0.5")
    )
    response = client_for(world.user("apmo")).get(economics_url(world.value_stream))
    assertContains(response, 'name="transaction_cost"')
    assertContains(response, 'value="49.00"')
    assertContains(response, "14.0 days")  # T*
    assertContains(response, 'aria-labelledby="curve-title curve-desc"')
    assertContains(response, "Save the costs")


@pytest.mark.parametrize("role", ["viewer", "portfolio_manager", "enterprise_architect", "rte", "ste"])
def test_others_read_the_economics_without_a_form(client_for, world, role):
    IntegrationEconomics.objects.create(
        value_stream=world.value_stream, transaction_cost=Decimal("49"), holding_cost_per_day=Decimal("0.5")
    )
    response = client_for(world.user(role)).get(economics_url(world.value_stream))
    assert response.status_code == 200
    assertNotContains(response, '<form class="panel stacked-form economics-form"')
    assertNotContains(response, 'name="transaction_cost"')
    assertContains(response, "APMO sets these figures.")


@pytest.mark.parametrize("role", ["viewer", "portfolio_manager", "enterprise_architect", "rte", "ste"])
def test_others_may_not_post_the_costs(client_for, world, role):
    data = {"transaction_cost": "10", "holding_cost_per_day": "1", "unit": "person-days", "version": "0"}
    response = client_for(world.user(role)).post(economics_url(world.value_stream), data)
    assert response.status_code == 403
    assert not IntegrationEconomics.objects.filter(value_stream__portfolio=world.portfolio).exists()


def test_apmo_saves_the_costs(client_for, world):
    data = {"transaction_cost": "12.5", "holding_cost_per_day": "0.75", "unit": "€k", "version": "0"}
    response = client_for(world.user("apmo")).post(economics_url(world.value_stream), data)
    assert response.status_code == 302
    saved = IntegrationEconomics.objects.get(value_stream=world.value_stream)
    assert (saved.transaction_cost, saved.holding_cost_per_day, saved.unit) == (Decimal("12.5"), Decimal("0.75"), "€k")
    page = client_for(world.user("apmo")).get(economics_url(world.value_stream))
    assertContains(page, "From the figures saved by")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("transaction_cost", "-3", "Enter a cost above zero."),
        ("transaction_cost", "0", "Enter a cost above zero."),
        ("holding_cost_per_day", "0", "Enter a cost above zero."),
        ("holding_cost_per_day", "-0.5", "Enter a cost above zero."),
        ("transaction_cost", "a lot", "Enter a number, e.g. 12.5."),
        ("holding_cost_per_day", "", "Enter a cost."),
        ("unit", "", "This field is required."),
    ],
)
def test_bad_costs_are_form_errors(client_for, world, field, value, message):
    data = {"transaction_cost": "10", "holding_cost_per_day": "1", "unit": "person-days", "version": "0", field: value}
    response = client_for(world.user("apmo")).post(economics_url(world.value_stream), data)
    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assertContains(response, "field-invalid", status_code=400)
    assert not IntegrationEconomics.objects.filter(value_stream__portfolio=world.portfolio).exists()


def test_a_stale_save_shows_the_conflict_and_keeps_the_input(client_for, world):
    IntegrationEconomics.objects.create(
        value_stream=world.value_stream, transaction_cost=Decimal("49"), holding_cost_per_day=Decimal("0.5")
    )
    data = {"transaction_cost": "12", "holding_cost_per_day": "1", "unit": "person-days", "version": "0"}
    client = client_for(world.user("apmo"))
    response = client.post(economics_url(world.value_stream), data)
    assert response.status_code == 409
    assertContains(response, "someone else saved figures meanwhile", status_code=409)
    assert response.context["form"]["version"].value() == 1
    assert IntegrationEconomics.objects.get(value_stream=world.value_stream).transaction_cost == Decimal("49")
    # Saving again, having seen theirs, replaces them.
    assert client.post(economics_url(world.value_stream), {**data, "version": "1"}).status_code == 302
    assert IntegrationEconomics.objects.get(value_stream=world.value_stream).transaction_cost == Decimal("12")


def test_a_value_stream_of_another_portfolio_is_not_found(client_for, world):
    elsewhere = factories.ValueStreamFactory()
    assert client_for(world.user("apmo")).get(economics_url(elsewhere)).status_code == 404
    data = {"transaction_cost": "10", "holding_cost_per_day": "1", "unit": "x", "version": "0"}
    assert client_for(world.user("apmo")).post(economics_url(elsewhere), data).status_code == 404


def test_the_economics_index_opens_the_first_value_stream(client_for, world):
    response = client_for(world.user("viewer")).get("/integration/economics/")
    assert response.status_code == 302 and response["Location"] == economics_url(world.value_stream)


def test_the_economics_page_links_every_value_stream_and_marks_the_current_interval(client_for, world):
    IntegrationEconomics.objects.create(
        value_stream=world.value_stream, transaction_cost=Decimal("20"), holding_cost_per_day=Decimal("0.5")
    )
    response = client_for(world.user("viewer")).get(economics_url(world.value_stream))
    assertContains(response, economics_url(world.other_value_stream))
    assertContains(response, "Cadence: 14 days")
    assertContains(response, "T* = 8.9 days")


# --- Query counts on the demo portfolios ---------------------------------------------


@pytest.mark.parametrize("role", DEMO_ROLES)
def test_idle_work_page_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(IDLE_PAGE_QUERIES):
        response = client.get("/integration/idle/")
    assert response.status_code == 200


@pytest.mark.parametrize("role", ("apmo", "viewer", "ste"))
def test_velocity_page_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(VELOCITY_PAGE_QUERIES):
        response = client.get("/integration/velocity/")
    assert response.status_code == 200
    assert response.context["velocity"].pis[-1].end_date >= DEMO_TODAY


@pytest.mark.parametrize("role", ("apmo", "viewer", "ste"))
def test_economics_page_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    stream = ValueStream.objects.filter(portfolio=demo.portfolio).order_by("name").first()
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(ECONOMICS_PAGE_QUERIES):
        response = client.get(economics_url(stream))
    assert response.status_code == 200
    assert response.context["page"].curve is not None
