"""Least privilege for data-subject requests, double opt-in links and confirmed consents
(docs/roles.md): the hotline files a caller's request but reads nobody's; only an administrator's
integration reads pending confirmation links or records an email grant as already confirmed, and
of the tracking sources only an email system may report its own double opt-in."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from tests.helpers import assert_error, bearer, lookup


@pytest.fixture
def person(http: httpx.Client, admin_token: str, make_channel: Any) -> str:
    shop = make_channel("webshop", "web").write_key
    body = {"userId": "lp-1", "traits": {"email": "lp@example.org", "name": "Lena Probe"}}
    assert http.post("/v1/identify", json=body, auth=(shop, "")).status_code == 200
    return str(lookup(http, admin_token, "user_id", "lp-1")["id"])


def _tokens(hub: Hub) -> dict[str, str]:
    return {
        "admin": hub.tokens.create("it", "admin")[1],
        "marketing": hub.tokens.create("campaigns", "marketing")[1],
        "service": hub.tokens.create("hotline", "service")[1],
        "store": hub.tokens.create("till", "store", "store-mitte")[1],
        "privacy": hub.tokens.create("dpo", "privacy")[1],
    }


def test_the_hotline_files_a_request_but_lists_reads_and_downloads_none(
    hub: Hub, http: httpx.Client, person: str
) -> None:
    tokens = _tokens(hub)
    dpo = bearer(tokens["privacy"])
    pending = http.post(
        "/api/privacy/requests", json={"type": "erasure", "profile_id": person, "run": False}, headers=dpo
    ).json()
    filed = http.post(
        "/api/privacy/requests",
        json={"type": "export", "profile_id": person},
        headers=bearer(tokens["service"]),
    )
    assert filed.status_code == 201, filed.text
    export = filed.json()
    agent = bearer(tokens["service"])
    for path in (
        "/api/privacy/requests",
        f"/api/privacy/requests/{pending['id']}",
        f"/api/privacy/requests/{export['id']}",
        f"/api/privacy/requests/{export['id']}/export.json",
        f"/api/privacy/requests/{export['id']}/export.html",
    ):
        assert_error(http.get(path, headers=agent), 403, "forbidden")
    assert_error(http.post(f"/api/privacy/requests/{pending['id']}/run", headers=agent), 403, "forbidden")
    # the data-protection officer sees both and downloads the export
    listed = http.get("/api/privacy/requests", headers=dpo).json()["items"]
    assert {r["id"] for r in listed} == {pending["id"], export["id"]}
    document = http.get(f"/api/privacy/requests/{export['id']}/export.json", headers=dpo)
    assert document.status_code == 200, document.text


def test_only_an_administrator_reads_the_pending_double_opt_in_links(
    hub: Hub, http: httpx.Client, person: str
) -> None:
    tokens = _tokens(hub)
    grant = {"changes": [{"purpose": "email_marketing", "status": "granted"}]}
    taken = http.post(f"/api/profiles/{person}/consents", json=grant, headers=bearer(tokens["store"]))
    assert taken.status_code == 201, taken.text
    assert taken.json()["records"][0]["status"] == "pending"
    for role in ("marketing", "service", "store", "privacy"):
        response = http.get("/api/consents/confirmations", headers=bearer(tokens[role]))
        assert_error(response, 403, "forbidden")
        assert "lp@example.org" not in response.text
    [link] = http.get("/api/consents/confirmations", headers=bearer(tokens["admin"])).json()["items"]
    for role in ("marketing", "service", "store", "privacy"):
        marked = http.post(f"/api/consents/confirmations/{link['id']}/sent", headers=bearer(tokens[role]))
        assert_error(marked, 403, "forbidden")


def test_a_store_cannot_skip_double_opt_in_with_its_own_confirmed_at(
    hub: Hub, http: httpx.Client, person: str
) -> None:
    tokens = _tokens(hub)
    claimed = {
        "changes": [
            {
                "purpose": "email_marketing",
                "status": "granted",
                "proof": {"confirmed_at": "2026-01-05T10:00:00Z"},
            }
        ]
    }
    for role in ("store", "service", "privacy"):
        response = http.post(f"/api/profiles/{person}/consents", json=claimed, headers=bearer(tokens[role]))
        assert_error(response, 403, "forbidden", "changes[0].proof.confirmed_at")
    contact = http.get(
        f"/api/profiles/{person}/contact",
        params={"purpose": "email_marketing", "channel": "email"},
        headers=bearer(tokens["admin"]),
    ).json()
    assert contact["allowed"] is False, contact
    # the integration of a system that ran its own double opt-in (an administrator's token) may
    recorded = http.post(f"/api/profiles/{person}/consents", json=claimed, headers=bearer(tokens["admin"]))
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["records"][0]["status"] == "granted"


@pytest.mark.parametrize(
    ("channel", "status"), [("pos", "pending"), ("web", "pending"), ("email", "granted")]
)
def test_only_an_email_source_reports_its_own_double_opt_in(
    hub: Hub, http: httpx.Client, admin_token: str, make_channel: Any, person: str, channel: str, status: str
) -> None:
    key = make_channel(f"src-{channel}", channel).write_key
    event = {
        "userId": "lp-1",
        "event": "Consent Updated",
        "properties": {
            "purpose": "email_marketing",
            "status": "granted",
            "confirmedAt": "2026-01-05T10:00:00Z",
        },
    }
    assert http.post("/v1/track", json=event, auth=(key, "")).status_code == 200
    current = http.get(f"/api/profiles/{person}/consents", headers=bearer(admin_token)).json()
    assert current["purposes"]["email_marketing"]["status"] == status, current
