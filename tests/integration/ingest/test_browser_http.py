"""The browser endpoints over real HTTP on both engines: CORS per source, the libraries' paths and
settings, the rate limit of public write keys, the IP policy, consent choices carried by events, and
bad input a browser can send."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.settings import Settings
from tests.conftest import LiveServer
from tests.console_helpers import login, make_users
from tests.helpers import assert_error, bearer, lookup, timeline

SHOP = "https://shop.example.de"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # a small bucket, so a flood is quick to provoke
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        auto_migrate=False,
        browser_rate_per_second=0.5,
        browser_rate_burst=20,
    )


@pytest.fixture
def web_key(hub: Hub) -> str:
    return hub.sources.create("webshop", "web", allowed_origins=[SHOP + "/"])[1]


@pytest.fixture
def token(hub: Hub) -> str:
    return hub.tokens.create("t", "admin")[1]


def preflight(
    http: httpx.Client, path: str, origin: str, headers: str = "authorization,content-type"
) -> httpx.Response:
    return http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_a_preflight_from_an_allowed_origin_allows_what_the_libraries_send(
    http: httpx.Client, web_key: str
) -> None:
    asked = "authorization,content-type,anonymousid,sentat,rsa-retry-attempt,rsa-retry-reason,x-retry-count"
    for path in ("/v1/p", "/v1/t", "/v1/b", "/v1/page", "/v1/batch", "/sourceConfig/"):
        response = preflight(http, path, SHOP, asked)
        assert response.status_code == 204, (path, response.text)
        assert response.headers["access-control-allow-origin"] == SHOP
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "POST" in response.headers["access-control-allow-methods"]
        allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
        assert set(asked.split(",")) <= allowed
        assert int(response.headers["access-control-max-age"]) > 0


def test_a_preflight_from_another_origin_is_refused_naming_it(http: httpx.Client, web_key: str) -> None:
    response = preflight(http, "/v1/t", "https://evil.example")
    error = assert_error(response, 403, "origin_not_allowed", "Origin")
    assert "https://evil.example" in error["message"]
    assert "access-control-allow-origin" not in response.headers


def test_a_preflight_asking_for_another_header_is_refused(http: httpx.Client, web_key: str) -> None:
    response = preflight(http, "/v1/t", SHOP, "authorization,x-secret")
    error = assert_error(response, 403, "header_not_allowed", "Access-Control-Request-Headers")
    assert "x-secret" in error["message"]


def test_text_plain_to_the_one_letter_paths_is_stored_with_cors_headers(
    http: httpx.Client, hub: Hub, web_key: str, token: str
) -> None:
    for path, body in (
        ("/v1/p", {"anonymousId": "dev-1", "name": "Start", "properties": {"url": SHOP}}),
        ("/v1/t", {"anonymousId": "dev-1", "event": "Product Viewed"}),
        ("/v1/i", {"anonymousId": "dev-1", "userId": "kunde-1", "traits": {"email": "a@example.de"}}),
        ("/v1/a", {"previousId": "dev-1", "userId": "kunde-1"}),
        ("/v1/b", {"batch": [{"type": "track", "anonymousId": "dev-1", "event": "Cart Viewed"}]}),
    ):
        response = http.post(
            path,
            content=httpx.Request("POST", "/", json={**body, "writeKey": web_key}).content,
            headers={"Content-Type": "text/plain", "Origin": SHOP},
        )
        assert response.status_code == 200, (path, response.text)
        assert response.headers["access-control-allow-origin"] == SHOP
        assert "Retry-After" in response.headers["access-control-expose-headers"]
    events = timeline(http, token, lookup(http, token, "user_id", "kunde-1")["id"])
    assert sorted(e["type"] for e in events) == ["alias", "identify", "page", "track", "track"]
    assert {e["channel"] for e in events} == {"web"}


def test_a_source_refuses_an_origin_another_source_allows(http: httpx.Client, hub: Hub, web_key: str) -> None:
    _, other = hub.sources.create("app", "app", allowed_origins=["https://app.example.de"])
    response = http.post(
        "/v1/track",
        json={"anonymousId": "a", "event": "X"},
        auth=(other, ""),
        headers={"Origin": SHOP},
    )
    error = assert_error(response, 403, "origin_not_allowed", "Origin")
    assert SHOP in error["message"]
    assert "'app'" in error["message"]
    # the page may read why: the origin is allowed somewhere
    assert response.headers["access-control-allow-origin"] == SHOP


def test_a_server_source_allows_no_browser(http: httpx.Client, hub: Hub, web_key: str) -> None:
    _, erp = hub.sources.create("erp", "erp")
    response = http.post(
        "/v1/track", json={"userId": "u", "event": "X"}, auth=(erp, ""), headers={"Origin": SHOP}
    )
    assert_error(response, 403, "origin_not_allowed", "Origin")
    # without an Origin header (a server) all stays as before
    assert http.post("/v1/track", json={"userId": "u", "event": "X"}, auth=(erp, "")).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html"]
)
def test_a_browser_posting_a_form_content_type_is_refused(
    http: httpx.Client, web_key: str, content_type: str
) -> None:
    response = http.post(
        "/v1/t",
        content=b'{"anonymousId": "a", "event": "X"}',
        auth=(web_key, ""),
        headers={"Content-Type": content_type, "Origin": SHOP},
    )
    assert_error(response, 400, "unsupported_content_type", "Content-Type")


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/p", b"[1, 2]", "invalid_event"),
        ("/v1/t", b"anonymousId=a&event=X", "invalid_json"),
        ("/v1/b", b'{"batch": {"type": "track"}}', "invalid_batch"),
        ("/v1/t", b"", "invalid_json"),
    ],
)
def test_bodies_the_libraries_never_send_are_refused(
    http: httpx.Client, web_key: str, path: str, body: bytes, code: str
) -> None:
    response = http.post(
        path, content=body, auth=(web_key, ""), headers={"Content-Type": "text/plain", "Origin": SHOP}
    )
    assert_error(response, 400, code)
    assert response.headers["access-control-allow-origin"] == SHOP


def test_an_oversize_beacon_is_refused_and_a_small_one_stored(
    http: httpx.Client, web_key: str, token: str
) -> None:
    big = {
        "batch": [{"type": "track", "anonymousId": "b", "event": "X", "properties": {"pad": "x" * 70_000}}]
    }
    response = http.post(
        f"/beacon/v1/batch?writeKey={web_key}",
        content=httpx.Request("POST", "/", json=big).content,
        headers={"Content-Type": "text/plain", "Origin": SHOP},
    )
    assert_error(response, 400, "request_too_large")
    small = {
        "batch": [{"type": "track", "anonymousId": "b", "event": "Left"}],
        "sentAt": "2026-12-01T10:00:00Z",
    }
    response = http.post(
        f"/beacon/v1/batch?writeKey={web_key}",
        content=httpx.Request("POST", "/", json=small).content,
        headers={"Content-Type": "text/plain", "Origin": SHOP},
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


def test_a_flood_from_one_address_gets_429_with_retry_after(
    http: httpx.Client, hub: Hub, web_key: str
) -> None:
    statuses = []
    for n in range(25):
        response = http.post(
            "/v1/t",
            json={"anonymousId": "flood", "event": f"E{n}"},
            auth=(web_key, ""),
            headers={"Origin": SHOP},
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [200] * 20
    assert 429 in statuses[20:]
    limited = response
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    # readable by the library: CORS headers and Retry-After exposed
    assert limited.headers["access-control-allow-origin"] == SHOP
    assert "Retry-After" in limited.headers["access-control-expose-headers"]
    # a server source is not limited per address
    _, erp = hub.sources.create("erp", "erp")
    for n in range(25):
        ok = http.post("/v1/track", json={"userId": "u", "event": f"E{n}"}, auth=(erp, ""))
        assert ok.status_code == 200


def test_a_disabled_source_is_refused_readably(http: httpx.Client, hub: Hub, web_key: str) -> None:
    hub.sources.set_enabled("webshop", False)
    response = http.post(
        "/v1/t", json={"anonymousId": "a", "event": "X"}, auth=(web_key, ""), headers={"Origin": SHOP}
    )
    assert_error(response, 403, "source_disabled")
    # the page may read why its events are refused
    assert response.headers["access-control-allow-origin"] == SHOP


@pytest.mark.parametrize(
    ("policy", "stored"), [("truncate", "203.0.113.0"), ("drop", None), ("keep", "203.0.113.77")]
)
def test_the_ip_address_is_kept_truncated_or_dropped_per_source(
    http: httpx.Client, hub: Hub, web_key: str, token: str, policy: str, stored: str | None
) -> None:
    hub.sources.set_browser("webshop", ip_policy=policy)
    response = http.post(
        "/v1/t",
        json={"userId": f"ip-{policy}", "event": "X", "context": {"ip": "203.0.113.77"}},
        auth=(web_key, ""),
        headers={"Origin": SHOP},
    )
    assert response.status_code == 200, response.text
    event = timeline(http, token, lookup(http, token, "user_id", f"ip-{policy}")["id"])[0]
    assert event["context"].get("ip") == stored


def test_a_public_source_records_the_truncated_client_address(
    http: httpx.Client, web_key: str, token: str
) -> None:
    http.post(
        "/v1/t", json={"userId": "ip-client", "event": "X"}, auth=(web_key, ""), headers={"Origin": SHOP}
    )
    event = timeline(http, token, lookup(http, token, "user_id", "ip-client")["id"])[0]
    assert event["context"]["ip"] == "127.0.0.0"


def test_events_of_a_declined_purpose_are_not_stored(http: httpx.Client, web_key: str, token: str) -> None:
    declined = {"consent": {"categoryPreferences": {"Analytics": False, "Marketing": True}}}
    denied_rudder = {"consentManagement": {"deniedConsentIds": ["analytics"], "allowedConsentIds": []}}
    response = http.post(
        "/v1/batch",
        json={
            "batch": [
                {
                    "type": "identify",
                    "userId": "c-1",
                    "traits": {"email": "c@example.de"},
                    "context": declined,
                },
                {"type": "track", "userId": "c-1", "event": "Product Viewed", "context": declined},
                {"type": "page", "userId": "c-1", "context": denied_rudder},
                {"type": "track", "userId": "c-1", "event": ""},  # invalid: quarantined at its own index
                {"type": "track", "userId": "c-1", "event": "Cart Viewed"},
            ]
        },
        auth=(web_key, ""),
    )
    body = response.json()
    assert (body["accepted"], body["declined"]) == (2, 2), body
    assert [q["index"] for q in body["quarantined"]] == [3]
    events = timeline(http, token, lookup(http, token, "user_id", "c-1")["id"])
    assert sorted((e["type"], e["event"]) for e in events) == [("identify", None), ("track", "Cart Viewed")]
    single = http.post("/v1/p", json={"userId": "c-1", "context": declined}, auth=(web_key, ""))
    assert single.json()["declined"] == 1


def test_the_libraries_settings_come_from_the_hub(
    http: httpx.Client, live_server: LiveServer, web_key: str
) -> None:
    response = http.get(f"/v1/projects/{web_key}/settings", headers={"Origin": SHOP})
    assert response.status_code == 200
    segment = response.json()["integrations"]["Segment.io"]
    assert segment["apiHost"] == f"{live_server.url.split('://')[1]}/v1"
    assert segment["protocol"] == "http"
    assert response.json()["metrics"]["sampleRate"] == 0
    assert response.headers["access-control-allow-origin"] == SHOP
    config = http.get("/sourceConfig/", params={"writeKey": web_key, "p": "npm"}, headers={"Origin": SHOP})
    assert config.status_code == 200
    assert config.json()["source"]["enabled"] is True
    assert config.json()["source"]["destinations"] == []
    assert_error(http.get("/v1/projects/wk_unknown/settings"), 401, "invalid_write_key")


def test_sources_list_their_origins_through_the_api(http: httpx.Client, token: str) -> None:
    made = http.post(
        "/api/sources",
        json={"name": "shop2", "channel": "web", "allowed_origins": ["HTTPS://Shop2.Example.de:443/"]},
        headers=bearer(token),
    )
    assert made.status_code == 201, made.text
    assert made.json()["allowed_origins"] == ["https://shop2.example.de"]
    assert (made.json()["public"], made.json()["ip_policy"]) == (True, "truncate")
    changed = http.patch(
        "/api/sources/shop2",
        json={"allowed_origins": ["http://localhost:3000"], "ip_policy": "drop"},
        headers=bearer(token),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["allowed_origins"] == ["http://localhost:3000"]
    assert changed.json()["ip_policy"] == "drop"
    bad = http.patch(
        "/api/sources/shop2", json={"allowed_origins": ["https://x.de/path"]}, headers=bearer(token)
    )
    assert_error(bad, 400, "invalid_origin", "allowed_origins")
    bad = http.patch("/api/sources/shop2", json={"ip_policy": "hash"}, headers=bearer(token))
    assert_error(bad, 400, "invalid_ip_policy", "ip_policy")


def test_the_console_shows_each_sources_origins_and_ip_policy(
    http: httpx.Client, hub: Hub, live_server: LiveServer, web_key: str
) -> None:
    make_users(hub)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "admin").status_code == 303
        html = client.get("/console/quality", params={"lang": "de"}).text
    row = next(r for r in html.split("<tr>") if "<td>webshop</td>" in r)
    assert f"<code>{SHOP}</code>" in row
    assert "gekürzt" in row
    assert "öffentlich" in row
