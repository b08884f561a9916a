"""A train's page: posting its status (who may, bad input, two people at once), its open
dependencies and its upcoming cadence events."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from cadence.models import CadenceEvent, CadenceEventKind
from tests.factories import (
    CadenceFactory,
    DependencyFactory,
    ProgramIncrementFactory,
    StatusReportFactory,
    TrainFactory,
)
from valuestreams.models import DependencyState, Health, StatusReport, Train

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 10, 20)  # in the second iteration of world.pi
# Session, user, memberships; the train, its teams, the teams serving it, its ARTs,
# their latest reports, its status history; its open dependencies' totals, those it
# needs, those it gives; its next cadence events.
TRAIN_PAGE_QUERIES = 13


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: TODAY)
    return TODAY


def reports(world):
    """The world's status reports (the demo portfolios share the test database)."""
    return StatusReport.objects.filter(train__value_stream__portfolio=world.portfolio)


def detail_url(train) -> str:
    return reverse("valuestreams:train-detail", args=[train.pk])


def main_of(response) -> str:
    content = response.content.decode()
    return content[content.index("<main") : content.index("</main>")]


def status_data(based_on=None, **overrides) -> dict:
    data = {
        "health": Health.AT_RISK,
        "pi_confidence": "3",
        "summary": "Tokenisation slipped one iteration.",
        "risks": "Vendor SDK late.",
        "blockers": "",
        "based_on": "" if based_on is None else str(based_on),
    }
    return data | overrides


# --- Who sees the form, who may post -------------------------------------------------


@pytest.mark.parametrize(
    ("role", "train_name", "sees_form"),
    [
        ("rte", "art", True),
        ("ste", "art", True),  # the STE answers for the ARTs of the solution train
        ("ste", "solution_train", True),
        ("apmo", "art", True),
        ("apmo", "other_art", True),
        ("rte", "other_art", False),  # another train's RTE
        ("rte", "solution_train", False),
        ("other_rte", "art", False),
        ("viewer", "art", False),
        ("portfolio_manager", "art", False),
        ("enterprise_architect", "art", False),
    ],
)
def test_status_form_is_shown_to_the_trains_engineers_and_apmo_only(client_for, world, role, train_name, sees_form):
    train = getattr(world, train_name)
    page = main_of(client_for(world.user(role)).get(detail_url(train)))
    assert ('id="status-update"' in page) is sees_form
    assert ('name="summary"' in page) is sees_form


@pytest.mark.parametrize("role", ["viewer", "portfolio_manager", "enterprise_architect", "other_rte"])
def test_others_posting_a_status_get_403_and_nothing_is_stored(client_for, world, role):
    response = client_for(world.user(role)).post(detail_url(world.art), status_data())
    assert response.status_code == 403
    assertContains(response, "Only Card Issuing ART&#x27;s RTE or APMO may post its status.", status_code=403)
    assert not reports(world).exists()


def test_an_outsider_cannot_post_a_status_to_another_portfolios_train(client_for, world):
    response = client_for(world.user("outsider")).post(detail_url(world.art), status_data())
    assert response.status_code == 404
    assert not reports(world).exists()


# --- Posting ----------------------------------------------------------------------------


def test_the_rte_posts_a_status_and_is_redirected_to_it(client_for, world):
    client = client_for(world.user("rte"))

    response = client.post(detail_url(world.art), status_data())

    assertRedirects(response, detail_url(world.art) + "#latest-status", fetch_redirect_response=False)
    report = reports(world).get()
    assert (report.train, report.author, report.health, report.pi_confidence) == (
        world.art,
        world.user("rte"),
        Health.AT_RISK,
        3,
    )
    assert report.based_on is None
    page = client.get(detail_url(world.art))
    assertContains(page, "Status of Card Issuing ART posted.")
    assertContains(page, "Tokenisation slipped one iteration.")


def test_each_update_is_a_new_report_based_on_the_one_before(client_for, world):
    client = client_for(world.user("rte"))
    client.post(detail_url(world.art), status_data(summary="Week 1"))
    first = reports(world).get()
    form = client.get(detail_url(world.art)).context["form"]
    assert form.initial["based_on"] == first.pk
    assert form.initial["health"] == Health.AT_RISK  # a new update starts from the last one
    assert "summary" not in form.initial

    client.post(detail_url(world.art), status_data(based_on=first.pk, summary="Week 2", health=Health.ON_TRACK))

    second = reports(world).exclude(pk=first.pk).get()
    assert second.based_on == first
    assert list(world.art.status_reports.values_list("summary", flat=True)) == ["Week 2", "Week 1"]
    history = client.get(detail_url(world.art)).context["page"].history
    assert [r.summary for r in history] == ["Week 2", "Week 1"]


def test_the_ste_and_apmo_may_post_for_an_art_of_the_solution_train(client_for, world):
    ste_response = client_for(world.user("ste")).post(detail_url(world.art), status_data())
    assert ste_response.status_code == 302
    latest = reports(world).get()
    apmo_response = client_for(world.user("apmo")).post(detail_url(world.art), status_data(based_on=latest.pk))
    assert apmo_response.status_code == 302
    assert reports(world).filter(train=world.art).count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"summary": ""}, "summary", "Write a short summary."),
        ({"pi_confidence": "7"}, "pi_confidence", "Choose 1 to 5."),
        ({"pi_confidence": ""}, "pi_confidence", "Choose a confidence from 1 to 5."),
        ({"health": "great"}, "health", "Select a valid choice."),
        ({"health": ""}, "health", "Choose the train&#x27;s health."),
    ],
)
def test_bad_input_shows_the_form_with_errors_and_stores_nothing(client_for, world, overrides, field, message):
    response = client_for(world.user("rte")).post(detail_url(world.art), status_data(**overrides))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assertContains(response, message, status_code=400)
    assertContains(response, "Please correct the 1 field marked below.", status_code=400)
    assertContains(response, "Vendor SDK late.", status_code=400)  # what they typed is kept
    assert not reports(world).exists()


# --- Two people at once -------------------------------------------------------------------


def logged_in(user) -> Client:
    """A client of its own (client_for reuses one): two people at once."""
    client = Client()
    client.force_login(user)
    return client


def test_the_second_of_two_concurrent_updates_is_refused_showing_the_first_and_keeping_the_text(world):
    earlier = StatusReportFactory(train=world.art, author=world.user("rte"), summary="Last week's status.")
    rte_client = logged_in(world.user("rte"))
    ste_client = logged_in(world.user("ste"))
    # Both load the form, based on the same latest report.
    for client in (rte_client, ste_client):
        assert client.get(detail_url(world.art)).context["form"].initial["based_on"] == earlier.pk

    first = rte_client.post(
        detail_url(world.art),
        status_data(based_on=earlier.pk, health=Health.OFF_TRACK, pi_confidence="2", summary="RTE: the PI is off."),
    )
    assert first.status_code == 302
    rtes_report = reports(world).get(summary="RTE: the PI is off.")

    second = ste_client.post(
        detail_url(world.art),
        status_data(based_on=earlier.pk, summary="STE: integration is fine.", risks="STE's own risk list."),
    )

    assert second.status_code == 409
    assert reports(world).count() == 2  # exactly one new report: the RTE's
    assert second.context["conflict"] == rtes_report
    page = main_of(second)
    assert "Not posted: w-rte posted a newer status while you were writing." in page
    # What the other person wrote: health, confidence, summary, who and when.
    assert '<span class="badge badge-off_track">Off track</span>' in page
    assert "2/5" in page
    assert "RTE: the PI is off." in page
    assert f'datetime="{rtes_report.created_at.isoformat()}"' in page
    # Their own text is kept, now based on the newer report so that they can resubmit.
    assert "STE: integration is fine.</textarea>" in page
    assert "STE&#x27;s own risk list.</textarea>" in page
    assert f'<input type="hidden" name="based_on" value="{rtes_report.pk}"' in page

    resubmitted = ste_client.post(
        detail_url(world.art), status_data(based_on=rtes_report.pk, summary="STE: integration is fine.")
    )
    assert resubmitted.status_code == 302
    assert reports(world).latest("created_at").based_on == rtes_report


def test_a_form_loaded_before_the_first_report_is_refused_once_there_is_one(world):
    logged_in(world.user("rte")).post(detail_url(world.art), status_data(summary="The first."))
    response = logged_in(world.user("apmo")).post(detail_url(world.art), status_data(summary="Also the first."))
    assert response.status_code == 409
    assertContains(response, "The first.", status_code=409)
    assert reports(world).count() == 1


# --- Dependencies and cadence events on the train's page ------------------------------------


def test_the_train_page_lists_the_open_dependencies_it_needs_and_gives(client_for, world):
    iteration = world.pi.iterations.get(number=3)
    needs = DependencyFactory(
        consumer=world.art,
        provider=world.other_art,
        needed_by_pi=world.pi,
        needed_by_iteration=iteration,
        key="DEP-7",
        title="Credit score events",
    )
    gives = DependencyFactory(
        consumer=world.solution_train,
        provider=world.art,
        needed_by_pi=world.pi,
        needed_by_iteration=world.pi.iterations.get(number=4),
        key="DEP-8",
        title="Card token lookup",
        state=DependencyState.COMMITTED,
        committed_pi=world.pi,
        committed_iteration=world.pi.iterations.get(number=5),
    )
    DependencyFactory(consumer=world.art, provider=world.other_art, needed_by_pi=world.pi, state="delivered")

    response = client_for(world.user("viewer")).get(detail_url(world.art))

    deps = response.context["dependencies"]
    assert (deps.needs, deps.gives, deps.needs_total, deps.gives_total) == ([needs], [gives], 1, 1)
    page = main_of(response)
    section = page[page.index('id="train-dependencies"') :]
    assert f'href="{reverse("valuestreams:dependency-detail", args=[needs.pk])}"' in section
    assert "Credit score events" in section and "Card token lookup" in section
    assert "Loan Origination ART" in section  # the other train
    assert "Cross-VS" in section
    assert "PI 26.4 · I3" in section
    assert "Grey · no commitment" in section
    assert "Red · late" in section  # committed in the IP iteration, after it is needed
    assert f'href="/dependencies/?train={world.art.pk}"' in section


def test_the_train_page_offers_raising_a_dependency_to_those_who_may(client_for, world):
    link = f'href="/dependencies/new/?consumer={world.art.pk}"'
    assert link in main_of(client_for(world.user("rte")).get(detail_url(world.art)))
    assert link not in main_of(client_for(world.user("viewer")).get(detail_url(world.art)))
    assert link not in main_of(client_for(world.user("other_rte")).get(detail_url(world.art)))


def _event(pi, day, name):
    return CadenceEvent.objects.create(
        program_increment=pi, kind=CadenceEventKind.SYSTEM_DEMO, name=name, start_date=day, end_date=day
    )


def test_the_train_page_shows_the_next_five_events_of_the_cadence_it_follows(client_for, world):
    for offset in range(-2, 7):
        _event(world.pi, TODAY + datetime.timedelta(days=7 * offset), f"Demo {offset:+d}")
    own_cadence = CadenceFactory(name="Offset cadence")
    own_pi = ProgramIncrementFactory(cadence=own_cadence, number=1, name="PI off")
    _event(own_pi, TODAY + datetime.timedelta(days=1), "Off-cadence demo")
    offset_art = TrainFactory(value_stream=world.value_stream, cadence=own_cadence)

    portfolio_events = client_for(world.user("viewer")).get(detail_url(world.art)).context["events"]
    own_events = client_for(world.user("viewer")).get(detail_url(offset_art)).context["events"]

    assert [e.name for e in portfolio_events] == ["Demo +0", "Demo +1", "Demo +2", "Demo +3", "Demo +4"]
    assert [e.name for e in own_events] == ["Off-cadence demo"]


def test_a_train_follows_its_value_streams_cadence_before_the_portfolios(client_for, world):
    stream_cadence = CadenceFactory(name="Lending cadence")
    world.other_value_stream.cadence = stream_cadence
    world.other_value_stream.save()
    _event(ProgramIncrementFactory(cadence=stream_cadence, number=1), TODAY, "Lending demo")
    _event(world.pi, TODAY, "Portfolio demo")
    response = client_for(world.user("viewer")).get(detail_url(world.other_art))
    assert [e.name for e in response.context["events"]] == ["Lending demo"]
    assertContains(response, "Lending demo")
    assertNotContains(response, "Portfolio demo")


# --- Query counts -----------------------------------------------------------------------


def test_train_page_with_the_form_and_dependencies_costs_a_fixed_number_of_queries(
    client_for, world, django_assert_max_num_queries
):
    client = client_for(world.user("rte"))
    with django_assert_max_num_queries(TRAIN_PAGE_QUERIES):
        client.get(detail_url(world.art))
    for i in range(12):
        other = TrainFactory(value_stream=world.other_value_stream)
        DependencyFactory(consumer=world.art, provider=other, needed_by_pi=world.pi)
        DependencyFactory(consumer=other, provider=world.art, needed_by_pi=world.pi, flag="at_risk")
        _event(world.pi, TODAY + datetime.timedelta(days=i), f"Event {i}")
    with django_assert_max_num_queries(TRAIN_PAGE_QUERIES):
        response = client.get(detail_url(world.art))
    assert response.context["form"] is not None
    assert response.context["dependencies"].needs_total == 12


def test_train_page_query_count_is_the_same_on_small_and_medium_demo(client_for, demo, django_assert_max_num_queries):
    rte = demo.users["rte"]
    train = Train.objects.filter(engineer=rte).order_by("pk").first()
    client = client_for(rte)
    with django_assert_max_num_queries(TRAIN_PAGE_QUERIES):
        response = client.get(detail_url(train))
    assert response.status_code == 200
    assert response.context["form"] is not None
    assert response.context["dependencies"].needs_total + response.context["dependencies"].gives_total > 0
