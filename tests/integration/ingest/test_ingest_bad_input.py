"""Bad input over real HTTP: every mistake gets its clear answer, and good events next to it are kept.

Single-event endpoints (/v1/track, ...) answer an invalid event with a 400 naming the field; a batch
keeps its valid events and lists each invalid one (index, code, field) in ``quarantined``, where
GET /api/quarantine shows it again with its payload and reason. The read API answers in the same
JSON error shape.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from omnikanal.hub import Hub
from omnikanal.profiles.tables import profiles
from tests.helpers import (
    assert_error,
    bearer,
    gzipped,
    lookup,
    lookup_status,
    profile,
    settle_after_server_error,
    timeline,
)

Auth = tuple[str, str]


@pytest.fixture
def shop(make_channel) -> Any:
    return make_channel("webshop", "web")


@pytest.fixture
def auth(shop) -> Auth:
    return (shop.write_key, "")


@pytest.fixture(autouse=True)
def _settle_server_errors(http: httpx.Client) -> None:
    http.event_hooks["response"].append(settle_after_server_error)


def _ok(response: httpx.Response, accepted: int, duplicates: int = 0) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is True
    assert body["accepted"] == accepted, body
    assert body["duplicates"] == duplicates, body
    return body


def _quarantine(http: httpx.Client, token: str, **params: Any) -> list[dict[str, Any]]:
    response = http.get("/api/quarantine", params={"limit": 500, **params}, headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _stored_user(http: httpx.Client, token: str, user_id: str) -> list[dict[str, Any]]:
    return timeline(http, token, lookup(http, token, "user_id", user_id)["id"])


def _assert_no_profile(http: httpx.Client, token: str, user_id: str) -> None:
    assert lookup_status(http, token, "user_id", user_id) == 404


def _profile_count(hub: Hub) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(profiles)).scalar_one())


def _assert_payload_holds(payload: str, sent: dict[str, Any]) -> None:
    """The quarantined payload is the event as sent (the hub may add a generated messageId)."""
    stored = orjson.loads(payload)
    assert {key: stored.get(key) for key in sent} == sent, stored


# -- the body is not what it should be -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/track", "/v1/identify", "/v1/batch"])
@pytest.mark.parametrize(
    "body", [b'{"userId": "u-1", "event": ', b"{'userId': 'u-1'}", b"", b"   ", b"\xff\xfe"], ids=repr
)
def test_malformed_json_is_invalid_json(http: httpx.Client, auth: Auth, path: str, body: bytes) -> None:
    response = http.post(path, content=body, auth=auth, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("body", [[{"userId": "u-1", "event": "A"}], "track", 42, None], ids=repr)
def test_a_single_event_body_must_be_an_object(http: httpx.Client, auth: Auth, body: Any) -> None:
    response = http.post("/v1/track", content=orjson.dumps(body), auth=auth)
    assert_error(response, 400, "invalid_event")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"type": "track", "userId": "u-1", "event": "A"}], None),
        ({"batch": {"type": "track"}}, "batch"),
        ({"batch": "events"}, "batch"),
        ({"events": []}, "batch"),
    ],
    ids=["list", "batch-object", "batch-string", "no-batch"],
)
def test_a_batch_body_must_be_an_object_with_a_batch_array(
    http: httpx.Client, auth: Auth, body: Any, field: str | None
) -> None:
    response = http.post("/v1/batch", content=orjson.dumps(body), auth=auth)
    assert_error(response, 400, "invalid_batch", field)


def test_invalid_gzip_is_refused(http: httpx.Client, auth: Auth) -> None:
    response = http.post(
        "/v1/track",
        content=b"this is not gzip at all",
        auth=auth,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert_error(response, 400, "invalid_gzip")


# -- one event is invalid ------------------------------------------------------------------------

INVALID_EVENTS = [
    pytest.param(
        {"type": "track", "userId": {"id": "u-1"}, "event": "A"}, "invalid_type", "userId", id="userId-object"
    ),
    pytest.param(
        {"type": "track", "anonymousId": ["a-1"], "event": "A"},
        "invalid_type",
        "anonymousId",
        id="anonymousId-list",
    ),
    pytest.param(
        {"type": "track", "userId": "u-1", "event": "A", "properties": [1, 2]},
        "invalid_type",
        "properties",
        id="properties-list",
    ),
    pytest.param(
        {"type": "identify", "userId": "u-1", "traits": "gold"}, "invalid_type", "traits", id="traits-string"
    ),
    pytest.param(
        {"type": "track", "userId": "u-1", "event": "A", "context": 5},
        "invalid_type",
        "context",
        id="context-number",
    ),
    pytest.param(
        {"type": "track", "userId": "u-1", "event": "A", "timestamp": "yesterday at noon"},
        "invalid_timestamp",
        "timestamp",
        id="timestamp-not-iso",
    ),
    pytest.param(
        {"type": "track", "userId": "u-1", "event": "A", "timestamp": 1714989000},
        "invalid_timestamp",
        "timestamp",
        id="timestamp-number",
    ),
    pytest.param(
        {"type": "track", "userId": "u-1", "event": "A", "sentAt": "32.13.2024"},
        "invalid_timestamp",
        "sentAt",
        id="sentAt-not-iso",
    ),
    pytest.param({"type": "track", "event": "A"}, "missing_id", "userId", id="no-ids"),
    pytest.param(
        {"type": "track", "userId": "", "anonymousId": "   ", "event": "A"},
        "missing_id",
        "userId",
        id="blank-ids",
    ),
    pytest.param({"type": "track", "userId": "u-1"}, "missing_field", "event", id="track-without-event"),
    pytest.param(
        {"type": "track", "userId": "u-1", "event": "   "}, "missing_field", "event", id="track-blank-event"
    ),
    pytest.param({"type": "group", "userId": "u-1"}, "missing_field", "groupId", id="group-without-groupId"),
    pytest.param(
        {"type": "alias", "userId": "u-1"}, "missing_field", "previousId", id="alias-without-previousId"
    ),
    pytest.param(
        {"type": "track", "userId": "u-1", "event": "A", "context": {"touchpoint": {"channel": "fax"}}},
        "invalid_channel",
        "context.touchpoint.channel",
        id="unknown-touchpoint-channel",
    ),
]


@pytest.mark.parametrize(("event", "code", "field"), INVALID_EVENTS)
def test_an_invalid_single_event_is_refused_naming_the_field(
    http: httpx.Client, auth: Auth, admin_token: str, event: dict[str, Any], code: str, field: str
) -> None:
    event_type = event["type"]
    response = http.post(f"/v1/{event_type}", json=event, auth=auth)
    assert_error(response, 400, code, field)
    _assert_no_profile(http, admin_token, "u-1")


@pytest.mark.parametrize(("event", "code", "field"), INVALID_EVENTS)
def test_an_invalid_event_in_a_batch_is_quarantined_and_its_neighbours_are_kept(
    http: httpx.Client,
    auth: Auth,
    shop,
    admin_token: str,
    event: dict[str, Any],
    code: str,
    field: str,
) -> None:
    batch = [
        {"type": "track", "userId": "good-1", "event": "Before", "messageId": "m-before"},
        event,
        {"type": "track", "userId": "good-1", "event": "After", "messageId": "m-after"},
    ]
    body = _ok(http.post("/v1/batch", json={"batch": batch}, auth=auth), accepted=2)
    [item] = body["quarantined"]
    assert (item["index"], item["code"], item["field"]) == (1, code, field)
    assert field in item["message"]
    assert sorted(e["message_id"] for e in _stored_user(http, admin_token, "good-1")) == [
        "m-after",
        "m-before",
    ]
    [listed] = _quarantine(http, admin_token, source="webshop")
    assert listed["source_id"] == shop.source.id
    assert (listed["code"], listed["field"], listed["reason"]) == (code, field, item["message"])
    _assert_payload_holds(listed["payload"], event)


@pytest.mark.parametrize("event_type", ["identify", "page", "screen", "group", "alias"])
def test_a_type_other_than_the_endpoints_is_refused(http: httpx.Client, auth: Auth, event_type: str) -> None:
    response = http.post(
        f"/v1/{event_type}", json={"type": "track", "userId": "u-1", "event": "A"}, auth=auth
    )
    assert_error(response, 400, "invalid_type", "type")


@pytest.mark.parametrize("event_type", ["purchase", "Track", "", None, 7])
def test_a_type_not_allowed_in_a_batch_is_quarantined(
    http: httpx.Client, auth: Auth, admin_token: str, event_type: Any
) -> None:
    event: dict[str, Any] = {"userId": "u-1", "event": "A"}
    if event_type is not None:
        event["type"] = event_type
    body = _ok(http.post("/v1/batch", json={"batch": [event]}, auth=auth), accepted=0)
    [item] = body["quarantined"]
    assert (item["index"], item["code"], item["field"]) == (0, "invalid_type", "type")
    for allowed in ("identify", "track", "page", "screen", "group", "alias"):
        assert allowed in item["message"]
    _assert_no_profile(http, admin_token, "u-1")


@pytest.mark.parametrize(
    ("times", "fields"),
    [
        ({"timestamp": "0001-01-01T00:00:00+05:00"}, ("timestamp",)),
        ({"timestamp": "9999-12-31T23:59:59-05:00"}, ("timestamp",)),
        ({"originalTimestamp": "0001-01-01T03:00:00+04:00"}, ("originalTimestamp",)),
        # each time is valid alone; the clock-skew correction between them is not representable
        ({"timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T00:00:00Z"}, ("timestamp", "sentAt")),
    ],
    ids=["year-1-east", "year-9999-west", "original-year-1", "skew-overflow"],
)
def test_a_time_out_of_range_is_invalid_timestamp_and_its_neighbours_are_kept(
    http: httpx.Client, auth: Auth, admin_token: str, times: dict[str, str], fields: tuple[str, ...]
) -> None:
    event = {"type": "track", "userId": "u-time", "event": "A", **times}
    single = http.post("/v1/track", json=event, auth=auth)
    assert single.status_code == 400, single.text
    assert single.json()["error"]["code"] == "invalid_timestamp"
    assert single.json()["error"]["field"] in fields
    batch = [{"type": "track", "userId": "u-fine", "event": "Fine", "messageId": "fine-1"}, event]
    body = _ok(http.post("/v1/batch", json={"batch": batch}, auth=auth), accepted=1)
    [item] = body["quarantined"]
    assert (item["index"], item["code"]) == (1, "invalid_timestamp")
    assert item["field"] in fields
    assert [e["message_id"] for e in _stored_user(http, admin_token, "u-fine")] == ["fine-1"]
    _assert_no_profile(http, admin_token, "u-time")


@pytest.mark.parametrize(
    ("event", "where"),
    [
        ({"userId": "u-nul", "event": "Product\u0000Viewed"}, "event"),
        ({"userId": "u-\u0000nul", "event": "A"}, "userId"),
        ({"userId": "u-nul", "event": "A", "properties": {"note": "a\u0000b"}}, "properties"),
        ({"userId": "u-nul", "event": "A", "properties": {"a\u0000": 1}}, "properties"),
    ],
    ids=["event-name", "user-id", "property-value", "property-key"],
)
def test_a_nul_character_never_breaks_the_request(
    http: httpx.Client, auth: Auth, admin_token: str, event: dict[str, Any], where: str
) -> None:
    # PostgreSQL text and jsonb cannot hold U+0000: such an event must be stored another way or be
    # quarantined naming the field, and must never fail the events sent with it.
    batch = [
        {"type": "track", "userId": "u-fine", "event": "Fine", "messageId": "fine-1"},
        {"type": "track", **event},
    ]
    response = http.post("/v1/batch", json={"batch": batch}, auth=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] + len(body["quarantined"]) == 2, body
    for item in body["quarantined"]:
        assert item["index"] == 1
        assert item["field"] is not None
        assert item["field"].startswith(where), item
    assert [e["message_id"] for e in _stored_user(http, admin_token, "u-fine")] == ["fine-1"]
    single = http.post("/v1/track", json=event, auth=auth)
    assert single.status_code in (200, 400), single.text
    if single.status_code == 400:
        assert single.json()["error"]["field"].startswith(where)


@pytest.mark.parametrize("field", ["userId", "anonymousId", "messageId", "event"])
def test_a_value_over_200_characters_is_too_long(http: httpx.Client, auth: Auth, field: str) -> None:
    event = {"userId": "u-long", "event": "A", field: "x" * 201}
    assert_error(http.post("/v1/track", json=event, auth=auth), 400, "too_long", field)
    event[field] = "x" * 200
    _ok(http.post("/v1/track", json=event, auth=auth), accepted=1)


# -- size limits ---------------------------------------------------------------------------------


def _big_event(user_id: str, size: int, message_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "userId": user_id,
        "event": "Big",
        "properties": {"blob": "x" * size},
    }
    if message_id:
        event["messageId"] = message_id
    return event


def test_an_event_over_32_kb_is_refused(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    event = _big_event("u-big", 33 * 1024)
    event.pop("type")
    error = assert_error(http.post("/v1/track", json=event, auth=auth), 400, "event_too_large")
    assert "32768" in error["message"]
    _assert_no_profile(http, admin_token, "u-big")


def test_an_event_just_under_32_kb_is_accepted(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    event = _big_event("u-fits", 31 * 1024)
    event.pop("type")
    _ok(http.post("/v1/track", json=event, auth=auth), accepted=1)
    [stored] = _stored_user(http, admin_token, "u-fits")
    assert len(stored["properties"]["blob"]) == 31 * 1024


def test_an_event_over_32_kb_in_a_batch_is_quarantined(
    http: httpx.Client, auth: Auth, admin_token: str
) -> None:
    batch = [
        {"type": "track", "userId": "u-small", "event": "Small", "messageId": "small-1"},
        _big_event("u-big", 40 * 1024, "big-1"),
    ]
    body = _ok(http.post("/v1/batch", json={"batch": batch}, auth=auth), accepted=1)
    [item] = body["quarantined"]
    assert (item["index"], item["code"]) == (1, "event_too_large")
    assert [e["message_id"] for e in _stored_user(http, admin_token, "u-small")] == ["small-1"]
    _assert_no_profile(http, admin_token, "u-big")
    [listed] = _quarantine(http, admin_token)
    assert listed["code"] == "event_too_large"
    assert "big-1" in listed["payload"]


def _over_500_kb_batch() -> dict[str, Any]:
    # 20 valid events of 28 KB each: every one fits, together they are over 500 KB.
    return {"batch": [_big_event("u-many", 28 * 1024, f"many-{n}") for n in range(20)]}


def test_a_request_over_500_kb_is_refused(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    body = orjson.dumps(_over_500_kb_batch())
    assert len(body) > 500 * 1024
    response = http.post("/v1/batch", content=body, auth=auth, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "request_too_large")
    _assert_no_profile(http, admin_token, "u-many")


def test_a_request_over_500_kb_without_content_length_is_refused(
    http: httpx.Client, auth: Auth, admin_token: str
) -> None:
    body = orjson.dumps(_over_500_kb_batch())

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    response = http.post(
        "/v1/batch", content=chunks(), auth=auth, headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 400, "request_too_large")
    _assert_no_profile(http, admin_token, "u-many")


def test_gzip_that_expands_over_500_kb_is_refused(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    compressed = gzipped(_over_500_kb_batch())
    assert len(compressed) < 50 * 1024  # small on the wire, large once decompressed
    response = http.post(
        "/v1/batch",
        content=compressed,
        auth=auth,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert_error(response, 400, "request_too_large")
    _assert_no_profile(http, admin_token, "u-many")


def test_gzip_under_the_limit_is_accepted(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    batch = {"batch": [_big_event("u-zip", 20 * 1024, f"zip-{n}") for n in range(10)]}
    response = http.post(
        "/v1/batch",
        content=gzipped(batch),
        auth=auth,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    _ok(response, accepted=10)
    assert len(_stored_user(http, admin_token, "u-zip")) == 10


def test_a_batch_over_2500_events_is_refused(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    batch = [{"type": "track", "userId": "u-flood", "event": "E", "messageId": f"f{n}"} for n in range(2501)]
    body = orjson.dumps({"batch": batch})
    assert len(body) < 500 * 1024  # refused for the count, not the size
    response = http.post("/v1/batch", content=body, auth=auth, headers={"Content-Type": "application/json"})
    error = assert_error(response, 400, "batch_too_large", "batch")
    assert "2500" in error["message"]
    assert "2501" in error["message"]
    _assert_no_profile(http, admin_token, "u-flood")


def test_a_batch_of_exactly_2500_events_is_accepted(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    batch = [{"type": "track", "userId": "u-full", "event": "E", "messageId": f"f{n}"} for n in range(2500)]
    _ok(http.post("/v1/batch", json={"batch": batch}, auth=auth), accepted=2500)
    assert lookup(http, admin_token, "user_id", "u-full")["computed"]["event_count"] == 2500


# -- write keys and sources ----------------------------------------------------------------------

EVENT = {"userId": "u-key", "event": "Product Viewed"}


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_an_unknown_write_key_is_401(http: httpx.Client, shop, admin_token: str, path: str) -> None:
    body = EVENT if path == "/v1/track" else {"batch": [{"type": "track", **EVENT}]}
    response = http.post(path, json=body, auth=("wk_unknown_key", ""))
    assert_error(response, 401, "invalid_write_key")
    _assert_no_profile(http, admin_token, "u-key")


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_no_write_key_is_401(http: httpx.Client, shop, admin_token: str, path: str) -> None:
    body = EVENT if path == "/v1/track" else {"batch": [{"type": "track", **EVENT}]}
    response = http.post(path, json=body)
    error = assert_error(response, 401, "missing_write_key")
    assert "write key" in error["message"]
    # an empty Basic user name is no key either
    assert_error(http.post(path, json=body, auth=("", "secret")), 401, "missing_write_key")
    _assert_no_profile(http, admin_token, "u-key")


def test_a_disabled_source_is_403_until_enabled_again(
    hub: Hub, http: httpx.Client, shop, auth: Auth, admin_token: str
) -> None:
    hub.sources.set_enabled("webshop", False)
    error = assert_error(http.post("/v1/track", json=EVENT, auth=auth), 403, "source_disabled")
    assert "webshop" in error["message"]
    assert_error(
        http.post("/v1/batch", json={"batch": [{"type": "track", **EVENT}]}, auth=auth),
        403,
        "source_disabled",
    )
    _assert_no_profile(http, admin_token, "u-key")
    hub.sources.set_enabled("webshop", True)
    _ok(http.post("/v1/track", json=EVENT, auth=auth), accepted=1)


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_write_key_in_the_body_works_like_basic_auth(
    http: httpx.Client, shop, admin_token: str, path: str
) -> None:
    event = {**EVENT, "messageId": "body-key-1"}
    body = (
        {**event, "writeKey": shop.write_key}
        if path == "/v1/track"
        else {"batch": [{"type": "track", **event}], "writeKey": shop.write_key}
    )
    _ok(http.post(path, json=body), accepted=1)
    [stored] = _stored_user(http, admin_token, "u-key")
    assert stored["source"]["name"] == "webshop"
    assert stored["channel"] == "web"
    assert stored["message_id"] == "body-key-1"


def test_a_rotated_key_replaces_the_old_one(hub: Hub, http: httpx.Client, shop, admin_token: str) -> None:
    _ok(http.post("/v1/track", json={**EVENT, "messageId": "k-1"}, auth=(shop.write_key, "")), accepted=1)
    _, new_key = hub.sources.rotate_key("webshop")
    assert new_key != shop.write_key
    assert_error(
        http.post("/v1/track", json={**EVENT, "messageId": "k-2"}, auth=(shop.write_key, "")),
        401,
        "invalid_write_key",
    )
    assert_error(
        http.post("/v1/track", json={**EVENT, "messageId": "k-2", "writeKey": shop.write_key}),
        401,
        "invalid_write_key",
    )
    _ok(http.post("/v1/track", json={**EVENT, "messageId": "k-3"}, auth=(new_key, "")), accepted=1)
    assert sorted(e["message_id"] for e in _stored_user(http, admin_token, "u-key")) == ["k-1", "k-3"]


# -- duplicates ----------------------------------------------------------------------------------


def test_a_repeated_message_id_is_stored_once(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    event = {"userId": "u-dup", "event": "Order Completed", "messageId": "dup-1", "properties": {"total": 10}}
    _ok(http.post("/v1/track", json=event, auth=auth), accepted=1)
    body = _ok(http.post("/v1/track", json=event, auth=auth), accepted=0, duplicates=1)
    assert body["quarantined"] == []
    # also when it comes back inside a batch, next to a new event
    batch = {"batch": [{"type": "track", **event}, {"type": "track", **event, "messageId": "dup-2"}]}
    _ok(http.post("/v1/batch", json=batch, auth=auth), accepted=1, duplicates=1)
    events = _stored_user(http, admin_token, "u-dup")
    assert sorted(e["message_id"] for e in events) == ["dup-1", "dup-2"]
    assert lookup(http, admin_token, "user_id", "u-dup")["computed"]["event_count"] == 2


def test_a_message_id_twice_in_one_batch_is_stored_once(
    http: httpx.Client, auth: Auth, admin_token: str
) -> None:
    event = {"type": "track", "userId": "u-dup", "event": "Product Viewed", "messageId": "same"}
    _ok(http.post("/v1/batch", json={"batch": [event, event, event]}, auth=auth), accepted=1, duplicates=2)
    assert [e["message_id"] for e in _stored_user(http, admin_token, "u-dup")] == ["same"]


def test_the_same_message_id_from_another_source_is_not_a_duplicate(
    http: httpx.Client, auth: Auth, make_channel, admin_token: str
) -> None:
    app = make_channel("app", "app")
    event = {"userId": "u-dup", "event": "Product Viewed", "messageId": "shared-id"}
    _ok(http.post("/v1/track", json=event, auth=auth), accepted=1)
    _ok(http.post("/v1/track", json=event, auth=(app.write_key, "")), accepted=1)
    channels = sorted(e["channel"] for e in _stored_user(http, admin_token, "u-dup"))
    assert channels == ["app", "web"]


def test_the_same_message_id_sent_concurrently_is_stored_once(
    http: httpx.Client, live_server, auth: Auth, admin_token: str
) -> None:
    # A client retrying after a timeout may send the same event again while the first is being written.
    event = {"userId": "u-race", "event": "Order Completed", "messageId": "race-1"}

    def send(_: int) -> dict[str, Any]:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            response = client.post("/v1/track", json=event, auth=auth)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(16)))
    assert sum(r["accepted"] for r in results) == 1
    assert sum(r["duplicates"] for r in results) == 15
    assert [e["message_id"] for e in _stored_user(http, admin_token, "u-race")] == ["race-1"]


# -- junk identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize("junk", ["null", "undefined", "0", "NULL", " none ", "anonymous", "0000"])
def test_a_junk_user_id_alone_is_no_usable_identifier(
    hub: Hub, http: httpx.Client, auth: Auth, admin_token: str, junk: str
) -> None:
    response = http.post("/v1/track", json={"userId": junk, "event": "Product Viewed"}, auth=auth)
    assert_error(response, 400, "no_usable_identifier", "userId")
    body = _ok(
        http.post("/v1/batch", json={"batch": [{"type": "track", "userId": junk, "event": "A"}]}, auth=auth),
        accepted=0,
    )
    assert [(q["index"], q["code"], q["field"]) for q in body["quarantined"]] == [
        (0, "no_usable_identifier", "userId")
    ]
    # no profile was made for the junk value; the batch's event waits in the quarantine
    assert _profile_count(hub) == 0
    [listed] = _quarantine(http, admin_token)
    assert (listed["code"], listed["field"]) == ("no_usable_identifier", "userId")


def test_a_junk_user_id_next_to_a_real_anonymous_id_is_ignored(
    http: httpx.Client, auth: Auth, admin_token: str
) -> None:
    event = {"userId": "undefined", "anonymousId": "device-7", "event": "Product Viewed"}
    _ok(http.post("/v1/track", json=event, auth=auth), accepted=1)
    person = lookup(http, admin_token, "anonymous_id", "device-7")
    assert [(i["type"], i["value"]) for i in person["identifiers"]] == [("anonymous_id", "device-7")]
    # a second person with the same junk user id stays apart
    other = {"userId": "undefined", "anonymousId": "device-8", "event": "Product Viewed"}
    _ok(http.post("/v1/track", json=other, auth=auth), accepted=1)
    assert lookup(http, admin_token, "anonymous_id", "device-8")["id"] != person["id"]


@pytest.mark.parametrize("email", ["test@test.com", "TEST@test.com ", "noemail@noemail.com", "not-an-email"])
def test_a_junk_email_is_not_attached_but_the_event_is_stored(
    http: httpx.Client, auth: Auth, admin_token: str, email: str
) -> None:
    event = {"userId": "u-junkmail", "traits": {"email": email, "name": "Erika"}, "messageId": "jm-1"}
    _ok(http.post("/v1/identify", json=event, auth=auth), accepted=1)
    person = lookup(http, admin_token, "user_id", "u-junkmail")
    assert [(i["type"], i["value"]) for i in person["identifiers"]] == [("user_id", "u-junkmail")]
    [stored] = timeline(http, admin_token, person["id"])
    assert stored["message_id"] == "jm-1"
    assert stored["traits"]["email"] == email
    # no profile can be found by it: the lookup says it is no usable email, naming the parameter
    error = assert_error(
        http.get(
            "/api/profiles/lookup", params={"type": "email", "value": email}, headers=bearer(admin_token)
        ),
        400,
        "invalid_identifier",
    )
    assert error["field"] == "value"
    assert email in error["message"]
    # an anonymous visitor giving the same junk email is not stitched to the first person
    other = {"anonymousId": "dev-other", "traits": {"email": email}, "messageId": "jm-2"}
    _ok(http.post("/v1/identify", json=other, auth=auth), accepted=1)
    assert lookup(http, admin_token, "anonymous_id", "dev-other")["id"] != person["id"]


# -- a batch of everything -----------------------------------------------------------------------


def test_a_mixed_batch_keeps_the_valid_and_quarantines_each_invalid_one(
    http: httpx.Client, auth: Auth, shop, admin_token: str
) -> None:
    batch: list[Any] = [
        {"type": "identify", "userId": "mix-1", "traits": {"email": "mix@example.de"}, "messageId": "ok-1"},
        {"type": "track", "userId": {"id": 1}, "event": "A", "messageId": "bad-1"},
        {"type": "track", "userId": "mix-1", "event": "Product Viewed", "messageId": "ok-2"},
        {"type": "track", "userId": "mix-1", "event": "A", "properties": ["x"], "messageId": "bad-2"},
        {"type": "track", "userId": "mix-1", "event": "A", "timestamp": "gestern", "messageId": "bad-3"},
        {"type": "track", "event": "A", "messageId": "bad-4"},
        {"type": "track", "userId": "mix-1", "messageId": "bad-5"},
        {"type": "purchase", "userId": "mix-1", "messageId": "bad-6"},
        42,
        {"type": "track", "userId": "null", "event": "A", "messageId": "bad-8"},
        _big_event("mix-1", 33 * 1024, "bad-9"),
        {"type": "page", "anonymousId": "mix-device", "userId": "mix-1", "name": "Home", "messageId": "ok-3"},
    ]
    expected = [
        (1, "invalid_type", "userId"),
        (3, "invalid_type", "properties"),
        (4, "invalid_timestamp", "timestamp"),
        (5, "missing_id", "userId"),
        (6, "missing_field", "event"),
        (7, "invalid_type", "type"),
        (8, "invalid_event", None),
        (9, "no_usable_identifier", "userId"),
        (10, "event_too_large", None),
    ]
    body = _ok(http.post("/v1/batch", json={"batch": batch}, auth=auth), accepted=3)
    got = [(q["index"], q["code"], q["field"]) for q in body["quarantined"]]
    assert got == expected
    for item in body["quarantined"]:
        assert item["message"].strip()
        if item["field"]:
            assert item["field"] in item["message"], item

    events = _stored_user(http, admin_token, "mix-1")
    assert sorted(e["message_id"] for e in events) == ["ok-1", "ok-2", "ok-3"]
    pid = lookup(http, admin_token, "user_id", "mix-1")["id"]
    assert lookup(http, admin_token, "email", "mix@example.de")["id"] == pid
    assert lookup(http, admin_token, "anonymous_id", "mix-device")["id"] == pid
    assert lookup(http, admin_token, "user_id", "mix-1")["computed"]["event_count"] == 3

    listed = _quarantine(http, admin_token, source=shop.source.id)
    assert len(listed) == len(expected)
    by_reason = {(q["code"], q["field"]): q for q in listed}
    messages = {(q["code"], q["field"]): q["message"] for q in body["quarantined"]}
    for index, code, field in expected:
        item = by_reason[(code, field)]
        assert item["source_id"] == shop.source.id
        assert item["reason"] == messages[(code, field)]
        assert item["received_at"]
        if isinstance(batch[index], dict):
            _assert_payload_holds(item["payload"], batch[index])
        else:
            assert orjson.loads(item["payload"]) == batch[index]
    # newest first, and the whole batch's rejections are there in one page
    assert [q["id"] for q in listed] == sorted((q["id"] for q in listed), reverse=True)


# -- the read API --------------------------------------------------------------------------------


@pytest.fixture
def person(http: httpx.Client, auth: Auth, admin_token: str) -> str:
    batch = [
        {"type": "track", "userId": "reader-1", "event": f"E{n}", "timestamp": f"2024-05-0{n + 1}T10:00:00Z"}
        for n in range(3)
    ]
    _ok(http.post("/v1/batch", json={"batch": batch}, auth=auth), accepted=3)
    return str(lookup(http, admin_token, "user_id", "reader-1")["id"])


@pytest.mark.parametrize("path", ["/api/profiles/{}", "/api/profiles/{}/events", "/api/profiles/{}/merges"])
def test_an_unknown_profile_is_404(http: httpx.Client, admin_token: str, path: str) -> None:
    response = http.get(path.format("prof_does_not_exist"), headers=bearer(admin_token))
    error = assert_error(response, 404, "profile_not_found")
    assert "prof_does_not_exist" in error["message"]


def test_an_unknown_identifier_is_404(http: httpx.Client, admin_token: str) -> None:
    response = http.get(
        "/api/profiles/lookup",
        params={"type": "email", "value": "nobody@example.de"},
        headers=bearer(admin_token),
    )
    assert_error(response, 404, "profile_not_found")


@pytest.mark.parametrize(
    "path", ["/api/profiles/{}", "/api/profiles/{}/events", "/api/quarantine", "/api/profiles/lookup"]
)
def test_the_read_api_needs_a_valid_bearer_token(http: httpx.Client, person: str, shop, path: str) -> None:
    url = path.format(person)
    params = {"type": "user_id", "value": "reader-1"} if "lookup" in path else {}
    assert_error(http.get(url, params=params), 401, "missing_token")
    assert_error(http.get(url, params=params, headers=bearer("ok_not_a_token")), 401, "invalid_token")
    # a write key is no API token
    assert_error(http.get(url, params=params, headers=bearer(shop.write_key)), 401, "invalid_token")
    assert_error(http.get(url, params=params, auth=(shop.write_key, "")), 401, "missing_token")


def test_a_revoked_token_is_refused(hub: Hub, http: httpx.Client, person: str) -> None:
    _, secret = hub.tokens.create("temp", "admin")
    assert http.get(f"/api/profiles/{person}", headers=bearer(secret)).status_code == 200
    hub.tokens.revoke("temp")
    assert_error(http.get(f"/api/profiles/{person}", headers=bearer(secret)), 401, "invalid_token")


def test_a_role_without_the_permission_is_403(hub: Hub, http: httpx.Client, person: str) -> None:
    _, store_token = hub.tokens.create("store-berlin", "store", "berlin-1")
    # a store may read profiles ...
    assert http.get(f"/api/profiles/{person}", headers=bearer(store_token)).status_code == 200
    # ... but not the quarantine
    error = assert_error(http.get("/api/quarantine", headers=bearer(store_token)), 403, "forbidden")
    assert "store" in error["message"]
    assert "quarantine:read" in error["message"]


@pytest.mark.parametrize("limit", [501, 0, -1, "ten"])
def test_an_events_limit_out_of_range_is_400_naming_limit(
    http: httpx.Client, admin_token: str, person: str, limit: Any
) -> None:
    response = http.get(
        f"/api/profiles/{person}/events", params={"limit": limit}, headers=bearer(admin_token)
    )
    assert_error(response, 400, "invalid_request", "limit")


def test_the_events_limit_of_500_is_allowed(http: httpx.Client, admin_token: str, person: str) -> None:
    response = http.get(f"/api/profiles/{person}/events", params={"limit": 500}, headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    assert len(response.json()["events"]) == 3


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        _b64("no separator here"),
        _b64("2024-05-01T10:00:00+00:00|not-a-number"),
        _b64("yesterday|5"),
        _b64("2024-05-01T10:00:00|5"),  # no zone
        _b64("2024-05-01T10:00:00+00:00|99999999999999999999999"),  # beyond any sequence number
        base64.urlsafe_b64encode(b"\xff\xfe|1").decode(),
    ],
    ids=[
        "junk",
        "percent",
        "no-separator",
        "seq-not-int",
        "time-not-iso",
        "naive-time",
        "huge-seq",
        "not-utf8",
    ],
)
def test_a_bad_cursor_is_400(http: httpx.Client, admin_token: str, person: str, cursor: str) -> None:
    response = http.get(
        f"/api/profiles/{person}/events", params={"cursor": cursor, "limit": 1}, headers=bearer(admin_token)
    )
    assert_error(response, 400, "invalid_cursor", "cursor")


def test_a_good_cursor_pages_on(http: httpx.Client, admin_token: str, person: str) -> None:
    first = http.get(
        f"/api/profiles/{person}/events", params={"limit": 2}, headers=bearer(admin_token)
    ).json()
    assert [e["event"] for e in first["events"]] == ["E2", "E1"]
    second = http.get(
        f"/api/profiles/{person}/events",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=bearer(admin_token),
    ).json()
    assert [e["event"] for e in second["events"]] == ["E0"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("param", "value", "code"),
    [
        ("channel", "fax", "invalid_channel"),
        ("type", "purchase", "invalid_type"),
        ("since", "gestern", "invalid_request"),
    ],
)
def test_a_bad_timeline_filter_is_400_naming_it(
    http: httpx.Client, admin_token: str, person: str, param: str, value: str, code: str
) -> None:
    response = http.get(f"/api/profiles/{person}/events", params={param: value}, headers=bearer(admin_token))
    assert_error(response, 400, code, param)


def test_an_unknown_path_is_a_json_404(http: httpx.Client) -> None:
    assert_error(http.get("/api/nothing-here"), 404, "not_found")


def test_profile_traits_survive_a_rejected_sibling(http: httpx.Client, auth: Auth, admin_token: str) -> None:
    # A quarantined event must not leave any trace on the profile it would have touched.
    batch = [
        {
            "type": "identify",
            "userId": "u-t",
            "traits": {"plan": "gold"},
            "timestamp": "2024-05-01T10:00:00Z",
        },
        {"type": "identify", "userId": "u-t", "traits": {"plan": "basic"}, "timestamp": "kaputt"},
    ]
    _ok(http.post("/v1/batch", json={"batch": batch}, auth=auth), accepted=1)
    person = lookup(http, admin_token, "user_id", "u-t")
    assert profile(http, admin_token, person["id"])["traits"]["plan"]["value"] == "gold"
    assert person["computed"]["event_count"] == 1
