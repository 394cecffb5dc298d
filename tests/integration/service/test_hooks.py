"""The signed chat/social and phone-system webhooks over real HTTP on both engines: a signed chat
message opens a case for a new sender and the next one continues it; a bad signature, a stale
timestamp and an unknown source are refused; a call event lands on the caller's timeline, opens a
case when asked and points at the caller's view in the console."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.messaging.channels.webhook import sign
from omnikanal.settings import Settings
from tests.helpers import timeline
from tests.integration.messaging.support import bearer

SECRET = "whsec_" + base64.b64encode(b"chat-tool-secret-of-32-bytes-len").decode()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"service_webhook_secrets": {"chat": SECRET, "phone": SECRET}})


def _post(
    http: httpx.Client, hub: Hub, path: str, payload: dict[str, Any], *, secret: str = SECRET, skew: int = 0
) -> httpx.Response:
    body = json.dumps(payload).encode()
    stamp = int(hub.clock.now().timestamp()) + skew
    msg_id = f"wh-{payload.get('id')}"
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }
    return http.post(path, content=body, headers=headers)


def test_signed_chat_messages_open_and_continue_a_case(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    first = {"id": "m1", "sender": {"email": "chat@example.org", "handle": "Chatty"}, "text": "Hallo, Frage!"}
    opened = _post(http, hub, "/callbacks/service/chat/messages", first)
    assert opened.status_code == 200, opened.text
    assert opened.json()["outcome"] == "opened"
    case_id = opened.json()["case_id"]
    again = _post(http, hub, "/callbacks/service/chat/messages", first)
    assert again.json()["outcome"] == "duplicate"
    hub.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    second = {"id": "m2", "sender": {"email": "chat@example.org"}, "text": "Noch da?"}
    threaded = _post(http, hub, "/callbacks/service/chat/messages", second).json()
    assert (threaded["outcome"], threaded["case_id"]) == ("threaded", case_id)
    case = http.get(f"/api/service/cases/{case_id}", headers=bearer(admin_token)).json()
    assert case["channel"] == "chat"
    assert [e["text"] for e in case["items"] if e["kind"] == "inbound"] == ["Hallo, Frage!", "Noch da?"]
    events = [e.get("event") for e in timeline(http, admin_token, case["profile_id"])]
    assert "Case Opened" in events
    assert "Case Message Received" in events


def test_bad_signatures_replays_and_unknown_sources_are_refused(hub: Hub, http: httpx.Client) -> None:
    payload = {"id": "m9", "sender": {"phone": "+4915112345678"}, "text": "Hallo"}
    forged = "whsec_" + base64.b64encode(b"not-the-secret-of-the-chat-tool!").decode()
    bad = _post(http, hub, "/callbacks/service/chat/messages", payload, secret=forged)
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "invalid_signature"
    stale = _post(http, hub, "/callbacks/service/chat/messages", payload, skew=-3600)
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "stale_timestamp"
    unknown = _post(http, hub, "/callbacks/service/other/messages", payload)
    assert unknown.status_code == 404
    unsigned = http.post("/callbacks/service/chat/messages", json=payload)
    assert unsigned.status_code == 401
    nobody = _post(http, hub, "/callbacks/service/chat/messages", {"id": "m8", "sender": {}, "text": "x"})
    assert nobody.status_code == 400
    assert "sender" in nobody.json()["error"]["message"]


def test_a_call_event_lands_on_the_timeline_and_opens_a_case(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    missed = {"id": "call-1", "event": "missed", "caller": "+4930555123", "open_case": True}
    answer = _post(http, hub, "/callbacks/service/phone/calls", missed)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["console_url"] == "/console/hotline?phone=%2B4930555123"
    case = http.get(f"/api/service/cases/{found['case_id']}", headers=bearer(admin_token)).json()
    assert (case["channel"], case["subject"]) == ("hotline", "Verpasster Anruf")
    assert [e["kind"] for e in case["items"]] == ["call"]
    ended = {"id": "call-2", "event": "ended", "caller": "+4930555123", "duration_seconds": 95}
    assert _post(http, hub, "/callbacks/service/phone/calls", ended).json()["case_id"] is None
    events = [e.get("event") for e in timeline(http, admin_token, found["profile_id"])]
    assert "Call Missed" in events
    assert "Call Ended" in events
    bad_number = _post(
        http, hub, "/callbacks/service/phone/calls", {"id": "c3", "event": "started", "caller": "030 555"}
    )
    assert bad_number.status_code == 400
    assert bad_number.json()["error"]["field"] == "caller"
