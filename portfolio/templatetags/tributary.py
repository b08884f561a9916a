"""Template tags shared by every page: the navigation and relative times.

{% load tributary %}
{% main_navigation as links %}   links: NavLink(label, url, current) for this user and page
{% when some_datetime %}         "3 days ago" and the date in a <time> element
{{ some_datetime|ago }}          "3 days ago"
"""

import datetime

from django import template
from django.utils import timezone

from portfolio.navigation import navigation_for

register = template.Library()


@register.simple_tag(takes_context=True)
def main_navigation(context):
    request = context.get("request")
    if request is None:
        return []
    return navigation_for(user=request.user, path=request.path)


def _age_in_words(delta: datetime.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    for unit_minutes, below, singular, plural in (
        (1, 60, "minute", "minutes"),
        (60, 24 * 60, "hour", "hours"),
        (24 * 60, 14 * 24 * 60, "day", "days"),
        (7 * 24 * 60, 9 * 7 * 24 * 60, "week", "weeks"),
        (30 * 24 * 60, 365 * 24 * 60, "month", "months"),
    ):
        if minutes < below:
            n = minutes // unit_minutes
            return f"{n}\u00a0{singular if n == 1 else plural} ago"
    years = minutes // (365 * 24 * 60)
    return f"{years}\u00a0{'year' if years == 1 else 'years'} ago"


@register.filter
def ago(value: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    """A naturaltime-like age, in the unit a reader expects: "just now", "5 minutes ago",
    "13 days ago", "3 weeks ago", "4 months ago" (a no-break space keeps "13 days" together)."""
    if not value:
        return ""
    delta = (now or timezone.now()) - value
    return "just now" if delta.total_seconds() < 0 else _age_in_words(delta)


@register.inclusion_tag("partials/_when.html")
def when(value: datetime.datetime | None):
    return {"value": value, "ago": ago(value)}
