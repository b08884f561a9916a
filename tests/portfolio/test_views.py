"""The portfolio pages: logging in and out, the layout, the switcher and the dashboard."""

import datetime

import pytest
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from portfolio.models import EpicState, Role, Terminology
from portfolio.navigation import navigation_for
from portfolio.selectors import SESSION_KEY
from tests.factories import (
    DependencyFactory,
    EpicFactory,
    MembershipFactory,
    PortfolioFactory,
    StatusReportFactory,
    TrainFactory,
    UserFactory,
)
from valuestreams.models import DependencyFlag, DependencyState, Health

pytestmark = pytest.mark.django_db

MEMBER_ROLES = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
DEMO_ROLES = ("apmo", "portfolio_manager", "enterprise_architect", "viewer", "rte", "other_rte", "ste", "automation")
# Session, user, memberships, trains, their latest reports, epics per state, WIP limits,
# dependencies per state and flag, flagged dependencies, current PI: whatever the size.
DASHBOARD_QUERIES = 25  # health, epics, dependencies (counts, late, flagged), sync check, integration points, idle work


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


# --- Logging in and out ---------------------------------------------------------


def test_anonymous_is_redirected_to_login_from_the_dashboard(client):
    response = client.get("/")
    assertRedirects(response, f"{reverse('login')}?next=/", fetch_redirect_response=False)


def test_login_page_renders_a_labelled_form(client):
    response = client.get(reverse("login"))
    assertContains(response, '<label for="id_username">Username</label>', html=True)
    assertContains(response, '<label for="id_password">Password</label>', html=True)
    assertContains(response, "csrfmiddlewaretoken")


def test_a_real_login_with_username_and_password_reaches_the_dashboard(client, world):
    response = client.post(
        reverse("login"), {"username": "w-apmo", "password": "pass-word-123", "next": "/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assertContains(response, "Portfolio dashboard")
    assertContains(response, "Payments Portfolio")


def test_a_wrong_password_shows_the_error_on_the_login_page(client, world):
    response = client.post(reverse("login"), {"username": "w-apmo", "password": "wrong"})
    assert response.status_code == 200
    assertContains(response, 'role="alert"')
    assertContains(response, "enter a correct username and password")


def test_logout_by_post_ends_the_session(client_for, world):
    client = client_for(world.user("viewer"))
    assertContains(client.get("/"), 'action="/accounts/logout/"')
    response = client.post(reverse("logout"))
    assertRedirects(response, reverse("login"), fetch_redirect_response=False)
    assert client.get("/").status_code == 302


def test_logout_by_get_is_refused(client_for, world):
    client = client_for(world.user("viewer"))
    assert client.get(reverse("logout")).status_code == 405
    assert client.get("/").status_code == 200


# --- The layout ---------------------------------------------------------------


def test_layout_has_a_skip_link_landmarks_and_one_h1(client_for, world):
    content = client_for(world.user("viewer")).get("/").content.decode()
    assert '<a class="skip-link" href="#main">' in content
    assert '<main id="main"' in content
    assert '<nav class="site-nav" aria-label="Main">' in content
    assert content.count("<h1") == 1


def test_navigation_links_only_to_pages_that_exist_and_marks_the_current_one(world):
    links = navigation_for(user=world.user("viewer"), path="/trains/12/")
    assert [link.label for link in links][:1] == ["Dashboard"]
    for link in links:
        resolve(link.url)  # never a 404
    assert [link.label for link in links if link.current] == ["Trains"]
    assert "Admin" not in [link.label for link in links]


def test_navigation_entries_of_unbuilt_pages_are_left_out(world, monkeypatch):
    from portfolio import navigation

    entry = navigation.NavEntry("Nowhere", "nowhere:page", "/nowhere-yet/")
    monkeypatch.setattr(navigation, "NAVIGATION", (*navigation.NAVIGATION, entry))
    with pytest.raises(Resolver404):
        resolve(entry.path)
    labels = [link.label for link in navigation_for(user=world.user("viewer"), path="/")]
    assert "Nowhere" not in labels
    assert "Trains" in labels


def test_staff_see_the_admin_link(client_for, world):
    staff = world.user("apmo")
    staff.is_staff = True
    staff.save()
    assertContains(client_for(staff).get("/"), '<a href="/admin/">Admin</a>', html=True)
    assertNotContains(client_for(world.user("viewer")).get("/"), 'href="/admin/"')


def test_active_navigation_entry_is_marked_for_assistive_technology(client_for, world):
    response = client_for(world.user("viewer")).get("/")
    assertContains(response, '<a href="/" aria-current="page">Dashboard</a>', html=True)


def test_messages_are_shown(client_for, world):
    other = PortfolioFactory(name="Lending Portfolio")
    MembershipFactory(user=world.user("viewer"), portfolio=other)
    response = client_for(world.user("viewer")).post(
        reverse("switch-portfolio"), {"portfolio": other.pk, "next": "/"}, follow=True
    )
    assertContains(response, "You are now working in Lending Portfolio.")


# --- The portfolio switcher ------------------------------------------------------


def test_switcher_is_shown_only_to_members_of_several_portfolios(client_for, world):
    viewer = world.user("viewer")
    assertNotContains(client_for(viewer).get("/"), 'name="portfolio"')
    MembershipFactory(user=viewer, portfolio=PortfolioFactory(name="Lending Portfolio"))
    response = client_for(viewer).get("/")
    assertContains(response, '<label for="portfolio-switch">Portfolio</label>', html=True)
    assertContains(response, "Lending Portfolio")


def test_switcher_switches_to_a_portfolio_you_are_a_member_of(client_for, world):
    other = PortfolioFactory(name="Aardvark Portfolio")  # first by name: the default
    MembershipFactory(user=world.user("viewer"), portfolio=other)
    client = client_for(world.user("viewer"))
    assertContains(client.get("/"), '<p class="eyebrow">Aardvark Portfolio</p>', html=True)
    response = client.post(reverse("switch-portfolio"), {"portfolio": world.portfolio.pk, "next": "/trains/"})
    assertRedirects(response, "/trains/", fetch_redirect_response=False)
    assert client.session[SESSION_KEY] == world.portfolio.pk
    assertContains(client.get("/"), '<p class="eyebrow">Payments Portfolio</p>', html=True)


@pytest.mark.parametrize("portfolio_id", ["other", "not-a-number", ""])
def test_switcher_refuses_a_portfolio_you_are_not_a_member_of(client_for, world, portfolio_id):
    other = PortfolioFactory()
    client = client_for(world.user("viewer"))
    response = client.post(
        reverse("switch-portfolio"), {"portfolio": other.pk if portfolio_id == "other" else portfolio_id}
    )
    assert response.status_code == 404
    assert SESSION_KEY not in client.session


def test_switcher_does_not_redirect_off_site(client_for, world):
    response = client_for(world.user("viewer")).post(
        reverse("switch-portfolio"), {"portfolio": world.portfolio.pk, "next": "https://evil.example/"}
    )
    assertRedirects(response, "/", fetch_redirect_response=False)


def test_switcher_page_works_without_javascript(client_for, world):
    MembershipFactory(user=world.user("viewer"), portfolio=PortfolioFactory(name="Lending Portfolio"))
    response = client_for(world.user("viewer")).get(reverse("switch-portfolio"))
    assertContains(response, "Choose a portfolio")
    assertContains(response, 'type="radio" name="portfolio"', count=2)


# --- The dashboard --------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_every_member_sees_the_dashboard(client_for, world, role):
    response = client_for(world.user(role)).get("/")
    assert response.status_code == 200
    assertContains(response, "Train health")


def test_someone_without_a_membership_is_told_to_ask_their_apmo(client_for, world):
    response = client_for(world.user("outsider")).get("/")
    assert response.status_code == 200
    assertContains(response, "You are not a member of any portfolio yet")
    assertContains(response, "Ask your APMO")


def test_dashboard_counts_trains_by_health_and_lists_those_needing_attention(client_for, world):
    StatusReportFactory(train=world.art, health=Health.ON_TRACK, created_at=days_ago(1))
    StatusReportFactory(train=world.other_art, health=Health.OFF_TRACK, created_at=days_ago(2))
    StatusReportFactory(train=world.solution_train, health=Health.ON_TRACK, created_at=days_ago(30))
    extra = TrainFactory(value_stream=world.value_stream, name="Acquiring ART")
    StatusReportFactory(train=extra, health=Health.AT_RISK, created_at=days_ago(1))
    TrainFactory(value_stream=world.other_value_stream, name="Silent ART")

    response = client_for(world.user("viewer")).get("/")

    counts = response.context["health"].counts
    assert (counts["on_track"], counts["at_risk"], counts["off_track"], counts["stale"]) == (1, 1, 1, 2)
    attention = [row.train.name for row in response.context["health"].needing_attention]
    assert attention == ["Loan Origination ART", "Acquiring ART", "Card Platform Solution Train", "Silent ART"]
    assertContains(response, f'href="/trains/{world.other_art.pk}/"')
    assertNotContains(response, f'href="/trains/{world.art.pk}/"')


def test_dashboard_says_so_when_every_train_is_on_track(client_for, world):
    for train in (world.art, world.other_art, world.solution_train):
        StatusReportFactory(train=train, created_at=days_ago(1))
    assertContains(client_for(world.user("viewer")).get("/"), "All 3 trains are on track")


def test_dashboard_counts_epics_per_kanban_state_against_wip_limits(client_for, world):
    from portfolio.models import WipLimit

    for state, n in ((EpicState.FUNNEL, 3), (EpicState.ANALYZING, 2), (EpicState.DONE, 1)):
        for _ in range(n):
            EpicFactory(portfolio=world.portfolio, state=state)
    EpicFactory(state=EpicState.FUNNEL)  # another portfolio's
    WipLimit.objects.create(portfolio=world.portfolio, state=EpicState.ANALYZING, limit=1)

    response = client_for(world.user("viewer")).get("/")

    columns = {c.state: (c.count, c.limit, c.over_limit) for c in response.context["epic_columns"]}
    assert columns["funnel"] == (3, None, False)
    assert columns["analyzing"] == (2, 1, True)
    assert columns["reviewing"] == (0, None, False)
    assert columns["done"] == (1, None, False)
    assertContains(response, "over limit")


def test_dashboard_counts_open_dependencies_by_state_and_flag(client_for, world):
    def dependency(**kwargs):
        return DependencyFactory(
            portfolio=world.portfolio, consumer=world.art, provider=world.other_art, needed_by_pi=world.pi, **kwargs
        )

    dependency(state=DependencyState.REQUESTED)
    dependency(state=DependencyState.REQUESTED, flag=DependencyFlag.BLOCKED, title="Card token API")
    dependency(state=DependencyState.COMMITTED, flag=DependencyFlag.AT_RISK)
    dependency(state=DependencyState.DELIVERED, delivered_on=datetime.date(2026, 11, 1))
    dependency(state=DependencyState.CANCELLED, flag=DependencyFlag.BLOCKED)

    response = client_for(world.user("viewer")).get("/")

    summary = response.context["dependencies"]
    assert [(state, n) for state, _, n in summary.by_state] == [("requested", 2), ("accepted", 0), ("committed", 1)]
    assert summary.open_total == 3
    assert summary.flagged == {"blocked": 1, "at_risk": 1}
    assert [d.flag for d in summary.flagged_examples] == ["blocked", "at_risk"]
    assertContains(response, "Card token API")


def test_dashboard_words_follow_the_portfolios_terminology(client_for, world):
    client = client_for(world.user("viewer"))
    response = client.get("/")
    assertContains(response, "Program Increment")
    assertNotContains(response, "Planning Interval")

    world.portfolio.terminology = Terminology.PLANNING_INTERVAL
    world.portfolio.save()
    response = client.get("/")
    assertContains(response, "Planning Interval")
    assertNotContains(response, "Program Increment")


def test_dashboard_shows_only_the_current_portfolio(client_for, world):
    other = PortfolioFactory(name="Zebra Portfolio")
    MembershipFactory(user=world.user("viewer"), portfolio=other, role=Role.VIEWER)
    foreign = TrainFactory(value_stream__portfolio=other, name="Zebra ART")
    StatusReportFactory(train=foreign, health=Health.OFF_TRACK)
    response = client_for(world.user("viewer")).get("/")
    assertNotContains(response, "Zebra ART")
    assert response.context["health"].total == 3


def test_dashboard_query_count_does_not_grow_with_the_portfolio(client_for, world, django_assert_max_num_queries):
    client = client_for(world.user("viewer"))
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        client.get("/")
    for i in range(6):
        train = TrainFactory(value_stream=world.value_stream, engineer=UserFactory())
        previous = None
        for week in (3, 2, 1):
            previous = StatusReportFactory(
                train=train, health=Health.AT_RISK, created_at=days_ago(7 * week + i), based_on=previous
            )
        DependencyFactory(
            portfolio=world.portfolio,
            consumer=train,
            provider=world.art,
            needed_by_pi=world.pi,
            flag=DependencyFlag.BLOCKED,
        )
        EpicFactory(portfolio=world.portfolio, state=EpicState.IMPLEMENTING)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        client.get("/")


@pytest.mark.parametrize("role", DEMO_ROLES)
def test_dashboard_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = client.get("/")
    assert response.status_code == 200
    assert response.context["current_portfolio"] == demo.portfolio


def test_dashboard_shows_late_dependencies_off_cadence_trains_and_upcoming_integration_points(
    client_for, world, django_capture_on_commit_callbacks
):
    import datetime

    from cadence.models import Cadence, ProgramIncrement
    from tests.factories import IntegrationPointFactory

    today = timezone.localdate()
    pi = world.pi
    ProgramIncrement.objects.filter(pk=pi.pk).update(
        start_date=today - datetime.timedelta(days=20),
        end_date=today + datetime.timedelta(days=49),
        planning_date=today - datetime.timedelta(days=20),
        intake_cutoff=today - datetime.timedelta(days=30),
    )
    pi.refresh_from_db()
    DependencyFactory(
        portfolio=world.portfolio,
        consumer=world.other_art,
        provider=world.art,
        needed_by_pi=pi,
        needed_by_iteration=None,
    )
    ProgramIncrement.objects.filter(pk=pi.pk).update(end_date=today - datetime.timedelta(days=1))
    offset = Cadence.objects.create(name="Lending cadence", start_date=pi.start_date + datetime.timedelta(days=3))
    ProgramIncrement.objects.create(
        cadence=offset,
        number=1,
        name="L1",
        start_date=pi.start_date + datetime.timedelta(days=3),
        end_date=pi.end_date + datetime.timedelta(days=3),
        planning_date=pi.start_date + datetime.timedelta(days=3),
        intake_cutoff=pi.start_date,
    )
    world.other_art.cadence = offset
    world.other_art.save()
    point = IntegrationPointFactory(
        portfolio=world.portfolio, program_increment=pi, date=today + datetime.timedelta(days=5), name="Card + Lending"
    )
    response = client_for(world.user("viewer")).get("/")
    assert response.context["dependencies"].late_total == 1
    assert response.context["dependencies"].late_cross_value_stream == 1
    assert [w.train for w in response.context["sync_warnings"]] == [world.other_art]
    assert [p.pk for p in response.context["integration_points"]] == [point.pk]
    assert b"Card + Lending" in response.content
