"""The cadence pages: the PI calendar, a PI's page, the APMO's edit pages and generation."""

import datetime

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from cadence import services
from cadence.models import CalendarFeedToken, ProgramIncrement
from portfolio.models import Terminology
from tests.cadence.conftest import make_cadence
from tests.factories import MembershipFactory, PortfolioFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
MEMBER_ROLES = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
NOT_APMO = ("viewer", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
DEMO_ROLES = ("apmo", "portfolio_manager", "enterprise_architect", "viewer", "rte", "other_rte", "ste", "automation")
# Session, user, memberships; value streams and their trains; the window's PIs; the
# PIs, iterations and events of the cadences shown; open dependencies of the trains
# off the cadence; the cadences' summaries; the coming events; the feed token; and for
# an APMO which cadences they may edit. Whatever the size of the portfolio.
CALENDAR_QUERIES = 14

CALENDAR = reverse("cadence:calendar")


def pi_form_data(pi, **changes):
    data = {
        "version": pi.version,
        "name": pi.name,
        "start_date": pi.start_date.isoformat(),
        "end_date": pi.end_date.isoformat(),
        "planning_date": pi.planning_date.isoformat(),
        "intake_cutoff": pi.intake_cutoff.isoformat(),
    }
    return data | {
        key: value.isoformat() if isinstance(value, datetime.date) else value for key, value in changes.items()
    }


def edit_url(name, obj):
    return reverse(f"cadence:{name}", args=[obj.pk])


# --- Access -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/cadence/", "/cadence/pi/1/", "/cadence/pi/1/edit/"])
def test_anonymous_is_redirected_to_login(client, url):
    assertRedirects(client.get(url), f"{reverse('login')}?next={url}", fetch_redirect_response=False)


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_every_member_sees_the_calendar_with_its_rows_and_the_train_off_the_cadence(client_for, calendar, role):
    world = calendar.world
    response = client_for(world.user(role)).get(CALENDAR)
    assert response.status_code == 200
    for name in ("Card Payments", "Lending", "Loan Origination ART", calendar.current.name, "Payments cadence"):
        assertContains(response, name)
    assertContains(response, "Trains off the cadence")
    assertContains(response, "3 days later")
    assertContains(response, 'class="tl-pi-name is-current"')
    assertContains(response, 'class="tl-today"')


def test_the_calendar_speaks_the_portfolios_words(client_for, calendar):
    world = calendar.world
    world.portfolio.terminology = Terminology.PLANNING_INTERVAL
    world.portfolio.save()
    response = client_for(world.user("viewer")).get(CALENDAR)
    assertContains(response, "Planning Intervals in this window")
    assertNotContains(response, "Program Increment")


def test_the_apmo_sees_edit_links_and_the_generate_action(client_for, calendar):
    response = client_for(calendar.world.user("apmo")).get(CALENDAR)
    assertContains(response, edit_url("pi-edit", calendar.current))
    assertContains(response, reverse("cadence:cadence-generate", args=[calendar.cadence.pk]))
    assertContains(response, edit_url("cadence-edit", calendar.cadence))


@pytest.mark.parametrize("role", NOT_APMO)
def test_others_see_no_edit_link_nor_generate_action(client_for, calendar, role):
    response = client_for(calendar.world.user(role)).get(CALENDAR)
    assertNotContains(response, "/edit/")
    assertNotContains(response, "/generate/")
    response = client_for(calendar.world.user(role)).get(edit_url("pi-detail", calendar.current))
    assertContains(response, calendar.current.name)
    assertNotContains(response, "/edit/")


@pytest.mark.parametrize("role", NOT_APMO)
def test_others_get_403_on_every_edit_page_and_action(client_for, calendar, role):
    client = client_for(calendar.world.user(role))
    pi = calendar.current
    iteration, event = pi.iterations.first(), pi.events.first()
    for url in (
        edit_url("pi-edit", pi),
        edit_url("iteration-edit", iteration),
        edit_url("event-edit", event),
        edit_url("cadence-edit", calendar.cadence),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {}).status_code == 403
    response = client.post(edit_url("cadence-generate", calendar.cadence), {"count": 1, "after_number": 6})
    assert response.status_code == 403
    assert calendar.cadence.program_increments.count() == 6


def test_an_outsider_gets_404_on_the_pages_of_another_portfolios_cadence(client_for, calendar):
    outsider = calendar.world.user("outsider")
    MembershipFactory(user=outsider, portfolio=PortfolioFactory())
    client = client_for(outsider)
    pi = calendar.current
    for url in (edit_url("pi-detail", pi), edit_url("pi-edit", pi), edit_url("iteration-edit", pi.iterations.first())):
        assert client.get(url).status_code == 404
    assert (
        client.post(edit_url("cadence-generate", calendar.cadence), {"count": 1, "after_number": 6}).status_code == 404
    )


# --- The calendar's window and empty states --------------------------------------------------


def test_the_window_moves_by_one_pi_and_back_to_today(client_for, calendar):
    client = client_for(calendar.world.user("viewer"))
    first = calendar.pis[0]
    response = client.get(CALENDAR, {"from": first.number})
    assert response.context["page"].window.program_increments[0] == first
    assertContains(response, ">Today</a>")
    assert client.get(CALENDAR, {"from": "nonsense"}).status_code == 200


def test_a_portfolio_without_a_cadence_says_so(client_for, calendar):
    world = calendar.world
    world.portfolio.cadence = None
    world.portfolio.save()
    response = client_for(world.user("viewer")).get(CALENDAR)
    assertContains(response, "does not follow a cadence yet")


def test_a_cadence_without_pis_offers_the_apmo_to_generate_them(client_for, calendar):
    world = calendar.world
    world.portfolio.cadence = make_cadence("Fresh", calendar.today, pis=0)
    world.portfolio.save()
    response = client_for(world.user("apmo")).get(CALENDAR)
    assertContains(response, "has no Program Increments yet")
    assertContains(response, reverse("cadence:cadence-generate", args=[world.portfolio.cadence_id]))


# --- Generating ------------------------------------------------------------------------------


def test_the_apmo_generates_the_next_pis_once_however_often_the_form_is_sent(client_for, calendar):
    client = client_for(calendar.world.user("apmo"))
    url = edit_url("cadence-generate", calendar.cadence)
    response = client.post(url, {"count": 2, "after_number": 6}, follow=True)
    assertContains(response, "Added PI")
    assert calendar.cadence.program_increments.count() == 8
    response = client.post(url, {"count": 2, "after_number": 6}, follow=True)
    assertContains(response, "Nothing added")
    assert calendar.cadence.program_increments.count() == 8


def test_a_generate_request_out_of_range_is_refused_with_a_message(client_for, calendar):
    response = client_for(calendar.world.user("apmo")).post(
        edit_url("cadence-generate", calendar.cadence), {"count": 40, "after_number": 6}, follow=True
    )
    assertContains(response, "Choose how many")
    assert calendar.cadence.program_increments.count() == 6


# --- Editing ----------------------------------------------------------------------------------


def test_the_apmo_edits_a_pi_and_is_sent_to_its_page(client_for, calendar):
    pi = calendar.current
    response = client_for(calendar.world.user("apmo")).post(
        edit_url("pi-edit", pi), pi_form_data(pi, name="PI Renamed")
    )
    assertRedirects(response, edit_url("pi-detail", pi), fetch_redirect_response=False)
    pi.refresh_from_db()
    assert (pi.name, pi.version) == ("PI Renamed", 2)


def test_an_overlapping_pi_is_refused_with_a_form_error_not_a_500(client_for, calendar):
    pi = calendar.current
    response = client_for(calendar.world.user("apmo")).post(
        edit_url("pi-edit", pi), pi_form_data(pi, end_date=pi.end_date + 10 * DAY)
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "would overlap" in form.errors["end_date"][0]
    assertContains(response, "Not saved")
    assert ProgramIncrement.objects.get(pk=pi.pk).end_date == pi.end_date


def test_an_overlap_only_the_database_sees_is_a_form_error_too(client_for, calendar, monkeypatch):
    pi = calendar.current
    monkeypatch.setattr(ProgramIncrement, "clean", lambda self: None)
    real = services._overlap_error
    calls = []
    monkeypatch.setattr(services, "_overlap_error", lambda p: calls.append(p) or (real(p) if len(calls) > 1 else None))
    response = client_for(calendar.world.user("apmo")).post(
        edit_url("pi-edit", pi), pi_form_data(pi, end_date=pi.end_date + 10 * DAY)
    )
    assert response.status_code == 200
    assert "would overlap" in response.context["form"].errors["end_date"][0]


def test_iterations_out_of_order_are_refused_on_the_iteration_form(client_for, calendar):
    iteration = calendar.current.iterations.get(number=2)
    response = client_for(calendar.world.user("apmo")).post(
        edit_url("iteration-edit", iteration),
        {
            "version": iteration.version,
            "start_date": (iteration.start_date - 3 * DAY).isoformat(),
            "end_date": iteration.end_date.isoformat(),
        },
    )
    assert response.status_code == 200
    assert "iterations follow each other in order" in response.context["form"].errors["start_date"][0]


def test_a_stale_form_is_refused_with_the_current_values_beside_the_input(client_for, calendar):
    pi = calendar.current
    client = client_for(calendar.world.user("apmo"))
    stale = pi_form_data(pi, name="Mine")
    client.post(edit_url("pi-edit", pi), pi_form_data(pi, name="Theirs"))
    response = client.post(edit_url("pi-edit", pi), stale)
    assert response.status_code == 200
    assertContains(response, "someone else changed this")
    assertContains(response, "Saved meanwhile")
    assertContains(response, "Theirs")
    assert response.context["form"]["version"].value() == 2
    assert ProgramIncrement.objects.get(pk=pi.pk).name == "Theirs"


def test_the_apmo_edits_an_event_and_a_cadence(client_for, calendar):
    client = client_for(calendar.world.user("apmo"))
    event = calendar.current.events.order_by("start_date").last()
    response = client.post(
        edit_url("event-edit", event),
        {
            "version": event.version,
            "name": "Inspect and adapt, offsite",
            "kind": event.kind,
            "start_date": event.start_date.isoformat(),
            "end_date": event.end_date.isoformat(),
        },
    )
    assert response.status_code == 302
    cadence = calendar.cadence
    response = client.post(
        edit_url("cadence-edit", cadence),
        {
            "version": cadence.version,
            "name": "Payments cadence",
            "iterations_per_pi": 6,
            "iteration_length_days": 14,
            "has_ip_iteration": "on",
            "intake_cutoff_days": 21,
        },
    )
    assert response.status_code == 302
    cadence.refresh_from_db()
    assert (cadence.iterations_per_pi, cadence.intake_cutoff_days) == (6, 21)


def test_the_pi_page_lists_iterations_and_events_with_edit_links_for_the_apmo(client_for, calendar):
    pi = calendar.current
    response = client_for(calendar.world.user("apmo")).get(edit_url("pi-detail", pi))
    assertContains(response, "Innovation &amp; Planning (IP)")
    assertContains(response, f"{pi.name} inspect &amp; adapt")
    assertContains(response, edit_url("iteration-edit", pi.iterations.first()))


# --- Feed links on the page --------------------------------------------------------------------


def test_the_page_shows_the_users_feed_address_and_resets_it(client_for, calendar):
    user = calendar.world.user("viewer")
    client = client_for(user)
    response = client.get(CALENDAR)
    token = CalendarFeedToken.objects.get(user=user).token
    assertContains(response, f"/cadence/feed/{token}/portfolio/{calendar.world.portfolio.pk}.ics")
    assertContains(response, f"/cadence/feed/{token}/train/{calendar.world.other_art.pk}.ics")
    response = client.post(reverse("cadence:feed-token-reset"), follow=True)
    assertContains(response, "old links no longer work")
    assert CalendarFeedToken.objects.get(user=user).token != token


def test_resetting_the_feed_address_needs_a_post(client_for, calendar):
    assert client_for(calendar.world.user("viewer")).get(reverse("cadence:feed-token-reset")).status_code == 405


# --- Query counts -------------------------------------------------------------------------------


def fresh(user):
    return type(user).objects.get(pk=user.pk)


@pytest.mark.parametrize("role", ["apmo", "viewer"])
def test_the_calendar_costs_a_fixed_number_of_queries(client_for, demo, role, django_assert_max_num_queries):
    client = client_for(fresh(demo.users[role]))
    client.get(CALENDAR)  # the first visit makes the feed token
    with django_assert_max_num_queries(CALENDAR_QUERIES):
        response = client.get(CALENDAR)
    assert response.status_code == 200
    assert response.context["page"].warnings, "the demo has a train off the cadence"


@pytest.mark.parametrize("role", DEMO_ROLES)
def test_every_demo_role_sees_the_calendar(client_for, demo, role):
    response = client_for(demo.users[role]).get(CALENDAR)
    assert response.status_code == 200
    assert ("/edit/" in response.content.decode()) == (role == "apmo")


def test_the_pi_page_costs_a_fixed_number_of_queries(client_for, demo, django_assert_max_num_queries):
    pi = ProgramIncrement.objects.filter(cadence=demo.portfolio.cadence).first()
    client = client_for(fresh(demo.users["apmo"]))
    # session, user, memberships, the PI, its iterations, its events, which cadences the APMO may edit
    with django_assert_max_num_queries(7):
        response = client.get(edit_url("pi-detail", pi))
    assert response.status_code == 200


def test_a_new_user_gets_a_feed_token_on_first_visit(client_for, calendar):
    user = UserFactory(username="newcomer")
    MembershipFactory(user=user, portfolio=calendar.world.portfolio)
    assert client_for(user).get(CALENDAR).status_code == 200
    assert CalendarFeedToken.objects.filter(user=user).exists()
