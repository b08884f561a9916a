"""``Journey``: one person's way through the pages on one browser page, recording each
page it shows (a screenshot and an axe-core audit)."""

import re
import warnings
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from tests.e2e.axe import AxeAudit

# Git ignores artifacts/: the screenshots of the last run, named after test and step.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "tributary-demo"  # the demo logins' password (portfolio.demo.DEMO_PASSWORD)


class Journey:
    """One person's way through the pages, on one browser page.

    ``goto``/``see`` record each page: a screenshot named after the test and the step,
    and an axe-core audit whose serious and critical violations are collected;
    ``assert_accessible`` fails listing them all.
    """

    def __init__(self, page, base_url: str, name: str, audit: AxeAudit):
        self.page = page
        self.base_url = base_url
        self.name = name
        self.audit = audit
        self.step = 0
        self.page.set_default_timeout(10_000)

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str, label: str | None = None):
        response = self.page.goto(self.url(path))
        assert response is not None and response.status < 400, f"{path} answered {response and response.status}"
        self.see(label or path)
        return response

    def see(self, label: str, context: dict | None = None) -> None:
        """Record the page the browser shows now (``context``: what axe audits, if not all)."""
        self.page.wait_for_load_state("load")
        self.step += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "home"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        try:
            self.page.screenshot(path=SCREENSHOTS / f"{self.name}-{self.step:02d}-{slug}.png", full_page=True)
        except PlaywrightError as error:  # a record for people, not a check: a busy machine may time it out
            warnings.warn(f"No screenshot of {self.name} step {self.step}: {error}", stacklevel=2)
        self.audit.check(self.page, f"{self.name} step {self.step} ({label})", context=context)

    def log_in(self, username: str, password: str = PASSWORD, path: str = "/") -> None:
        """Open ``path`` and log in through the login form it sends us to."""
        self.page.goto(self.url(path))
        assert "/accounts/login/" in self.page.url, f"{path} did not ask for a login"
        self.see(f"login for {path}")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_load_state("load")
        assert "/accounts/login/" not in self.page.url, f"{username} could not log in"
        self.see(f"{path} as {username}")

    def assert_accessible(self) -> None:
        self.audit.assert_no_serious_violations()
