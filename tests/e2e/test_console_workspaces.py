"""The privacy officer's and the marketer's daily work from the console alone, in headless Chromium:
an export worked through the queue and downloaded, an erasure confirmed with its receipt, a consent
with its proof; a segment built in the form with its live count and members, a journey made in the
form, checked, activated and paused. Every screenshot (under test-artifacts/) is of a German page and
checked for raw ids, raw statuses and English words. SQLite only, like the other browser tests."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.hub import Hub
from omnikanal.privacy.model import RequestType
from tests.browser_support import (  # noqa: F401
    browser_fixture,
    log_in,
    page_fixture,
    shop_fixture,
    shot,
    sqlite_database_fixture,
)
from tests.console_helpers import Shop

PROOF = {"ip": "203.0.113.7", "user_agent": "Firefox 133", "confirmed_at": "2026-11-02T09:14:00Z"}


def give_email_consent(hub: Hub, profile_id: str) -> None:
    """A newsletter grant after the newsletter system's own double opt-in, with its proof."""
    change = ConsentChange(
        purpose="email_marketing",
        status=ConsentStatus.GRANTED,
        channel="email",
        wording="Ja, ich möchte den Newsletter.",
        proof=PROOF,
    )
    hub.consent.record(profile_id, [change], source="newsletter", actor="system:newsletter")


def test_a_privacy_officer_works_through_an_export_from_the_queue_and_downloads_it(
    page: Page, shop: Shop
) -> None:
    log_in(page, "privacy")
    page.get_by_role("link", name="Datenschutz").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anfragen von Betroffenen")
    page.get_by_label("Art").last.select_option(label="Auskunft (Art. 15)")
    page.get_by_label("E-Mail-Adresse oder Telefonnummer der Person").fill("eva@example.de")
    page.get_by_role("button", name="Anfrage erfassen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anfrage: Auskunft (Art. 15)")
    page.get_by_role("link", name="Datenschutz").click()
    row = page.get_by_role("row").filter(has_text="Eva Müller")
    expect(row).to_contain_text("Auskunft (Art. 15)")
    expect(row).to_contain_text(re.compile(r"noch (28|29|30|31) Tage"))
    expect(row).to_contain_text("Offen")
    shot(page, "privacy-queue")

    page.get_by_role("link", name="Bearbeiten: Auskunft (Art. 15), Eva Müller").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anfrage: Auskunft (Art. 15)")
    shot(page, "privacy-export-request")
    page.get_by_role("button", name="Auskunft erstellen").click()
    expect(page.locator("dl.facts")).to_contain_text("Erledigt")
    with page.expect_download() as download:
        page.get_by_role("link", name="Auskunft als JSON herunterladen (Art. 20 DSGVO)").click()
    exported = json.loads(download.value.path().read_text())
    assert exported["profile_id"] == shop.eva
    shot(page, "privacy-export-done")

    page.get_by_role("link", name="Auskunft lesen").click()
    main = page.locator("main")
    expect(main).to_contain_text("Profil und Kontakte")
    expect(main).to_contain_text("Einwilligungen")
    assert "{" not in main.inner_text()
    shot(page, "privacy-export-readable")


def test_a_privacy_officer_erases_a_customer_only_after_confirming_and_gets_a_receipt(
    page: Page, shop: Shop, hub: Hub
) -> None:
    filed = hub.privacy.file(RequestType.ERASURE, profile_id=shop.other, origin="api", requested_by="t")
    log_in(page, "privacy")
    page.goto("/console/privacy")
    page.get_by_role("link", name="Bearbeiten: Löschung (Art. 17), Jonas Berg").click()
    page.get_by_role("link", name="Löschung vorbereiten …").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Jonas Berg")
    shot(page, "privacy-erase-confirm")

    # the browser refuses the form without the identity check; the word alone is not enough
    page.get_by_label("Zur Bestätigung das Wort LÖSCHEN eingeben").fill("LÖSCHEN")
    page.get_by_role("button", name="Endgültig löschen").click()
    assert hub.privacy.get(filed["id"])["status"] == "received"
    page.get_by_label("Ich habe die Identität der anfragenden Person geprüft.").check()
    page.get_by_role("button", name="Endgültig löschen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Löschbestätigung")
    expect(page.locator("main")).to_contain_text("Profil und Kontakte")
    assert "Jonas" not in page.locator("main").inner_text()
    shot(page, "privacy-erase-receipt")
    assert hub.privacy.get(filed["id"])["status"] == "completed"


def test_a_privacy_officer_reads_a_consent_with_its_proof(page: Page, shop: Shop, hub: Hub) -> None:
    give_email_consent(hub, shop.eva)
    log_in(page, "privacy")
    page.goto("/console/privacy")
    page.get_by_label("Person suchen (E-Mail, Telefon, Kundennummer)").fill("eva@example.de")
    page.get_by_label("Zur Person").select_option(label="Einwilligungen mit Nachweis")
    page.get_by_role("button", name="Anzeigen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Eva Müller")
    granted = page.get_by_role("row").filter(has_text="Ja, ich möchte den Newsletter.")
    expect(granted).to_contain_text("Erteilt")
    expect(granted.locator("dl.proof")).to_contain_text("203.0.113.7")
    expect(granted.locator("dl.proof")).to_contain_text("Firefox 133")
    shot(page, "privacy-consent-proof")


def test_a_marketer_builds_a_segment_in_the_form_and_sees_its_live_count_and_members(
    page: Page, shop: Shop
) -> None:
    log_in(page, "marketing")
    page.goto("/console/segments")
    page.get_by_role("link", name=re.compile("Neues Segment")).first.click()
    page.get_by_label("Name des Segments").fill("Familie Müller")
    page.get_by_label("Art der Regel").first.select_option(label="Merkmal")
    page.get_by_label("Aktion, Merkmal, Zweck oder Kennung").first.fill("lastName")
    page.get_by_label("Vergleich oder Stand").first.select_option(label="gleich")
    page.get_by_label("Wert", exact=True).first.fill("Müller")
    # the count follows the rules as they are typed, without saving
    expect(page.locator("#sg-count-result")).to_have_text("1 Kunden erfüllen die Regeln")
    shot(page, "marketing-segment-builder")
    page.get_by_role("button", name="Segment speichern").click()
    expect(page.locator("p.ok")).to_have_text("Gespeichert.")
    page.get_by_role("link", name="Mitglieder", exact=True).click()
    expect(page.get_by_role("link", name="Eva Müller")).to_be_visible()
    shot(page, "marketing-segment-members")


def test_a_marketer_makes_a_journey_in_the_form_checks_activates_and_pauses_it(
    page: Page, shop: Shop, hub: Hub
) -> None:
    log_in(page, "marketing")
    page.goto("/console/journeys")
    page.get_by_role("link", name="Neue Kundenreise").click()
    form = page.locator("#journey-form")
    form.get_by_label("Name der Kundenreise").fill("Willkommen zurück")
    # step 1 waits, step 2 becomes an email instead of the example's task; the task's fields go away
    first = form.locator(".journey-step").first
    expect(first.get_by_label("Uhrzeit (HH:MM, Zeitzone des Kunden)")).to_be_hidden()  # a wait for a duration
    first.get_by_label("Warten", exact=True).select_option(label="bis zu einer Uhrzeit")
    expect(first.get_by_label("Uhrzeit (HH:MM, Zeitzone des Kunden)")).to_be_visible()
    expect(first.get_by_label("Dauer (z. B. PT2H, P3D)")).to_be_hidden()
    first.get_by_label("Warten", exact=True).select_option(label="eine Dauer lang")
    form.get_by_label("Dauer (z. B. PT2H, P3D)").first.fill("bald")
    step = form.locator(".journey-step").nth(1)
    step.get_by_label("Art", exact=True).select_option(label="Nachricht")
    expect(step.get_by_label("Warteschlange")).to_be_hidden()
    step.get_by_label("Kanal").select_option(label="E-Mail")
    step.get_by_label("Zweck (Einwilligung)").select_option("email_marketing")
    step.get_by_label("Betreff").fill("Schön, dass Sie da sind")
    step.get_by_label("Text (ohne Vorlage)").fill("Willkommen bei uns!")
    form.get_by_role("button", name="Prüfen").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Schritt 1, Dauer (z. B. PT2H, P3D): „bald“ ist keine Dauer wie P3D, PT2H oder P1DT12H "
        "(ohne Jahre und Monate)."
    )
    expect(page.locator("#s0_duration")).to_have_attribute("aria-invalid", "true")
    shot(page, "marketing-journey-refused")

    page.locator("#s0_duration").fill("P2D")
    page.locator("#journey-form").get_by_role("button", name="Prüfen").click()
    expect(page.get_by_role("status").first).to_have_text("Das Dokument ist gültig.")
    expect(page.locator("ul.warn")).to_contain_text("Ein Ereignis „Signed Up“ ist noch nie eingegangen.")
    shot(page, "marketing-journey-checked")
    page.locator("#journey-form").get_by_role("button", name="Als Entwurf anlegen").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Willkommen zurück")
    expect(page.locator("main")).to_contain_text("Entwurf")
    diagram = page.get_by_role("img", name="Ablauf mit der Zahl der Kunden je Schritt")
    expect(diagram.locator("[data-step]")).to_have_count(3)
    page.get_by_role("button", name="Aktivieren").click()
    expect(page.locator("main")).to_contain_text("Aktiv")
    shot(page, "marketing-journey-active")
    page.get_by_role("button", name="Pausieren").click()
    expect(page.get_by_role("button", name="Aktivieren")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Pausiert")
    shot(page, "marketing-journey-paused")
    (listed,) = hub.journeys.all()
    journey = hub.journeys.get(listed["id"])
    assert journey["status"] == "paused"
    assert journey["document"]["steps"][1]["send"] == {
        "channel": "email",
        "purpose": "email_marketing",
        "content": {"text": "Willkommen bei uns!", "subject": "Schön, dass Sie da sind"},
    }
