"""One journey per role, in Chromium, through the pages as a person would: the login
form, links, buttons and forms. Each page visited is screenshotted and audited by
axe-core; a journey fails on a serious or critical accessibility violation.

Each test seeds the small demo portfolio (``seeded``; logins ``e2e-apmo``,
``e2e-rte`` ...) on the live server's transactional database.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.journey import Journey

pytestmark = pytest.mark.browser

PAGES_BEHIND_LOGIN = [
    "/",
    "/roadmap/",
    "/dependencies/",
    "/dependencies/map/",
    "/dependencies/new/",
    "/trains/",
    "/cadence/",
    "/epics/",
    "/integration/",
    "/api/docs/",
]


def _train_of(username: str):
    from valuestreams.models import Train

    return Train.objects.select_related("value_stream").get(engineer__username=username)


def _follow_nav(journey: Journey, label: str) -> None:
    journey.page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()
    journey.see(label)


def test_anonymous_visitor_is_sent_to_the_login_page_from_every_page(journey: Journey):
    for path in PAGES_BEHIND_LOGIN:
        journey.page.goto(journey.url(path))
        assert journey.page.url.startswith(journey.url("/accounts/login/")), f"{path} did not ask for a login"
        assert f"next={path}" in journey.page.url.replace("%2F", "/")
        expect(journey.page.get_by_role("heading", level=1)).to_have_text("Log in to Tributary")
        expect(journey.page.get_by_role("navigation", name="Main")).to_have_count(0)
        if path == "/":
            journey.see("login page")
    journey.assert_accessible()


def test_apmo_sets_up_a_pi_adds_an_integration_point_and_sees_its_check_outcome(journey: Journey, seeded):
    from cadence.models import ProgramIncrement
    from integration import services as integration_services
    from integration import tasks as integration_tasks
    from integration.models import IntegrationPoint
    from valuestreams.models import Dependency

    cadence = seeded.portfolio.cadence
    last = cadence.program_increments.order_by("-number").first()

    journey.log_in("e2e-apmo", path="/cadence/")
    expect(journey.page.get_by_role("heading", level=1)).to_contain_text("calendar")

    # Extend the cadence by one PI.
    generate = journey.page.locator(f'form.generate-form[action="/cadence/{cadence.pk}/generate/"]')
    generate.get_by_label("Add the next").fill("1")
    generate.get_by_role("button", name="Generate").click()
    journey.see("cadence after generating")
    new_pi = ProgramIncrement.objects.get(cadence=cadence, number=last.number + 1)
    expect(journey.page.locator("ul.messages")).to_contain_text(f"Added {new_pi.name} to {cadence.name}")

    # Page forward through the calendar to the new PI, open it and set it up: intake
    # closes a week earlier than the cadence's default.
    for _ in range(12):
        if journey.page.get_by_role("link", name=new_pi.name, exact=True).count():
            break
        journey.page.get_by_role("link", name="Later ›").click()
        journey.page.wait_for_load_state("load")
    journey.see("calendar at the new PI")
    journey.page.get_by_role("link", name=new_pi.name, exact=True).first.click()
    expect(journey.page.get_by_role("heading", level=1)).to_contain_text(new_pi.name)
    journey.see("new PI")
    journey.page.get_by_role("link", name=f"Edit {new_pi.name}", exact=True).click()
    journey.see("PI edit form")
    earlier = new_pi.intake_cutoff - datetime.timedelta(days=7)
    journey.page.get_by_label("Intake cutoff", exact=True).fill(earlier.isoformat())
    journey.page.get_by_role("button", name=re.compile("^Save")).click()
    journey.see("PI after the edit")
    assert journey.page.url.endswith(f"/cadence/pi/{new_pi.pk}/")
    new_pi.refresh_from_db()
    assert new_pi.intake_cutoff == earlier

    # An integration point of two trains of different value streams, requiring an open
    # dependency between them, a month from now.
    consumer, provider = _train_of("e2e-rte"), _train_of("e2e-other-rte")
    today = timezone.localdate()
    required = (
        Dependency.objects.filter(consumer=consumer, provider=provider, needed_by_pi__end_date__gte=today)
        .exclude(state__in=["delivered", "declined", "cancelled"])
        .select_related("needed_by_pi")
        .order_by("key")
        .first()
    )
    _follow_nav(journey, "Integration")
    journey.page.get_by_role("link", name="New integration point").click()
    journey.see("new integration point form")
    form = journey.page.locator("form", has=journey.page.get_by_role("button", name="Create integration point"))
    name = f"{required.needed_by_pi.name} · Card Issuing + Loan Origination"
    form.get_by_label("Name").fill(name)
    form.get_by_label("Date").fill((today + datetime.timedelta(days=30)).isoformat())
    form.get_by_label("PI", exact=True).select_option(str(required.needed_by_pi_id))
    form.get_by_label(consumer.name, exact=True).check()
    form.get_by_label(provider.name, exact=True).check()
    form.get_by_label("Acceptance criteria").fill("Card upgrade asks the loan eligibility API\nDemo in the system demo")
    form.get_by_role("button", name="show their dependencies and features").click()
    journey.see("integration point form with requirements")
    form.get_by_label(re.compile(rf"\b{required.key} ")).check()
    form.get_by_role("button", name="Create integration point").click()
    journey.see("integration point created")
    point = IntegrationPoint.objects.get(name=name)
    assert journey.page.url.endswith(f"/integration/{point.pk}/")
    expect(journey.page.locator("ul.messages")).to_contain_text(f"{name} created")
    assert point.outcome == "pending"

    # The scheduled check runs (the beat's task, in-process) and the point's page shows its outcome.
    window = integration_services.check_window_start(
        timezone.now(), minutes=integration_services.check_window_minutes()
    )
    assert integration_tasks.check_points.delay([point.pk], window.isoformat()).get() == 1
    point.refresh_from_db()
    assert point.outcome == "at_risk"  # a blocking finding, with a month left to act on it
    journey.page.reload()
    journey.see("integration point after its check")
    latest = journey.page.locator("section.check-panel")
    expect(latest).to_contain_text("At risk")
    expect(latest.locator("ul.findings")).to_contain_text(required.key)

    # The dashboard lists it among the upcoming integration points, with that outcome.
    _follow_nav(journey, "Dashboard")
    upcoming = journey.page.get_by_role("region", name="Upcoming integration points")
    row = upcoming.get_by_role("row").filter(has=journey.page.get_by_role("link", name=name, exact=True))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("At risk")

    journey.assert_accessible()


def test_rte_updates_the_train_status_and_raises_a_dependency_on_another_value_stream(journey: Journey, seeded):
    from valuestreams.models import Dependency

    own, provider = _train_of("e2e-rte"), _train_of("e2e-other-rte")
    assert own.value_stream_id != provider.value_stream_id

    journey.log_in("e2e-rte")
    _follow_nav(journey, "Trains")
    journey.page.get_by_role("link", name=own.name, exact=True).first.click()
    expect(journey.page.get_by_role("heading", level=1)).to_contain_text(own.name)
    journey.see("own train")

    form = journey.page.locator("form.status-form")
    form.locator("label.choice-at_risk").click()
    form.locator("label.choice-3").click()
    form.get_by_label("Summary").fill("Payments sandbox slipped a week; the card issuing flow is demoable.")
    form.get_by_label("Blockers").fill("Waiting for the loan origination API keys.")
    form.get_by_role("button", name="Post update").click()
    journey.see("train after the status update")
    expect(journey.page.locator("ul.messages")).to_be_visible()
    expect(journey.page.get_by_text("Payments sandbox slipped a week").first).to_be_visible()
    assert own.status_reports.order_by("-created_at").first().summary.startswith("Payments sandbox slipped")

    _follow_nav(journey, "Dependencies")
    journey.page.get_by_role("link", name=re.compile("Raise a dependency")).first.click()
    expect(journey.page.get_by_role("heading", level=1)).to_have_text("Raise a dependency")
    journey.see("raise form")
    journey.page.get_by_label("Provider (the train asked for it)").select_option(
        label=f"{provider.name} ({provider.value_stream.name})"
    )
    journey.page.get_by_label("Title").fill("Loan eligibility API for card upgrades")
    journey.page.get_by_label("Description").fill("A REST endpoint answering whether a card holder may upgrade.")
    needed_by = journey.page.get_by_label("Needed by PI")
    last_pi = needed_by.locator("option").last.get_attribute("value")
    needed_by.select_option(last_pi)
    journey.page.get_by_role("button", name="Raise dependency", exact=True).last.click()
    journey.see("dependency raised")

    dependency = Dependency.objects.get(title="Loan eligibility API for card upgrades")
    assert (dependency.consumer_id, dependency.provider_id, dependency.state) == (own.pk, provider.pk, "requested")
    assert journey.page.url.endswith(f"/dependencies/{dependency.pk}/")
    expect(journey.page.get_by_role("heading", level=1)).to_have_text(dependency.title)
    journey.assert_accessible()


def test_provider_rte_accepts_and_commits_a_dependency_and_sees_its_colour_on_the_map(journey: Journey, seeded):
    from cadence.models import ProgramIncrement
    from valuestreams import services

    consumer, provider = _train_of("e2e-rte"), _train_of("e2e-other-rte")
    pis = list(ProgramIncrement.objects.filter(cadence=seeded.portfolio.cadence).order_by("number"))
    needed_by = pis[-1]  # far ahead, so no demo dependency of this pair shares its PI
    dependency = services.dependency_raise(
        actor=seeded.users["rte"],
        consumer=consumer,
        provider=provider,
        title="Loan eligibility API for card upgrades",
        needed_by_pi=needed_by,
    )

    journey.log_in("e2e-other-rte")
    _follow_nav(journey, "Dependencies")
    filters = journey.page.locator("form.filter-form")  # what asks my train for something?
    filters.get_by_label("Train (either side)").select_option(str(provider.pk))
    filters.get_by_label("State").select_option("requested")
    filters.get_by_role("button", name="Filter").click()
    journey.see("requests to my train")
    journey.page.get_by_role("link", name=re.compile(rf"^{dependency.key}\b")).click()
    expect(journey.page.get_by_role("heading", level=1)).to_have_text(dependency.title)
    journey.see("requested dependency")

    journey.page.get_by_role("button", name="Accept", exact=True).click()
    expect(journey.page.locator("ul.messages")).to_contain_text(f"{dependency.key} is now accepted")
    journey.see("accepted dependency")

    # Commit a PI earlier than the one it is needed by: green.
    committed = pis[-3]
    journey.page.locator("summary", has_text="Commit").click()
    commit_form = journey.page.locator("form.action-commit")
    commit_form.get_by_label("Committed PI").select_option(str(committed.pk))
    journey.see("commit form")
    commit_form.get_by_role("button", name=f"Commit {dependency.key}").click()
    expect(journey.page.locator("ul.messages")).to_contain_text(f"{dependency.key} is now committed")
    journey.see("committed dependency")
    dependency.refresh_from_db()
    assert (dependency.state, dependency.committed_pi_id) == ("committed", committed.pk)

    _follow_nav(journey, "Dependency map")
    filters = journey.page.locator("form.map-filters")
    filters.get_by_label("Needed by PI").select_option(str(needed_by.pk))
    filters.get_by_label("State").select_option("committed")
    filters.get_by_label("Smallest edge drawn").select_option("1")
    filters.get_by_role("button", name="Show").click()
    journey.see("map filtered to the committed dependency")

    edge = journey.page.locator(f'svg.dep-map a.map-edge[href*="provider={provider.pk}&consumer={consumer.pk}"]')
    expect(edge).to_have_count(1)
    expect(edge).to_have_class(re.compile(r"\bedge-green\b"))
    expect(edge.locator("path")).to_have_attribute("marker-end", "url(#arrow-green-sm)")
    expect(edge.locator("title")).to_contain_text(f"{provider.name} → {consumer.name}: 1 dependency (1 green)")
    journey.assert_accessible()


def test_portfolio_manager_moves_an_epic_is_refused_past_the_wip_limit_and_filters_the_roadmap(
    journey: Journey, seeded
):
    from portfolio.models import Epic, WipLimit
    from valuestreams.models import ValueStream

    portfolio = seeded.portfolio
    limit = WipLimit.objects.get(portfolio=portfolio, state="implementing").limit
    implementing = Epic.objects.filter(portfolio=portfolio, state="implementing").count()
    assert implementing >= limit, "the demo's Implementing column should be at its WIP limit"

    journey.log_in("e2e-portfolio-manager")
    _follow_nav(journey, "Epics")
    expect(journey.page.get_by_role("heading", level=1)).to_have_text("Epic Kanban")

    # Drag the funnel's top card onto Reviewing (below its limit): the board's script submits its move form.
    reviewing = journey.page.locator('section.kanban-column[data-state="reviewing"]')
    card = journey.page.locator('section.kanban-column[data-state="funnel"] li.epic-card[draggable="true"]').first
    key = card.locator(".key").inner_text()
    card.drag_to(reviewing)
    journey.page.wait_for_load_state("load")
    expect(journey.page.locator("ul.messages")).to_contain_text(f"{key} moved to Reviewing")
    journey.see("board after the move")
    expect(reviewing.locator(".epic-card .key", has_text=key)).to_have_count(1)
    assert Epic.objects.get(portfolio=portfolio, key=key).state == "reviewing"

    # The no-JavaScript form: move a portfolio-backlog epic into the full Implementing column.
    backlog_card = journey.page.locator('section.kanban-column[data-state="portfolio_backlog"] li.epic-card').first
    refused_key = backlog_card.locator(".key").inner_text()
    backlog_card.get_by_label(f"Move {refused_key} to").select_option("implementing")
    backlog_card.get_by_role("button", name="Move").click()
    journey.page.wait_for_load_state("load")
    message = journey.page.locator("ul.messages")
    expect(message).to_contain_text(f"{refused_key} was not moved")
    expect(message).to_contain_text("WIP limit")
    journey.see("board after the refused move")
    assert Epic.objects.get(portfolio=portfolio, key=refused_key).state == "portfolio_backlog"
    assert Epic.objects.filter(portfolio=portfolio, state="implementing").count() == implementing

    # The portfolio roadmap, then one value stream's implementing epics on it.
    _follow_nav(journey, "Roadmap")
    lanes = journey.page.locator("section.rm-lane")
    value_streams = list(ValueStream.objects.filter(portfolio=portfolio).order_by("name"))
    expect(lanes).to_have_count(len(value_streams))
    chosen = value_streams[0]
    filters = journey.page.locator("form.rm-filters")
    filters.get_by_label("Value stream").select_option(str(chosen.pk))
    filters.get_by_label("Epic state").select_option("implementing")
    filters.get_by_role("button", name="Show").click()
    journey.see("roadmap filtered")
    assert f"value_stream={chosen.pk}" in journey.page.url and "state=implementing" in journey.page.url
    expect(lanes).to_have_count(1)
    expect(journey.page.locator(f"section#lane-{chosen.pk}")).to_contain_text(chosen.name)
    expect(journey.page.get_by_role("link", name="Clear filters")).to_be_visible()

    journey.assert_accessible()
