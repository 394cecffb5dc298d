"""Every console page each role can open, checked in headless Chromium by axe-core (installed from the
npm registry at test time) against WCAG 2.1 A and AA, and read as a German-speaking user reads it: no
raw profile id, no raw status and no English word on a German page. A screenshot of each page is saved
under test-artifacts/. SQLite only: what a page shows does not depend on the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from omnikanal.hub import Hub
from tests.browser_support import (  # noqa: F401
    browser_fixture,
    log_in,
    npm_install,
    page_fixture,
    shop_fixture,
    shot,
    sqlite_database_fixture,
)
from tests.console_helpers import Shop, journey_with_eva

AXE = "axe-core@^4.10"
AXE_SCRIPT = "node_modules/axe-core/axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """tags => axe.run(document, {runOnly: {type: "tag", values: tags}})
    .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map(n => n.target.join(" "))})))"""
PHONE = "+4917012345678"

# The role → page matrix of the console (tests/integration/console/test_console.py holds its
# authorisation tests); the name of each page is the screenshot's.
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "admin": (
        "overview",
        "customers",
        "segments",
        "journeys",
        "messages",
        "store",
        "hotline",
        "cases",
        "quality",
        "analytics",
        "matching",
        "privacy",
    ),
    "marketing": ("overview", "customers", "segments", "journeys", "messages", "analytics"),
    "service": ("customers", "segments", "journeys", "messages", "hotline", "cases", "matching"),
    "store": ("customers", "store", "cases"),
    "privacy": ("customers", "matching", "privacy"),
}
# Pages about the shop's data: a customer, a segment, a journey, a scan, a caller.
DATA_PAGES: dict[str, tuple[str, str]] = {
    "customer": ("service", "/console/customers/{eva}"),
    "segment": ("marketing", "/console/segments/{segment}"),
    "journey": ("marketing", "/console/journeys/{journey}"),
    "journey-editor": ("marketing", "/console/journeys/{journey}/edit"),
    "store-scan": ("store", "/console/store?gtin={gtin}"),
    "hotline-caller": ("service", "/console/hotline?phone=" + PHONE.replace("+", "%2B")),
}
# What remains, named exactly: each of these fails today and is expected to (strict). None now.
REMAINING: dict[str, str] = {}
CASES: list[Any] = [
    pytest.param(
        role,
        name,
        path,
        id=f"{role}-{name}",
        marks=[pytest.mark.xfail(strict=True, reason=REMAINING[name])] if name in REMAINING else [],
    )
    for role, name, path in (
        *(
            (r, n, "/console" if n == "overview" else f"/console/{n}")
            for r, ns in ROLE_PAGES.items()
            for n in ns
        ),
        *((r, n, p) for n, (r, p) in DATA_PAGES.items()),
    )
]


@pytest.fixture(scope="module")
def axe_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """axe-core from the npm registry, in a temporary folder."""
    script = npm_install(tmp_path_factory.mktemp("axe"), (AXE,), "axe-core") / AXE_SCRIPT
    assert script.is_file(), f"the package no longer ships {AXE_SCRIPT}"
    return script


def shop_path(path: str, hub: Hub, http: httpx.Client, shop: Shop) -> str:
    """The page's address on the shop's data, made for it where the shop has none yet."""
    ids = {"eva": shop.eva, "gtin": shop.gtin, "segment": "", "journey": ""}
    if "{segment}" in path:
        condition = {"trait": {"key": "lastName", "op": "eq", "value": "Müller"}}
        ids["segment"] = hub.segments.create("Müllers", "Alle mit Nachnamen Müller", condition, "test")["id"]
    if "{journey}" in path:
        ids["journey"] = journey_with_eva(hub, shop)
    if "phone=" in path:
        _, key = hub.sources.create("hotline-crm", "hotline")
        sent = http.post(
            "/v1/identify", json={"userId": "kunde-4711", "traits": {"phone": PHONE}}, auth=(key, "")
        )
        assert sent.status_code == 200, sent.text
    return path.format(**ids)


def serious(violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'][:8])}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize(("role", "name", "path"), CASES)
def test_the_page_has_no_serious_accessibility_issue_and_reads_in_german(
    role: str, name: str, path: str, page: Page, shop: Shop, hub: Hub, http: httpx.Client, axe_script: Path
) -> None:
    target = shop_path(path, hub, http, shop)
    log_in(page, role)
    response = page.goto(target)
    assert response is not None, target
    assert response.status == 200, target
    if name == "hotline-caller":
        expect(page.locator("#h-caller")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "de"
    shot(page, f"a11y-{role}-{name}")  # and its German text checked
    page.add_script_tag(path=str(axe_script))
    found = serious(page.evaluate(AXE_RUN, TAGS))
    assert found == [], "axe-core:\n" + "\n".join(found)
