"""Data-subject rights over HTTP on both engines: export, erasure (complete, and late events do not
bring the person back), restriction, rectification, and the access log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import String, cast, select, text

from omnikanal.db.engine import read_tx
from omnikanal.hub import Hub
from omnikanal.tables import metadata
from tests.helpers import assert_error, bearer, lookup, lookup_status


def _request(http: httpx.Client, token: str, **body: Any) -> httpx.Response:
    return http.post("/api/privacy/requests", json=body, headers=bearer(token))


def _person_on_three_channels(http: httpx.Client, make_channel: Any, admin: str) -> dict[str, Any]:
    shop, till, hotline = (
        make_channel("shop", "web"),
        make_channel("tills", "pos"),
        make_channel("hotline", "hotline"),
    )
    http.post(
        "/v1/page", json={"anonymousId": "anon-hw-77", "name": "Akkuschrauber"}, auth=(shop.write_key, "")
    )
    http.post(
        "/v1/identify",
        json={
            "anonymousId": "anon-hw-77",
            "userId": "hw-4711",
            "traits": {
                "email": "Hannelore.Wischnewski@example.de",
                "phone": "0171 9876543",
                "name": "Hannelore Wischnewski",
                "address": {"street": "Kastanienallee 12", "city": "Köln"},
            },
        },
        auth=(shop.write_key, ""),
    )
    http.post(
        "/v1/track",
        json={
            "userId": "hw-4711",
            "event": "Order Completed",
            "properties": {"order_id": "ord-hw-1", "revenue": 129.9},
        },
        auth=(till.write_key, ""),
    )
    http.post(
        "/v1/track",
        json={
            "userId": "hw-4711",
            "event": "Consent Updated",
            "properties": {"purpose": "sms_marketing", "status": "granted", "staffUser": "kasse-9"},
        },
        auth=(till.write_key, ""),
    )
    http.post(
        "/v1/track",
        json={
            "userId": "hw-4711",
            "event": "Call Received",
            "properties": {"topic": "Reklamation Akkuschrauber"},
        },
        auth=(hotline.write_key, ""),
    )
    # a batch item that was quarantined still carries her email
    http.post(
        "/v1/batch",
        json={
            "batch": [
                {
                    "type": "track",
                    "event": "x" * 300,
                    "userId": "hw-4711",
                    "context": {"traits": {"email": "hannelore.wischnewski@example.de"}},
                }
            ]
        },
        auth=(shop.write_key, ""),
    )
    pid = lookup(http, admin, "user_id", "hw-4711")["id"]
    response = http.post(
        f"/api/profiles/{pid}/consents",
        json={"changes": [{"purpose": "email_marketing", "status": "granted"}]},
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text
    return {"pid": pid, "shop": shop, "till": till}


# Everything that names her. Not her order ids: orders stay for the bookkeeping the law requires
# (Art. 17(3)(b) DSGVO), cut loose from her profile, and an order id names no one by itself.
SECRETS = (
    "Hannelore",
    "Wischnewski",
    "hannelore.wischnewski@example.de",
    "+491719876543",
    "hw-4711",
    "anon-hw-77",
    "Kastanienallee",
    "Reklamation",
)


def _tables_holding(hub: Hub, needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    found = []
    with read_tx(hub.engine) as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                rows = conn.execute(
                    select(cast(column, String)).where(cast(column, String).is_not(None))
                ).scalars()
                for value in rows:
                    for needle in needles:
                        if needle.lower() in value.lower():
                            found.append((table.name, column.name, needle))
    return found


def test_export_holds_every_channel_and_opens_as_a_page(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    person = _person_on_three_channels(http, make_channel, admin_token)
    created = _request(http, admin_token, type="export", profile_id=person["pid"])
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["status"] == "completed"
    assert request["due_at"][:10] > request["created_at"][:10]
    document = http.get(request["export"]["json"], headers=bearer(admin_token))
    assert document.status_code == 200
    assert "attachment" in document.headers["content-disposition"]
    parts = document.json()["parts"]
    assert {e["channel"] for e in parts["core"]["events"]} == {"web", "pos", "hotline"}
    assert {e["event"] for e in parts["core"]["events"]} >= {
        "Order Completed",
        "Call Received",
        "Consent Updated",
    }
    assert {i["type"] for i in parts["core"]["identifiers"]} >= {"email", "phone", "user_id", "anonymous_id"}
    assert [r["purpose"] for r in parts["consent"]["records"]] == ["sms_marketing", "email_marketing"]
    page = http.get(request["export"]["html"], headers=bearer(admin_token))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for expected in (
        "Auskunft über Ihre gespeicherten Daten",
        "Hannelore Wischnewski",
        "Reklamation Akkuschrauber",
        "hotline",
        "sms_marketing",
        "hannelore.wischnewski@example.de",
    ):
        assert expected in page.text
    english = http.get(request["export"]["html"], params={"lang": "en"}, headers=bearer(admin_token))
    assert "The data we hold about you" in english.text


def test_erasure_leaves_nothing_and_late_events_do_not_bring_the_person_back(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str, tmp_path: Path
) -> None:
    person = _person_on_three_channels(http, make_channel, admin_token)
    other = http.post(
        "/v1/identify",
        json={"userId": "other-1", "traits": {"email": "other@example.de"}},
        auth=(person["shop"].write_key, ""),
    )
    assert other.status_code == 200
    assert _tables_holding(hub, SECRETS)  # the search finds her before the erasure
    dpo = hub.tokens.create("dpo", "privacy")[1]

    erased = _request(
        http, dpo, type="erasure", identifier={"type": "email", "value": " HANNELORE.Wischnewski@example.de"}
    )
    assert erased.status_code == 201, erased.text
    result = erased.json()
    assert result["status"] == "completed"
    assert result["profile_id"] is None
    assert result["details"] == {}
    assert result["result"]["removed"]["core"] > 0
    assert result["result"]["suppressed_identifiers"] >= 5

    hub.audit.flush()
    assert _tables_holding(hub, SECRETS) == []
    assert lookup_status(http, admin_token, "user_id", "other-1") == 200  # nobody else was touched
    if hub.engine.dialect.name == "sqlite":
        # the files as the product leaves them: the erasure emptied the WAL itself
        database = Path(hub.engine.url.database or "")
        for path in (database, database.with_name(database.name + "-wal")):
            if path.exists():
                content = path.read_bytes()
                for needle in SECRETS:
                    assert needle.encode() not in content, f"{needle!r} is still in {path.name}"

    # a late event with her email is dropped and counted, and does not re-create her
    late = http.post(
        "/v1/track",
        json={
            "anonymousId": "new-device",
            "event": "Newsletter Signup",
            "context": {"traits": {"email": "hannelore.wischnewski@example.de"}},
        },
        auth=(person["shop"].write_key, ""),
    )
    assert late.status_code == 200, late.text
    assert late.json()["suppressed"] == 1
    assert lookup_status(http, admin_token, "email", "hannelore.wischnewski@example.de") == 404
    assert lookup_status(http, admin_token, "anonymous_id", "new-device") == 404
    by_user_id = http.post("/v1/identify", json={"userId": "hw-4711"}, auth=(person["till"].write_key, ""))
    assert by_user_id.json()["suppressed"] == 1
    assert lookup_status(http, admin_token, "user_id", "hw-4711") == 404
    with read_tx(hub.engine) as conn:
        dropped = conn.execute(text("SELECT SUM(dropped_events) FROM suppressions")).scalar()
    assert dropped == 2
    # the contact question knows the difference between erased and never known
    gone = http.get(f"/api/profiles/{person['pid']}/contact", headers=bearer(admin_token)).json()
    assert gone["reason"] == "erased"
    assert _tables_holding(hub, SECRETS) == []


def test_only_the_privacy_role_erases_and_bad_requests_change_nothing(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    person = _person_on_three_channels(http, make_channel, admin_token)
    service = hub.tokens.create("agent", "service")[1]
    for token in (admin_token, service):
        assert_error(_request(http, token, type="erasure", profile_id=person["pid"]), 403, "forbidden")
    assert lookup(http, admin_token, "user_id", "hw-4711")["id"] == person["pid"]
    assert http.get("/api/privacy/requests", headers=bearer(admin_token)).json()["items"] == []
    dpo = hub.tokens.create("dpo", "privacy")[1]
    assert_error(_request(http, dpo, type="erasure", profile_id="prof_nobody"), 404, "person_not_found")
    assert_error(
        _request(http, dpo, type="export", identifier={"type": "email", "value": "nobody@example.de"}),
        404,
        "person_not_found",
    )
    assert_error(_request(http, dpo, type="export"), 400, "invalid_subject", "profile_id")
    assert_error(_request(http, dpo, type="forget", profile_id=person["pid"]), 400, "invalid_request", "type")
    assert_error(
        _request(
            http, dpo, type="rectification", profile_id=person["pid"], details={"traits": {"email": "x@y.de"}}
        ),
        400,
        "identifier_trait",
        "details.traits.email",
    )
    assert_error(http.get("/api/privacy/requests/dsr_nothing", headers=bearer(dpo)), 404, "request_not_found")
    marketing = hub.tokens.create("campaigns", "marketing")[1]
    assert_error(_request(http, marketing, type="export", profile_id=person["pid"]), 403, "forbidden")
    assert http.get("/api/privacy/requests", headers=bearer(dpo)).json()["items"] == []
    # a received erasure run by a role that may not stays received
    filed = _request(http, dpo, type="erasure", profile_id=person["pid"], run=False).json()
    assert filed["status"] == "received"
    assert_error(
        http.post(f"/api/privacy/requests/{filed['id']}/run", headers=bearer(service)), 403, "forbidden"
    )
    assert (
        http.get(f"/api/privacy/requests/{filed['id']}", headers=bearer(dpo)).json()["status"] == "received"
    )
    assert lookup_status(http, admin_token, "user_id", "hw-4711") == 200


def test_restriction_keeps_the_profile_out_of_marketing_until_lifted(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    person = _person_on_three_channels(http, make_channel, admin_token)
    pid = person["pid"]

    def contact(**params: str) -> dict[str, Any]:
        body: dict[str, Any] = http.get(
            f"/api/profiles/{pid}/contact", params=params, headers=bearer(admin_token)
        ).json()
        return body

    assert contact(purpose="sms_marketing", channel="sms")["allowed"] is True
    restricted = _request(http, admin_token, type="restriction", profile_id=pid)
    assert restricted.json()["result"] == {"restricted": True}
    assert contact(purpose="sms_marketing", channel="sms")["reason"] == "restricted"
    assert contact(purpose="personalisation")["reason"] == "restricted"
    assert contact(channel="sms")["reason"] == "transactional"  # an order status still reaches her
    assert lookup(http, admin_token, "user_id", "hw-4711")["id"] == pid  # the profile is kept
    _request(http, admin_token, type="restriction", profile_id=pid, details={"lift": True})
    assert contact(purpose="sms_marketing", channel="sms")["allowed"] is True


def test_rectification_corrects_traits_and_records_who_did_it(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    person = _person_on_three_channels(http, make_channel, admin_token)
    agent = hub.tokens.create("agent-jana", "service")[1]
    done = _request(
        http,
        agent,
        type="rectification",
        profile_id=person["pid"],
        details={"traits": {"name": "Hannelore Wischnewski-Berg"}},
    )
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["completed_by"] == "token:agent-jana"
    assert body["details"]["previous"] == {"name": "Hannelore Wischnewski"}
    profile = http.get(f"/api/profiles/{person['pid']}", headers=bearer(admin_token)).json()
    assert profile["traits"]["name"]["value"] == "Hannelore Wischnewski-Berg"
    assert profile["traits"]["name"]["source"]["name"] == "rectification"


def test_the_access_log_lists_staff_reads_for_the_privacy_role(
    hub: Hub, http: httpx.Client, make_channel: Any, admin_token: str
) -> None:
    person = _person_on_three_channels(http, make_channel, admin_token)
    agent = hub.tokens.create("agent-jana", "service")[1]
    http.get(f"/api/profiles/{person['pid']}", headers=bearer(agent))
    http.get(f"/api/profiles/{person['pid']}/consents", headers=bearer(agent))
    dpo = hub.tokens.create("dpo", "privacy")[1]
    log = http.get(f"/api/profiles/{person['pid']}/access-log", headers=bearer(dpo))
    assert log.status_code == 200, log.text
    reads = [(e["actor"], e["action"]) for e in log.json()["entries"] if e["actor"] == "token:agent-jana"]
    assert reads == [("token:agent-jana", "consents.read"), ("token:agent-jana", "profile.read")]
    assert_error(
        http.get(f"/api/profiles/{person['pid']}/access-log", headers=bearer(agent)), 403, "forbidden"
    )
