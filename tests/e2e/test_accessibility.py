"""axe-core over the pages the journeys pass through and the pages around them, as the
people who see each variant: a viewer (read-only pages), an APMO (the forms and the
workflow steps), and forms sent back with their errors. A test lists every serious or
critical violation it found before failing.

The journeys (test_journeys.py) audit each page they visit as well, in the states
their steps leave it in (messages, refusals, filters).
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.journey import Journey

pytestmark = pytest.mark.browser

# Swagger UI (drf-spectacular-sidecar) renders its own widget into #swagger-ui: its
# colour contrast and nested buttons belong to that project, so the audit covers the
# page around it only.
API_DOCS_CONTEXT = {"exclude": [["#swagger-ui"]]}


def _pages_for_viewer(seeded) -> list[str]:
    from cadence.models import ProgramIncrement
    from integration.models import IntegrationPoint, Release
    from valuestreams.models import Dependency, Train

    portfolio = seeded.portfolio
    train = Train.objects.filter(engineer=seeded.users["rte"]).get()
    dependency = Dependency.objects.filter(portfolio=portfolio, state="committed").order_by("key").first()
    pi = ProgramIncrement.objects.filter(cadence=portfolio.cadence).order_by("number")[3]
    point = IntegrationPoint.objects.filter(portfolio=portfolio).order_by("date").first()
    release = Release.objects.filter(portfolio=portfolio).order_by("pk").first()
    return [
        "/",
        "/trains/",
        f"/trains/{train.pk}/",
        "/dependencies/",
        "/dependencies/?late=true&cross_value_stream=true",
        f"/dependencies/{dependency.pk}/",
        "/dependencies/map/",
        "/dependencies/map/?mode=value_streams",
        "/cadence/",
        f"/cadence/pi/{pi.pk}/",
        "/epics/",
        "/epics/funnel/",
        "/epics/intake/",
        "/roadmap/",
        "/roadmap/trains/",
        f"/roadmap/trains/{train.pk}/",
        "/integration/",
        f"/integration/{point.pk}/",
        "/integration/releases/",
        f"/integration/releases/{release.pk}/",
        "/integration/idle/",
        "/integration/velocity/",
        "/integration/economics/",
        f"/integration/economics/{train.value_stream_id}/",
    ]


def test_pages_a_viewer_reads_have_no_serious_accessibility_violations(journey: Journey, seeded):
    # A mistyped password first: the login page with its error.
    journey.page.goto(journey.url("/"))
    journey.page.get_by_label("Username").fill("e2e-viewer")
    journey.page.get_by_label("Password").fill("not-the-password")
    journey.page.get_by_role("button", name="Log in").click()
    expect(journey.page.get_by_role("alert")).to_be_visible()
    journey.see("login with an error")

    journey.log_in("e2e-viewer")
    for path in _pages_for_viewer(seeded):
        journey.goto(path)

    journey.page.goto(journey.url("/api/docs/"))
    journey.page.wait_for_selector("#swagger-ui .information-container")
    journey.see("/api/docs/ around Swagger UI", context=API_DOCS_CONTEXT)
    journey.assert_accessible()


def test_forms_and_workflow_steps_an_apmo_uses_have_no_serious_accessibility_violations(journey: Journey, seeded):
    from cadence.models import CadenceEvent, Iteration, ProgramIncrement
    from integration.models import IntegrationPoint
    from valuestreams.models import Dependency, Feature, Train

    portfolio = seeded.portfolio
    pi = ProgramIncrement.objects.filter(cadence=portfolio.cadence).order_by("number")[4]
    iteration = Iteration.objects.filter(program_increment=pi).order_by("number").first()
    event = CadenceEvent.objects.filter(program_increment=pi).order_by("start_date").first()
    train = Train.objects.filter(engineer=seeded.users["rte"]).get()
    requested = Dependency.objects.filter(portfolio=portfolio, state="requested").order_by("key").first()
    point = IntegrationPoint.objects.filter(portfolio=portfolio).order_by("-date").first()
    feature = Feature.objects.filter(train=train).order_by("key").first()

    journey.log_in("e2e-apmo")
    pages = [
        f"/trains/{train.pk}/",
        f"/dependencies/{requested.pk}/",
        f"/dependencies/{requested.pk}/edit/",
        "/dependencies/new/",
        f"/cadence/{portfolio.cadence_id}/edit/",
        f"/cadence/pi/{pi.pk}/edit/",
        f"/cadence/iterations/{iteration.pk}/edit/",
        f"/cadence/events/{event.pk}/edit/",
        "/integration/new/",
        f"/integration/{point.pk}/",
        f"/integration/{point.pk}/edit/",
        "/integration/propose/",
        "/integration/releases/new/",
        f"/roadmap/trains/{train.pk}/",
        f"/roadmap/trains/{train.pk}/capabilities/new/",
        f"/roadmap/features/{feature.pk}/",
        "/roadmap/milestones/new/",
    ]
    for path in pages:
        journey.goto(path)

    # A dependency's steps that ask for input, opened.
    journey.goto(f"/dependencies/{requested.pk}/")
    for summary in journey.page.locator("form.action-form details > summary").all():
        summary.click()
    journey.see("dependency steps opened")

    # Forms sent back with their errors.
    journey.goto("/dependencies/new/")
    journey.page.get_by_role("button", name="Raise dependency", exact=True).last.click()
    expect(journey.page.locator(".field-error").first).to_be_visible()
    journey.see("raise form with errors")

    journey.goto(f"/trains/{train.pk}/")
    status_form = journey.page.locator("form.status-form")
    status_form.get_by_label("Summary").fill("")
    status_form.get_by_role("button", name=re.compile("^Post")).click()
    expect(journey.page.locator(".field-error").first).to_be_visible()
    journey.see("status form with errors")

    journey.assert_accessible()
