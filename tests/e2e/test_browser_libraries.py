"""The official browser tracking libraries, unchanged, in headless Chromium against the hub.

Segment's ``@segment/analytics-next`` and RudderStack's ``@rudderstack/analytics-js`` are installed
from the npm registry into a temporary folder at test time (never committed) and served, with a
shop's test page, by a second HTTP server on another origin. What arrives is read back through the
hub's API. SQLite only: the HTTP tests of the browser endpoints run on both engines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from omnikanal.hub import Hub
from tests.browser_support import ARTIFACTS, browser_fixture, npm_install, sqlite_database_fixture  # noqa: F401
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD
from tests.helpers import bearer, lookup, timeline

PACKAGES = ("@segment/analytics-next@^1.84", "@rudderstack/analytics-js@^3.34")
SEGMENT_BUNDLE = "node_modules/@segment/analytics-next/dist/umd/index.js"
RUDDER_BUNDLE = "node_modules/@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js"


@pytest.fixture(scope="module")
def libraries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both libraries from the npm registry, in a temporary folder."""
    folder = npm_install(tmp_path_factory.mktemp("js"), PACKAGES, "the tracking libraries")
    for bundle in (SEGMENT_BUNDLE, RUDDER_BUNDLE):
        assert (folder / bundle).is_file(), f"the package no longer ships {bundle}"
    return folder


START_PAGE = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Baumarkt</title></head>
<body><h1>Baumarkt Start</h1><a id="go" href="{target}">Zum Bohrschrauber</a></body></html>"""

SEGMENT_PAGE = """<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Akku-Bohrschrauber 18 V</title><script src="/lib/segment.js"></script></head>
<body><h1>Akku-Bohrschrauber 18 V</h1><p id="state">lädt</p>
<script>
  // The shop's own code: the library unchanged, pointed at the hub.
  window.shop = AnalyticsNext.AnalyticsBrowser.load({{ writeKey: "{write_key}", cdnURL: "{hub}" }}{options});
  window.shop.ready(() => {{ document.getElementById("state").textContent = "bereit"; }});
</script></body></html>"""

RUDDER_PAGE = """<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Akku-Bohrschrauber 18 V</title>{guard}<script src="/lib/rudder.js"></script></head>
<body><h1>Akku-Bohrschrauber 18 V (RudderStack)</h1><p id="state">lädt</p>
<script>
  window.shop = new rudderanalytics.RudderAnalytics();
  window.shop.load("{write_key}", "{hub}", {{ configUrl: "{hub}", useBeacon: {beacon},
    beaconQueueOptions: {{ flushQueueInterval: 500 }},{extra}
    onLoaded: () => {{ document.getElementById("state").textContent = "bereit"; }} }});
</script></body></html>"""


class ShopServer:
    """The shop's web server: its pages and the libraries' bundles, on an origin of its own."""

    def __init__(self, libraries: Path) -> None:
        self.pages: dict[str, str] = {}
        files = {"/lib/segment.js": libraries / SEGMENT_BUNDLE, "/lib/rudder.js": libraries / RUDDER_BUNDLE}
        pages = self.pages

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in files:
                    body, kind = files[path].read_bytes(), "text/javascript"
                elif path in pages:
                    body, kind = pages[path].encode(), "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop_server(libraries: Path) -> Iterator[ShopServer]:
    server = ShopServer(libraries)
    yield server
    server.stop()


@pytest.fixture
def token(hub: Hub) -> str:
    return hub.tokens.create("browser-test", "admin")[1]


@pytest.fixture
def web_key(hub: Hub, shop_server: ShopServer) -> str:
    return hub.sources.create("webshop", "web", allowed_origins=[shop_server.origin])[1]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 700})
    opened = context.new_page()
    yield opened
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=True)


def console_shot(browser: Browser, hub: Hub, live_server: LiveServer, profile_id: str, name: str) -> None:
    """The customer's timeline in the staff console, as a service agent sees what the shop sent."""
    hub.staff.create_user("service", "service", PASSWORD, None)
    context = browser.new_context(
        base_url=live_server.url, locale="de-DE", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto("/console/login")
    page.get_by_label("Benutzername").fill("service")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_role("button", name="Abmelden").wait_for()
    page.goto(f"/console/customers/{profile_id}")
    page.get_by_text("Produkt angesehen").first.wait_for()  # Product Viewed, named for staff
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}-timeline.png"), full_page=True)
    context.close()


def wait_for(check: Callable[[], Any], what: str, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def server_side_identify(http: httpx.Client, hub: Hub, user_id: str, email: str) -> None:
    """The shop's backend (another source) knows the same person by user id and email."""
    _, key = hub.sources.create(f"erp-{user_id}", "erp")
    response = http.post(
        "/v1/identify",
        json={"userId": user_id, "traits": {"email": email, "firstName": "Eva"}},
        auth=(key, ""),
    )
    assert response.status_code == 200, response.text


def open_product_page(page: Page, shop: ShopServer, name: str) -> None:
    """The visitor comes from the start page to the product page of a newsletter campaign."""
    target = f"/{name}.html?utm_campaign=herbst-aktion&utm_source=newsletter&utm_medium=email"
    shop.pages["/start.html"] = START_PAGE.format(target=target)
    page.goto(f"{shop.origin}/start.html")
    page.click("#go")
    page.wait_for_selector("#state:has-text('bereit')", timeout=15000)


def events_of(http: httpx.Client, token: str, user_id: str) -> list[dict[str, Any]]:
    response = http.get(
        "/api/profiles/lookup", params={"type": "user_id", "value": user_id}, headers=bearer(token)
    )
    if response.status_code != 200:
        return []
    return timeline(http, token, response.json()["id"])


def check_web_timeline(events: list[dict[str, Any]], shop: ShopServer, anonymous_id: str, name: str) -> None:
    """Page, track, identify and alias on the web channel with the page's context, plus the ERP event."""
    types = {(e["type"], e["event"]) for e in events}
    assert ("identify", None) in types, types
    assert ("alias", None) in types, types
    assert ("track", "Product Viewed") in types, types
    web = [e for e in events if e["source"]["name"] == "webshop"]
    assert {e["channel"] for e in web} == {"web"}
    assert any(e["source"]["name"].startswith("erp-") for e in events), "the server-side event is missing"
    view = next(e for e in web if e["type"] == "page")
    context = view["context"]
    assert context["page"]["url"].startswith(f"{shop.origin}/{name}.html?utm_campaign=herbst-aktion")
    assert context["page"]["referrer"] == f"{shop.origin}/start.html"
    assert context["campaign"]["name"] == "herbst-aktion"
    assert context["campaign"]["source"] == "newsletter"
    assert "Chrome" in context["userAgent"]
    assert view["anonymous_id"] == anonymous_id
    # the public source truncates the visitor's address before storing
    assert context["ip"] == "127.0.0.0"


def test_analytics_next_sends_page_track_identify_and_alias_that_stitch_with_the_backend(
    browser: Browser,
    page: Page,
    hub: Hub,
    http: httpx.Client,
    live_server: LiveServer,
    shop_server: ShopServer,
    web_key: str,
    token: str,
) -> None:
    server_side_identify(http, hub, "kunde-4711", "eva@example.de")
    shop_server.pages["/segment.html"] = SEGMENT_PAGE.format(
        write_key=web_key, hub=live_server.url, options=""
    )
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    open_product_page(page, shop_server, "segment")
    anonymous_id = page.evaluate("() => window.shop.user().then(u => u.anonymousId())")
    page.evaluate(
        """async () => {
        await window.shop.page();
        await window.shop.track("Product Viewed", { sku: "DRILL-18V-BLUE", category: "Werkzeug" });
        await window.shop.alias("kunde-4711");
        await window.shop.identify("kunde-4711", { email: "Eva@Example.de", firstName: "Eva" });
    }"""
    )
    events = wait_for(
        lambda: (e := events_of(http, token, "kunde-4711")) and len(e) >= 5 and e, "4 web events"
    )
    check_web_timeline(events, shop_server, anonymous_id, "segment")
    # the one-letter paths of analytics-next, nothing to Segment's own servers
    assert {u.rsplit("/", 1)[1] for u in posted} == {"p", "t", "a", "i"}, posted
    assert all(u.startswith(live_server.url) for u in posted), posted
    eva = lookup(http, token, "email", "eva@example.de")
    assert eva["id"] == lookup(http, token, "anonymous_id", anonymous_id)["id"]
    shot(page, "analytics-next")
    console_shot(browser, hub, live_server, eva["id"], "analytics-next")


def test_rudderstack_sends_page_track_identify_and_alias_that_stitch_with_the_backend(
    page: Page,
    hub: Hub,
    http: httpx.Client,
    live_server: LiveServer,
    shop_server: ShopServer,
    web_key: str,
    token: str,
) -> None:
    server_side_identify(http, hub, "kunde-5000", "jonas@example.de")
    shop_server.pages["/rudder.html"] = RUDDER_PAGE.format(
        write_key=web_key, hub=live_server.url, beacon="false", guard="", extra=""
    )
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    open_product_page(page, shop_server, "rudder")
    anonymous_id = page.evaluate("() => window.shop.getAnonymousId()")
    page.evaluate(
        """() => {
        window.shop.page();
        window.shop.track("Product Viewed", { sku: "DRILL-18V-BLUE", category: "Werkzeug" });
        window.shop.alias("kunde-5000");
        window.shop.identify("kunde-5000", { email: "jonas@example.de" });
    }"""
    )
    events = wait_for(
        lambda: (e := events_of(http, token, "kunde-5000")) and len(e) >= 5 and e, "4 web events"
    )
    check_web_timeline(events, shop_server, anonymous_id, "rudder")
    assert {u.split("?")[0].rsplit("/", 1)[1] for u in posted} >= {"page", "track", "alias", "identify"}
    assert (
        lookup(http, token, "email", "jonas@example.de")["id"]
        == lookup(http, token, "anonymous_id", anonymous_id)["id"]
    )
    shot(page, "rudderstack")


def test_rudderstack_beacons_arrive_when_the_visitor_leaves(
    page: Page,
    hub: Hub,
    http: httpx.Client,
    live_server: LiveServer,
    shop_server: ShopServer,
    web_key: str,
    token: str,
) -> None:
    # No POST by XMLHttpRequest gets out of this page: whatever arrives came by navigator.sendBeacon.
    guard = """<script>const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (method, ...rest) {
      if (method.toUpperCase() === "POST") { throw new Error("no XHR POST on this page"); }
      return open.call(this, method, ...rest); };</script>"""
    shop_server.pages["/rudder.html"] = RUDDER_PAGE.format(
        write_key=web_key, hub=live_server.url, beacon="true", guard=guard, extra=""
    )
    open_product_page(page, shop_server, "rudder")
    page.evaluate("() => window.shop.identify('kunde-6000', { email: 'mia@example.de' })")
    page.evaluate("() => window.shop.track('Product Viewed', { sku: 'SAW-1' })")
    page.goto("about:blank")  # leaving the page sends what is queued
    events = wait_for(
        lambda: (e := events_of(http, token, "kunde-6000")) and len(e) >= 2 and e, "beacon events"
    )
    assert {e["type"] for e in events} == {"identify", "track"}


def test_the_cookie_banner_choice_holds_and_declined_analytics_is_not_stored(
    page: Page,
    hub: Hub,
    http: httpx.Client,
    live_server: LiveServer,
    shop_server: ShopServer,
    web_key: str,
    token: str,
) -> None:
    shop_server.pages["/segment.html"] = SEGMENT_PAGE.format(
        write_key=web_key, hub=live_server.url, options=""
    )
    open_product_page(page, shop_server, "segment")
    page.evaluate(
        """async () => {
        await window.shop.identify("kunde-7000", { email: "lena@example.de" });
        // the banner: analytics declined, personalisation granted, marketing declined
        const choice = { Analytics: false, Personalisation: true, Marketing: false };
        await window.shop.track("Consent Updated", { consents: [
            { purpose: "analytics", status: "denied" },
            { purpose: "personalisation", status: "granted" },
            { purpose: "marketing", status: "denied" } ] },
            { context: { consent: { categoryPreferences: choice } } });
        await window.shop.track("Product Viewed", { sku: "X" },
            { context: { consent: { categoryPreferences: choice } } });
        await window.shop.page({}, { context: { consent: { categoryPreferences: choice } } });
    }"""
    )
    profile_id = wait_for(
        lambda: (
            (
                r := http.get(
                    "/api/profiles/lookup",
                    params={"type": "user_id", "value": "kunde-7000"},
                    headers=bearer(token),
                )
            ).status_code
            == 200
            and r.json()["id"]
        ),
        "the profile",
    )

    def consents() -> dict[str, str]:
        body = http.get(f"/api/profiles/{profile_id}/consents", headers=bearer(token)).json()
        return {p: c["status"] for p, c in body["purposes"].items() if c["status"] is not None}

    wait_for(lambda: len(consents()) >= 3, "the consents")
    assert consents() == {"analytics": "denied", "personalisation": "granted", "marketing": "denied"}
    # the choice holds on every channel: the hotline's contact question sees it
    answer = http.get(
        f"/api/profiles/{profile_id}/contact", params={"purpose": "personalisation"}, headers=bearer(token)
    ).json()
    assert answer["allowed"] is True
    events = timeline(http, token, profile_id)
    assert {(e["type"], e["event"]) for e in events} == {("identify", None), ("track", "Consent Updated")}
    shot(page, "consent")


def test_a_page_on_an_origin_not_allowed_is_refused(
    page: Page, hub: Hub, http: httpx.Client, live_server: LiveServer, shop_server: ShopServer, token: str
) -> None:
    key = hub.sources.create("other-shop", "web", allowed_origins=["https://shop.example.de"])[1]
    shop_server.pages["/segment.html"] = SEGMENT_PAGE.format(write_key=key, hub=live_server.url, options="")
    page.goto(f"{shop_server.origin}/segment.html")
    outcome = page.evaluate(
        """async ([hub, key]) => {
        try {
            await fetch(hub + "/v1/t", { method: "POST", headers: { Authorization: "Basic " + btoa(key + ":"),
                "Content-Type": "text/plain" },
                body: JSON.stringify({ anonymousId: "a-1", event: "Product Viewed", writeKey: key }) });
            return "sent";
        } catch (e) { return "blocked"; }
    }""",
        [live_server.url, key],
    )
    assert outcome == "blocked"
    preflight = http.options(
        "/v1/t",
        headers={
            "Origin": shop_server.origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 403
    assert shop_server.origin in preflight.json()["error"]["message"]
    assert "access-control-allow-origin" not in preflight.headers
    assert hub.sources.get("other-shop").enabled
    assert http.get("/api/quarantine", headers=bearer(token)).json()["items"] == []


def test_analytics_next_batches_and_sends_with_keepalive_when_the_visitor_leaves(
    page: Page,
    hub: Hub,
    http: httpx.Client,
    live_server: LiveServer,
    shop_server: ShopServer,
    web_key: str,
    token: str,
) -> None:
    # a batch of 20 or a minute: nothing goes before the page is left, then keepalive requests to /v1/b
    batching = (
        ', { integrations: { "Segment.io": { deliveryStrategy: { strategy: "batching",'
        " config: { size: 20, timeout: 60000, keepalive: true } } } } }"
    )
    shop_server.pages["/segment.html"] = SEGMENT_PAGE.format(
        write_key=web_key, hub=live_server.url, options=batching
    )
    open_product_page(page, shop_server, "segment")
    page.evaluate(
        """() => {
        window.shop.identify("kunde-8000", { email: "ben@example.de" });
        window.shop.track("Product Viewed", { sku: "A" });
        window.shop.track("Product Added", { sku: "A" });
    }"""
    )
    page.wait_for_timeout(1000)
    assert events_of(http, token, "kunde-8000") == [], "batching sent before the page was left"
    page.goto("about:blank")
    events = wait_for(lambda: (e := events_of(http, token, "kunde-8000")) and len(e) >= 3 and e, "the batch")
    assert sorted((e["type"], e["event"]) for e in events) == [
        ("identify", None),
        ("track", "Product Added"),
        ("track", "Product Viewed"),
    ]


def test_rudderstack_carries_the_banner_choice_and_declined_analytics_is_not_stored(
    page: Page,
    hub: Hub,
    http: httpx.Client,
    live_server: LiveServer,
    shop_server: ShopServer,
    web_key: str,
    token: str,
) -> None:
    # the shop's banner hands its answer to RudderStack's custom consent manager
    choice = """
    consentManagement: { enabled: true, provider: "custom",
      allowedConsentIds: ["personalisation"], deniedConsentIds: ["analytics", "marketing"] },"""
    shop_server.pages["/rudder.html"] = RUDDER_PAGE.format(
        write_key=web_key, hub=live_server.url, beacon="false", guard="", extra=choice
    )
    open_product_page(page, shop_server, "rudder")
    page.evaluate(
        """() => {
        window.shop.identify("kunde-9000", { email: "ida@example.de" });
        window.shop.track("Consent Updated", { consents: [
            { purpose: "analytics", status: "denied" }, { purpose: "marketing", status: "denied" },
            { purpose: "personalisation", status: "granted" } ] });
        window.shop.track("Product Viewed", { sku: "X" });
        window.shop.page();
        window.shop.track("Search Done", { query: "Säge" });
    }"""
    )
    events = wait_for(lambda: (e := events_of(http, token, "kunde-9000")) and len(e) >= 2 and e, "the events")
    page.wait_for_timeout(1500)  # the declined ones had time to arrive, had they been sent on
    events = events_of(http, token, "kunde-9000")
    assert sorted((e["type"], e["event"]) for e in events) == [
        ("identify", None),
        ("track", "Consent Updated"),
    ]
    consent = next(e for e in events if e["event"] == "Consent Updated")
    assert consent["context"]["consentManagement"]["deniedConsentIds"] == ["analytics", "marketing"]
    profile_id = lookup(http, token, "user_id", "kunde-9000")["id"]
    marketing = http.get(
        f"/api/profiles/{profile_id}/contact", params={"purpose": "marketing"}, headers=bearer(token)
    ).json()
    assert (marketing["allowed"], marketing["reason"]) == (False, "denied")
