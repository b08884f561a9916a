"""Dependency notifications: a real Celery task, dispatched after commit, never
holding a request when the broker is down."""

import contextlib
import socket
import time

import pytest
from django.core import mail
from django.db import OperationalError, connections

from portfolio.celery import app
from valuestreams.models import DependencyEvent
from valuestreams.services import dependency_raise, dependency_transition
from valuestreams.tasks import notify_dependency_event


def raise_dependency(world):
    return dependency_raise(
        actor=world.user("other_rte"),
        consumer=world.other_art,
        provider=world.art,
        title="Card tokenisation API",
        needed_by_pi=world.pi,
    )


def with_emails(world):
    for name in ("rte", "other_rte", "ste"):
        user = world.user(name)
        user.email = f"{name}@bank.example"
        user.save()


@pytest.mark.django_db
def test_raising_a_dependency_emails_the_providers_rte_and_ste(world, django_capture_on_commit_callbacks):
    with_emails(world)
    with django_capture_on_commit_callbacks(execute=True):
        dependency = raise_dependency(world)
    [message] = mail.outbox
    assert sorted(message.to) == ["rte@bank.example", "ste@bank.example"]
    assert dependency.key in message.subject
    assert f"/dependencies/{dependency.pk}/" in message.body


@pytest.mark.django_db
def test_the_consumer_hears_when_the_provider_commits(world, django_capture_on_commit_callbacks):
    with_emails(world)
    dependency = raise_dependency(world)
    with django_capture_on_commit_callbacks(execute=True):
        dependency_transition(actor=world.user("rte"), dependency=dependency, action="accept", expected_version=1)
    assert [m.to for m in mail.outbox] == [["other_rte@bank.example"]]


@pytest.mark.django_db
def test_the_task_run_twice_sends_one_email(world):
    with_emails(world)
    dependency = raise_dependency(world)  # no on-commit run here: the task is called by hand
    event = dependency.events.get()
    assert notify_dependency_event(event.pk) == 1
    assert notify_dependency_event(event.pk) == 0
    assert len(mail.outbox) == 1


@contextlib.contextmanager
def broker_at(monkeypatch, url):
    """Celery sending to ``url`` (not eagerly) with short timeouts, as in production."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery prefers it to its configuration
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    app.conf.update(
        task_always_eager=False,
        broker_url=url,
        broker_transport_options={"socket_timeout": 1.0, "socket_connect_timeout": 1.0, "max_retries": 0},
    )
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.update(saved)
        app._pool = None
        app.amqp._producer_pool = None


@pytest.fixture
def hanging_broker(monkeypatch):
    """A TCP port that accepts connections and never answers, like a hung Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    with broker_at(monkeypatch, f"redis://127.0.0.1:{port}/0"):
        yield
    server.close()


@pytest.mark.django_db
def test_a_hanging_broker_never_holds_a_write(world, hanging_broker, django_capture_on_commit_callbacks, caplog):
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        dependency = raise_dependency(world)
    elapsed = time.monotonic() - started
    assert dependency.pk and DependencyEvent.objects.filter(dependency=dependency).exists()
    assert elapsed < 5, f"raising a dependency waited {elapsed:.1f}s on the broker"
    assert "Could not queue valuestreams.notify_dependency_event" in caplog.text


@pytest.mark.django_db
def test_a_misconfigured_broker_never_turns_a_saved_change_into_an_error_page(
    world, client_for, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    """The task is queued after the commit: whatever goes wrong then (here, a broker URL
    naming a transport that does not exist), the dependency is raised and the RTE sees
    it, and the fault is logged as an error for whoever runs the site."""
    client = client_for(world.user("other_rte"))
    data = {
        "consumer": world.other_art.pk,
        "provider": world.art.pk,
        "title": "Card tokenisation API",
        "needed_by_pi": world.pi.pk,
        "needed_by_iteration": world.pi.iterations.order_by("number")[2].pk,
    }
    with broker_at(monkeypatch, "nosuch://127.0.0.1/0"), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/dependencies/new/", data)
    dependency = DependencyEvent.objects.get(action="raise").dependency
    assert response.status_code == 302
    assert response["Location"] == f"/dependencies/{dependency.pk}/"
    assert dependency.title == "Card tokenisation API"
    [record] = [r for r in caplog.records if r.name == "portfolio.core.tasks"]
    assert record.levelname == "ERROR"
    assert "Could not queue valuestreams.notify_dependency_event" in record.getMessage()


@pytest.mark.realworker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_notification(world):
    """A Celery worker (a thread here, on the configured broker: Redis in CI) picks up
    the task queued after commit and records it."""
    from celery.contrib.testing.worker import start_worker

    with_emails(world)
    app.conf.task_always_eager = False
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            dependency = raise_dependency(world)  # autocommit: queued at once
            event = dependency.events.get()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with contextlib.suppress(OperationalError):  # SQLite: the worker thread holds the table a moment
                    event.refresh_from_db()
                if event.notified_at:
                    break
                time.sleep(0.2)
    finally:
        app.conf.task_always_eager = True
        for alias in connections:
            connections[alias].close_if_unusable_or_obsolete()
    assert event.notified_at is not None, "the worker did not run the task"
    assert [m.to for m in mail.outbox] == [["rte@bank.example", "ste@bank.example"]]
