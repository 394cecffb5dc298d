"""Scenario 9, end to end over HTTP on SQLite and PostgreSQL: consent and erasure take effect
everywhere at once.

Jana gives consents in the webshop (email, with double opt-in) and at the till (SMS, calls). She
withdraws the SMS consent on the hotline: no channel may send her SMS advertising any more. She
withdraws email in the preference centre. Then she asks to be forgotten: the privacy officer erases
her, nothing of her is left in any table, and her app, which still sends events with her email,
does not bring her back.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import String, cast, select

from omnikanal.db.engine import read_tx
from omnikanal.hub import Hub
from omnikanal.tables import metadata
from tests.helpers import bearer, lookup, lookup_status

JANA = ("Jana", "Kowalczyk", "jana.kowalczyk@example.de", "+4915112345678", "jk-2001", "web-anon-jk")


def _send(http: httpx.Client, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body, auth=(key, ""))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert result["quarantined"] == [], result
    return result


def _may(http: httpx.Client, token: str, pid: str, purpose: str | None, channel: str) -> dict[str, Any]:
    params = {"channel": channel} | ({"purpose": purpose} if purpose else {})
    response = http.get(f"/api/profiles/{pid}/contact", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _anything_of_jana(hub: Hub) -> list[str]:
    found = []
    with read_tx(hub.engine) as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                for value in conn.execute(select(cast(column, String))).scalars():
                    found += [f"{table.name}.{column.name}" for needle in JANA if value and needle in value]
    return found


def test_consent_and_erasure_take_effect_everywhere_at_once(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    shop, till = make_channel("webshop", "web"), make_channel("tills", "pos")
    hotline, app = make_channel("hotline", "hotline"), make_channel("app", "app")
    marketing = hub.tokens.create("campaign-tool", "marketing")[1]
    dpo = hub.tokens.create("dpo", "privacy")[1]

    # webshop: browsing, sign-up, newsletter opt-in (pending until she clicks the link)
    _send(http, shop.write_key, "/v1/page", {"anonymousId": "web-anon-jk", "name": "Gartenmöbel"})
    _send(
        http,
        shop.write_key,
        "/v1/identify",
        {
            "anonymousId": "web-anon-jk",
            "userId": "jk-2001",
            "traits": {"firstName": "Jana", "lastName": "Kowalczyk", "email": "jana.kowalczyk@example.de"},
        },
    )
    _send(
        http,
        shop.write_key,
        "/v1/track",
        {
            "userId": "jk-2001",
            "event": "Consent Updated",
            "properties": {
                "purpose": "email_marketing",
                "status": "granted",
                "wording": "Newsletter abonnieren",
                "policyVersion": "2026-03",
            },
            "context": {"ip": "203.0.113.7", "userAgent": "Firefox/140"},
        },
    )
    pid = lookup(http, admin_token, "user_id", "jk-2001")["id"]
    assert _may(http, marketing, pid, "email_marketing", "email")["reason"] == "pending"
    (confirmation,) = [
        c
        for c in http.get("/api/consents/confirmations", headers=bearer(admin_token)).json()["items"]
        if c["profile_id"] == pid
    ]
    assert confirmation["email"] == "jana.kowalczyk@example.de"
    # the link is built on the public URL; the test server listens elsewhere, so keep only the path
    clicked = http.post("/confirm/" + confirmation["confirm_url"].rsplit("/", 1)[1])
    assert clicked.status_code == 200, clicked.text
    assert _may(http, marketing, pid, "email_marketing", "email")["allowed"] is True

    # till: she buys in the store and agrees to SMS offers and calls, taken by the cashier
    _send(
        http,
        till.write_key,
        "/v1/track",
        {
            "userId": "jk-2001",
            "event": "Order Completed",
            "properties": {"order_id": "pos-77", "revenue": 89.5},
            "context": {"traits": {"phone": "0151 12345678"}},
        },
    )
    _send(
        http,
        till.write_key,
        "/v1/track",
        {
            "userId": "jk-2001",
            "event": "Consent Updated",
            "properties": {
                "consents": [
                    {"purpose": "sms_marketing", "status": "granted"},
                    {"purpose": "phone_marketing", "status": "granted"},
                ],
                "staffUser": "kasse-koeln-3",
                "wording": "Ja zu SMS und Anrufen",
            },
        },
    )
    assert _may(http, marketing, pid, "sms_marketing", "sms")["allowed"] is True

    # hotline: she withdraws SMS; every sender hears it at once
    _send(
        http,
        hotline.write_key,
        "/v1/track",
        {
            "userId": "jk-2001",
            "event": "Consent Updated",
            "properties": {"purpose": "sms_marketing", "status": "withdrawn", "staffUser": "agent-mia"},
        },
    )
    for channel in ("sms", "whatsapp", "email", "phone"):
        assert _may(http, marketing, pid, "sms_marketing", channel)["allowed"] is False
    assert _may(http, marketing, pid, "sms_marketing", "sms")["reason"] == "withdrawn"
    assert _may(http, marketing, pid, "phone_marketing", "phone")["allowed"] is True  # only SMS was withdrawn
    assert _may(http, marketing, pid, None, "sms")["reason"] == "transactional"  # her pick-up SMS still goes

    # preference centre: she withdraws email too
    link = hub.consent.preference_url(pid).split("/preferences/")[1]
    page = http.post(f"/preferences/{link}", data={"consent": ["phone_marketing"], "action": "save"})
    assert page.status_code == 200
    assert _may(http, marketing, pid, "email_marketing", "email")["reason"] == "withdrawn"
    history = http.get(f"/api/profiles/{pid}/consents", headers=bearer(admin_token)).json()["history"]
    assert [(h["purpose"], h["status"], h["source"]) for h in history][:2] == [
        ("email_marketing", "withdrawn", "preference_centre"),
        ("sms_marketing", "withdrawn", "hotline"),
    ]

    # erasure: the privacy officer runs it; nothing of her remains anywhere
    assert _anything_of_jana(hub)
    erased = http.post(
        "/api/privacy/requests",
        json={"type": "erasure", "identifier": {"type": "phone", "value": "+49 151 12345678"}},
        headers=bearer(dpo),
    )
    assert erased.status_code == 201, erased.text
    assert erased.json()["status"] == "completed"
    hub.audit.flush()
    assert _anything_of_jana(hub) == []
    for identifier_type, value in (
        ("email", "jana.kowalczyk@example.de"),
        ("user_id", "jk-2001"),
        ("phone", "+4915112345678"),
        ("anonymous_id", "web-anon-jk"),
    ):
        assert lookup_status(http, admin_token, identifier_type, value) == 404
    assert _may(http, marketing, pid, None, "sms")["reason"] == "erased"

    # her app still sends an event with her email: dropped, counted, and she does not come back
    late = _send(
        http,
        app.write_key,
        "/v1/track",
        {
            "anonymousId": "app-install-9",
            "event": "App Opened",
            "context": {"traits": {"email": "Jana.Kowalczyk@example.de"}},
        },
    )
    assert (late["accepted"], late["suppressed"]) == (0, 1)
    assert lookup_status(http, admin_token, "email", "jana.kowalczyk@example.de") == 404
    assert _anything_of_jana(hub) == []
