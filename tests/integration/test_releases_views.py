"""The release pages: the list and a release's page with readiness, create, edit and
delete for APMO and the STE of the release's value streams, conflicts and query counts."""

import datetime

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from integration.models import Depth, Outcome, Release
from roadmap.models import Milestone, MilestoneKind
from tests import factories

pytestmark = pytest.mark.django_db

DEMO_ROLES = ("apmo", "portfolio_manager", "enterprise_architect", "viewer", "rte", "other_rte", "ste", "automation")
RELEASE_LIST_QUERIES = 8
RELEASE_PAGE_QUERIES = 9
RELEASE_FORM_QUERIES = 9
RELEASE_DATE = datetime.date(2026, 12, 10)


@pytest.fixture
def gate(world):
    point = factories.IntegrationPointFactory(
        portfolio=world.portfolio,
        program_increment=world.pi,
        name="PI 26.4 · Card solution demo",
        date=datetime.date(2026, 12, 3),
        depth=Depth.FULL,
        outcome=Outcome.FAILED,
    )
    point.value_streams.set([world.value_stream])
    return point


@pytest.fixture
def release(world, gate):
    created = factories.ReleaseFactory(portfolio=world.portfolio, name="R26.4 Elbe", date=RELEASE_DATE)
    created.value_streams.set([world.value_stream])
    created.integration_points.set([gate])
    return created


def form_data(world, gate, **changes):
    return {
        "name": "R26.4 Elbe",
        "date": "2026-12-10",
        "description": "Cards go live.",
        "value_streams": [world.value_stream.pk],
        "integration_points": [gate.pk],
    } | changes


# --- Reading --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "apmo", "portfolio_manager", "rte", "ste"])
def test_every_member_sees_the_releases_with_their_readiness(client_for, world, release, role):
    response = client_for(world.user(role)).get("/integration/releases/")
    assertContains(response, "R26.4 Elbe")
    assertContains(response, 'class="readiness readiness-blocked"')
    assertContains(response, "1 of 1 gate failed or missed.")


def test_the_new_release_button_shows_only_to_who_may(client_for, world):
    assertContains(client_for(world.user("apmo")).get("/integration/releases/"), "New release")
    assertContains(client_for(world.user("ste")).get("/integration/releases/"), "New release")
    assertNotContains(client_for(world.user("viewer")).get("/integration/releases/"), "New release")
    assertNotContains(client_for(world.user("rte")).get("/integration/releases/"), "New release")


def test_a_release_s_page_shows_readiness_gates_and_milestone(client_for, world, release, gate):
    Milestone.objects.create(
        portfolio=world.portfolio,
        kind=MilestoneKind.RELEASE,
        release=release,
        name="R26.4 Elbe go-live",
        date=RELEASE_DATE,
    )
    response = client_for(world.user("viewer")).get(f"/integration/releases/{release.pk}/")
    assertContains(response, "Blocked")
    assertContains(response, gate.name)
    assertContains(response, f"/integration/{gate.pk}/")
    assertContains(response, "R26.4 Elbe go-live")
    assertNotContains(response, "Edit release")


def test_a_release_of_another_portfolio_is_not_found(client_for, world):
    elsewhere = factories.ReleaseFactory()
    client = client_for(world.user("apmo"))
    for suffix in ("", "edit/", "delete/"):
        assert client.get(f"/integration/releases/{elsewhere.pk}/{suffix}").status_code == 404


# --- Writing ---------------------------------------------------------------------------


def test_apmo_creates_a_release_and_it_lands_on_the_roadmap(client_for, world, gate):
    response = client_for(world.user("apmo")).post("/integration/releases/new/", form_data(world, gate))
    release = Release.objects.get(portfolio=world.portfolio, name="R26.4 Elbe")
    assert response.status_code == 302 and response["Location"] == f"/integration/releases/{release.pk}/"
    assert list(release.integration_points.all()) == [gate]
    assert Milestone.objects.filter(release=release, kind=MilestoneKind.RELEASE, date=RELEASE_DATE).exists()


def test_the_ste_creates_a_release_of_their_value_stream_only(client_for, world, gate):
    client = client_for(world.user("ste"))
    form = client.get("/integration/releases/new/")
    assert list(form.context["form"].fields["value_streams"].queryset) == [world.value_stream]
    refused = client.post(
        "/integration/releases/new/",
        form_data(world, gate, value_streams=[world.value_stream.pk, world.other_value_stream.pk]),
    )
    assert refused.status_code == 400
    assert "value_streams" in refused.context["form"].errors
    assert client.post("/integration/releases/new/", form_data(world, gate)).status_code == 302


@pytest.mark.parametrize("role", ["viewer", "portfolio_manager", "enterprise_architect", "rte", "other_rte"])
def test_others_may_not_create_edit_or_delete_releases(client_for, world, release, gate, role):
    client = client_for(world.user(role))
    assert client.get("/integration/releases/new/").status_code == 403
    assert client.post("/integration/releases/new/", form_data(world, gate, name="Another")).status_code == 403
    assert client.get(f"/integration/releases/{release.pk}/edit/").status_code == 403
    assert client.post(f"/integration/releases/{release.pk}/edit/", form_data(world, gate, name="X")).status_code == 403
    assert client.post(f"/integration/releases/{release.pk}/delete/", {"version": 1}).status_code == 403
    assert Release.objects.filter(pk=release.pk, name="R26.4 Elbe").exists()
    assert Release.objects.filter(portfolio=world.portfolio).count() == 1


def test_the_ste_may_not_edit_a_release_spanning_another_value_stream(client_for, world, release, gate):
    release.value_streams.add(world.other_value_stream)
    client = client_for(world.user("ste"))
    assert client.get(f"/integration/releases/{release.pk}/edit/").status_code == 403
    assertNotContains(client.get(f"/integration/releases/{release.pk}/"), "Edit release")


def test_bad_input_is_shown_on_the_form(client_for, world, gate):
    unrelated = factories.IntegrationPointFactory(portfolio=world.portfolio, program_increment=world.pi, name="Lending")
    unrelated.trains.set([world.other_art])
    client = client_for(world.user("apmo"))
    response = client.post(
        "/integration/releases/new/",
        form_data(world, gate, name="", date="soon", value_streams=[], integration_points=[unrelated.pk]),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"name", "date", "value_streams"} <= set(errors)
    response = client.post("/integration/releases/new/", form_data(world, gate, integration_points=[unrelated.pk]))
    assert "integrates none of the release" in response.context["form"].errors["integration_points"][0]
    assert not Release.objects.filter(portfolio=world.portfolio).exists()


def test_apmo_edits_a_release_and_its_milestone_moves(client_for, world, release, gate):
    client = client_for(world.user("apmo"))
    form = client.get(f"/integration/releases/{release.pk}/edit/")
    assert form.context["form"].initial["integration_points"] == [gate.pk]
    response = client.post(
        f"/integration/releases/{release.pk}/edit/", form_data(world, gate, date="2026-12-11", version=1)
    )
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.date == datetime.date(2026, 12, 11) and release.version == 2
    assert Milestone.objects.get(release=release).date == datetime.date(2026, 12, 11)


def test_a_stale_edit_shows_the_release_as_saved_and_keeps_the_input(client_for, world, release, gate):
    client = client_for(world.user("apmo"))
    client.post(f"/integration/releases/{release.pk}/edit/", form_data(world, gate, name="R26.4 Elbe I", version=1))
    response = client.post(
        f"/integration/releases/{release.pk}/edit/", form_data(world, gate, name="R26.4 Elbe II", version=1)
    )
    assert response.status_code == 409
    assertContains(response, "someone else changed this release", status_code=409)
    assertContains(response, "R26.4 Elbe II", status_code=409)
    assert response.context["form"]["version"].value() == 2
    release.refresh_from_db()
    assert release.name == "R26.4 Elbe I"


def test_apmo_deletes_a_release(client_for, world, release):
    client = client_for(world.user("apmo"))
    assertContains(client.get(f"/integration/releases/{release.pk}/delete/"), "Delete R26.4 Elbe?")
    response = client.post(f"/integration/releases/{release.pk}/delete/", {"version": release.version})
    assert response.status_code == 302 and response["Location"] == "/integration/releases/"
    assert not Release.objects.filter(portfolio=world.portfolio).exists()


def test_a_stale_delete_is_refused(client_for, world, release):
    response = client_for(world.user("apmo")).post(f"/integration/releases/{release.pk}/delete/", {"version": 7})
    assert response.status_code == 302 and response["Location"] == f"/integration/releases/{release.pk}/"
    assert Release.objects.filter(pk=release.pk).exists()


def test_the_form_groups_gates_by_pi_and_ticks_the_chosen(client_for, world, release, gate):
    response = client_for(world.user("apmo")).get(f"/integration/releases/{release.pk}/edit/")
    (group,) = response.context["gate_groups"]
    assert group.name == world.pi.name and group.checked == 1 and group.open
    assertContains(response, f'id="gate-{gate.pk}" checked')


# --- Query counts on the demo portfolios ---------------------------------------------


@pytest.mark.parametrize("role", DEMO_ROLES)
def test_release_list_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(RELEASE_LIST_QUERIES):
        response = client.get("/integration/releases/")
    assert response.status_code == 200 and response.context["releases"]


@pytest.mark.parametrize("role", ("apmo", "viewer", "ste"))
def test_release_page_and_form_query_counts_are_the_same_on_small_and_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    release = Release.objects.filter(portfolio=demo.portfolio).order_by("date").first()
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(RELEASE_PAGE_QUERIES):
        response = client.get(f"/integration/releases/{release.pk}/")
    assert response.status_code == 200
    with django_assert_max_num_queries(RELEASE_FORM_QUERIES):
        response = client.get(f"/integration/releases/{release.pk}/edit/")
    assert response.status_code == (200 if role == "apmo" else 403)
    with django_assert_max_num_queries(RELEASE_FORM_QUERIES):
        response = client.get("/integration/releases/new/")
    assert response.status_code == (403 if role == "viewer" else 200)
