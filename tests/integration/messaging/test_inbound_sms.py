"""Inbound SMS through Twilio's signed incoming-message webhook: STOP withdraws, START grants again."""

from __future__ import annotations

import httpx

from omnikanal.hub import Hub
from omnikanal.messaging.channels.sms import twilio_signature
from tests.helpers import assert_error, timeline
from tests.integration.messaging.support import FakeTwilio, customer, grant
from tests.integration.messaging.test_email import send


def inbound(
    http: httpx.Client, hub: Hub, twilio: FakeTwilio, body: str, sender: str, sid: str, *, sign: bool = True
) -> httpx.Response:
    """What Twilio sends when a customer texts our number."""
    params = {
        "MessageSid": sid,
        "AccountSid": twilio.sid,
        "From": sender,
        "To": "+4930123456",
        "Body": body,
        "NumMedia": "0",
    }
    url = f"{hub.settings.public_url}/callbacks/twilio/inbound"
    signature = twilio_signature(twilio.token if sign else "not-the-token", url, params)
    return http.post("/callbacks/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})


def status_of(hub: Hub, pid: str, purpose: str) -> str | None:
    status: str | None = hub.consent.consents(pid)["purposes"][purpose]["status"]
    return status


def test_stop_withdraws_sms_marketing_with_proof_and_start_grants_it_again(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio
) -> None:
    pid = customer(hub, "u-stop", phone="+49 151 22223333")
    grant(hub, pid, "sms_marketing", "sms")
    offer = {"text": "20 % auf alles"}
    first = send(http, admin_token, profile_id=pid, channel="sms", purpose="sms_marketing", content=offer)
    assert first["status"] == "sent", first

    answer = inbound(http, hub, twilio, "  stopp \n", "+4915122223333", "SM" + "a" * 32)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    assert "<Response></Response>" in answer.text
    assert status_of(hub, pid, "sms_marketing") == "withdrawn"
    history = hub.consent.consents(pid)["history"]
    [withdrawal] = [h for h in history if h["status"] == "withdrawn"]
    assert withdrawal["channel"] == "sms"
    assert withdrawal["proof"]["message_id"] == "twilio-inbound:SM" + "a" * 32
    assert "stopp" in withdrawal["wording"]

    events = timeline(http, admin_token, pid)
    [event] = [e for e in events if e.get("event") == "Consent Updated"]
    assert event["channel"] == "sms"

    blocked = send(http, admin_token, profile_id=pid, channel="sms", purpose="sms_marketing", content=offer)
    assert (blocked["status"], blocked["reason"]) == ("blocked", "withdrawn")
    transactional = send(
        http, admin_token, profile_id=pid, channel="sms", transactional=True, content={"text": "Abholbereit"}
    )
    assert transactional["status"] == "sent"

    # Twilio retries a webhook it got no answer to: the same message is recorded once.
    again = inbound(http, hub, twilio, "  stopp \n", "+4915122223333", "SM" + "a" * 32)
    assert again.status_code == 200
    assert len([h for h in hub.consent.consents(pid)["history"] if h["status"] == "withdrawn"]) == 1

    assert inbound(http, hub, twilio, "Start", "+4915122223333", "SM" + "b" * 32).status_code == 200
    assert status_of(hub, pid, "sms_marketing") == "granted"
    back = send(http, admin_token, profile_id=pid, channel="sms", purpose="sms_marketing", content=offer)
    assert back["status"] == "sent", back


def test_every_stop_word_in_any_case_and_only_those_withdraw(
    hub: Hub, http: httpx.Client, twilio: FakeTwilio
) -> None:
    for index, word in enumerate(("STOP", "Stopp", "abmelden", " UNSUBSCRIBE ")):
        number = f"+49151999000{index:02d}"
        pid = customer(hub, f"u-word-{index}", phone=number)
        grant(hub, pid, "sms_marketing", "sms")
        assert inbound(http, hub, twilio, word, number, f"SM{index:032d}").status_code == 200
        assert status_of(hub, pid, "sms_marketing") == "withdrawn", word

    pid = customer(hub, "u-chatty", phone="+4915199900099")
    grant(hub, pid, "sms_marketing", "sms")
    for index, text in enumerate(("Stop the bus", "Hallo, wann ist offen?", "yes")):
        assert inbound(http, hub, twilio, text, "+4915199900099", f"SMx{index:031d}").status_code == 200
    assert status_of(hub, pid, "sms_marketing") == "granted"


def test_whatsapp_stop_withdraws_messenger_marketing_and_an_unknown_number_keeps_its_no(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio
) -> None:
    pid = customer(hub, "u-wa", phone="+49 151 44445555")
    grant(hub, pid, "messenger_marketing", "whatsapp")
    grant(hub, pid, "sms_marketing", "sms")
    assert inbound(http, hub, twilio, "STOP", "whatsapp:+4915144445555", "SM" + "c" * 32).status_code == 200
    assert status_of(hub, pid, "messenger_marketing") == "withdrawn"
    assert status_of(hub, pid, "sms_marketing") == "granted"
    events = timeline(http, admin_token, pid)
    assert [e["channel"] for e in events if e.get("event") == "Consent Updated"] == ["chat"]

    assert inbound(http, hub, twilio, "STOP", "+4917700001111", "SM" + "d" * 32).status_code == 200
    stranger = hub.profiles.lookup("phone", "+4917700001111")["id"]
    assert status_of(hub, stranger, "sms_marketing") == "withdrawn"


def test_forged_or_foreign_inbound_messages_are_refused_and_change_nothing(
    hub: Hub, http: httpx.Client, twilio: FakeTwilio
) -> None:
    pid = customer(hub, "u-forged", phone="+49 151 66667777")
    grant(hub, pid, "sms_marketing", "sms")
    forged = inbound(http, hub, twilio, "STOP", "+4915166667777", "SM" + "e" * 32, sign=False)
    assert_error(forged, 401, "invalid_signature", "X-Twilio-Signature")
    unsigned = http.post("/callbacks/twilio/inbound", data={"From": "+4915166667777", "Body": "STOP"})
    assert_error(unsigned, 401, "invalid_signature", "X-Twilio-Signature")
    assert status_of(hub, pid, "sms_marketing") == "granted"
