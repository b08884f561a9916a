"""Cadence-gated intake: which epics are ready for their PI, the deferrals of the daily
task (once each, with an email to the owner), its schedule, and the preview page."""

import datetime
import time

import pytest
from django.core import mail
from django.db import IntegrityError, OperationalError, connections, transaction
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from pytest_django.asserts import assertContains, assertNotContains

from portfolio.celery import app
from portfolio.intake import intake_gaps
from portfolio.models import EpicDeferral, EpicKind, EpicState
from portfolio.services import apply_intake_cutoffs
from portfolio.tasks import apply_intake_cutoffs as apply_intake_cutoffs_task
from portfolio.tasks import notify_epic_deferral
from tests.factories import EpicFactory, ProgramIncrementFactory

pytestmark = pytest.mark.django_db

# world.pi (PI 26.4): cutoff 21 Sep 2026, planning 5 Oct. The PIs after it are made here.
CUTOFF = datetime.date(2026, 9, 21)
DAY_AFTER = CUTOFF + datetime.timedelta(days=1)
HYPOTHESIS = "For card holders who lose cards, instant reissue will cut churn. MVP: one bank."
# Session, user, memberships; open PIs, the epics targeting them, recent deferrals.
PREVIEW_QUERIES = 6


def pi_after(previous, number: int, name: str):
    start = previous.end_date + datetime.timedelta(days=1)
    return ProgramIncrementFactory(
        cadence=previous.cadence,
        number=number,
        name=name,
        start_date=start,
        end_date=start + datetime.timedelta(days=69),
        planning_date=start,
        intake_cutoff=start - datetime.timedelta(days=14),
        with_iterations=False,
    )


@pytest.fixture
def next_pis(world):
    second = pi_after(world.pi, 2, "PI 27.1")
    third = pi_after(second, 3, "PI 27.2")
    return second, third


def epic(world, **fields):
    defaults = {
        "portfolio": world.portfolio,
        "owner": world.user("portfolio_manager"),
        "target_pi": world.pi,
        "state": EpicState.PORTFOLIO_BACKLOG,
        "mvp_hypothesis": HYPOTHESIS,
    }
    return EpicFactory(**{**defaults, **fields})


# --- Readiness ----------------------------------------------------------------------


def test_a_ready_epic_has_no_gaps(world):
    assert intake_gaps(epic(world)) == []
    assert intake_gaps(epic(world, state=EpicState.IMPLEMENTING)) == []


def test_the_gaps_name_what_is_missing(world):
    not_ready = epic(
        world,
        state=EpicState.ANALYZING,
        mvp_hypothesis="  ",
        business_value=1,
        time_criticality=1,
        risk_reduction=1,
        job_size=1,
    )
    assert intake_gaps(not_ready) == [
        "still in Analyzing, not yet in the portfolio backlog",
        "no MVP hypothesis",
        "no WSJF estimate (all four components still at 1)",
    ]


# --- The service --------------------------------------------------------------------


def test_an_epic_not_ready_at_the_cutoff_is_deferred_to_the_next_pi_with_the_reason(world, next_pis):
    late = epic(world, key="EP-LATE", state=EpicState.ANALYZING, mvp_hypothesis="")
    ready = epic(world, key="EP-READY")

    [deferral] = apply_intake_cutoffs(today=DAY_AFTER)

    late.refresh_from_db()
    ready.refresh_from_db()
    assert (late.target_pi, ready.target_pi) == (next_pis[0], world.pi)
    assert (deferral.epic, deferral.from_pi, deferral.to_pi, deferral.cutoff) == (late, world.pi, next_pis[0], CUTOFF)
    assert deferral.reason == (
        "Not ready for PI 26.4 at its intake cutoff (21 Sep 2026): "
        "still in Analyzing, not yet in the portfolio backlog; no MVP hypothesis."
    )
    assert late.version == 2
    assert late.history.latest().history_change_reason == "Intake cutoff of PI 26.4: deferred to PI 27.1"


def test_the_cutoff_day_itself_still_counts(world, next_pis):
    epic(world, state=EpicState.ANALYZING)
    assert apply_intake_cutoffs(today=CUTOFF) == []


def test_done_epics_and_epics_without_a_target_take_no_part(world, next_pis):
    epic(world, state=EpicState.DONE, mvp_hypothesis="")
    epic(world, state=EpicState.FUNNEL, target_pi=None)
    assert apply_intake_cutoffs(today=DAY_AFTER) == []


def test_running_twice_defers_nothing_twice(world, next_pis):
    epic(world, state=EpicState.REVIEWING)
    assert len(apply_intake_cutoffs(today=DAY_AFTER)) == 1
    assert apply_intake_cutoffs(today=DAY_AFTER) == []
    assert apply_intake_cutoffs(today=DAY_AFTER + datetime.timedelta(days=1)) == []
    assert EpicDeferral.objects.count() == 1


def test_an_epic_retargeted_at_a_pi_it_was_deferred_from_is_not_deferred_again(world, next_pis):
    e = epic(world, state=EpicState.REVIEWING)
    apply_intake_cutoffs(today=DAY_AFTER)
    e.target_pi = world.pi
    e.save()
    assert apply_intake_cutoffs(today=DAY_AFTER) == []


def test_the_database_records_a_deferral_once(world, next_pis):
    e = epic(world, state=EpicState.REVIEWING)
    [deferral] = apply_intake_cutoffs(today=DAY_AFTER)
    with pytest.raises(IntegrityError), transaction.atomic():
        EpicDeferral.objects.create(
            epic=e, from_pi=world.pi, to_pi=next_pis[1], cutoff=CUTOFF, reason="again", deferred_at=deferral.deferred_at
        )


def test_an_epic_missing_several_cutoffs_goes_to_the_first_pi_still_open(world, next_pis):
    second, third = next_pis
    e = epic(world, state=EpicState.REVIEWING)
    today = second.intake_cutoff + datetime.timedelta(days=3)  # PI 27.1's intake has closed too

    [deferral] = apply_intake_cutoffs(today=today)

    assert deferral.to_pi == third
    e.refresh_from_db()
    assert e.target_pi == third


def test_with_no_later_pi_open_the_epic_loses_its_target(world):
    e = epic(world, state=EpicState.REVIEWING)
    [deferral] = apply_intake_cutoffs(today=DAY_AFTER)
    e.refresh_from_db()
    assert (deferral.to_pi, e.target_pi) == (None, None)


# --- The task and the email -----------------------------------------------------------


def test_the_task_run_twice_defers_once_and_emails_the_owner_once(world, next_pis, django_capture_on_commit_callbacks):
    owner = world.user("enterprise_architect")
    e = epic(world, key="EP-9", title="Event streaming", kind=EpicKind.ENABLER, state=EpicState.ANALYZING, owner=owner)

    with django_capture_on_commit_callbacks(execute=True):
        first = apply_intake_cutoffs_task.delay(DAY_AFTER.isoformat()).get()
    with django_capture_on_commit_callbacks(execute=True):
        second = apply_intake_cutoffs_task.delay(DAY_AFTER.isoformat()).get()

    assert (first, second) == (1, 0)
    assert EpicDeferral.objects.filter(epic=e).count() == 1
    [message] = mail.outbox
    assert message.to == [owner.email]
    assert message.subject == "[Tributary] EP-9 deferred from PI 26.4 to PI 27.1"
    assert "EP-9 Event streaming now targets PI 27.1." in message.body
    assert "still in Analyzing, not yet in the portfolio backlog" in message.body
    assert reverse("intake-preview") in message.body
    assert EpicDeferral.objects.get(epic=e).notified_at is not None


def test_the_notification_sent_twice_is_mailed_once(world, next_pis):
    epic(world, state=EpicState.REVIEWING)
    [deferral] = apply_intake_cutoffs(today=DAY_AFTER)  # no on-commit run here: the task is called by hand
    assert notify_epic_deferral(deferral.pk) == 1
    assert notify_epic_deferral(deferral.pk) == 0
    assert len(mail.outbox) == 1


def test_an_epic_without_an_owner_is_deferred_without_an_email(world, next_pis, django_capture_on_commit_callbacks):
    epic(world, state=EpicState.REVIEWING, owner=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert len(apply_intake_cutoffs(today=DAY_AFTER)) == 1
    assert mail.outbox == []


def test_the_task_names_and_retry_settings():
    assert apply_intake_cutoffs_task.name == "portfolio.apply_intake_cutoffs"
    assert apply_intake_cutoffs_task.acks_late
    assert apply_intake_cutoffs_task.retry_backoff
    assert notify_epic_deferral.name == "portfolio.notify_epic_deferral"


def test_the_daily_schedule_is_in_the_database():
    task = PeriodicTask.objects.get(task="portfolio.apply_intake_cutoffs")
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "2", "*")


@pytest.mark.realworker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_applies_the_cutoffs_and_sends_the_email(world, next_pis):
    """A Celery worker (a thread here, on the configured broker: Redis in CI) runs the
    beat task queued by name, and the notification it queues after commit."""
    from celery.contrib.testing.worker import start_worker

    e = epic(world, state=EpicState.REVIEWING)
    app.conf.task_always_eager = False
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            app.send_task("portfolio.apply_intake_cutoffs", args=[DAY_AFTER.isoformat()])
            deadline = time.monotonic() + 20
            deferral = None
            while time.monotonic() < deadline:
                time.sleep(0.2)
                try:
                    deferral = EpicDeferral.objects.filter(epic=e).first()
                except OperationalError:
                    # SQLite's shared in-memory test database refuses a read while the
                    # worker thread writes ("table is locked"): look again.
                    continue
                if deferral is not None and deferral.notified_at:
                    break
    finally:
        app.conf.task_always_eager = True
        for alias in connections:
            connections[alias].close_if_unusable_or_obsolete()
    assert deferral is not None and deferral.notified_at is not None, "the worker did not run the tasks"
    assert [m.to for m in mail.outbox] == [[world.user("portfolio_manager").email]]


# --- The preview page ---------------------------------------------------------------


@pytest.fixture
def before_cutoff(monkeypatch):
    """Today is 14 Sep 2026, a week before PI 26.4's intake cutoff."""
    monkeypatch.setattr("portfolio.views.timezone.localdate", lambda: datetime.date(2026, 9, 14))


def test_the_preview_lists_the_epics_a_cutoff_would_defer_and_why(client_for, world, next_pis, before_cutoff):
    epic(world, key="EP-LATE", title="Card controls", state=EpicState.ANALYZING, mvp_hypothesis="")
    epic(world, key="EP-READY", title="Ready one")

    response = client_for(world.user("viewer")).get(reverse("intake-preview"))

    assert response.status_code == 200
    first = response.context["preview"].upcoming[0]
    assert (first.pi, first.days_left) == (world.pi, 7)
    assert [item.epic.key for item in first.at_risk] == ["EP-LATE"]
    assert [e.key for e in first.ready] == ["EP-READY"]
    assert first.deferred_to == next_pis[0]
    assertContains(response, "7 days left")
    assertContains(response, "would move to PI 27.1")
    assertContains(response, "<li>still in Analyzing, not yet in the portfolio backlog</li>", html=True)
    assertContains(response, "<li>no MVP hypothesis</li>", html=True)
    assertContains(response, "No epic targets PI 27.1")


def test_the_preview_shows_the_recent_deferrals(client_for, world, next_pis):
    epic(world, key="EP-GONE", state=EpicState.REVIEWING)
    apply_intake_cutoffs(today=DAY_AFTER)
    response = client_for(world.user("viewer")).get(reverse("intake-preview"))
    [deferral] = response.context["preview"].recent_deferrals
    assert deferral.epic.key == "EP-GONE"
    assertContains(response, "Not ready for PI 26.4 at its intake cutoff (21 Sep 2026)")


def test_the_preview_does_not_show_other_portfolios_epics(client_for, world, next_pis, before_cutoff):
    EpicFactory(key="EP-ELSEWHERE", target_pi=world.pi, state=EpicState.FUNNEL)
    response = client_for(world.user("viewer")).get(reverse("intake-preview"))
    assertNotContains(response, "EP-ELSEWHERE")


@pytest.mark.parametrize("role", ["viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "ste"])
def test_every_member_reads_the_preview(client_for, world, role):
    assert client_for(world.user(role)).get(reverse("intake-preview")).status_code == 200


def test_the_preview_costs_the_same_queries_on_the_small_and_the_medium_demo(
    client_for, demo, django_assert_max_num_queries
):
    client = client_for(demo.users["viewer"])
    with django_assert_max_num_queries(PREVIEW_QUERIES):
        response = client.get(reverse("intake-preview"))
    assert response.status_code == 200
    assert response.context["preview"].upcoming
