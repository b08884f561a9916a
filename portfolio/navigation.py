"""The top navigation: every page of the design, in the order the header shows them.

Pages are built by different pieces of work. An entry is linked by its URL name; if
that name is not registered (yet), the entry falls back to the page's path when some
view answers there, and is otherwise left out, so the navigation never links to a 404.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, Resolver404, resolve, reverse


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    path: str
    staff_only: bool = False


NAVIGATION = (
    NavEntry("Dashboard", "dashboard", "/"),
    NavEntry("Roadmap", "roadmap:portfolio-roadmap", "/roadmap/"),
    NavEntry("Dependencies", "valuestreams:dependency-list", "/dependencies/"),
    NavEntry("Dependency map", "valuestreams:dependency-map", "/dependencies/map/"),
    NavEntry("Trains", "valuestreams:train-list", "/trains/"),
    NavEntry("Cadence", "cadence:calendar", "/cadence/"),
    NavEntry("Epics", "epic-kanban", "/epics/"),
    NavEntry("Integration", "integration:integration-point-list", "/integration/"),
    NavEntry("API docs", "api-docs", "/api/docs/"),
    NavEntry("Admin", "admin:index", "/admin/", staff_only=True),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def _url_of(entry: NavEntry) -> str | None:
    try:
        return reverse(entry.url_name)
    except NoReverseMatch:
        pass
    try:
        resolve(entry.path)
    except Resolver404:
        return None
    return entry.path


def navigation_for(*, user, path: str) -> list[NavLink]:
    """The links a user sees, the one for the current page marked: the entry whose URL
    is the longest prefix of the path ("/" only for itself)."""
    entries = [
        (entry, url)
        for entry in NAVIGATION
        if not entry.staff_only or getattr(user, "is_staff", False)
        if (url := _url_of(entry)) is not None
    ]
    matches = [url for _, url in entries if path == url or (url != "/" and path.startswith(url))]
    current = max(matches, key=len, default=None)
    return [NavLink(label=entry.label, url=url, current=url == current) for entry, url in entries]
