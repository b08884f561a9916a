"""The train pages: the list of trains by value stream and a train's page."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from portfolio.models import Terminology
from tests.factories import (
    MembershipFactory,
    PortfolioFactory,
    SolutionTrainFactory,
    StatusReportFactory,
    TeamFactory,
    TrainFactory,
    UserFactory,
    ValueStreamFactory,
)
from valuestreams.models import Health, TeamKind, Train
from valuestreams.selectors import trains_by_value_stream

pytestmark = pytest.mark.django_db

MEMBER_ROLES = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
DEMO_ROLES = ("apmo", "portfolio_manager", "enterprise_architect", "viewer", "rte", "other_rte", "ste", "automation")
# Session, user, memberships, trains with their latest report's id, those reports.
TRAIN_LIST_QUERIES = 5
# Session, user, memberships, the train, its teams, the teams serving it, its ARTs,
# their latest reports, its status history; its open dependencies (totals, needed,
# given) and its next cadence events (see test_views_status.py).
TRAIN_DETAIL_QUERIES = 13


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def report_history(train, *ages_in_days, health=Health.ON_TRACK, author=None, **kwargs):
    """Weekly-style reports of a train, oldest first, each based on the one before."""
    previous = None
    for age in sorted(ages_in_days, reverse=True):
        previous = StatusReportFactory(
            train=train,
            created_at=days_ago(age),
            based_on=previous,
            health=health,
            author=author or UserFactory(),
            **kwargs,
        )
    return previous


def detail_url(train) -> str:
    return reverse("valuestreams:train-detail", args=[train.pk])


def main_of(response) -> str:
    content = response.content.decode()
    return content[content.index("<main") : content.index("</main>")]


# --- Access -------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/trains/", "/trains/1/"])
def test_anonymous_is_redirected_to_login(client, url):
    assertRedirects(client.get(url), f"{reverse('login')}?next={url}", fetch_redirect_response=False)


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_every_member_sees_the_train_list_and_each_trains_page(client_for, world, role):
    client = client_for(world.user(role))
    assertContains(client.get(reverse("valuestreams:train-list")), "Card Issuing ART")
    for train in (world.solution_train, world.art, world.other_art):
        assertContains(client.get(detail_url(train)), f"<h1>{train.name}</h1>", html=True)


def test_an_outsider_gets_404_on_another_portfolios_train(client_for, world):
    outsider = world.user("outsider")
    MembershipFactory(user=outsider, portfolio=PortfolioFactory(), role="apmo")
    assert client_for(outsider).get(detail_url(world.art)).status_code == 404


def test_a_missing_train_is_404(client_for, world):
    assert client_for(world.user("viewer")).get("/trains/999999/").status_code == 404


def test_someone_without_a_membership_sees_the_no_portfolio_page_for_trains(client_for, world):
    response = client_for(world.user("outsider")).get(reverse("valuestreams:train-list"))
    assert response.status_code == 200
    assertContains(response, "You are not a member of any portfolio yet")


# --- The train list ----------------------------------------------------------------


def test_trains_are_grouped_by_value_stream_with_solution_trains_first(client_for, world):
    TrainFactory(value_stream=world.value_stream, name="Acquiring ART", key="ACQ")  # no solution train
    TrainFactory(value_stream=world.value_stream, name="Cards Data ART", key="CDA", solution_train=world.solution_train)

    response = client_for(world.user("viewer")).get(reverse("valuestreams:train-list"))

    groups = response.context["groups"]
    assert [g.value_stream.name for g in groups] == ["Card Payments", "Lending"]
    card = groups[0]
    assert [s.row.train.name for s in card.solution_trains] == ["Card Platform Solution Train"]
    assert [a.train.name for a in card.solution_trains[0].arts] == ["Card Issuing ART", "Cards Data ART"]
    assert [a.train.name for a in card.arts] == ["Acquiring ART"]
    assert [a.train.name for a in groups[1].arts] == ["Loan Origination ART"]

    page = main_of(response)
    assert '<nav class="jump-nav" aria-label="Value streams on this page">' in page
    page = page[page.index("<section") :]  # the sections, after the jump links
    order = [
        page.index(name)
        for name in (
            "Card Payments",
            "Card Platform Solution Train",
            "Card Issuing ART",
            "Cards Data ART",
            "Acquiring ART",
            "Lending",
            "Loan Origination ART",
        )
    ]
    assert order == sorted(order)
    member_row = re.search(
        r'<tr class="row-member[^"]*">\s*<th scope="row">\s*<span class="train-name">\s*<a href="/trains/(\d+)/"', page
    )
    assert member_row and int(member_row.group(1)) == world.art.pk


def test_an_art_of_a_solution_train_in_another_value_stream_stays_in_its_own(world):
    TrainFactory(value_stream=world.other_value_stream, name="Card Lending ART", solution_train=world.solution_train)
    groups = trains_by_value_stream(user=world.user("viewer"), portfolio=world.portfolio)
    assert [a.train.name for a in groups[0].solution_trains[0].arts] == ["Card Issuing ART"]
    assert [a.train.name for a in groups[1].arts] == ["Card Lending ART", "Loan Origination ART"]


def test_train_list_shows_health_badges_confidence_and_who_updated_when(client_for, world):
    author = UserFactory(username="rita", first_name="Rita", last_name="Engel")
    report_history(world.art, 3, health=Health.AT_RISK, pi_confidence=2, author=author)
    report_history(world.other_art, 1, health=Health.OFF_TRACK)
    report_history(world.solution_train, 2, health=Health.ON_TRACK)

    page = main_of(client_for(world.user("viewer")).get(reverse("valuestreams:train-list")))

    assert '<span class="badge badge-at_risk">At risk</span>' in page
    assert '<span class="badge badge-off_track">Off track</span>' in page
    assert '<span class="badge badge-on_track">On track</span>' in page
    assert "2/5" in page
    assert "Rita Engel" in page
    assert "3\xa0days ago" in page  # a non-breaking space keeps "3 days" together
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+"', page)


def test_a_status_older_than_the_portfolios_limit_is_marked_stale(client_for, world):
    world.portfolio.status_stale_days = 10
    world.portfolio.save()
    report_history(world.art, 11)
    report_history(world.other_art, 9)

    response = client_for(world.user("viewer")).get(reverse("valuestreams:train-list"))

    rows = {}
    for group in response.context["groups"]:
        for solution in group.solution_trains:
            rows[solution.row.train.name] = solution.row
            rows.update({a.train.name: a for a in solution.arts})
        rows.update({a.train.name: a for a in group.arts})
    assert rows["Card Issuing ART"].stale
    assert not rows["Loan Origination ART"].stale
    assert rows["Card Platform Solution Train"].stale  # no status at all
    page = main_of(response)
    assert (
        page.count(
            '<span class="badge badge-stale" title="The latest status is older than the portfolio allows">Stale</span>'
        )
        == 1
    )
    assert page.count('<span class="badge badge-stale">No status yet</span>') == 1
    assertContains(response, "A status older than 10 days is marked stale.")


def test_train_list_shows_only_the_current_portfolios_trains(client_for, world):
    TrainFactory(value_stream__portfolio=PortfolioFactory(), name="Foreign ART")
    assertNotContains(client_for(world.user("viewer")).get(reverse("valuestreams:train-list")), "Foreign ART")


def test_train_list_words_follow_the_portfolios_terminology(client_for, world):
    client = client_for(world.user("viewer"))
    assertContains(client.get("/trains/"), '<abbr title="Program Increment">PI</abbr> confidence', html=True)
    world.portfolio.terminology = Terminology.PLANNING_INTERVAL
    world.portfolio.save()
    response = client.get("/trains/")
    assertContains(response, '<abbr title="Planning Interval">PI</abbr> confidence', html=True)
    assertNotContains(response, "Program Increment")


def test_empty_portfolio_says_it_has_no_trains(client_for):
    user = UserFactory()
    MembershipFactory(user=user, portfolio=PortfolioFactory())
    assertContains(client_for(user).get("/trains/"), "No trains yet")


def test_train_list_query_count_does_not_grow_with_trains(client_for, world, django_assert_max_num_queries):
    client = client_for(world.user("viewer"))
    report_history(world.art, 1, 8)
    with django_assert_max_num_queries(TRAIN_LIST_QUERIES):
        client.get("/trains/")
    for i in range(8):
        value_stream = ValueStreamFactory(portfolio=world.portfolio)
        solution = SolutionTrainFactory(value_stream=value_stream, engineer=UserFactory())
        art = TrainFactory(value_stream=value_stream, solution_train=solution, engineer=UserFactory())
        report_history(solution, 2, 9, health=Health.AT_RISK)
        report_history(art, i + 1, 30)
    with django_assert_max_num_queries(TRAIN_LIST_QUERIES):
        response = client.get("/trains/")
    assert len(response.context["groups"]) == 10


# --- A train's page ---------------------------------------------------------------


def test_an_arts_page_shows_its_facts_teams_and_latest_status(client_for, world):
    TeamFactory(train=world.art, name="Issuers")
    TeamFactory(train=world.art, name="Card Ops System Team", kind=TeamKind.SYSTEM)
    shared = TeamFactory(train=world.other_art, name="Fraud Analytics", kind=TeamKind.SHARED_SERVICE)
    shared.serves.add(world.art)
    report_history(
        world.art,
        8,
        1,
        health=Health.AT_RISK,
        pi_confidence=3,
        summary="Tokenisation slipped one iteration.",
        risks="Vendor SDK late.",
        blockers="Waiting on PCI review.",
    )

    response = client_for(world.user("viewer")).get(detail_url(world.art))

    page = main_of(response)
    assert "Agile Release Train" in page
    assert "Card Payments" in page
    assert f'<a href="{detail_url(world.solution_train)}">Card Platform Solution Train</a>' in page
    assert "<dt>RTE</dt><dd>w-rte</dd>" in page
    assert '<dt>STE</dt><dd>w-ste <span class="muted">(of the solution train)</span></dd>' in page
    for text in (
        "Issuers",
        "Agile team",
        "Card Ops System Team",
        "System team",
        "Fraud Analytics",
        "Shared service",
        "home: Loan Origination ART",
    ):
        assert text in page
    assert "Tokenisation slipped one iteration." in page
    assert "Vendor SDK late." in page
    assert "Waiting on PCI review." in page
    assert 'class="panel status-panel status-at_risk"' in page


def test_a_solution_trains_page_lists_its_arts_with_their_health(client_for, world):
    report_history(world.art, 2, health=Health.OFF_TRACK)
    response = client_for(world.user("viewer")).get(detail_url(world.solution_train))
    page = main_of(response)
    assert "ARTs in this solution train" in page
    assert "<dt>STE</dt><dd>w-ste</dd>" in page
    assert f'<a href="{detail_url(world.art)}">Card Issuing ART</a>' in page
    assert '<span class="badge badge-off_track">Off track</span>' in page
    assert "No status has been reported for this train yet." in page


def test_status_history_is_newest_first_and_keeps_the_last_52(client_for, world):
    ages = list(range(1, 7 * 60, 7))  # 60 weekly reports
    previous = None
    for number, age in enumerate(sorted(ages, reverse=True)):
        previous = StatusReportFactory(
            train=world.art, created_at=days_ago(age), based_on=previous, summary=f"Week {number}"
        )

    response = client_for(world.user("viewer")).get(detail_url(world.art))

    history = response.context["page"].history
    assert len(history) == 52
    assert [r.created_at for r in history] == sorted((r.created_at for r in history), reverse=True)
    assert history[0].summary == "Week 59"
    assert response.context["page"].latest == history[0]
    page = main_of(response)
    assert page.index("Week 59") < page.index("Week 58") < page.index("Week 8")
    assert "Week 7<" not in page
    assertContains(response, "the last 52 reports, newest first")


def test_a_stale_latest_status_is_flagged_on_the_trains_page(client_for, world):
    report_history(world.art, 20)
    page = main_of(client_for(world.user("viewer")).get(detail_url(world.art)))
    assert "This status is older than 7 days" in page
    assert ">Stale</span>" in page


def test_the_trains_page_is_read_only_for_a_viewer(client_for, world):
    page = main_of(client_for(world.user("viewer")).get(detail_url(world.art)))
    assert "<form" not in page
    assert "<button" not in page


def test_train_page_words_follow_the_portfolios_terminology(client_for, world):
    report_history(world.art, 1)
    world.portfolio.terminology = Terminology.PLANNING_INTERVAL
    world.portfolio.save()
    response = client_for(world.user("viewer")).get(detail_url(world.art))
    assertContains(response, "Planning Interval")
    assertNotContains(response, "Program Increment")


def test_train_page_query_count_does_not_grow_with_teams_arts_or_history(
    client_for, world, django_assert_max_num_queries
):
    client = client_for(world.user("viewer"))
    with django_assert_max_num_queries(TRAIN_DETAIL_QUERIES):
        client.get(detail_url(world.solution_train))
    for i in range(6):
        art = TrainFactory(value_stream=world.value_stream, solution_train=world.solution_train, engineer=UserFactory())
        report_history(art, i + 1, i + 8, health=Health.AT_RISK)
        TeamFactory(train=world.solution_train, kind=TeamKind.SYSTEM)
        TeamFactory(train=art).serves.add(world.solution_train)
    report_history(world.solution_train, *range(1, 200, 7))
    with django_assert_max_num_queries(TRAIN_DETAIL_QUERIES):
        response = client.get(detail_url(world.solution_train))
    assert len(response.context["page"].arts) == 7


# --- The demo portfolios: the same bounds on small and medium -----------------------


@pytest.mark.parametrize("role", DEMO_ROLES)
def test_train_list_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(TRAIN_LIST_QUERIES):
        response = client.get("/trains/")
    assert response.status_code == 200
    assert response.context["groups"]


@pytest.mark.parametrize("kind", ["solution", "art"])
def test_train_page_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, kind, django_assert_max_num_queries
):
    train = (
        Train.objects.filter(value_stream__portfolio=demo.portfolio, kind=kind).order_by("pk").first()
        or Train.objects.filter(value_stream__portfolio=demo.portfolio).order_by("pk").first()
    )
    client = client_for(demo.users["viewer"])
    with django_assert_max_num_queries(TRAIN_DETAIL_QUERIES):
        response = client.get(detail_url(train))
    assert response.status_code == 200
