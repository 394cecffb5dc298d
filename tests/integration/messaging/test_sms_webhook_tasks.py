"""SMS over a local Twilio Messages API with signed status callbacks; Standard Webhooks; staff tasks;
channel auto."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from omnikanal.clock import FixedClock, SystemClock
from omnikanal.hub import Hub
from omnikanal.messaging.channels.sms import twilio_signature
from omnikanal.messaging.channels.webhook import WebhookChannel, parse_networks
from omnikanal.messaging.model import Outgoing, PermanentFailure, TransientFailure
from omnikanal.settings import Settings
from tests.helpers import assert_error, timeline
from tests.integration.messaging.support import (
    FakeTwilio,
    SmtpSink,
    WebhookReceiver,
    bearer,
    customer,
    grant,
    wait_for,
)
from tests.integration.messaging.test_email import send


def message(http: httpx.Client, token: str, message_id: str) -> dict[str, Any]:
    response = http.get(f"/api/messages/{message_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_transactional_sms_goes_through_twilio_and_the_signed_callback_marks_it_delivered(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio
) -> None:
    pid = customer(hub, "u-sms", phone="+49 151 11112222", firstName="Sven")
    sent = send(
        http,
        admin_token,
        profile_id=pid,
        channel="sms",
        transactional=True,
        content={"text": "Hallo {{ traits.firstName }}, Ihre Bohrmaschine liegt bereit: {{ data.store }}."},
        data={"store": "Berlin-Mitte"},
    )
    assert sent["status"] == "sent", sent
    [request] = twilio.requests
    assert request["To"] == "+4915111112222"
    assert request["From"] == "+4930123456"
    assert request["Body"] == "Hallo Sven, Ihre Bohrmaschine liegt bereit: Berlin-Mitte."
    assert request["StatusCallback"] == f"{hub.settings.public_url}/callbacks/twilio/status?m={sent['id']}"
    assert sent["provider_id"].startswith("SM")

    wait_for(lambda: message(http, admin_token, sent["id"])["status"] == "delivered")
    # the fake provider records our answer to its callback after it has read it
    wait_for(lambda: twilio.callback_answers != [])
    assert twilio.callback_answers == [204]
    history = [h["status"] for h in message(http, admin_token, sent["id"])["history"]]
    assert sorted(history) == ["delivered", "queued", "sent"]  # the callback may beat our own record
    events = timeline(http, admin_token, pid)
    delivered = [e for e in events if e.get("event") == "Message Delivered"]
    assert [e["channel"] for e in delivered] == ["sms"]  # scenario 6: the delivery status by SMS

    # A replayed callback is recorded once; a forged one is refused and changes nothing.
    url = f"{hub.settings.public_url}/callbacks/twilio/status?m={sent['id']}"
    params = {"MessageSid": sent["provider_id"], "MessageStatus": "delivered", "AccountSid": twilio.sid}
    replay = http.post(
        f"/callbacks/twilio/status?m={sent['id']}",
        data=params,
        headers={"X-Twilio-Signature": twilio_signature(twilio.token, url, params)},
    )
    assert replay.status_code == 204
    forged_params = {**params, "MessageStatus": "failed"}
    forged = http.post(
        f"/callbacks/twilio/status?m={sent['id']}",
        data=forged_params,
        headers={"X-Twilio-Signature": twilio_signature("wrong", url, params)},
    )
    assert_error(forged, 401, "invalid_signature")
    unsigned = http.post(f"/callbacks/twilio/status?m={sent['id']}", data=forged_params)
    assert_error(unsigned, 401, "invalid_signature")
    after = message(http, admin_token, sent["id"])
    assert after["status"] == "delivered"
    assert sorted(h["status"] for h in after["history"]) == ["delivered", "queued", "sent"]


def test_a_customer_without_sms_consent_gets_nothing_by_sms(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio
) -> None:
    pid = customer(hub, "u-nosms", phone="+4915122223333", email="nosms@example.org")
    grant(hub, pid, "email_marketing", "email")  # email consent never stands in for SMS
    blocked = send(http, admin_token, profile_id=pid, channel="sms", content={"text": "Sale!"})
    assert blocked["status"] == "blocked"
    assert blocked["reason"] == "no_consent"
    assert blocked["decision"]["purpose"] == "sms_marketing"
    hub.dispatcher.run_once()
    assert twilio.requests == []


def test_twilio_errors_retry_with_backoff_or_fail_for_good(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio, clock: FixedClock
) -> None:
    pid = customer(hub, "u-err", phone="+4915133334444")
    twilio.answer_status = 503
    first = send(http, admin_token, profile_id=pid, channel="sms", transactional=True, content={"text": "A"})
    assert first["status"] == "queued"
    assert first["attempts"] == 1
    assert "503" in first["error"]
    retry_at = first["due_at"]
    assert retry_at is not None
    assert hub.dispatcher.run_once() == 0  # not due yet
    twilio.answer_status = None
    clock.advance(timedelta(seconds=11))
    assert hub.dispatcher.run_once() == 1
    assert message(http, admin_token, first["id"])["status"] in ("sent", "delivered")

    twilio.answer_status = 400
    refused = send(
        http, admin_token, profile_id=pid, channel="sms", transactional=True, content={"text": "B"}
    )
    assert refused["status"] == "failed"
    assert "400" in refused["error"]
    failed = http.get("/api/messages", params={"status": "failed"}, headers=bearer(admin_token)).json()
    assert [m["id"] for m in failed["messages"]] == [refused["id"]]
    twilio.answer_status = None
    retried = http.post(f"/api/messages/{refused['id']}/retry", headers=bearer(admin_token))
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] in ("sent", "delivered")


def _standard_webhooks_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_webhook_is_signed_per_standard_webhooks_and_retried_on_its_schedule(
    hub: Hub, http: httpx.Client, admin_token: str, hooks: WebhookReceiver, clock: FixedClock
) -> None:
    pid = customer(hub, "u-hook", email="hook@example.org")
    hooks.statuses = [500]
    first = send(
        http,
        admin_token,
        profile_id=pid,
        channel="webhook",
        transactional=True,
        to=f"{hooks.url}/inbox",
        content={"text": "Bestellung {{ data.order }} versandt"},
        data={"order": "A-7"},
    )
    assert first["status"] == "queued"
    assert first["attempts"] == 1
    clock.advance(timedelta(seconds=6))  # the schedule's second attempt comes after 5 s (with jitter)
    assert hub.dispatcher.run_once() == 1
    done = message(http, admin_token, first["id"])
    assert done["status"] == "delivered"
    assert len(hooks.received) == 2
    headers, body = hooks.received[1]
    assert headers["webhook-id"] == first["id"]
    assert int(headers["webhook-timestamp"]) == int(clock.now().timestamp())
    expected = _standard_webhooks_signature(
        hub.settings.webhook_secret, headers["webhook-id"], headers["webhook-timestamp"], body
    )
    assert headers["webhook-signature"] == expected
    payload = orjson.loads(body)
    assert payload["data"]["text"] == "Bestellung A-7 versandt"
    assert payload["data"]["profile_id"] == pid


class TestWebhookGuard:
    @pytest.fixture
    def extra_settings(self) -> dict[str, Any]:
        return {"webhook_allow_private": False}

    def test_webhook_to_a_private_or_loopback_address_is_refused(
        self, hub: Hub, http: httpx.Client, admin_token: str, hooks: WebhookReceiver
    ) -> None:
        pid = customer(hub, "u-ssrf")
        for url in (
            f"{hooks.url}/x",
            "http://10.0.0.8/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
        ):
            result = send(
                http,
                admin_token,
                profile_id=pid,
                channel="webhook",
                transactional=True,
                to=url,
                content={"text": "x"},
            )
            assert result["status"] == "failed", url
            assert "webhook_private_address" in result["error"], result["error"]
        assert hooks.received == []


def test_tasks_land_in_the_store_queue_with_the_customers_context(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    pid = customer(hub, "u-pick", email="pick@example.org", firstName="Paula", lastName="Pick")
    created = send(
        http,
        admin_token,
        profile_id=pid,
        channel="task",
        transactional=True,
        queue="store:berlin-1",
        kind="pickup",
        content={
            "subject": "Abholung vorbereiten: {{ data.order }}",
            "text": "Bohrmaschine aus dem Lager holen.",
        },
        data={"order": "A-9"},
    )
    assert created["status"] == "delivered", created
    store_token = hub.tokens.create("store-berlin", "store", "berlin-1")[1]
    listed = http.get("/api/tasks", params={"queue": "store:berlin-1"}, headers=bearer(store_token))
    assert listed.status_code == 200, listed.text
    [task] = listed.json()["tasks"]
    assert task["title"] == "Abholung vorbereiten: A-9"
    assert task["kind"] == "pickup"
    assert task["status"] == "open"
    assert task["customer"]["name"] == "Paula Pick"
    assert {"type": "email", "value": "pick@example.org"} in task["customer"]["identifiers"]
    assert task["customer"]["last_events"]

    assert_error(
        http.get("/api/tasks", params={"queue": "hotline"}, headers=bearer(store_token)), 403, "forbidden"
    )
    assert_error(
        http.get("/api/tasks", params={"queue": "bar"}, headers=bearer(admin_token)),
        400,
        "invalid_queue",
        "queue",
    )
    claimed = http.post(f"/api/tasks/{task['id']}/claim", headers=bearer(store_token))
    assert claimed.json()["status"] == "claimed"
    other = hub.tokens.create("service-1", "service")[1]
    assert_error(http.post(f"/api/tasks/{task['id']}/claim", headers=bearer(other)), 409, "task_taken")
    done = http.post(
        f"/api/tasks/{task['id']}/complete", json={"outcome": "bereit"}, headers=bearer(store_token)
    )
    assert done.json()["status"] == "done"
    assert done.json()["outcome"] == "bereit"
    hub.dispatcher.run_once()  # a second round adds no second task for the same message
    assert (
        len(
            http.get("/api/tasks", params={"queue": "store:berlin-1"}, headers=bearer(admin_token)).json()[
                "tasks"
            ]
        )
        == 1
    )


def test_channel_auto_takes_the_preference_then_engagement_and_says_why(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio, smtp: SmtpSink
) -> None:
    prefers_sms = customer(
        hub, "u-auto1", email="a1@example.org", phone="+4915144445555", preferredChannel="sms"
    )
    grant(hub, prefers_sms, "sms_marketing", "sms")
    grant(hub, prefers_sms, "email_marketing", "email")
    chosen = send(
        http, admin_token, profile_id=prefers_sms, channel="auto", content={"subject": "Hi", "text": "Neu da"}
    )
    assert chosen["status"] == "sent", chosen
    assert chosen["channel"] == "sms"
    assert chosen["decision"]["channel_reason"] == "preferred"
    assert len(twilio.requests) == 1

    # preference without consent: the allowed channel instead, and the reason says so
    no_sms = customer(hub, "u-auto2", email="a2@example.org", phone="+4915155556666", preferredChannel="sms")
    grant(hub, no_sms, "email_marketing", "email")
    fallback = send(
        http, admin_token, profile_id=no_sms, channel="auto", content={"subject": "Hi", "text": "Neu da"}
    )
    assert fallback["channel"] == "email"
    assert "preferred sms not allowed" in fallback["decision"]["channel_reason"]
    assert len(smtp.to("a2@example.org")) == 1

    nothing = customer(hub, "u-auto3", email="a3@example.org")
    blocked = send(
        http, admin_token, profile_id=nothing, channel="auto", content={"subject": "Hi", "text": "x"}
    )
    assert blocked["status"] == "blocked"
    assert blocked["reason"] == "no_allowed_channel"
    assert "email: no_consent" in blocked["decision"]["channel_reason"]


def test_whatsapp_goes_through_the_same_api_with_the_whatsapp_prefix(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio
) -> None:
    pid = customer(hub, "u-wa", phone="+4915166667777")
    grant(hub, pid, "messenger_marketing", "whatsapp")
    sent = send(http, admin_token, profile_id=pid, channel="whatsapp", content={"text": "Neu im Laden"})
    assert sent["status"] == "sent", sent
    assert sent["decision"]["purpose"] == "messenger_marketing"
    [request] = twilio.requests
    assert request["To"] == "whatsapp:+4915166667777"
    assert request["From"] == "whatsapp:+4930123457"


def test_a_delivery_report_that_overtakes_the_providers_answer_is_kept(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio
) -> None:
    pid = customer(hub, "u-fast", phone="+4915177778888")
    twilio.callback_first = True
    sent = send(http, admin_token, profile_id=pid, channel="sms", transactional=True, content={"text": "Da!"})
    assert twilio.callback_answers == [204]
    assert sent["status"] == "delivered"  # not set back to "sent" by our own, later record
    assert sent["provider_id"] == "SM" + "1".zfill(32)


class TestWebhookAddressCheckedAtConnection:
    """The guard resolves the host where it connects and connects to the address it checked."""

    @staticmethod
    def _outgoing(url: str) -> Outgoing:
        return Outgoing("msg_rebind", "prof_1", "webhook", url, None, "x", None, marketing=False)

    def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_at_connection(
        self, hooks: WebhookReceiver
    ) -> None:
        answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
        asked: list[str] = []

        def rebinding(host: str, port: int) -> list[str]:
            asked.append(host)
            return next(answers)

        channel = WebhookChannel("whsec_" + "A" * 44, False, 5.0, SystemClock(), resolver=rebinding)
        try:
            with pytest.raises(PermanentFailure, match="webhook_private_address"):
                channel.send(self._outgoing(f"http://hooks.example.test:{hooks.port}/x"))
        finally:
            channel.close()
        assert asked == ["hooks.example.test", "hooks.example.test"]  # once before, once at connecting
        assert hooks.received == []

    def test_an_allowed_private_network_is_reached_through_the_guard(self, hooks: WebhookReceiver) -> None:
        def loopback(host: str, port: int) -> list[str]:
            return ["127.0.0.1"]

        channel = WebhookChannel(
            "whsec_" + "A" * 44,
            False,
            5.0,
            SystemClock(),
            resolver=loopback,
            allowed_networks=parse_networks(["127.0.0.0/8"]),
        )
        try:
            result = channel.send(self._outgoing(f"http://partner.example.test:{hooks.port}/x"))
            hooks.statuses.append(503)
            with pytest.raises(TransientFailure, match="503"):
                channel.send(self._outgoing(f"http://partner.example.test:{hooks.port}/x"))
            with pytest.raises(PermanentFailure, match="webhook_private_address"):
                channel.send(self._outgoing("http://10.0.0.8/x"))
        finally:
            channel.close()
        assert result.provider_id == "msg_rebind"
        assert len(hooks.received) == 2
        headers, body = hooks.received[0]
        assert headers["host"] == f"partner.example.test:{hooks.port}"  # the name, not the address
        assert orjson.loads(body)["data"]["message_id"] == "msg_rebind"

    def test_a_bad_allowed_network_is_refused_in_the_settings(self) -> None:
        with pytest.raises(ValueError, match="not a network"):
            Settings(webhook_allowed_networks=["10.8.0.0/99"])
