"""Celery tasks of the portfolio level: explicit names, ids (or ISO dates) as
arguments, each calling a service. Both can run twice without harm."""

import datetime

from celery import shared_task
from django.core.mail import send_mail
from django.db import DatabaseError, transaction
from django.utils import timezone

from . import services
from .intake import deferral_email
from .models import EpicDeferral


@shared_task(
    name="portfolio.apply_intake_cutoffs",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def apply_intake_cutoffs(today: str | None = None) -> int:
    """Daily (django-celery-beat, 02:00 by default): defer the epics not ready at the
    intake cutoffs that have passed. ``today`` (YYYY-MM-DD) defaults to the local date.
    Returns how many epics were deferred; a second run the same day defers none."""
    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    return len(services.apply_intake_cutoffs(today=day))


@shared_task(
    name="portfolio.notify_epic_deferral",
    acks_late=True,
    # smtplib's errors are OSErrors: a mail server that is down is retried later.
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def notify_epic_deferral(deferral_id: int) -> int:
    """Email the epic's owner that it was deferred. Safe to run twice: a deferral is
    mailed once (``notified_at`` is claimed before sending, and released if the mail
    server refuses, so the retry sends it). Returns the emails sent."""
    with transaction.atomic():
        claimed = EpicDeferral.objects.filter(pk=deferral_id, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
    if not claimed:
        return 0
    deferral = EpicDeferral.objects.select_related("epic__owner", "from_pi", "to_pi").get(pk=deferral_id)
    owner = deferral.epic.owner
    if owner is None or not owner.email:
        return 0
    subject, body = deferral_email(deferral)
    try:
        return send_mail(subject, body, None, [owner.email])
    except OSError:
        # Not sent: release the claim so that the retry sends it.
        EpicDeferral.objects.filter(pk=deferral_id).update(notified_at=None)
        raise
