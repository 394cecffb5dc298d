"""The design's scenarios end to end, over HTTP, on SQLite and PostgreSQL.

1. Phone first, PC later: both devices' history lands in one profile; the phone's cart is there.
6. One journey, many touchpoints: one timeline for one customer, each step with its channel.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import (
    bearer,
    iso,
    lookup,
    parse_time,
    profile,
    settle_after_server_error,
    timeline,
    timeline_page,
)

Auth = tuple[str, str]


@pytest.fixture(autouse=True)
def _settle_server_errors(http: httpx.Client) -> None:
    http.event_hooks["response"].append(settle_after_server_error)


def _post(http: httpx.Client, auth: Auth, path: str, body: dict[str, Any], accepted: int = 1) -> None:
    response = http.post(path, json=body, auth=auth)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == accepted, result
    assert result["quarantined"] == [], result


def _key(channel: Any) -> Auth:
    return (channel.write_key, "")


# -- Scenario 1: phone first, PC later -----------------------------------------------------------

DAY = datetime(2024, 6, 1, tzinfo=UTC)


def test_phone_first_pc_later(make_channel, http: httpx.Client, admin_token: str) -> None:
    app_channel = make_channel("app", "app")
    app_source, app = app_channel.source, _key(app_channel)
    shop = _key(make_channel("webshop", "web"))

    # Morning, on the phone, not logged in: browse and start a cart (the app batches its events).
    phone_events = [
        {
            "type": "screen",
            "anonymousId": "phone-xyz",
            "name": "Category Drills",
            "messageId": "p-1",
            "timestamp": iso(DAY + timedelta(hours=8)),
        },
        {
            "type": "track",
            "anonymousId": "phone-xyz",
            "event": "Product Viewed",
            "properties": {"sku": "DRILL-18V", "price": 129.9},
            "messageId": "p-2",
            "timestamp": iso(DAY + timedelta(hours=8, minutes=2)),
        },
        {
            "type": "track",
            "anonymousId": "phone-xyz",
            "event": "Product Added",
            "properties": {"cart_id": "cart-77", "sku": "DRILL-18V", "quantity": 1},
            "messageId": "p-3",
            "timestamp": iso(DAY + timedelta(hours=8, minutes=5)),
        },
    ]
    _post(http, app, "/v1/batch", {"batch": phone_events}, accepted=3)
    phone_profile = lookup(http, admin_token, "anonymous_id", "phone-xyz")["id"]

    # Evening, on the PC: a new anonymous visitor logs in and orders.
    _post(
        http,
        shop,
        "/v1/page",
        {
            "anonymousId": "pc-abc",
            "name": "Home",
            "properties": {"url": "https://shop.example.de/"},
            "messageId": "w-1",
            "timestamp": iso(DAY + timedelta(hours=20)),
        },
    )
    _post(
        http,
        shop,
        "/v1/identify",
        {
            "anonymousId": "pc-abc",
            "userId": "cust-1001",
            "traits": {"email": "Lena.Schmidt@Example.de", "firstName": "Lena"},
            "messageId": "w-2",
            "timestamp": iso(DAY + timedelta(hours=20, minutes=1)),
        },
    )
    _post(
        http,
        shop,
        "/v1/track",
        {
            "anonymousId": "pc-abc",
            "userId": "cust-1001",
            "event": "Order Completed",
            "properties": {
                "order_id": "o-5001",
                "cart_id": "cart-77",
                "revenue": 129.9,
                "products": [{"sku": "DRILL-18V", "quantity": 1}],
            },
            "messageId": "w-3",
            "timestamp": iso(DAY + timedelta(hours=20, minutes=10)),
        },
    )
    pc_profile = lookup(http, admin_token, "user_id", "cust-1001")["id"]
    assert pc_profile != phone_profile  # nothing links the devices yet

    # Next morning the app learns who the phone's user is: the link between the devices.
    _post(
        http,
        app,
        "/v1/identify",
        {
            "anonymousId": "phone-xyz",
            "userId": "cust-1001",
            "messageId": "p-4",
            "timestamp": iso(DAY + timedelta(days=1, hours=7)),
        },
    )

    # One live profile, found by every identifier.
    person = lookup(http, admin_token, "user_id", "cust-1001")
    pid = person["id"]
    assert person["state"] == "live"
    for identifier_type, value in [
        ("anonymous_id", "phone-xyz"),
        ("anonymous_id", "pc-abc"),
        ("email", "lena.schmidt@example.de"),
        ("email", "LENA.SCHMIDT@EXAMPLE.DE"),
    ]:
        found = lookup(http, admin_token, identifier_type, value)
        assert found["id"] == pid, (identifier_type, value)
        assert found["state"] == "live"
    # the profile holding the user id survives; the phone's anonymous profile is merged into it
    assert pid == pc_profile
    gone = phone_profile
    # the merged-away profile answers with the live one and says so
    old = profile(http, admin_token, gone)
    assert (old["id"], old["requested_id"], old["redirected"]) == (pid, gone, True)

    # Both devices' history, newest first, each event with its channel.
    events = timeline(http, admin_token, pid)
    assert [(e["message_id"], e["channel"]) for e in events] == [
        ("p-4", "app"),
        ("w-3", "web"),
        ("w-2", "web"),
        ("w-1", "web"),
        ("p-3", "app"),
        ("p-2", "app"),
        ("p-1", "app"),
    ]
    stamps = [parse_time(e["timestamp"]) for e in events]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]
    assert stamps[-1] == DAY + timedelta(hours=8)
    assert {e["source"]["name"] for e in events} == {"app", "webshop"}

    # The cart started on the phone is in the same timeline as the order placed on the PC.
    [cart] = [e for e in events if e["event"] == "Product Added"]
    [order] = [e for e in events if e["event"] == "Order Completed"]
    assert cart["channel"] == "app"
    assert cart["anonymous_id"] == "phone-xyz"
    assert order["channel"] == "web"
    assert cart["properties"]["cart_id"] == order["properties"]["cart_id"] == "cart-77"

    computed = profile(http, admin_token, pid)["computed"]
    assert computed["channels_used"] == ["app", "web"]
    assert computed["event_counts_per_channel"] == {"app": 4, "web": 3}
    assert computed["event_count"] == 7
    assert parse_time(computed["first_seen"]) == DAY + timedelta(hours=8)
    assert parse_time(computed["last_seen"]) == DAY + timedelta(days=1, hours=7)
    traits = profile(http, admin_token, pid)["traits"]
    assert traits["email"]["value"] == "Lena.Schmidt@Example.de"
    assert traits["email"]["source"]["name"] == "webshop"

    # The merge is on record, with the evidence that caused it.
    response = http.get(f"/api/profiles/{pid}/merges", headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    [merge] = response.json()["merges"]
    assert (merge["profile_id"], merge["merged_id"]) == (pid, gone)
    assert merge["message_id"] == "p-4"
    assert merge["undone_at"] is None
    assert merge["reason"] == "stitch"
    # the identifier on record is one the linking event carried
    assert merge["identifier"] in (
        {"type": "anonymous_id", "value": "phone-xyz"},
        {"type": "user_id", "value": "cust-1001"},
    )
    assert merge["source_id"] == app_source.id


# -- Scenario 6: one journey, many touchpoints ---------------------------------------------------

START = datetime(2024, 9, 2, 7, 30, tzinfo=UTC)


def _at(hours: float) -> str:
    return iso(START + timedelta(hours=hours))


# (message id, event or page name, business channel, hours after START)
JOURNEY = [
    ("j-radio", "Campaign Touched", "other", 0),
    ("j-web-1", "Akku-Bohrschrauber im Test", "web", 2),
    ("j-web-2", "Bohrschrauber vergleichen", "web", 2.5),
    ("j-login", None, "web", 2.6),
    ("j-store", "Advice Given", "store", 26),
    ("j-order", "Order Completed", "web", 30),
    ("j-payment", "Payment Completed", "web", 30),  # same second as the order: the seq breaks the tie
    ("j-sms", "Delivery Status Sent", "sms", 50),
    ("j-complaint", "Complaint Received", "email", 98),
    ("j-tips", "After-Sales Tips Posted", "social", 170),
]


@pytest.fixture
def journey(make_channel, http: httpx.Client) -> str:
    """Send the whole journey through six sources; returns the customer's user id."""
    campaigns = _key(make_channel("campaigns", "other"))
    shop = _key(make_channel("webshop", "web"))
    store = _key(make_channel("store-berlin", "store"))
    sms = _key(make_channel("sms-gateway", "sms"))
    crm = _key(make_channel("crm", "other"))
    social = _key(make_channel("social-care", "social"))

    # A radio ad: the listener texts the campaign number; the campaign tool knows only the phone,
    # in national German notation.
    _post(
        http,
        campaigns,
        "/v1/track",
        {
            "anonymousId": "lead-314",
            "event": "Campaign Touched",
            "properties": {"response": "sms-keyword", "keyword": "BOHREN"},
            "context": {
                "campaign": {"name": "herbst-radio", "source": "radio", "medium": "audio"},
                "traits": {"phone": "0151 23456789"},
            },
            "messageId": "j-radio",
            "timestamp": _at(0),
        },
    )
    # Research on the web, then a login.
    _post(
        http,
        shop,
        "/v1/batch",
        {
            "batch": [
                {
                    "type": "page",
                    "anonymousId": "web-9",
                    "name": "Akku-Bohrschrauber im Test",
                    "properties": {"url": "https://shop.example.de/ratgeber/bohrschrauber"},
                    "context": {"campaign": {"name": "herbst-radio", "source": "radio"}},
                    "messageId": "j-web-1",
                    "timestamp": _at(2),
                },
                {
                    "type": "page",
                    "anonymousId": "web-9",
                    "name": "Bohrschrauber vergleichen",
                    "messageId": "j-web-2",
                    "timestamp": _at(2.5),
                },
                {
                    "type": "identify",
                    "anonymousId": "web-9",
                    "userId": "c-777",
                    "traits": {"email": "Jana.Becker@Example.de", "firstName": "Jana"},
                    "messageId": "j-login",
                    "timestamp": _at(2.6),
                },
            ]
        },
        accepted=3,
    )
    # Advice in the store: the till knows her by the email she gives.
    _post(
        http,
        store,
        "/v1/track",
        {
            "anonymousId": "till-session-55",
            "event": "Advice Given",
            "properties": {"store": "Berlin-Mitte", "advisor": "M. Wolf", "topic": "Akku-Bohrschrauber"},
            "context": {"traits": {"email": "jana.becker@example.de"}},
            "messageId": "j-store",
            "timestamp": _at(26),
        },
    )
    # Purchase and payment online, in the same second.
    for message_id, name, props in [
        ("j-order", "Order Completed", {"order_id": "o-9001", "revenue": 149.0, "currency": "EUR"}),
        ("j-payment", "Payment Completed", {"order_id": "o-9001", "method": "paypal"}),
    ]:
        _post(
            http,
            shop,
            "/v1/track",
            {
                "userId": "c-777",
                "event": name,
                "properties": props,
                "messageId": message_id,
                "timestamp": _at(30),
            },
        )
    # The delivery status by SMS: the gateway knows the phone in E.164.
    _post(
        http,
        sms,
        "/v1/track",
        {
            "userId": "c-777",
            "event": "Delivery Status Sent",
            "properties": {"order_id": "o-9001", "status": "out_for_delivery"},
            "context": {"traits": {"phone": "+4915123456789"}},
            "channel": "server",
            "messageId": "j-sms",
            "timestamp": _at(50),
        },
    )
    # A complaint by email, logged by the CRM, which names the channel per touchpoint.
    _post(
        http,
        crm,
        "/v1/track",
        {
            "userId": "c-777",
            "event": "Complaint Received",
            "properties": {"subject": "Akku lädt nicht", "order_id": "o-9001"},
            "context": {"touchpoint": {"channel": "email"}},
            "channel": "server",
            "messageId": "j-complaint",
            "timestamp": _at(98),
        },
    )
    # After-sales tips on social media.
    _post(
        http,
        social,
        "/v1/track",
        {
            "userId": "c-777",
            "event": "After-Sales Tips Posted",
            "properties": {"network": "instagram", "post": "5 Tipps für den Akku"},
            "messageId": "j-tips",
            "timestamp": _at(170),
        },
    )
    return "c-777"


def test_one_journey_many_touchpoints_is_one_timeline(
    journey: str, http: httpx.Client, admin_token: str
) -> None:
    person = lookup(http, admin_token, "user_id", journey)
    pid = person["id"]
    # every identifier of every touchpoint leads to the same live profile
    for identifier_type, value in [
        ("anonymous_id", "lead-314"),
        ("anonymous_id", "web-9"),
        ("anonymous_id", "till-session-55"),
        ("email", "jana.becker@example.de"),
        ("phone", "+4915123456789"),
        ("phone", "0151 23456789"),
        ("phone", "+49 (0)151 234 567 89"),
    ]:
        assert lookup(http, admin_token, identifier_type, value)["id"] == pid, (identifier_type, value)
    phones = [i["value"] for i in person["identifiers"] if i["type"] == "phone"]
    assert phones == ["+4915123456789"]

    events = timeline(http, admin_token, pid)
    newest_first = list(reversed(JOURNEY))
    # order and payment share a timestamp: the one stored later comes first
    assert [e["message_id"] for e in events] == [m for m, _, _, _ in newest_first]
    for got, (message_id, name, channel, hours) in zip(events, newest_first, strict=True):
        assert got["message_id"] == message_id
        assert got["event"] == name
        assert got["channel"] == channel, (message_id, got["channel"])
        assert parse_time(got["timestamp"]) == START + timedelta(hours=hours)
    by_id = {e["message_id"]: e for e in events}
    assert by_id["j-radio"]["context"]["campaign"]["source"] == "radio"
    assert by_id["j-store"]["properties"]["store"] == "Berlin-Mitte"
    assert by_id["j-store"]["source"]["name"] == "store-berlin"
    # The envelope's channel names the sending library; it never replaces the business channel.
    assert (by_id["j-complaint"]["channel"], by_id["j-complaint"]["lib_channel"]) == ("email", "server")
    assert by_id["j-complaint"]["source"]["name"] == "crm"
    assert (by_id["j-sms"]["channel"], by_id["j-sms"]["lib_channel"]) == ("sms", "server")
    assert by_id["j-tips"]["lib_channel"] is None

    computed = profile(http, admin_token, pid)["computed"]
    assert computed["channels_used"] == ["email", "other", "sms", "social", "store", "web"]
    assert computed["event_counts_per_channel"] == {
        "email": 1,
        "other": 1,
        "sms": 1,
        "social": 1,
        "store": 1,
        "web": 5,
    }
    assert computed["event_count"] == len(JOURNEY)
    assert parse_time(computed["first_seen"]) == START
    assert parse_time(computed["last_seen"]) == START + timedelta(hours=170)


def _page(http: httpx.Client, token: str, pid: str, **params: Any) -> list[str]:
    return [e["message_id"] for e in timeline_page(http, token, pid, **params)["events"]]


def test_the_journey_timeline_filters_by_channel_type_event_and_time(
    journey: str, http: httpx.Client, admin_token: str
) -> None:
    pid = lookup(http, admin_token, "user_id", journey)["id"]
    assert _page(http, admin_token, pid, channel="email") == ["j-complaint"]
    assert _page(http, admin_token, pid, channel="other") == ["j-radio"]
    assert _page(http, admin_token, pid, channel=["sms", "store"]) == ["j-sms", "j-store"]
    assert _page(http, admin_token, pid, channel="pos") == []
    assert _page(http, admin_token, pid, type="page") == ["j-web-2", "j-web-1"]
    assert _page(http, admin_token, pid, type="identify") == ["j-login"]
    assert _page(http, admin_token, pid, type=["identify", "page"]) == ["j-login", "j-web-2", "j-web-1"]
    assert _page(http, admin_token, pid, event="Order Completed") == ["j-order"]
    assert _page(http, admin_token, pid, channel="web", type="track") == ["j-payment", "j-order"]
    # since is inclusive, until exclusive
    assert _page(http, admin_token, pid, since=_at(26), until=_at(50)) == ["j-payment", "j-order", "j-store"]
    assert _page(http, admin_token, pid, since="2024-09-03T09:30:00+00:00", until=_at(98)) == [
        "j-sms",
        "j-payment",
        "j-order",
        "j-store",
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, len(JOURNEY), len(JOURNEY) + 1])
def test_the_journey_timeline_pages_through_every_event_once_in_order(
    journey: str, http: httpx.Client, admin_token: str, limit: int
) -> None:
    pid = lookup(http, admin_token, "user_id", journey)["id"]
    expected = [m for m, _, _, _ in reversed(JOURNEY)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = timeline_page(http, admin_token, pid, **params)
        pages += 1
        assert len(page["events"]) <= limit
        seen.extend(e["message_id"] for e in page["events"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["events"]) == limit  # only a full page has a next one
        assert pages <= len(JOURNEY)
    assert seen == expected
    assert pages == max(1, -(-len(JOURNEY) // limit))


def test_the_journey_timeline_pages_through_a_filter(
    journey: str, http: httpx.Client, admin_token: str
) -> None:
    pid = lookup(http, admin_token, "user_id", journey)["id"]
    first = timeline_page(http, admin_token, pid, channel="web", limit=2)
    assert [e["message_id"] for e in first["events"]] == ["j-payment", "j-order"]
    second = timeline_page(http, admin_token, pid, channel="web", limit=2, cursor=first["next_cursor"])
    assert [e["message_id"] for e in second["events"]] == ["j-login", "j-web-2"]
    third = timeline_page(http, admin_token, pid, channel="web", limit=2, cursor=second["next_cursor"])
    assert [e["message_id"] for e in third["events"]] == ["j-web-1"]
    assert third["next_cursor"] is None
