"""Celery tasks of the integration app: explicit names, ids (and an ISO time) as
arguments, each calling a service; each safe to run twice.

``integration.dispatch_checks`` runs on the django-celery-beat schedule (every 15
minutes by default; the interval is the check window) and queues
``integration.check_points`` for the due points in batches of ids.
"""

import datetime
import logging

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import KombuError

from . import selectors, services

logger = logging.getLogger(__name__)

RETRYING = {
    "acks_late": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


def _queue(task, *args) -> bool:
    """Send ``task`` now (this runs outside any transaction) without waiting on a broker
    that is down or hanging: the failure is logged and the next sweep tries again."""
    try:
        task.apply_async(args=args, retry=False)
    except (KombuError, OSError, TimeoutError) as error:
        logger.warning("Could not queue %s: %s", task.name, error)
        return False
    return True


@shared_task(name="integration.dispatch_checks", **RETRYING)
def dispatch_checks() -> int:
    """Queue the checks of every due point (upcoming, or passed in the last two weeks)
    for the current check window, ``services.BATCH_SIZE`` ids per task, and the emails
    of outcome changes whose dispatch was lost. Returns the points queued; stops at the
    first batch the broker refuses (the next run queues them again)."""
    now = timezone.now()
    window = services.check_window_start(now, minutes=services.check_window_minutes())
    ids = selectors.point_ids_due_for_check(today=timezone.localdate(now))
    queued = 0
    for start in range(0, len(ids), services.BATCH_SIZE):
        batch = ids[start : start + services.BATCH_SIZE]
        if not _queue(check_points, batch, window.isoformat()):
            return queued
        queued += len(batch)
    for change_id in services.unsent_outcome_changes(now=now, within=datetime.timedelta(days=1)):
        if not _queue(notify_outcome_change, change_id):
            break
    return queued


@shared_task(name="integration.check_points", **RETRYING)
def check_points(point_ids: list[int], window_start: str) -> int:
    """Check a batch of points in the window starting at ``window_start`` (ISO 8601).
    Returns the runs recorded: none for points already checked in that window."""
    report = services.integration_points_check(
        point_ids=point_ids, window_start=datetime.datetime.fromisoformat(window_start)
    )
    return report.checked


@shared_task(
    name="integration.notify_outcome_change",
    acks_late=True,
    # smtplib's errors are OSErrors: a mail server that is down is retried later.
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def notify_outcome_change(change_id: int) -> int:
    """Email the participants of a point about one outcome change (once)."""
    return services.outcome_change_notify(change_id)
