"""Celery tasks of the valuestreams app: explicit names, ids as arguments."""

from celery import shared_task
from django.db import DatabaseError, transaction

from .models import DependencyEvent
from .notifications import send_dependency_event_email


@shared_task(
    name="valuestreams.notify_dependency_event",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_dependency_event(event_id: int) -> int:
    """Email the other side of a dependency about one workflow step. Safe to run twice:
    an event is mailed once (``notified_at`` is claimed before sending)."""
    from django.utils import timezone

    with transaction.atomic():
        claimed = DependencyEvent.objects.filter(pk=event_id, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
    if not claimed:
        return 0
    event = DependencyEvent.objects.select_related(
        "actor",
        "dependency__consumer__engineer",
        "dependency__consumer__solution_train__engineer",
        "dependency__provider__engineer",
        "dependency__provider__solution_train__engineer",
        "dependency__needed_by_pi",
        "dependency__needed_by_iteration",
    ).get(pk=event_id)
    return send_dependency_event_email(event)
