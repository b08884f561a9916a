"""axe-core audits of the pages a browser test visits (axe-playwright-python bundles
axe-core, so nothing is fetched).

Serious and critical violations fail a test; moderate and minor ones are kept in
``AxeAudit.minor`` for whoever wants to look. ``KNOWN_VIOLATIONS`` lists serious ones
already reported to the people building that page: they are shown as warnings, not
failures, until fixed — then their entry goes.
"""

import warnings
from dataclasses import dataclass, field

from axe_playwright_python.sync_playwright import Axe

FAILING_IMPACTS = {"serious", "critical"}
# WCAG 2.1 A and AA plus axe's best practices: the rules a page is held to.
RUN_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
}
# (rule, the element's CSS selector as axe reports it): why it is known.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}

_axe = Axe()


class KnownAccessibilityViolation(UserWarning):
    """A serious violation listed in KNOWN_VIOLATIONS: reported, not fixed yet."""


def _target(node: dict) -> str:
    return ", ".join(node["target"])


def describe(violation: dict, nodes: list[dict], where: str) -> str:
    targets = "; ".join(_target(node) for node in nodes[:5])
    more = len(nodes) - 5
    html = nodes[0].get("html", "")[:200] if nodes else ""
    return (
        f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}\n"
        f"    at {targets}{f' and {more} more' if more > 0 else ''}\n"
        f"    e.g. {html}"
    )


@dataclass
class AxeAudit:
    serious: list[str] = field(default_factory=list)
    minor: list[str] = field(default_factory=list)
    pages: int = 0

    def check(self, page, where: str, context: dict | None = None) -> list[dict]:
        """Audit the page as it is now (``context``: axe's include/exclude selectors);
        return its violations of any impact."""
        violations = _axe.run(page, context=context, options=RUN_OPTIONS).response["violations"]
        self.pages += 1
        for violation in violations:
            if violation["impact"] not in FAILING_IMPACTS:
                self.minor.append(describe(violation, violation["nodes"], where))
                continue
            unknown = [node for node in violation["nodes"] if (violation["id"], _target(node)) not in KNOWN_VIOLATIONS]
            for node in violation["nodes"]:
                if node not in unknown:
                    known = KNOWN_VIOLATIONS[violation["id"], _target(node)]
                    warnings.warn(f"{where}: {known}", KnownAccessibilityViolation, stacklevel=2)
            if unknown:
                self.serious.append(describe(violation, unknown, where))
        return violations

    def assert_no_serious_violations(self) -> None:
        assert not self.serious, (
            f"{len(self.serious)} serious or critical accessibility violation(s) on {self.pages} page(s) audited:\n"
            + "\n".join(self.serious)
        )
