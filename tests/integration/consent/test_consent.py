"""The consent ledger, the contact question and double opt-in, over HTTP on both engines."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from tests.helpers import assert_error, bearer, lookup


def _consents(
    http: httpx.Client, token: str, pid: str, *changes: dict[str, Any], **extra: Any
) -> httpx.Response:
    return http.post(
        f"/api/profiles/{pid}/consents", json={"changes": list(changes), **extra}, headers=bearer(token)
    )


def _contact(http: httpx.Client, token: str, pid: str, **params: str) -> dict[str, Any]:
    response = http.get(f"/api/profiles/{pid}/contact", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _customer(http: httpx.Client, shop: Any, token: str, user_id: str, **traits: Any) -> str:
    response = http.post(
        "/v1/identify", json={"userId": user_id, "traits": traits}, auth=(shop.write_key, "")
    )
    assert response.status_code == 200, response.text
    return str(lookup(http, token, "user_id", user_id)["id"])


def test_sms_consent_from_the_api_allows_sms_and_nothing_else(
    http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    pid = _customer(http, make_channel("shop", "web"), admin_token, "c-1", phone="0151 2345678")
    assert _contact(http, admin_token, pid, purpose="sms_marketing", channel="sms")["reason"] == "no_consent"
    created = _consents(
        http,
        admin_token,
        pid,
        {
            "purpose": "sms_marketing",
            "status": "granted",
            "channel": "store",
            "wording": "Ja, ich möchte SMS-Angebote erhalten.",
            "policy_version": "2026-01",
            "proof": {"staff_user": "filiale-koeln-7", "signature_ref": "form-991"},
        },
    )
    assert created.status_code == 201, created.text
    (record,) = created.json()["records"]
    assert record["status"] == "granted"
    assert record["proof"]["staff_user"] == "filiale-koeln-7"
    assert _contact(http, admin_token, pid, purpose="sms_marketing", channel="sms") == {
        "allowed": True,
        "reason": "granted",
        "profile_id": pid,
        "purpose": "sms_marketing",
        "channel": "sms",
    }
    # an SMS consent never covers a call or an email
    assert (
        _contact(http, admin_token, pid, purpose="phone_marketing", channel="phone")["reason"] == "no_consent"
    )
    assert _contact(http, admin_token, pid, purpose="sms_marketing", channel="email")["allowed"] is False
    # transactional contact needs no marketing consent
    assert _contact(http, admin_token, pid, channel="email") | {"profile_id": pid} == {
        "allowed": True,
        "reason": "transactional",
        "profile_id": pid,
        "purpose": None,
        "channel": "email",
    }


def test_email_grant_waits_for_the_confirmation_link_which_works_once(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    pid = _customer(http, make_channel("shop", "web"), admin_token, "c-2", email="Mia@Example.DE")
    (record,) = _consents(http, admin_token, pid, {"purpose": "email_marketing", "status": "granted"}).json()[
        "records"
    ]
    assert record["status"] == "pending"
    assert _contact(http, admin_token, pid, purpose="email_marketing", channel="email")["reason"] == "pending"
    pending = http.get("/api/consents/confirmations", headers=bearer(admin_token)).json()["items"]
    (confirmation,) = [p for p in pending if p["profile_id"] == pid]
    assert confirmation["email"] == "mia@example.de"
    token = confirmation["confirm_url"].rsplit("/", 1)[1]
    page = http.get(f"/confirm/{token}")  # opening the link shows a button and confirms nothing yet
    assert page.status_code == 200
    assert "E-Mail-Newsletter bestätigen" in page.text
    assert _contact(http, admin_token, pid, purpose="email_marketing", channel="email")["reason"] == "pending"

    confirmed = http.post(f"/confirm/{token}", headers={"User-Agent": "Mail client 1.0"})
    assert confirmed.status_code == 200, confirmed.text
    assert _contact(http, admin_token, pid, purpose="email_marketing", channel="email")["reason"] == "granted"
    history = http.get(f"/api/profiles/{pid}/consents", headers=bearer(admin_token)).json()
    assert [h["status"] for h in history["history"]] == ["granted", "pending"]
    proof = history["history"][0]["proof"]
    assert proof["user_agent"] == "Mail client 1.0"
    assert proof["confirmed_at"]
    assert proof["ip"] == "127.0.0.1"
    assert history["purposes"]["email_marketing"]["status"] == "granted"
    # a confirmed email consent does not allow advertising calls
    assert (
        _contact(http, admin_token, pid, purpose="phone_marketing", channel="phone")["reason"] == "no_consent"
    )

    again = http.post(f"/confirm/{token}")
    assert again.status_code == 400
    assert "Dieser Link wurde bereits verwendet." in again.text  # German unless asked otherwise
    again_en = http.get(f"/confirm/{token}", params={"lang": "en"})
    assert again_en.status_code == 400
    assert "This link was already used." in again_en.text
    forged = http.post(f"/confirm/{token[:-4]}AAAA", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert forged.status_code == 400
    assert "This link is not valid." in forged.text
    assert not [
        p
        for p in http.get("/api/consents/confirmations", headers=bearer(admin_token)).json()["items"]
        if p["profile_id"] == pid
    ]


def _sms_consent(http: httpx.Client, channel: Any, status: str, at: str) -> None:
    body = {
        "userId": "c-3",
        "event": "Consent Updated",
        "timestamp": at,
        "properties": {"purpose": "sms_marketing", "status": status},
    }
    assert http.post("/v1/track", json=body, auth=(channel.write_key, "")).status_code == 200


def test_a_till_withdraws_by_event_and_every_channel_hears_it(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    shop, till = make_channel("shop", "web"), make_channel("tills", "pos")
    pid = _customer(http, shop, admin_token, "c-3", phone="+49 151 11112222")
    granted = http.post(
        "/v1/track",
        json={
            "userId": "c-3",
            "event": "Consent Updated",
            "timestamp": "2026-11-01T10:00:00Z",
            "properties": {
                "consents": [
                    {"purpose": "sms_marketing", "status": "granted"},
                    {"purpose": "phone_marketing", "status": "granted"},
                ],
                "staffUser": "kasse-3",
                "policyVersion": "2026-01",
            },
            "context": {"ip": "10.1.2.3", "userAgent": "Kasse/4.2"},
        },
        auth=(till.write_key, ""),
    )
    assert granted.status_code == 200, granted.text
    assert _contact(http, admin_token, pid, purpose="sms_marketing", channel="sms")["allowed"] is True
    record = http.get(f"/api/profiles/{pid}/consents", headers=bearer(admin_token)).json()["history"][0]
    assert record["source"] == "tills"
    assert record["channel"] == "pos"
    assert record["actor"] == "kasse-3"
    assert record["proof"]["ip"] == "10.1.2.3"
    assert record["proof"]["user_agent"] == "Kasse/4.2"

    _sms_consent(http, shop, "withdrawn", "2026-11-02T10:00:00Z")
    assert _contact(http, admin_token, pid, purpose="sms_marketing", channel="sms")["reason"] == "withdrawn"
    # an older change that arrives late does not undo the newer withdrawal
    _sms_consent(http, till, "granted", "2026-10-01T10:00:00Z")
    assert _contact(http, admin_token, pid, purpose="sms_marketing", channel="sms")["reason"] == "withdrawn"
    assert _contact(http, admin_token, pid, purpose="phone_marketing", channel="phone")["allowed"] is True
    # the consent events are on the timeline like any other touchpoint
    events = http.get(
        f"/api/profiles/{pid}/events", params={"event": "Consent Updated"}, headers=bearer(admin_token)
    )
    assert len(events.json()["events"]) == 3


def test_consents_given_before_a_merge_hold_for_the_merged_profile(
    http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    app = make_channel("app", "app")
    auth = (app.write_key, "")
    http.post(
        "/v1/track",
        json={
            "anonymousId": "dev-9",
            "event": "Consent Updated",
            "properties": {"purpose": "push_marketing", "status": "granted"},
        },
        auth=auth,
    )
    anon = lookup(http, admin_token, "anonymous_id", "dev-9")["id"]
    http.post("/v1/alias", json={"previousId": "dev-9", "userId": "c-9"}, auth=auth)
    live = lookup(http, admin_token, "user_id", "c-9")["id"]
    assert _contact(http, admin_token, live, purpose="push_marketing", channel="push")["allowed"] is True
    # asking with the merged profile's id answers for the live profile
    assert _contact(http, admin_token, anon, purpose="push_marketing")["profile_id"] == live


def test_bad_consent_input_is_refused_and_changes_nothing(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    shop = make_channel("shop", "web")
    pid = _customer(http, shop, admin_token, "c-4")
    assert_error(
        _consents(http, admin_token, pid, {"purpose": "telepathy", "status": "granted"}),
        400,
        "unknown_purpose",
        "purpose",
    )
    assert_error(
        _consents(http, admin_token, pid, {"purpose": "sms_marketing", "status": "maybe"}),
        400,
        "invalid_request",
        "changes.0.status",
    )
    assert_error(
        _consents(http, admin_token, "prof_missing", {"purpose": "sms_marketing", "status": "granted"}),
        404,
        "profile_not_found",
    )
    assert_error(
        http.get(
            f"/api/profiles/{pid}/contact", params={"purpose": "telepathy"}, headers=bearer(admin_token)
        ),
        400,
        "unknown_purpose",
        "purpose",
    )
    # one bad change in a list refuses the whole list
    assert_error(
        _consents(
            http,
            admin_token,
            pid,
            {"purpose": "sms_marketing", "status": "granted"},
            {"purpose": "telepathy", "status": "granted"},
        ),
        400,
        "unknown_purpose",
        "purpose",
    )
    marketing = hub.tokens.create("campaigns", "marketing")[1]
    assert_error(
        _consents(http, marketing, pid, {"purpose": "sms_marketing", "status": "granted"}), 403, "forbidden"
    )
    assert http.get(f"/api/profiles/{pid}/consents", headers=bearer(admin_token)).json()["history"] == []
    # an event with an unknown purpose is refused; in a batch it is quarantined and the rest is stored
    single = {
        "userId": "c-4",
        "event": "Consent Updated",
        "properties": {"purpose": "telepathy", "status": "granted"},
    }
    assert_error(
        http.post("/v1/track", json=single, auth=(shop.write_key, "")),
        400,
        "unknown_purpose",
        "properties.purpose",
    )
    batch = {
        "batch": [
            dict(single, type="track"),
            {
                "type": "track",
                "userId": "c-4",
                "event": "Consent Updated",
                "properties": {"purpose": "sms_marketing", "status": "denied"},
            },
        ]
    }
    sent = http.post("/v1/batch", json=batch, auth=(shop.write_key, ""))
    assert sent.status_code == 200, sent.text
    assert [(q["index"], q["code"], q["field"]) for q in sent.json()["quarantined"]] == [
        (0, "unknown_purpose", "properties.purpose")
    ]
    assert _contact(http, admin_token, pid, purpose="sms_marketing")["reason"] == "denied"
    assert _contact(http, admin_token, "prof_missing", channel="sms")["reason"] == "unknown_profile"


def test_the_preference_centre_changes_consents_channel_and_language_and_files_requests(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    pid = _customer(http, make_channel("shop", "web"), admin_token, "c-5", email="pia@example.de")
    _consents(http, admin_token, pid, {"purpose": "sms_marketing", "status": "granted"})
    url = hub.consent.preference_url(pid)
    path = "/preferences/" + url.rsplit("/", 1)[1]
    page = http.get(path)
    assert page.status_code == 200
    assert "Ihre Einstellungen" in page.text
    assert 'value="sms_marketing" checked' in page.text
    assert 'value="email_marketing">' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    saved = http.post(
        path + "?lang=en",
        data={
            "consent": ["email_marketing", "analytics"],
            "preferred_channel": "email",
            "language": "en",
            "action": "save",
        },
        headers={"User-Agent": "Browser/1"},
    )
    assert saved.status_code == 200, saved.text
    assert "Your preferences are saved." in saved.text
    assert "Please confirm the email consent" in saved.text
    state = http.get(f"/api/profiles/{pid}/consents", headers=bearer(admin_token)).json()
    statuses = {p: v["status"] for p, v in state["purposes"].items()}
    assert statuses["sms_marketing"] == "withdrawn"
    assert statuses["email_marketing"] == "pending"
    assert statuses["analytics"] == "granted"
    newest = state["history"][0]
    assert newest["source"] == "preference_centre"
    assert newest["proof"]["user_agent"] == "Browser/1"
    profile = http.get(f"/api/profiles/{pid}", headers=bearer(admin_token)).json()
    assert profile["traits"]["preferredChannel"]["value"] == "email"
    assert profile["traits"]["preferredLanguage"]["value"] == "en"
    assert _contact(http, admin_token, pid, purpose="sms_marketing", channel="sms")["reason"] == "withdrawn"

    asked = http.post(path, data={"action": "export"})
    assert asked.status_code == 200
    assert "Ihre Anfrage ist eingegangen" in asked.text
    (request,) = http.get(
        "/api/privacy/requests", params={"status": "received"}, headers=bearer(admin_token)
    ).json()["items"]
    assert (request["type"], request["origin"], request["profile_id"]) == ("export", "preference_centre", pid)

    bad = http.post(path, data={"consent": ["telepathy"], "action": "save"})
    assert bad.status_code == 400
    assert "consent" in bad.text
    forged = http.get(path[:-3] + "xyz")
    assert forged.status_code == 400
    assert "Dieser Link ist ungültig." in forged.text
    # a confirmation link never opens the preference centre, nor the other way round
    assert http.get("/confirm/" + url.rsplit("/", 1)[1]).status_code == 400


def test_links_expire(hub: Hub, settings: Any, make_channel: Any) -> None:
    from datetime import timedelta

    from omnikanal.clock import FixedClock
    from omnikanal.consent.model import ConsentChange, ConsentStatus
    from omnikanal.hub import build_hub
    from omnikanal.signing import InvalidToken
    from tests.conftest import utc

    clock = FixedClock(utc(2026, 11, 1, 9))
    timed = build_hub(settings, clock)
    try:
        shop = timed.sources.create("shop-timed", "web")[0]
        timed.ingest.ingest(
            shop, [{"type": "identify", "userId": "c-6", "traits": {"email": "ida@example.de"}}]
        )
        pid = timed.profiles.lookup("user_id", "c-6")["id"]
        timed.consent.record(pid, [ConsentChange("email_marketing", ConsentStatus.GRANTED)], source="test")
        (pending,) = timed.consent.pending_confirmations()
        token = pending["confirm_url"].rsplit("/", 1)[1]
        preferences = timed.consent.preference_token(pid)
        clock.advance(timedelta(days=7, seconds=1))
        with pytest.raises(InvalidToken) as confirm_error:
            timed.consent.confirm(token, ip=None, user_agent=None)
        assert confirm_error.value.code == "token_expired"
        assert timed.consent.open_preference_token(preferences) == pid  # valid for 30 days
        clock.advance(timedelta(days=23))
        with pytest.raises(InvalidToken) as preferences_error:
            timed.consent.open_preference_token(preferences)
        assert preferences_error.value.code == "token_expired"
        assert timed.consent.pending_confirmations() == []  # expired ones are not offered for sending
        assert timed.consent.may_contact(pid, "email_marketing", "email").reason == "pending"
    finally:
        timed.close()


def test_the_contact_question_survives_a_dropped_database_connection(hub: Hub, make_channel: Any) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    shop = make_channel("shop", "web").source
    hub.ingest.ingest(shop, [{"type": "identify", "userId": "c-7"}])
    pid = hub.profiles.lookup("user_id", "c-7")["id"]
    assert hub.consent.may_contact(pid, None, "email").reason == "transactional"
    # the server ends every hot-read connection (a restart, a failover, an idle timeout)
    with hub.engine.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'"
        )
    assert hub.consent.may_contact(pid, None, "email").reason == "transactional"
