"""Calendar feeds: iCalendar that calendar clients accept, reached by a secret token."""

import datetime

import pytest
from django.urls import reverse
from icalendar import Calendar

from cadence.models import CadenceEvent, Iteration
from cadence.services import calendar_feed_token_for, calendar_feed_token_reset
from portfolio.models import Terminology
from tests.factories import MembershipFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def portfolio_feed(user, portfolio) -> str:
    return reverse("cadence:feed-portfolio", args=[calendar_feed_token_for(user=user).token, portfolio.pk])


def train_feed(user, train) -> str:
    return reverse("cadence:feed-train", args=[calendar_feed_token_for(user=user).token, train.pk])


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def entries(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_the_portfolio_feed_parses_and_holds_pis_iterations_and_events(client, calendar):
    world = calendar.world
    response = client.get(portfolio_feed(world.user("viewer"), world.portfolio))  # no login: the token is the key
    feed = parse(response)
    assert str(feed["VERSION"]) == "2.0"
    assert str(feed["PRODID"]) == "-//Tributary//PI calendar//EN"
    assert str(feed["CALSCALE"]) == "GREGORIAN"
    by_uid = entries(feed)
    pis = calendar.pis
    iterations = Iteration.objects.filter(program_increment__cadence=calendar.cadence)
    events = CadenceEvent.objects.filter(program_increment__cadence=calendar.cadence)
    assert set(by_uid) == (
        {f"pi-{pi.pk}@tributary" for pi in pis}
        | {f"iteration-{it.pk}@tributary" for it in iterations}
        | {f"event-{event.pk}@tributary" for event in events}
    )


def test_feed_entries_are_all_day_with_an_exclusive_end_and_a_dtstamp(client, calendar):
    world = calendar.world
    by_uid = entries(parse(client.get(portfolio_feed(world.user("viewer"), world.portfolio))))
    pi = calendar.current
    entry = by_uid[f"pi-{pi.pk}@tributary"]
    start, end = entry.decoded("DTSTART"), entry.decoded("DTEND")
    assert type(start) is datetime.date and type(end) is datetime.date
    assert (start, end) == (pi.start_date, pi.end_date + DAY)
    assert entry["DTSTART"].params.get("VALUE") == "DATE"
    assert isinstance(entry.decoded("DTSTAMP"), datetime.datetime)
    assert entry.decoded("DTSTAMP").tzinfo is not None
    assert str(entry["SUMMARY"]) == f"{pi.name} (Program Increment)"
    planning = pi.events.get(kind="pi_planning")
    planning_entry = by_uid[f"event-{planning.pk}@tributary"]
    assert (planning_entry.decoded("DTSTART"), planning_entry.decoded("DTEND")) == (
        planning.start_date,
        planning.end_date + DAY,
    )
    for event in by_uid.values():
        assert "DTSTAMP" in event and "UID" in event and "SUMMARY" in event


def test_uids_stay_the_same_across_requests_and_an_edit_raises_the_sequence(client, calendar):
    world = calendar.world
    url = portfolio_feed(world.user("viewer"), world.portfolio)
    first = entries(parse(client.get(url)))
    event = calendar.current.events.get(kind="solution_demo")
    CadenceEvent.objects.filter(pk=event.pk).update(version=3)
    second = entries(parse(client.get(url)))
    assert set(first) == set(second)
    uid = f"event-{event.pk}@tributary"
    assert (first[uid].decoded("SEQUENCE"), second[uid].decoded("SEQUENCE")) == (0, 2)


def test_the_feed_speaks_the_portfolios_words(client, calendar):
    world = calendar.world
    world.portfolio.terminology = Terminology.PLANNING_INTERVAL
    world.portfolio.save()
    by_uid = entries(parse(client.get(portfolio_feed(world.user("viewer"), world.portfolio))))
    assert str(by_uid[f"pi-{calendar.current.pk}@tributary"]["SUMMARY"]).endswith("(Planning Interval)")


def test_a_train_feed_follows_the_trains_own_cadence(client, calendar):
    world = calendar.world
    own = entries(parse(client.get(train_feed(world.user("viewer"), world.other_art))))
    offset_pis = set(calendar.offset.program_increments.values_list("pk", flat=True))
    assert {uid for uid in own if uid.startswith("pi-")} == {f"pi-{pk}@tributary" for pk in offset_pis}
    inherited = entries(parse(client.get(train_feed(world.user("viewer"), world.art))))
    assert {uid for uid in inherited if uid.startswith("pi-")} == {f"pi-{pi.pk}@tributary" for pi in calendar.pis}


def test_a_wrong_token_gets_404(client, calendar):
    world = calendar.world
    assert client.get(reverse("cadence:feed-portfolio", args=["not-a-token", world.portfolio.pk])).status_code == 404
    assert client.get(reverse("cadence:feed-train", args=["x" * 80, world.art.pk])).status_code == 404


def test_a_reset_token_gets_404_and_the_new_one_works(client, calendar):
    world = calendar.world
    user = world.user("viewer")
    old = portfolio_feed(user, world.portfolio)
    old_train = train_feed(user, world.art)
    calendar_feed_token_reset(user=user)
    assert client.get(old).status_code == 404
    assert client.get(old_train).status_code == 404
    assert client.get(portfolio_feed(user, world.portfolio)).status_code == 200


def test_a_token_opens_only_what_its_user_may_see(client, calendar):
    world = calendar.world
    outsider = world.user("outsider")
    elsewhere = PortfolioFactory()
    MembershipFactory(user=outsider, portfolio=elsewhere)
    assert client.get(portfolio_feed(outsider, elsewhere)).status_code == 200
    assert client.get(portfolio_feed(outsider, world.portfolio)).status_code == 404
    assert client.get(train_feed(outsider, world.art)).status_code == 404
    # A member who leaves the portfolio loses its feed.
    viewer = world.user("viewer")
    url = portfolio_feed(viewer, world.portfolio)
    viewer.memberships.all().delete()
    assert client.get(url).status_code == 404


def test_an_inactive_users_token_gets_404(client, calendar):
    world = calendar.world
    user = world.user("viewer")
    url = portfolio_feed(user, world.portfolio)
    user.is_active = False
    user.save()
    assert client.get(url).status_code == 404


def test_a_feed_is_not_cached_by_shared_caches(client, calendar):
    world = calendar.world
    response = client.get(portfolio_feed(world.user("viewer"), world.portfolio))
    assert "private" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith("inline;")


def test_a_feed_costs_a_fixed_number_of_queries(client, demo, django_assert_max_num_queries):
    url = portfolio_feed(demo.users["viewer"], demo.portfolio)
    # token and user, memberships, portfolio, PIs, iterations, events
    with django_assert_max_num_queries(6):
        response = client.get(url)
    assert len(Calendar.from_ical(response.content).walk("VEVENT")) > 50
