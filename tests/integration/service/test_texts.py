"""Inbound SMS over Twilio's signed webhook on both engines: a text that is no keyword opens a case
for the sender (a new profile by phone number), the next text joins it, the answer goes out by SMS,
STOP stays a consent change and opens nothing, a bad signature is refused."""

from __future__ import annotations

import httpx

from omnikanal.hub import Hub
from omnikanal.messaging.channels.sms import twilio_signature
from tests.helpers import assert_error
from tests.integration.messaging.support import FakeTwilio, bearer, wait_for


def _text(
    http: httpx.Client, hub: Hub, twilio: FakeTwilio, body: str, sid: str, *, sign: bool = True
) -> httpx.Response:
    params = {
        "MessageSid": sid,
        "AccountSid": twilio.sid,
        "From": "+4915122223333",
        "To": "+4930123456",
        "Body": body,
    }
    url = f"{hub.settings.public_url}/callbacks/twilio/inbound"
    signature = twilio_signature(twilio.token if sign else "wrong", url, params)
    return http.post("/callbacks/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})


def test_texts_open_and_join_a_case_and_the_answer_goes_out_by_sms(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio
) -> None:
    assert _text(http, hub, twilio, "Wann kommt mein Paket?", "SM" + "1" * 32).status_code == 200
    assert _text(http, hub, twilio, "Wann kommt mein Paket?", "SM" + "1" * 32).status_code == 200  # a retry
    assert _text(http, hub, twilio, "Bestellung 4711", "SM" + "2" * 32).status_code == 200
    pid = hub.profiles.lookup("phone", "+4915122223333")["id"]
    [case] = http.get(
        "/api/service/cases", params={"profile_id": pid, "limit": 5}, headers=bearer(admin_token)
    ).json()["items"]
    assert (case["channel"], case["queue"], case["entries"], case["subject"]) == (
        "sms",
        "hotline",
        2,
        "Wann kommt mein Paket?",
    )
    reply = http.post(
        f"/api/service/cases/{case['id']}/replies", json={"text": "Morgen."}, headers=bearer(admin_token)
    )
    assert reply.status_code == 200, reply.text
    hub.dispatcher.run_once()
    [sent] = wait_for(lambda: list(twilio.requests))
    assert sent["To"] == "+4915122223333"
    assert "Morgen." in sent["Body"]

    assert _text(http, hub, twilio, "STOP", "SM" + "3" * 32).status_code == 200
    cases = http.get(
        "/api/service/cases", params={"profile_id": pid, "limit": 5}, headers=bearer(admin_token)
    ).json()
    assert len(cases["items"]) == 1
    assert cases["items"][0]["entries"] == 3
    assert_error(_text(http, hub, twilio, "Hallo", "SM" + "4" * 32, sign=False), 401, "invalid_signature")
