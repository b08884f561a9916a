"""The scheduled checks as Celery tasks: names and retries, the schedule in the
database, the dispatcher's batches, two workers at once, a broker that hangs, and a
real worker running what beat sends."""

import datetime
import threading
import time

import pytest
from django.core import mail
from django.db import OperationalError, connections
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integration import services, tasks
from integration.models import IntegrationCheckRun, IntegrationPoint, Outcome
from portfolio.celery import app
from tests.factories import IntegrationPointFactory

from .conftest import with_emails


def due_point(world, **kwargs):
    """A point the dispatcher picks up today (the real today: the tasks use the clock)."""
    point = IntegrationPointFactory(
        portfolio=world.portfolio,
        program_increment=world.pi,
        date=timezone.localdate() + datetime.timedelta(days=7),
        **kwargs,
    )
    point.trains.set([world.art])
    return point


def test_the_tasks_have_explicit_names_and_retry_database_errors():
    from django.db import DatabaseError

    for task, name in (
        (tasks.dispatch_checks, "integration.dispatch_checks"),
        (tasks.check_points, "integration.check_points"),
        (tasks.notify_outcome_change, "integration.notify_outcome_change"),
    ):
        assert task.name == name
        assert task.acks_late
        assert DatabaseError in task.autoretry_for
        assert task.retry_backoff


@pytest.mark.django_db
def test_the_schedule_is_in_the_database_every_15_minutes():
    task = PeriodicTask.objects.get(task="integration.dispatch_checks")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (15, IntervalSchedule.MINUTES)


@pytest.mark.django_db
def test_the_dispatcher_checks_the_due_points_in_batches_of_ids(world, monkeypatch):
    points = [due_point(world) for _ in range(3)]
    sent = []
    real = tasks.check_points.apply_async

    def spy(args=None, **kwargs):
        sent.append(args)
        return real(args=args, **kwargs)

    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    monkeypatch.setattr(tasks.check_points, "apply_async", spy)
    queued = tasks.dispatch_checks()  # eager in the tests: each batch runs at once
    assert queued >= 3
    assert all(isinstance(pk, int) for batch, _ in sent for pk in batch)
    assert all(len(batch) <= 2 for batch, _ in sent)
    windows = {window for _, window in sent}
    assert len(windows) == 1  # one window for the whole sweep
    for point in points:
        assert IntegrationCheckRun.objects.filter(integration_point=point).count() == 1
        point.refresh_from_db()
        assert point.outcome != Outcome.PENDING
    tasks.dispatch_checks()  # beat fires again in the same window: nothing new
    for point in points:
        assert IntegrationCheckRun.objects.filter(integration_point=point).count() == 1


@pytest.mark.django_db
def test_check_points_takes_ids_and_an_iso_window(world):
    point = due_point(world)
    window = services.check_window_start(timezone.now())
    assert tasks.check_points([point.pk], window.isoformat()) == 1
    assert tasks.check_points([point.pk], window.isoformat()) == 0
    assert point.check_runs.get().window_start == window


@pytest.mark.django_db
def test_the_dispatcher_requeues_emails_lost_to_a_broker_outage(world, django_capture_on_commit_callbacks):
    with_emails(world)
    point = due_point(world)
    IntegrationPoint.objects.filter(pk=point.pk).update(outcome=Outcome.READY)
    earlier = timezone.now() - datetime.timedelta(minutes=20)
    services.integration_points_check(
        point_ids=[point.pk], window_start=services.check_window_start(earlier), now=earlier
    )  # no on-commit run: its email was never queued
    assert mail.outbox == []
    tasks.dispatch_checks()
    assert [m.subject for m in mail.outbox if point.name in m.subject]


# --- A broker that is down or hangs ---------------------------------------------------------


@pytest.mark.django_db
def test_a_hanging_broker_never_holds_the_dispatcher(world, hanging_broker, caplog):
    due_point(world)
    started = time.monotonic()
    assert tasks.dispatch_checks() == 0
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"the dispatcher waited {elapsed:.1f}s on the broker"
    assert "Could not queue integration.check_points" in caplog.text


@pytest.mark.django_db
def test_a_hanging_broker_never_holds_a_result_post(
    point, world, api_client_for, hanging_broker, caplog, django_capture_on_commit_callbacks
):
    IntegrationPoint.objects.filter(pk=point.pk).update(outcome=Outcome.AT_RISK)
    api = api_client_for(world.user("apmo"))
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/integration-points/{point.pk}/results/", {"verdict": "pass"}, HTTP_IDEMPOTENCY_KEY="ci-1"
        )
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 5, f"the result waited {elapsed:.1f}s on the broker"
    assert "Could not queue integration.notify_outcome_change" in caplog.text
    point.refresh_from_db()
    assert point.outcome == Outcome.PASSED


# --- Two workers at once ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_checking_the_same_point_at_once_record_one_run(world):
    point = due_point(world)
    now = timezone.now()
    window = services.check_window_start(now)
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            for _attempt in range(50):
                try:
                    reports.append(
                        services.integration_points_check(point_ids=[point.pk], window_start=window, now=now)
                    )
                    return
                except OperationalError:
                    # SQLite's shared in-memory test database answers "table is locked"
                    # instead of waiting; the task's autoretry does this in production.
                    time.sleep(0.05)
        except Exception as error:  # noqa: BLE001  (reported below, in the test's thread)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted((r.checked, r.skipped) for r in reports) == [(0, 1), (1, 0)]
    assert IntegrationCheckRun.objects.filter(integration_point=point).count() == 1
    assert point.outcome_changes.count() == 1


# --- A real worker ----------------------------------------------------------------------------------


@pytest.mark.realworker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_scheduled_dispatch_and_records_the_check(world):
    """Beat sends the dispatcher by name; a Celery worker (a thread here, on the
    configured broker: Redis in CI) runs it, runs the batches it queues, and the check
    run is recorded."""
    from celery.contrib.testing.worker import start_worker

    point = due_point(world)
    app.conf.task_always_eager = False
    run = None
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            app.send_task("integration.dispatch_checks")  # as beat does, from the PeriodicTask
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(0.2)
                try:
                    run = IntegrationCheckRun.objects.filter(integration_point=point).first()
                except OperationalError:
                    # SQLite's shared in-memory test database refuses a read while the
                    # worker thread writes ("table is locked"): look again.
                    continue
                if run is not None:
                    break
    finally:
        app.conf.task_always_eager = True
        for alias in connections:
            connections[alias].close_if_unusable_or_obsolete()
    assert run is not None, "the worker did not record the check"
    point.refresh_from_db()
    assert point.outcome == run.outcome != Outcome.PENDING
    assert point.last_checked_at == run.ran_at
