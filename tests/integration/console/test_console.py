"""The console over real HTTP on both engines: login and sessions, what each role may open, the
store scoping of reservations, CSRF on changing requests, and the customer view's actions."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from tests.conftest import LiveServer
from tests.console_helpers import (
    PASSWORD,
    Shop,
    build_shop,
    csrf_of,
    journey_with_eva,
    login,
    make_users,
    send_task,
)
from tests.helpers import assert_error, bearer

# Every console page and the roles that may open it (the product decision, written out here rather
# than read from the code under test).
PAGES: dict[str, set[str]] = {
    "/console": {"admin", "marketing"},
    "/console/customers": {"admin", "marketing", "service", "store", "privacy"},
    "/console/segments": {"admin", "marketing", "service"},
    "/console/journeys": {"admin", "marketing", "service"},
    "/console/messages": {"admin", "marketing", "service"},
    "/console/store": {"admin", "store"},
    "/console/hotline": {"admin", "service"},
    "/console/cases": {"admin", "service", "store"},
    "/console/quality": {"admin"},
    "/console/analytics": {"admin", "marketing"},
    "/console/matching": {"admin", "service", "privacy"},
    "/console/privacy": {"admin", "privacy"},
}
ROLES = ("admin", "marketing", "service", "store", "privacy")


@pytest.fixture
def shop(hub: Hub, http: httpx.Client) -> Shop:
    make_users(hub)
    return build_shop(http, hub)


@pytest.fixture
def browser_like(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client that keeps cookies, as a browser does."""
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def signed_in(live_server: LiveServer, username: str) -> httpx.Client:
    client = httpx.Client(base_url=live_server.url, timeout=30)
    response = login(client, username)
    assert response.status_code == 303, response.text
    return client


def nav_links(html: str) -> set[str]:
    nav = re.search(r'<nav aria-label="[^"]+" class="main-nav">(.*?)</nav>', html, re.S)
    assert nav, "no main navigation on the page"
    return set(re.findall(r'href="([^"]+)"', nav.group(1)))


def test_login_sets_a_protected_session_cookie_and_logout_ends_the_session(
    shop: Shop, browser_like: httpx.Client
) -> None:
    response = login(browser_like, "admin")
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert "omnikanal_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the test hub's public URL is http
    page = browser_like.get("/console")
    assert page.status_code == 200
    assert "<h1>Übersicht</h1>" in page.text  # German by default

    logout = browser_like.post("/console/logout", data={"csrf": csrf_of(page.text)})
    assert logout.status_code == 303
    after = browser_like.get("/console", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/console/login")


def test_secure_cookie_when_the_public_url_is_https(hub: Hub, live_server: LiveServer) -> None:
    make_users(hub)
    settings = hub.settings.model_copy(update={"public_url": "https://hub.example.de"})
    original = hub.settings
    hub.settings = settings
    try:
        with httpx.Client(base_url=live_server.url) as client:
            response = login(client, "admin")
    finally:
        hub.settings = original
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_pages_need_a_login(hub: Hub, http: httpx.Client) -> None:
    for path in PAGES:
        response = http.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login?next=")


def test_wrong_password_is_refused_and_repeated_failures_are_throttled(
    shop: Shop, browser_like: httpx.Client, hub: Hub
) -> None:
    for _ in range(hub.settings.console_login_max_failures):
        refused = login(browser_like, "service", "wrong password!")
        assert refused.status_code == 401
        assert "Unbekannter Benutzername oder falsches Passwort" in refused.text
    # Past the limit even the right password waits, so guessing cannot go on.
    throttled = login(browser_like, "service", PASSWORD)
    assert throttled.status_code == 429
    # Another user name from the same address is not locked by it.
    assert login(browser_like, "marketing").status_code == 303


def test_a_disabled_user_cannot_log_in_and_loses_their_session(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    client = signed_in(live_server, "marketing")
    assert client.get("/console/customers").status_code == 200
    hub.staff.set_disabled("marketing", True)
    assert client.get("/console/customers", follow_redirects=False).status_code == 303
    assert login(client, "marketing").status_code == 401
    client.close()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_only_its_pages_and_sees_links_only_to_them(
    role: str, shop: Shop, live_server: LiveServer
) -> None:
    client = signed_in(live_server, role)
    allowed = {path for path, roles in PAGES.items() if role in roles}
    for path in PAGES:
        response = client.get(path)
        expected = 200 if path in allowed else 403
        assert response.status_code == expected, f"{role} {path}: {response.status_code}"
    links = nav_links(client.get("/console/customers").text)
    assert links == allowed, role
    client.close()


def test_store_user_sees_and_handles_only_their_own_stores_reservations(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    client = signed_in(live_server, "store")
    own, other = shop.reservations["store-mitte"], shop.reservations["store-kreuzberg"]
    listed = client.get("/api/commerce/reservations").json()["reservations"]
    assert {r["id"] for r in listed} == {own}
    assert_error(
        client.get("/api/commerce/reservations", params={"location_id": "store-kreuzberg"}),
        403,
        "other_store",
    )
    assert client.get(f"/api/commerce/reservations/{own}").status_code == 200
    assert_error(client.get(f"/api/commerce/reservations/{other}"), 403, "other_store")
    page = client.get("/console/store", params={"store": "store-kreuzberg"}).text
    assert "store-mitte" in page
    assert shop.other not in page  # Kreuzberg's customer is not listed
    csrf = csrf_of(page)
    refused = client.post(f"/api/commerce/reservations/{other}/cancel", headers={"X-CSRF-Token": csrf})
    assert_error(refused, 403, "other_store")
    assert hub.commerce.reservations.get(other)["status"] == "active"
    # The store's task queue is its own; another store's is not.
    assert client.get("/api/tasks", params={"queue": "store:store-mitte"}).status_code == 200
    assert_error(client.get("/api/tasks", params={"queue": "store:store-kreuzberg"}), 403, "other_store")
    client.close()

    # A till's token tied to Kreuzberg is scoped the same way.
    till = hub.tokens.create("till-kreuzberg", "store", "store-kreuzberg")[1]
    with httpx.Client(base_url=live_server.url) as api:
        mine = api.get("/api/commerce/reservations", headers=bearer(till)).json()["reservations"]
        assert {r["id"] for r in mine} == {other}
        assert_error(api.get(f"/api/commerce/reservations/{own}", headers=bearer(till)), 403, "other_store")


def test_the_api_takes_the_session_but_a_changing_request_needs_the_csrf_token(
    shop: Shop, live_server: LiveServer
) -> None:
    client = signed_in(live_server, "marketing")
    condition = {"condition": {"trait": {"key": "lastName", "op": "eq", "value": "Müller"}}}
    assert_error(client.post("/api/segments/preview", json=condition), 403, "csrf_failed")
    csrf = csrf_of(client.get("/console/segments").text)
    answer = client.post("/api/segments/preview", json=condition, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 1
    # The role's permissions hold for the session as for a token: marketing may not unmerge.
    refused = client.post(
        f"/api/profiles/{shop.eva}/unmerge", json={"merge_id": shop.merge_id}, headers={"X-CSRF-Token": csrf}
    )
    assert_error(refused, 403, "forbidden")
    client.close()


def test_a_console_form_without_the_csrf_token_changes_nothing(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    client = signed_in(live_server, "service")
    response = client.post(f"/console/customers/{shop.eva}/consents", data={"purpose": "sms_marketing"})
    assert response.status_code == 403
    assert hub.consent.consents(shop.eva)["purposes"]["sms_marketing"]["status"] == "granted"
    client.close()


def test_search_the_customer_view_and_its_actions(shop: Shop, live_server: LiveServer, hub: Hub) -> None:
    client = signed_in(live_server, "service")
    for query in ("eva@example.de", "kunde-4711", "Müller", "eva müller"):
        hits = client.get("/console/customers", params={"q": query}).text
        assert f"/console/customers/{shop.eva}" in hits, query
    view = client.get(f"/console/customers/{shop.eva}")
    assert view.status_code == 200
    html = view.text
    for expected in (
        "Eva Müller",
        "eva@example.de",
        "kunde-4711",
        "Angebote per SMS",  # the purpose sms_marketing, as staff read it
        "Produkt angesehen",  # Product Viewed
        "Kundennummer",  # the identifier type user_id
        "DRILL-18V-BLUE",
    ):
        assert expected in html, expected
    only_views = timeline_of(
        client.get(f"/console/customers/{shop.eva}", params={"event": "Product Viewed"}).text
    )
    # each event named for staff, its recorded name in the title
    assert '<td title="Product Viewed">Produkt angesehen' in only_views
    assert '<td title="Product Reserved">' not in only_views
    only_pos = timeline_of(client.get(f"/console/customers/{shop.eva}", params={"channel": "pos"}).text)
    assert '<td title="identify">Anmeldung' in only_pos
    assert '<td title="Product Viewed">' not in only_pos
    hub.audit.flush()
    log = hub_access(hub, shop.eva)
    assert ("staff:service", "console.customer.read") in log

    csrf = csrf_of(html)
    withdrawn = client.post(
        f"/console/customers/{shop.eva}/consents", data={"csrf": csrf, "purpose": "sms_marketing"}
    )
    assert withdrawn.status_code == 303
    assert hub.consent.consents(shop.eva)["purposes"]["sms_marketing"]["status"] == "withdrawn"

    undone = client.post(
        f"/console/customers/{shop.eva}/unmerge", data={"csrf": csrf, "merge_id": shop.merge_id}
    )
    assert undone.status_code == 303
    merges = hub.profiles.merges(shop.eva)
    assert merges[0]["undone_at"] is not None
    assert merges[0]["undone_by"] == "staff:service"
    client.close()


def test_the_english_switch_is_kept_in_a_cookie(shop: Shop, live_server: LiveServer) -> None:
    client = signed_in(live_server, "admin")
    assert "<h1>Overview</h1>" in client.get("/console", params={"lang": "en"}).text
    assert "<h1>Customers</h1>" in client.get("/console/customers").text
    assert "<h1>Kunden</h1>" in client.get("/console/customers", params={"lang": "de"}).text
    client.close()


def test_overview_quality_messages_store_and_hotline_render_with_data(
    shop: Shop, live_server: LiveServer
) -> None:
    client = signed_in(live_server, "admin")
    overview = client.get("/console").text
    assert 'data-chart="chart-events"' in overview
    assert "/console/static/plotly.min.js" in overview
    plotly = client.get("/console/static/plotly.min.js")
    assert plotly.status_code == 200
    assert "plotly.js" in plotly.text[:2000]
    quality = client.get("/console/quality").text
    assert "webshop" in quality
    assert "till" in quality
    scanned = client.get("/console/store", params={"store": "store-mitte", "gtin": shop.gtin}).text
    assert "Akku-Bohrschrauber 18 V" in scanned
    assert client.get("/console/messages").status_code == 200
    assert client.get("/console/hotline", params={"phone": "+49 171 0000000"}).status_code == 200
    client.close()


def timeline_of(html: str) -> str:
    """The timeline's table body of a customer view."""
    section = html.split('id="h-timeline"')[1].split("</section>")[0]
    return section.split("<tbody>")[1]


def hub_access(hub: Hub, profile_id: str) -> set[tuple[str, str]]:
    from omnikanal.audit.service import access_entries

    with hub.engine.connect() as conn:
        entries = access_entries(conn, [profile_id], 500, None)
    return {(e["actor"], e["action"]) for e in entries}


def test_marketing_saves_a_segment_and_service_may_only_read_it(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    client = signed_in(live_server, "marketing")
    csrf = csrf_of(client.get("/console/segments/new").text)
    condition = '{"trait": {"key": "lastName", "op": "eq", "value": "Müller"}}'
    bad = client.post("/console/segments", data={"csrf": csrf, "name": "Müllers", "condition": "{not json"})
    assert bad.status_code == 400
    assert "condition: not JSON" in bad.text
    saved = client.post("/console/segments", data={"csrf": csrf, "name": "Müllers", "condition": condition})
    assert saved.status_code == 303
    segment = next(s for s in hub.segments.all() if s["name"] == "Müllers")
    assert segment["member_count"] == 1
    client.close()

    reader = signed_in(live_server, "service")
    page = reader.get(f"/console/segments/{segment['id']}").text
    assert "readonly" in page
    csrf = csrf_of(page)
    refused = reader.post(
        "/console/segments", data={"csrf": csrf, "id": segment["id"], "name": "x", "condition": condition}
    )
    assert refused.status_code == 403
    assert reader.get("/console/segments/new").status_code == 403
    reader.close()


def test_privacy_files_and_carries_out_an_export_and_admin_may_not_erase(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    client = signed_in(live_server, "privacy")
    csrf = csrf_of(client.get(f"/console/customers/{shop.other}").text)
    assert (
        client.post(
            f"/console/customers/{shop.other}/privacy", data={"csrf": csrf, "type": "export"}
        ).status_code
        == 303
    )
    filed = [r for r in hub.privacy.find(None, "export", 10) if r["profile_id"] == shop.other]
    assert [r["status"] for r in filed] == ["received"]
    ran = client.post(f"/console/customers/{shop.other}/privacy/{filed[0]['id']}/run", data={"csrf": csrf})
    assert ran.status_code == 303
    assert hub.privacy.get(filed[0]["id"])["status"] == "completed"
    client.close()

    admin = signed_in(live_server, "admin")
    page = admin.get(f"/console/customers/{shop.other}").text
    assert '<option value="erasure">' not in page
    refused = admin.post(
        f"/console/customers/{shop.other}/privacy", data={"csrf": csrf_of(page), "type": "erasure"}
    )
    assert refused.status_code == 403
    admin.close()


def test_the_hotline_claims_and_completes_a_task(shop: Shop, live_server: LiveServer, hub: Hub) -> None:
    with httpx.Client(base_url=live_server.url) as api:
        send_task(api, hub, shop.eva, "hotline", "call", "Rückruf erbeten", "Frau Müller bittet um Rückruf.")
    client = signed_in(live_server, "service")
    page = client.get("/console/hotline").text
    assert "Rückruf erbeten" in page
    task_id = re.search(r'action="/console/hotline/tasks/([^"]+)"', page).group(1)  # type: ignore[union-attr]
    csrf = csrf_of(page)
    assert (
        client.post(f"/console/hotline/tasks/{task_id}", data={"csrf": csrf, "action": "claim"}).status_code
        == 303
    )
    assert (
        client.post(
            f"/console/hotline/tasks/{task_id}",
            data={"csrf": csrf, "action": "complete", "outcome": "erreicht"},
        ).status_code
        == 303
    )
    tasks = hub.messaging.tasks("hotline", None, 10, lambda _: None)
    assert [(t["status"], t["claimed_by"]) for t in tasks] == [("done", "staff:service")]
    assert "Rückruf erbeten" not in client.get("/console/hotline").text
    client.close()


def test_the_journey_page_draws_the_steps_with_the_customers_at_each(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    journey_id = journey_with_eva(hub, shop)
    client = signed_in(live_server, "marketing")
    listing = client.get("/console/journeys")
    assert listing.status_code == 200
    row = re.search(
        r"<tr><td><a href=\"/console/journeys/[^\"]+\">Willkommen</a></td>(.*?)</tr>", listing.text
    )
    assert row, listing.text
    assert re.findall(r"<td>([^<]*)</td>", row.group(1))[:4] == ["Aktiv", "1", "1", "1"]

    page = client.get(f"/console/journeys/{journey_id}")
    assert page.status_code == 200
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    steps = re.findall(r'data-step="([^"]+)"', svg)
    assert steps == ["pause", "check", "call", "bye"]
    counts = dict(re.findall(r'data-step="([^"]+)".*?class="step-count">(\d+)</text>', svg, re.S))
    assert counts == {"pause": "1", "check": "0", "call": "0", "bye": "0"}
    # the branch's two ways are labelled paths; the wait and the task run straight into what follows
    assert re.findall(r'class="edge-label">([^<]+)</text>', svg) == ["then", "else"]
    assert svg.count("<line ") == 2
    # the same steps as a table for screen readers
    assert "<caption>Schritte</caption>" in page.text
    english = client.get(f"/console/journeys/{journey_id}?lang=en").text
    assert "Steps with the number of customers at each" in english
    assert client.get("/console/journeys/jny_missing").status_code == 404
    client.close()


def test_a_serving_process_computes_the_overview_before_the_first_request(settings: Any) -> None:
    import asyncio

    from omnikanal.app import create_app
    from omnikanal.clock import SystemClock
    from omnikanal.console.overview import OverviewCache
    from omnikanal.hub import build_hub

    hub = build_hub(settings, SystemClock())
    app = create_app(hub)  # manages the hub's lifecycle, as `omnikanal serve` does

    async def serve_briefly() -> bool:
        # the app's start-up and shut-down, as uvicorn runs them
        async with app.router.lifespan_context(app):
            cache = app.state.console_overview
            assert isinstance(cache, OverviewCache)
            deadline = time.monotonic() + 30
            while not cache.ready and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return cache.ready

    try:
        assert asyncio.run(serve_briefly())
    finally:
        hub.close()
