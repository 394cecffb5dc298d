"""What every browser test shares: the system's Chromium, its flags, where screenshots go, npm
packages installed into a temporary folder at test time (never committed), and for the console's
tests the fixtures (a SQLite database, the browser, a German page, the shop), signing in, screenshots
and the check that a German page shows no raw id, raw status or English word.

A test module imports the fixtures it uses by their ``*_fixture`` names; pytest knows them by the
names in ``@pytest.fixture(name=...)``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from omnikanal.hub import Hub
from tests.conftest import IN_CI
from tests.console_helpers import PASSWORD, Shop, build_shop, make_users
from tests.live_server import LiveServer

CHROMIUM = os.environ.get("OMNIKANAL_TEST_CHROMIUM", "/usr/bin/chromium")
# headless on a closed network: without the background-networking flags Chromium's own connections
# are refused many at a time
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def unavailable(reason: str) -> NoReturn:
    """A tool the test needs is missing: a failure in CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def npm_install(folder: Path, packages: tuple[str, ...], what: str) -> Path:
    """``packages`` from the npm registry into ``folder`` (its node_modules), for the test's run only."""
    npm = shutil.which("npm")
    if npm is None:
        unavailable(f"npm is not installed (Node.js 20 and npm are needed for the tests of {what})")
    try:
        done = subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(folder), *packages],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        unavailable(f"npm install of {what} took over 300 s (is the registry reachable?)")
    if done.returncode != 0:
        unavailable(f"npm install of {what} failed: {done.stderr.strip()[-500:]}")
    return folder


def chromium() -> Iterator[Browser]:
    """The system's Chromium, headless, for a module-scoped ``browser`` fixture to yield from."""
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (./dev test installs Debian's chromium when it can)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(name="database_url")
def sqlite_database_fixture(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only: what a page shows does not depend on the engine (the HTTP tests run on both)."""
    path = tmp_path / "omnikanal.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(name="browser", scope="module")
def browser_fixture() -> Iterator[Browser]:
    yield from chromium()


@pytest.fixture(name="shop")
def shop_fixture(hub: Hub, http: httpx.Client) -> Shop:
    """The console's staff users and the small shop of tests/console_helpers.py."""
    make_users(hub)
    return build_shop(http, hub)


@pytest.fixture(name="page")
def page_fixture(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A German desktop browser on the live server."""
    context = browser.new_context(
        base_url=live_server.url, locale="de-DE", viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    yield opened
    context.close()


def log_in(page: Page, username: str) -> None:
    page.goto("/console/login")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()


PROFILE_ID = re.compile(r"prof_[0-9a-f]{8,}")
RAW_STATUS = re.compile(r"\b[a-z]+_[a-z_]+\b")
# Words of the console's English texts and of recorded data that a German page must not show.
# "Status", "Segment" or "Name" are not on the list: they are German words too.
ENGLISH = re.compile(
    r"\b(Customers?|Overview|Search|Messages|Journeys|pending|granted|denied|withdrawn|placed|confirmed|"
    r"received|completed|rejected|export|erasure|restriction|rectification|active|paused|draft|"
    r"Order Completed|Product Viewed|Product Added|Signed Up|identify|none|yes|Cancel)\b"
)
# The visible text of main, without code, pre, form fields and what a page shows as recorded (.raw).
VISIBLE_WORDS = """() => {
    const hidden = Array.from(document.querySelectorAll(
        "main code, main pre, main input, main textarea, main .raw"));
    const before = hidden.map(el => el.style.display);
    hidden.forEach(el => { el.style.display = "none"; });
    const text = document.querySelector("main").innerText;
    hidden.forEach((el, i) => { el.style.display = before[i]; });
    return text;
}"""


def words_out_of_place(text: str) -> list[str]:
    """Raw profile ids, raw statuses (``ready_for_pickup``) and English words in a German text."""
    found = PROFILE_ID.findall(text) + RAW_STATUS.findall(text) + ENGLISH.findall(text)
    return sorted(set(found))


def shot(page: Page, name: str, *, german: bool = True) -> None:
    """A full-page screenshot under test-artifacts/; of a German page, only once its text holds no
    raw id, raw status or English word (the check fails the test and names what it found)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if german and page.locator("html").get_attribute("lang") == "de":
        out_of_place = words_out_of_place(page.evaluate(VISIBLE_WORDS))
        assert out_of_place == [], (
            f"{name}: raw ids, statuses or English words on the German page: {out_of_place}"
        )
