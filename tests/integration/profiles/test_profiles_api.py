"""The staff read API: audit of reads, unmerge over HTTP, roles."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from omnikanal.audit.tables import access_log
from omnikanal.db.engine import read_tx
from omnikanal.hub import Hub


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_read_of_a_profile_is_recorded_with_who_read_it(
    hub: Hub, http: httpx.Client, make_channel
) -> None:
    shop = make_channel("webshop", "web")
    http.post("/v1/identify", json={"userId": "k-1", "traits": {"name": "Kim"}}, auth=(shop.write_key, ""))
    token = hub.tokens.create("agent-jana", "service")[1]
    profile = http.get(
        "/api/profiles/lookup", params={"type": "user_id", "value": "k-1"}, headers=_bearer(token)
    )
    assert profile.status_code == 200
    pid = profile.json()["id"]
    assert http.get(f"/api/profiles/{pid}", headers=_bearer(token)).status_code == 200
    assert http.get(f"/api/profiles/{pid}/events", headers=_bearer(token)).status_code == 200
    hub.audit.flush()
    with read_tx(hub.engine) as conn:
        rows = conn.execute(select(access_log.c.actor, access_log.c.action, access_log.c.profile_id)).all()
    assert sorted(rows) == sorted(
        [
            ("token:agent-jana", "profile.lookup", pid),
            ("token:agent-jana", "profile.read", pid),
            ("token:agent-jana", "profile.events", pid),
        ]
    )


def test_unmerge_over_http_needs_the_right_role(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str
) -> None:
    shop = make_channel("webshop", "web")
    auth = (shop.write_key, "")
    http.post("/v1/track", json={"anonymousId": "tab-1", "event": "Product Viewed"}, auth=auth)
    http.post("/v1/identify", json={"userId": "lea", "traits": {"email": "lea@example.de"}}, auth=auth)
    http.post("/v1/identify", json={"anonymousId": "tab-1", "traits": {"email": "lea@example.de"}}, auth=auth)
    lea = http.get(
        "/api/profiles/lookup", params={"type": "user_id", "value": "lea"}, headers=_bearer(admin_token)
    )
    pid = lea.json()["id"]
    (merge,) = http.get(f"/api/profiles/{pid}/merges", headers=_bearer(admin_token)).json()["merges"]

    marketing = hub.tokens.create("campaigns", "marketing")[1]
    refused = http.post(
        f"/api/profiles/{pid}/unmerge", json={"merge_id": merge["id"]}, headers=_bearer(marketing)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"

    missing = http.post(f"/api/profiles/{pid}/unmerge", json={}, headers=_bearer(admin_token))
    assert missing.status_code == 400
    assert missing.json()["error"]["field"] == "merge_id"

    done = http.post(
        f"/api/profiles/{pid}/unmerge", json={"merge_id": merge["id"]}, headers=_bearer(admin_token)
    )
    assert done.status_code == 200, done.text
    restored = done.json()["restored_profile_id"]
    device = http.get(
        "/api/profiles/lookup",
        params={"type": "anonymous_id", "value": "tab-1"},
        headers=_bearer(admin_token),
    )
    assert device.json()["id"] == restored != pid
    again = http.post(
        f"/api/profiles/{pid}/unmerge", json={"merge_id": merge["id"]}, headers=_bearer(admin_token)
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "merge_already_undone"


def test_sources_as_a_resource(http: httpx.Client, admin_token: str) -> None:
    created = http.post(
        "/api/sources", json={"name": "hotline", "channel": "hotline"}, headers=_bearer(admin_token)
    )
    assert created.status_code == 201
    key = created.json()["write_key"]
    assert (
        http.post("/v1/track", json={"userId": "c", "event": "Call Received"}, auth=(key, "")).status_code
        == 200
    )
    listed = http.get("/api/sources", headers=_bearer(admin_token)).json()["sources"]
    assert [(s["name"], s["channel"], s["enabled"]) for s in listed] == [("hotline", "hotline", True)]
    bad = http.post("/api/sources", json={"name": "fax", "channel": "fax"}, headers=_bearer(admin_token))
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "channel"
    duplicate = http.post(
        "/api/sources", json={"name": "hotline", "channel": "web"}, headers=_bearer(admin_token)
    )
    assert duplicate.status_code == 409
    disabled = http.post("/api/sources/hotline/disable", headers=_bearer(admin_token))
    assert disabled.json()["enabled"] is False
    refused = http.post("/v1/track", json={"userId": "c", "event": "Call Received"}, auth=(key, ""))
    assert refused.status_code == 403
