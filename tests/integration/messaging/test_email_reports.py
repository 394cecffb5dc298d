"""Asynchronous bounce and complaint reports, signed per Standard Webhooks: a complaint or hard bounce
marks the message and suppresses the address; forged, stale and malformed reports are refused."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from omnikanal.hub import Hub
from omnikanal.messaging.channels.webhook import sign
from tests.helpers import assert_error, timeline
from tests.integration.messaging.support import SmtpSink, bearer, customer, grant
from tests.integration.messaging.test_email import send

SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    return {"report_secret": SECRET}


def report(
    http: httpx.Client,
    hub: Hub,
    body: dict[str, Any],
    *,
    secret: str = SECRET,
    age: int = 0,
    msg_id: str = "r1",
) -> httpx.Response:
    raw = orjson.dumps(body)
    stamp = int(hub.clock.now().timestamp()) - age
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, raw),
        "content-type": "application/json",
    }
    return http.post("/callbacks/email-reports", content=raw, headers=headers)


def history(http: httpx.Client, token: str, message_id: str) -> list[str]:
    found = http.get(f"/api/messages/{message_id}", headers=bearer(token)).json()
    return [h["status"] for h in found["history"]]


def test_complaint_marks_the_message_and_suppresses_the_address_once(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-complains", email="complains@example.org")
    grant(hub, pid, "email_marketing", "email")
    sent = send(
        http, admin_token, profile_id=pid, channel="email", content={"subject": "Angebot", "text": "20 %"}
    )
    assert sent["status"] == "sent", sent
    [mail] = smtp.to("complains@example.org")

    body = {"type": "complaint", "messageId": mail["Message-ID"], "diagnostic": "abuse report (ARF)"}
    answer = report(http, hub, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"message_id": sent["id"], "status": "complained", "suppressed": True}
    # the same report again (a relay retrying): nothing recorded twice
    assert report(http, hub, body, msg_id="r2").status_code == 200
    assert history(http, admin_token, sent["id"]).count("complained") == 1
    assert [
        e["channel"] for e in timeline(http, admin_token, pid) if e.get("event") == "Message Complained"
    ] == ["email"]
    # suppressed: not even a transactional email goes to the address any more
    after = send(
        http,
        admin_token,
        profile_id=pid,
        channel="email",
        transactional=True,
        content={"subject": "Rechnung", "text": "x"},
    )
    assert (after["status"], after["reason"]) == ("blocked", "suppressed")


def test_hard_bounce_by_recipient_suppresses_soft_bounce_changes_nothing(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-bounce", email="bounce@example.org")
    soft = report(http, hub, {"type": "bounce", "bounceType": "soft", "recipient": "bounce@example.org"})
    assert soft.json() == {"message_id": None, "status": None, "suppressed": False}
    ok = send(
        http,
        admin_token,
        profile_id=pid,
        channel="email",
        transactional=True,
        content={"subject": "a", "text": "b"},
    )
    assert ok["status"] == "sent"

    hard = report(http, hub, {"type": "bounce", "bounceType": "hard", "recipient": "Bounce@Example.org"})
    assert hard.json() == {"message_id": None, "status": "bounced", "suppressed": True}
    blocked = send(
        http,
        admin_token,
        profile_id=pid,
        channel="email",
        transactional=True,
        content={"subject": "a", "text": "b"},
    )
    assert (blocked["status"], blocked["reason"]) == ("blocked", "suppressed")


def test_forged_stale_and_malformed_reports_are_refused(hub: Hub, http: httpx.Client) -> None:
    body = {"type": "complaint", "recipient": "someone@example.org"}
    other = "whsec_" + "A" * 32
    assert_error(report(http, hub, body, secret=other), 401, "invalid_signature", "webhook-signature")
    assert_error(report(http, hub, body, age=3600), 401, "stale_signature", "webhook-timestamp")
    unsigned = http.post("/callbacks/email-reports", json=body)
    assert_error(unsigned, 401, "invalid_signature", "webhook-signature")
    assert_error(report(http, hub, {"type": "delivery"}), 400, "invalid_report", "type")
    assert_error(
        report(http, hub, {"type": "bounce", "bounceType": "maybe", "recipient": "a@b.de"}),
        400,
        "invalid_report",
        "bounceType",
    )
    assert_error(report(http, hub, {"type": "complaint"}), 400, "invalid_report", "messageId")
    assert_error(
        report(http, hub, {"type": "complaint", "messageId": "msg_nope"}), 404, "unknown_message", "messageId"
    )
    assert not hub.consent.is_suppressed("email", "someone@example.org")
