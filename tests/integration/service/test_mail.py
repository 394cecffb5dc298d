"""Inbound mail over real SMTP (the hub's aiosmtpd listener) on both engines: an unknown sender opens
a case, replies thread by In-Reply-To or by the reference in a rewritten subject, auto-replies and
bounces are dropped, HTML is sanitised, oversized mail and foreign domains are refused."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub
from tests.commerce_helpers import post, receive, setup_shop
from tests.helpers import timeline
from tests.integration.messaging.support import SmtpSink, bearer, customer, wait_for


def _mail(sender: str, subject: str, text: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@shop.example"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def _send(port: int, message: EmailMessage, sender: str | None = None, hub: Hub | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(message, from_addr=sender)
    if hub is not None:  # the next mail arrives a minute later (the thread is ordered by time)
        assert isinstance(hub.clock, FixedClock)
        hub.clock.advance(timedelta(minutes=1))


def _cases(http: httpx.Client, token: str, **params: str) -> list[dict]:
    response = http.get("/api/service/cases", params={"limit": 50, **params}, headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]
    return items


def test_mail_from_an_unknown_sender_opens_a_case_and_the_replies_thread(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, inbound_port: int
) -> None:
    _send(
        inbound_port,
        _mail("Maria Muster <maria@example.net>", "Reklamation Bestellung 4711", "Kaputt."),
        hub=hub,
    )
    profile = hub.profiles.lookup("email", "maria@example.net")  # a profile by her address
    [case] = _cases(http, admin_token, profile_id=profile["id"])
    assert (case["channel"], case["queue"], case["subject"], case["entries"]) == (
        "email",
        "email",
        "Reklamation Bestellung 4711",
        1,
    )
    path = f"/api/service/cases/{case['id']}"
    hub.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    reply = http.post(f"{path}/replies", json={"text": "Wir kümmern uns."}, headers=bearer(admin_token))
    assert reply.status_code == 200, reply.text
    hub.dispatcher.run_once()
    [answer] = wait_for(lambda: smtp.to("maria@example.net"))

    # her mail client answers with In-Reply-To our Message-ID
    _send(
        inbound_port,
        _mail("maria@example.net", "AW: " + answer["Subject"], "Danke!", In_Reply_To=answer["Message-ID"]),
        hub=hub,
    )
    # another client rewrote the headers, but the subject keeps the reference
    _send(inbound_port, _mail("maria@example.net", f"Nochmal [#{case['ref']}]", "Und noch etwas."), hub=hub)
    [same] = _cases(http, admin_token, profile_id=profile["id"])  # 3 in, 1 out, 1 status change
    assert same["id"] == case["id"]
    assert same["entries"] == 5
    assert same["status"] == "open"
    texts = [
        e["text"]
        for e in http.get(path, headers=bearer(admin_token)).json()["items"]
        if e["kind"] == "inbound"
    ]
    assert texts == ["Kaputt.", "Danke!", "Und noch etwas."]
    events = [e["event"] for e in timeline(http, admin_token, profile["id"]) if e.get("event")]
    assert events.count("Case Message Received") == 2
    assert "Case Opened" in events


def test_auto_replies_and_bounces_open_no_case_and_get_no_answer(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, inbound_port: int
) -> None:
    _send(inbound_port, _mail("bot@example.net", "Abwesenheit", "Bin weg.", Auto_Submitted="auto-replied"))
    _send(inbound_port, _mail("bot@example.net", "Urlaub", "Bin weg.", Precedence="auto_reply"))
    _send(inbound_port, _mail("mailer-daemon@example.net", "Undelivered", "550"), sender="")
    assert _cases(http, admin_token) == []
    hub.dispatcher.run_once()
    assert smtp.messages == []


def test_html_is_sanitised_and_a_repeated_delivery_is_one_entry(
    hub: Hub, http: httpx.Client, admin_token: str, inbound_port: int
) -> None:
    message = _mail("eve@example.net", "Frage", "plain", Message_ID="<abc-1@example.net>")
    message.add_alternative('<p onclick="x()">Hallo<script>alert(1)</script></p>', subtype="html")
    _send(inbound_port, message)
    _send(inbound_port, message)
    [case] = _cases(http, admin_token)
    [entry] = http.get(f"/api/service/cases/{case['id']}", headers=bearer(admin_token)).json()["items"]
    assert "script" not in entry["html"]
    assert "onclick" not in entry["html"]
    assert "Hallo" in entry["html"]
    assert case["entries"] == 1


def test_oversized_mail_and_foreign_domains_are_refused(
    hub: Hub, http: httpx.Client, admin_token: str, inbound_port: int
) -> None:
    big = _mail("big@example.net", "Anhang", "x" * 1_200_000)
    with pytest.raises(smtplib.SMTPException) as refused:
        _send(inbound_port, big)
    assert "552" in str(refused.value) or getattr(refused.value, "smtp_code", 0) == 552
    foreign = _mail("a@example.net", "Relay", "bitte weiterleiten")
    foreign.replace_header("To", "someone@elsewhere.example")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(inbound_port, foreign)
    assert _cases(http, admin_token) == []


def test_a_mail_links_only_an_order_of_the_sender(
    hub: Hub, http: httpx.Client, admin_token: str, inbound_port: int
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "wh-north", "DRILL-18V-BLUE", 2)
    own = customer(hub, "u-paula", email="paula@example.net")
    other = customer(hub, "u-otto", email="otto@example.net")
    for order_id, profile_id in (("A-1001", own), ("B-2002", other)):
        order = {
            "id": order_id,
            "profile_id": profile_id,
            "channel": "web",
            "fulfilment": "home_delivery",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
        }
        post(http, admin_token, "/api/commerce/orders", order)
    # someone else's order number links nothing; her own order named in the body does
    _send(inbound_port, _mail("paula@example.net", "Bestellung B-2002?", "Falsche Nummer."), hub=hub)
    _send(
        inbound_port, _mail("paula@example.net", "Reklamation", "Bestellung B-2002, nein: A-1001."), hub=hub
    )
    cases = _cases(http, admin_token, profile_id=own)
    assert [c["links"] for c in cases] == [{"order_id": "A-1001"}, {}]  # newest first


def test_answers_carry_in_reply_to_and_references_of_the_customers_mails(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, inbound_port: int
) -> None:
    first = _mail("jonas@example.net", "Lieferung fehlt", "Wo ist sie?", Message_ID="<a1@client.example>")
    _send(inbound_port, first, hub=hub)
    profile = hub.profiles.lookup("email", "jonas@example.net")
    [case] = _cases(http, admin_token, profile_id=profile["id"])
    path = f"/api/service/cases/{case['id']}"
    # a second mail names only her first one (a client that keeps its own thread): it threads
    second = _mail(
        "jonas@example.net",
        "Noch da?",
        "Hallo?",
        Message_ID="<a2@client.example>",
        In_Reply_To="<a1@client.example>",
    )
    _send(inbound_port, second, hub=hub)
    assert http.get(path, headers=bearer(admin_token)).json()["entries"] == 2
    assert (
        http.post(
            f"{path}/replies", json={"text": "Sie kommt morgen."}, headers=bearer(admin_token)
        ).status_code
        == 200
    )
    hub.dispatcher.run_once()
    [answer] = wait_for(lambda: smtp.to("jonas@example.net"))
    assert answer["In-Reply-To"] == "<a2@client.example>"
    assert answer["References"].split() == ["<a1@client.example>", "<a2@client.example>"]
    assert f"[#{case['ref']}]" in answer["Subject"]


def test_a_message_id_with_a_line_break_never_becomes_a_header() -> None:
    from omnikanal.messaging.channels.email import thread_headers
    from omnikanal.messaging.model import Outgoing

    item = Outgoing(
        message_id="msg_1",
        profile_id="p",
        channel="email",
        address="a@example.org",
        subject="s",
        text="t",
        html=None,
        marketing=False,
        data={"thread": {"in_reply_to": "<x@y>\r\nBcc: evil@example.org", "references": ["<ok@y>", "<a b>"]}},
    )
    assert thread_headers(item) == [("References", "<ok@y>")]
