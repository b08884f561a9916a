"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

- Every test here is marked ``browser``. Without ``/usr/bin/chromium`` they are reported
  skipped with the reason (``.ci/run`` installs Chromium and fails when they skip).
- ``browser_type_launch_args``: Debian's Chromium, headless (Playwright's own browser
  download does not work here).
- ``journey``: a ``Journey`` on a fresh browser page, which logs in through the login
  form, saves a screenshot of every page it visits to ``artifacts/screenshots/`` (git
  ignores it) and audits each with axe-core (``tests/e2e/axe.py``).
- ``seeded``: the small demo portfolio, built inside the test: a live-server test uses
  a transactional database, flushed after each test.
"""

import os
import re
from pathlib import Path

import pytest

from tests.e2e.axe import AxeAudit
from tests.e2e.journey import SCREENSHOTS, Journey

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = f"Chromium not found at {CHROMIUM}: browser tests need Debian's chromium (apt-get install chromium)"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}, "locale": "en-GB"}


@pytest.fixture
def seeded(live_server):
    """The small demo portfolio (logins prefixed ``e2e-``), anchored on today as the
    pages see it, so that its current PI is the pages' current PI."""
    from django.utils import timezone

    from portfolio.demo import build_demo

    return build_demo(size="small", seed=1, today=timezone.localdate(), slug="e2e", user_prefix="e2e-")


@pytest.fixture
def journey(page, live_server, request):
    audit = AxeAudit()
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    for old in SCREENSHOTS.glob(f"{name}-*.png"):  # this run's screenshots only
        old.unlink()
    return Journey(page, live_server.url, name, audit)
