"""Web Push end to end over HTTP: a site registers a browser's subscription with its write key, the
gate needs push consent and an active subscription, and the local push service verifies the VAPID
signature and decrypts what it receives; gone subscriptions expire, busy services are retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub
from tests.helpers import assert_error, timeline
from tests.integration.messaging.push_service import BrowserSubscription, FakePushService, unb64url
from tests.integration.messaging.support import bearer, customer, grant
from tests.integration.messaging.test_email import send


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    service = FakePushService()
    service.start()
    yield service
    service.stop()


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    # the push service of the tests listens on loopback over plain HTTP
    return {"push_allow_private": True, "push_vapid_subject": "mailto:push@example.org"}


@pytest.fixture
def write_key(hub: Hub) -> str:
    _, key = hub.sources.create("webshop-push", "web")
    return str(key)


def subscribe(
    http: httpx.Client, push_service: FakePushService, write_key: str, **ids: str
) -> tuple[BrowserSubscription, dict[str, Any]]:
    """What the site's script does: fetch our public key, subscribe the browser, register it."""
    public_key = http.get("/v1/push/public-key").json()["publicKey"]
    browser = push_service.subscribe(public_key)
    response = http.post(
        "/v1/push/subscriptions",
        json={**ids, "subscription": browser.as_json()},
        auth=(write_key, ""),
        headers={"user-agent": "Mozilla/5.0 (test browser)"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return browser, body


def message(http: httpx.Client, token: str, message_id: str) -> dict[str, Any]:
    response = http.get(f"/api/messages/{message_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_public_key_is_an_uncompressed_p256_point_and_stays_the_same_across_restarts(
    hub: Hub, http: httpx.Client
) -> None:
    key = http.get("/v1/push/public-key").json()["publicKey"]
    point = unb64url(key)
    assert len(point) == 65
    assert point[0] == 4
    assert (hub.settings.data_dir / "vapid_private.pem").exists()
    from omnikanal.messaging.channels.push import load_vapid_key, public_key_b64

    assert public_key_b64(load_vapid_key("", hub.settings.data_dir)) == key


def test_consented_customer_gets_an_encrypted_push_signed_with_vapid(
    hub: Hub, http: httpx.Client, admin_token: str, push_service: FakePushService, write_key: str
) -> None:
    pid = customer(hub, "u-paula", firstName="Paula")
    browser, registered = subscribe(http, push_service, write_key, userId="u-paula")
    assert registered["profile_id"] == pid
    assert registered["active"] is True
    assert registered["push_service"] == push_service.url
    assert registered["user_agent"] == "Mozilla/5.0 (test browser)"
    grant(hub, pid, "push_marketing", "push")

    sent = send(
        http,
        admin_token,
        profile_id=pid,
        channel="push",
        purpose="push_marketing",
        content={"subject": "Neu im Markt", "text": "Hallo {{ traits.firstName }}, 20 % auf Akkuschrauber."},
        data={"url": "https://shop.example.org/angebote"},
    )
    assert sent["status"] == "sent", sent
    assert push_service.state.refused == []
    [delivery] = push_service.state.delivered
    assert delivery.token == browser.token
    assert delivery.payload == {
        "title": "Neu im Markt",
        "body": "Hallo Paula, 20 % auf Akkuschrauber.",
        "messageId": sent["id"],
        "url": "https://shop.example.org/angebote",
    }
    assert delivery.claims["sub"] == "mailto:push@example.org"
    assert delivery.headers["ttl"] == str(hub.settings.push_ttl_seconds)
    assert delivery.headers["urgency"] == "normal"
    assert sent["provider_id"].startswith(f"{push_service.url}/message/")

    events = timeline(http, admin_token, pid)
    assert [e["channel"] for e in events if e.get("event") == "Push Subscribed"] == ["web"]
    assert [e["channel"] for e in events if e.get("event") == "Message Sent"] == ["app"]


def test_push_without_consent_or_without_subscription_is_blocked_with_its_reason(
    hub: Hub, http: httpx.Client, admin_token: str, push_service: FakePushService, write_key: str
) -> None:
    pid = customer(hub, "u-nopush")
    no_subscription = send(
        http, admin_token, profile_id=pid, channel="push", transactional=True, content={"text": "Abholbereit"}
    )
    assert (no_subscription["status"], no_subscription["reason"]) == ("blocked", "unreachable")

    subscribe(http, push_service, write_key, userId="u-nopush")
    marketing = send(
        http,
        admin_token,
        profile_id=pid,
        channel="push",
        purpose="push_marketing",
        content={"text": "Angebot"},
    )
    assert (marketing["status"], marketing["reason"]) == ("blocked", "no_consent")
    # an email consent does not stand in for push
    grant(hub, pid, "email_marketing", "email")
    again = send(
        http,
        admin_token,
        profile_id=pid,
        channel="push",
        purpose="push_marketing",
        content={"text": "Angebot"},
    )
    assert again["status"] == "blocked"
    transactional = send(
        http, admin_token, profile_id=pid, channel="push", transactional=True, content={"text": "Abholbereit"}
    )
    assert transactional["status"] == "sent"
    assert [d.payload["body"] for d in push_service.state.delivered] == ["Abholbereit"]


def test_gone_subscription_expires_and_fails_the_message_busy_service_is_retried(
    hub: Hub,
    http: httpx.Client,
    admin_token: str,
    push_service: FakePushService,
    write_key: str,
    clock: FixedClock,
) -> None:
    pid = customer(hub, "u-gone")
    subscribe(http, push_service, write_key, anonymousId="browser-gone")
    # the anonymous browser becomes the known customer: the subscription follows the merge
    source = hub.sources.get("webshop-push")
    hub.ingest.ingest(source, [{"type": "identify", "anonymousId": "browser-gone", "userId": "u-gone"}])

    push_service.state.answers = [429]
    busy = send(
        http, admin_token, profile_id=pid, channel="push", transactional=True, content={"text": "Eins"}
    )
    assert busy["status"] == "queued", busy
    assert "429" in busy["error"]
    clock.advance(timedelta(hours=1))
    assert hub.dispatcher.run_once() == 1
    assert message(http, admin_token, busy["id"])["status"] == "sent"

    push_service.state.answers = [410]
    gone = send(
        http, admin_token, profile_id=pid, channel="push", transactional=True, content={"text": "Zwei"}
    )
    assert gone["status"] == "failed", gone
    assert "410" in gone["error"]
    later = send(
        http, admin_token, profile_id=pid, channel="push", transactional=True, content={"text": "Drei"}
    )
    assert (later["status"], later["reason"]) == ("blocked", "unreachable")
    assert [d.payload["body"] for d in push_service.state.delivered] == ["Eins"]
    [subscription] = hub.messaging.push.of_profile(pid)
    assert subscription["active"] is False
    assert subscription["expired_reason"] == "gone_410"


def test_registration_checks_the_write_key_and_every_field(
    hub: Hub, http: httpx.Client, push_service: FakePushService, write_key: str
) -> None:
    browser = push_service.subscribe(http.get("/v1/push/public-key").json()["publicKey"])
    good = browser.as_json()
    url = "/v1/push/subscriptions"
    assert_error(http.post(url, json={"userId": "u", "subscription": good}), 401, "missing_write_key")
    assert_error(
        http.post(url, json={"subscription": good}, auth=(write_key, "")), 400, "missing_identifier", "userId"
    )
    bad_key = {**good, "keys": {**good["keys"], "p256dh": "AAAA"}}
    assert_error(
        http.post(url, json={"userId": "u", "subscription": bad_key}, auth=(write_key, "")),
        400,
        "invalid_push_key",
        "subscription.keys.p256dh",
    )
    bad_auth = {**good, "keys": {**good["keys"], "auth": "!!"}}
    assert_error(
        http.post(url, json={"userId": "u", "subscription": bad_auth}, auth=(write_key, "")),
        400,
        "invalid_push_key",
        "subscription.keys.auth",
    )
    ftp = {**good, "endpoint": "ftp://push.example.org/x"}
    assert_error(
        http.post(url, json={"userId": "u", "subscription": ftp}, auth=(write_key, "")),
        400,
        "invalid_endpoint",
        "subscription.endpoint",
    )
    assert_error(http.post(url, content=b"{", auth=(write_key, "")), 400, "invalid_json")

    registered = http.post(url, json={"userId": "u-unreg", "subscription": good}, auth=(write_key, ""))
    assert registered.status_code == 201, registered.text
    gone = http.request("DELETE", url, params={"endpoint": good["endpoint"]}, auth=(write_key, ""))
    assert gone.status_code == 204, gone.text
    assert_error(
        http.request("DELETE", url, params={"endpoint": good["endpoint"]}, auth=(write_key, "")),
        404,
        "unknown_subscription",
        "endpoint",
    )
