"""The console in headless Chromium (Playwright driving the system's Chromium): the journeys staff
take, with screenshots saved under test-artifacts/, and basic accessibility (labelled controls,
keyboard navigation). The engines are covered by the HTTP tests; these run on SQLite only."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, Page, expect

from omnikanal.hub import Hub
from omnikanal.profiles.service import TimelineQuery
from tests.browser_support import (  # noqa: F401
    browser_fixture,
    log_in,
    page_fixture,
    shop_fixture,
    shot,
    sqlite_database_fixture,
)
from tests.conftest import LiveServer
from tests.console_helpers import PASSWORD, Shop, give_phone, journey_with_eva, ready_pickup, send_task


def test_log_in_search_open_the_customer_undo_a_merge_and_withdraw_a_consent(page: Page, shop: Shop) -> None:
    page.goto("/console/customers")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    shot(page, "console-login")
    log_in(page, "service")
    page.goto("/console/customers")
    page.get_by_label("Kennung oder Name").fill("Müller")
    page.get_by_role("button", name="Suchen").click()
    expect(page.get_by_role("link", name="Eva Müller")).to_be_visible()
    shot(page, "console-search")
    page.get_by_role("link", name="Eva Müller").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Eva Müller")
    expect(page.get_by_text("Produkt angesehen").first).to_be_visible()
    shot(page, "console-customer")

    page.get_by_role("button", name="Widerrufen: Angebote per SMS").click()
    expect(page.get_by_role("status")).to_have_text("Erledigt.")
    row = page.get_by_role("row").filter(has_text="Angebote per SMS").first
    expect(row).to_contain_text("Widerrufen")

    page.get_by_role("button", name="Zusammenführung aufheben").first.click()
    expect(page.get_by_role("status")).to_have_text("Erledigt.")
    expect(page.get_by_text("Aufgehoben").first).to_be_visible()
    shot(page, "console-customer-after-unmerge")


def test_preview_a_segment(page: Page, shop: Shop) -> None:
    log_in(page, "marketing")
    page.goto("/console/segments/new")
    # a new segment opens on the builder form; the JSON box is one click away
    page.get_by_text("Bedingung als JSON").click()
    condition = page.get_by_label("Bedingung (JSON)")
    condition.fill('{"trait": {"key": "lastName", "op": "eq", "value": "Müller"}}')
    page.get_by_role("button", name="Vorschau").click()
    expect(page.locator("#preview-result")).to_have_text("Kunden in der Vorschau: 1")
    condition.fill('{"trait": {"key": "lastName", "op": "ne", "value": "Niemand"}}')
    page.get_by_role("button", name="Vorschau").click()
    expect(page.locator("#preview-result")).to_have_text("Kunden in der Vorschau: 2")
    shot(page, "console-segment-preview")


def test_scan_a_product_in_the_store_view(page: Page, shop: Shop) -> None:
    log_in(page, "store")
    page.goto("/console/store")
    expect(page.get_by_role("heading", level=1)).to_contain_text("store-mitte")
    page.get_by_label("GTIN / EAN").fill(shop.gtin)
    page.get_by_label("GTIN / EAN").press("Enter")
    expect(page.locator("#scan-result")).to_contain_text("Akku-Bohrschrauber 18 V")
    expect(page.locator("#scan-result")).to_contain_text("Bestand hier")
    shot(page, "console-store-scan")


def test_open_a_journey_diagram(page: Page, shop: Shop, hub: Hub) -> None:
    journey_id = journey_with_eva(hub, shop)
    log_in(page, "marketing")
    page.goto("/console")
    page.get_by_role("link", name="Kundenreisen").click()
    page.get_by_role("link", name="Willkommen").click()
    expect(page).to_have_url(re.compile(f"/console/journeys/{journey_id}$"))
    diagram = page.get_by_role("img", name="Ablauf mit der Zahl der Kunden je Schritt")
    expect(diagram).to_be_visible()
    expect(diagram.locator('[data-step="pause"] .step-count')).to_have_text("1")
    expect(diagram.locator("[data-step]")).to_have_count(4)
    shot(page, "console-journey")


def test_the_overview_draws_its_charts_in_english(page: Page, shop: Shop) -> None:
    log_in(page, "admin")
    page.goto("/console?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    # plotly.js draws an SVG into each chart container once it has loaded.
    expect(page.locator("[data-chart] .main-svg").first).to_be_visible()
    assert page.locator("[data-chart] .main-svg").count() >= 5
    shot(page, "console-overview")


def test_every_control_has_a_label_on_every_page(page: Page, shop: Shop) -> None:
    log_in(page, "admin")
    paths = [
        "/console",
        "/console/customers?q=Müller",
        f"/console/customers/{shop.eva}",
        "/console/segments",
        "/console/segments/new",
        "/console/journeys",
        "/console/messages",
        f"/console/store?gtin={shop.gtin}",
        "/console/hotline",
        "/console/quality",
    ]
    unlabelled_js = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
        .filter(el => el.type !== 'hidden' && !el.hidden && el.offsetParent !== null)
        .filter(el => {
            const named = (el.labels && el.labels.length) || el.getAttribute('aria-label')
                || (el.tagName === 'BUTTON' && el.textContent.trim());
            return !named;
        })
        .map(el => el.outerHTML.slice(0, 120))"""
    for path in paths:
        page.goto(path)
        assert page.evaluate(unlabelled_js) == [], path
        assert page.locator("html").get_attribute("lang") == "de", path


def test_the_keyboard_reaches_the_main_actions(page: Page, shop: Shop) -> None:
    page.goto("/console/login")
    # The login form: the user name has the focus, Tab moves to the password and the button.
    expect(page.get_by_label("Benutzername")).to_be_focused()
    page.keyboard.type("service")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Anmelden"
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()

    page.goto("/console/customers")
    reached: list[str] = []
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        )
        if "q" in reached and "Suchen" in reached:
            break
    assert reached[0] == "Zum Inhalt springen", reached  # the skip link comes first
    assert "Kunden" in reached, reached  # the menu
    assert "q" in reached, reached
    assert "Suchen" in reached, reached
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("eva@example.de")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Eva Müller")).to_be_visible()


def test_a_store_employee_hands_over_a_click_and_collect_order_on_a_phone(
    browser: Browser, live_server: LiveServer, shop: Shop, hub: Hub, http: httpx.Client
) -> None:
    order_id = ready_pickup(http, hub, shop.eva, "store-mitte")
    context = browser.new_context(
        base_url=live_server.url, locale="de-DE", viewport={"width": 390, "height": 844}, has_touch=True
    )
    phone = context.new_page()
    try:
        log_in(phone, "store")
        phone.goto("/console/store")
        expect(phone.get_by_text("Abholbereit")).to_be_visible()
        # People by name, not by their profile ids.
        assert "prof_" not in phone.locator("main").inner_text()
        # Nothing on the page is wider than the phone's screen.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        hand_over = phone.get_by_role("button", name="Übergeben: Eva Müller")
        assert hand_over.bounding_box()["height"] >= 44  # type: ignore[index]
        shot(phone, "console-store-phone")
        hand_over.click()
        expect(phone.get_by_role("status")).to_have_text("Die Bestellung wurde übergeben.")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        shot(phone, "console-store-phone-handed-over")
    finally:
        context.close()
    assert hub.commerce.orders.get(order_id)["status"] == "picked_up"


def test_a_hotline_agent_logs_a_call_and_finishes_a_call_back_with_its_outcome(
    page: Page, live_server: LiveServer, shop: Shop, hub: Hub, http: httpx.Client
) -> None:
    give_phone(http, hub, "kunde-4711", "0171 2345678")
    send_task(http, hub, shop.eva, "hotline", "call", "Rückruf erbeten", "Frau Müller bittet um Rückruf.")
    log_in(page, "service")
    page.goto("/console/hotline")
    page.get_by_label("Anrufer (Telefonnummer)").fill("0171 2345678")
    page.get_by_role("button", name="Suchen").click()
    heading = page.locator("#h-caller")
    expect(heading).to_contain_text("Eva Müller")
    expect(page.get_by_text("Produkt angesehen")).to_be_visible()
    # The call: its topic, an outcome from the list and the agent's own words.
    page.get_by_label("Thema").fill("Lieferstatus")
    page.get_by_label("Ergebnis", exact=True).select_option(label="Rückruf vereinbart")
    page.get_by_label("Ergebnis in eigenen Worten (freiwillig)").fill("Paket kommt morgen")
    page.get_by_role("button", name="Anruf speichern").click()
    expect(page.get_by_role("status")).to_have_text("Der Anruf steht jetzt im Verlauf.")
    expect(page.get_by_text("Lieferstatus · Rückruf vereinbart · Paket kommt morgen")).to_be_visible()
    # The call-back task: taken, then finished with what came of it.
    page.get_by_role("button", name="Übernehmen").click()
    page.get_by_label("Ergebnis der Aufgabe").fill("Kundin erreicht, Termin am Freitag")
    page.get_by_role("button", name="Abschließen").click()
    expect(page.get_by_role("status")).to_contain_text("Die Aufgabe ist abgeschlossen")
    page.goto("/console/hotline?phone=%2B491712345678")
    expect(page.get_by_text("Rückruf erbeten · Kundin erreicht, Termin am Freitag")).to_be_visible()
    main = page.locator("main").inner_text()
    assert "prof_" not in main
    assert "Call Completed" not in main
    assert "Task Completed" not in main
    unnamed_arrows = page.evaluate(
        """() => Array.from(document.querySelectorAll('a'))
            .filter(a => a.textContent.includes('→'))
            .filter(a => !a.getAttribute('aria-label') && !a.textContent.replace('→', '').trim())
            .map(a => a.outerHTML)"""
    )
    assert unnamed_arrows == []
    shot(page, "console-hotline-call-logged")
    events = [e["event"] for e in hub.profiles.timeline(shop.eva, TimelineQuery(limit=50))["events"]]
    assert "Call Completed" in events
    assert "Task Completed" in events
