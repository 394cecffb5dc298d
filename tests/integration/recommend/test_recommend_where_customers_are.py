"""Recommendations where customers are (the issue's "done when"): a customer who viewed the drill
on the web and scanned the drill case in store gets matching, in-stock suggestions at the next scan
and in a newsletter; a customer without personalisation consent gets the non-personal ones."""

from __future__ import annotations

from typing import Any

import httpx

from omnikanal.hub import Hub
from tests.commerce_helpers import make_gtin
from tests.helpers import bearer

DRILLING = {"CASE", "BITS", "HOLSTER", "SCREWS"}


def _scan(http: httpx.Client, token: str, gtin: str, profile: str | None) -> dict[str, Any]:
    params = {"gtin": gtin, "store": "store-mitte", **({"profile": profile} if profile else {})}
    response = http.get("/api/scan", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_scan_suggests_personal_in_stock_products_to_a_consenting_customer(
    hub: Hub, http: httpx.Client, admin_token: str, trained: dict[str, str]
) -> None:
    bits = make_gtin(30)
    personal = _scan(http, admin_token, bits, trained["anna"])
    assert personal["suggestions_personal"] is True
    mine = {s["product_id"] for s in personal["suggestions"] if s["reason"] == "personal"}
    assert mine, personal
    # the scanned product and the bought drill are not suggested; the holster is not in this store
    assert mine <= DRILLING - {"HOLSTER"}, personal["suggestions"]
    assert "BITS" not in {s["product_id"] for s in personal["suggestions"]}
    assert all(s["sku"] for s in personal["suggestions"])

    # no consent: the scan's non-personal suggestions (bought together with the scanned product)
    other = _scan(http, admin_token, bits, trained["bert"])
    assert other["suggestions_personal"] is False
    assert all("bought_together" in s for s in other["suggestions"])
    anonymous = _scan(http, admin_token, bits, None)
    assert anonymous["suggestions_personal"] is False


def test_a_newsletter_lists_the_customers_recommendations(
    hub: Hub, http: httpx.Client, admin_token: str, trained: dict[str, str]
) -> None:
    template, _ = hub.messaging.save_template(
        "newsletter",
        "email",
        "de",
        "Für Sie ausgesucht",
        "{% for r in recommendations %}{{ r.name }} ({{ r.sku }}, {{ r.reason }})\n{% endfor %}",
        None,
    )
    mine = hub.messaging.preview(template["id"], trained["anna"], {})
    assert "personal" in mine["body_text"]
    names = {"Bohrer-Koffer", "Bit-Satz", "Werkzeuggürtel", "Schrauben 4x40"}
    lines = [line for line in mine["body_text"].splitlines() if line]
    assert lines
    assert all(any(n in line for n in names) for line in lines), lines
    theirs = hub.messaging.preview(template["id"], trained["bert"], {})
    assert "personal" not in theirs["body_text"]
    assert "popular" in theirs["body_text"]


def test_the_console_customer_view_shows_recommendations_with_their_reason(
    hub: Hub, live_server: Any, trained: dict[str, str]
) -> None:
    from tests.console_helpers import login, make_users

    make_users(hub)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "store").status_code in (302, 303)
        page = client.get(f"/console/customers/{trained['anna']}")
        assert page.status_code == 200, page.text
        assert "Empfehlungen" in page.text
        assert "Persönlich: aus dem Verlauf des Kunden gelernt." in page.text
        assert "passt zum Verlauf" in page.text
        assert "Bohrer-Koffer" in page.text or "Schrauben 4x40" in page.text
        other = client.get(f"/console/customers/{trained['bert']}")
        assert "keine Einwilligung in Personalisierung" in other.text
