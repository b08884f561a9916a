"""Emails about dependencies: the other side hears of each step of the workflow."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from .models import DependencyEvent

# Who hears of what: a request goes to the provider; the provider's answers to the consumer.
TELL_PROVIDER = {"raise", "reopen", "cancel"}
TELL_CONSUMER = {"accept", "decline", "commit", "deliver", "flag", "clear_flag"}


def recipients_for(event: DependencyEvent) -> list[str]:
    dependency = event.dependency
    trains = []
    if event.action in TELL_PROVIDER:
        trains.append(dependency.provider)
    if event.action in TELL_CONSUMER:
        trains.append(dependency.consumer)
    people = set()
    for train in trains:
        for engineer in (train.engineer, train.solution_train.engineer if train.solution_train_id else None):
            if engineer and engineer.email and engineer != event.actor:
                people.add(engineer.email)
    return sorted(people)


def dependency_event_email(event: DependencyEvent) -> tuple[str, str]:
    dependency = event.dependency
    who = event.actor.get_full_name() or event.actor.username if event.actor else "Someone"
    verb = event.action.replace("_", " ")
    subject = f"[Tributary] {dependency.key} {dependency.title}: {verb}"
    lines = [
        f"{who} took the step “{verb}” on {dependency.key} {dependency.title}.",
        f"{dependency.consumer} needs it from {dependency.provider} by {dependency.needed_by:%d %b %Y}.",
        f"It is now {dependency.get_state_display().lower()}"
        + (f", flagged {dependency.get_flag_display().lower()}" if dependency.flag else "")
        + ".",
    ]
    if event.reason:
        lines.append(f"Reason: {event.reason}")
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    lines.append(f"{base}{reverse('valuestreams:dependency-detail', args=[dependency.pk])}")
    return subject, "\n\n".join(lines)


def send_dependency_event_email(event: DependencyEvent) -> int:
    to = recipients_for(event)
    if not to:
        return 0
    subject, body = dependency_event_email(event)
    return send_mail(subject, body, None, to)
