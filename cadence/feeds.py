"""iCalendar (RFC 5545) feeds of a cadence: its PIs, iterations and events as all-day
events that a calendar client subscribes to.

Every entry keeps its UID (``pi-<id>@tributary``, ``iteration-<id>``, ``event-<id>``)
however often the feed is read, so a client updates an entry instead of adding a
copy. DTSTAMP and LAST-MODIFIED are the row's last change and SEQUENCE counts its
edits: a client sees a moved date as a revision. All-day dates run to an exclusive
DTEND (the day after the last day), as RFC 5545 defines them.
"""

import datetime
from collections.abc import Sequence

from icalendar import Calendar, Event

from .models import ProgramIncrement

PRODID = "-//Tributary//PI calendar//EN"
UID_DOMAIN = "tributary"
REFRESH = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC)


def _entry(*, uid: str, row, summary: str, start: datetime.date, last: datetime.date, **properties) -> Event:
    event = Event()
    event.add("uid", f"{uid}@{UID_DOMAIN}")
    event.add("dtstamp", _utc(row.updated_at))
    event.add("created", _utc(row.created_at))
    event.add("last-modified", _utc(row.updated_at))
    event.add("sequence", max(0, row.version - 1))
    event.add("summary", summary)
    event.add("dtstart", start)
    event.add("dtend", last + DAY)
    for name, value in properties.items():
        if value:
            event.add(name.replace("_", "-"), value)
    return event


def cadence_calendar(*, title: str, program_increments: Sequence[ProgramIncrement], words: dict[str, str]) -> Calendar:
    """A calendar of the PIs (with their iterations and events prefetched). ``words``
    is the portfolio's PI vocabulary (``pi``, ``pi_long``)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for pi in program_increments:
        calendar.add_component(
            _entry(
                uid=f"pi-{pi.pk}",
                row=pi,
                summary=f"{pi.name} ({words['pi_long']})",
                start=pi.start_date,
                last=pi.end_date,
                description=(
                    f"{words['pi_long']} {pi.name}, {pi.start_date:%-d %b} to {pi.end_date:%-d %b %Y}. "
                    f"{words['pi']} planning from {pi.planning_date:%-d %b %Y}; "
                    f"epics must be ready for intake by {pi.intake_cutoff:%-d %b %Y}."
                ),
                categories=[words["pi_long"]],
                transp="TRANSPARENT",
            )
        )
        for iteration in pi.iterations.all():
            label = "IP iteration" if iteration.is_innovation_planning else f"Iteration {iteration.number}"
            calendar.add_component(
                _entry(
                    uid=f"iteration-{iteration.pk}",
                    row=iteration,
                    summary=f"{pi.name} · {label}",
                    start=iteration.start_date,
                    last=iteration.end_date,
                    categories=["Iteration"],
                    transp="TRANSPARENT",
                )
            )
        for cadence_event in pi.events.all():
            calendar.add_component(
                _entry(
                    uid=f"event-{cadence_event.pk}",
                    row=cadence_event,
                    summary=cadence_event.name,
                    start=cadence_event.start_date,
                    last=cadence_event.end_date,
                    categories=[cadence_event.get_kind_display()],
                )
            )
    return calendar
