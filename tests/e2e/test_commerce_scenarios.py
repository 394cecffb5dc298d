"""The commerce scenarios of the design, end to end over HTTP, on SQLite and PostgreSQL.

2. Click & collect: ordered online for pick-up; the store's stock is reserved, "ready for pick-up" is
   queued for messaging, the till records the hand-over.
3. Reserve online, try and buy in store: the till purchase fulfils the reservation; an unclaimed one
   is reminded of, then expires and frees the stock.
4. Choose in store, order another colour home: the order knows the store it was started in; the
   goods come back in another store and are restocked there.
5. Scan in store: product, price, stock here, nearby and online, suggestions, and the touchpoint.

Time is the hub's FixedClock, moved by the tests, so expiry is decided without waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub, build_hub
from omnikanal.settings import Settings
from tests.commerce_helpers import (
    customer,
    drill,
    get,
    level,
    make_gtin,
    post,
    receive,
    setup_shop,
    track_events,
)
from tests.helpers import assert_error, bearer, parse_time, settle_after_server_error, timeline

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def hub(settings: Settings, clock: FixedClock) -> Iterator[Hub]:
    """The conftest hub, on a clock the test moves."""
    built = build_hub(settings, clock)
    built.start()
    yield built
    built.close()


@pytest.fixture(autouse=True)
def _settle_server_errors(http: httpx.Client) -> None:
    http.event_hooks["response"].append(settle_after_server_error)


@pytest.fixture
def shop_key(make_channel: Any) -> str:
    return str(make_channel("webshop", "web").write_key)


def _order(http: httpx.Client, token: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    return post(http, token, "/api/commerce/orders", body, status)


def _status(http: httpx.Client, token: str, order_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return post(http, token, f"/api/commerce/orders/{order_id}/status", {"status": status, **extra}, 200)


def _commerce_events(http: httpx.Client, token: str, profile_id: str) -> list[dict[str, Any]]:
    """The profile's track events of commerce, oldest first.

    The messages of commerce notifications (Message Sent/Blocked/...) are left out: the notifier and
    the dispatcher run in the background, so whether they are there yet depends on timing.
    """
    return list(
        reversed(
            [
                e
                for e in timeline(http, token, profile_id)
                if e["type"] == "track" and not str(e["event"]).startswith("Message ")
            ]
        )
    )


# -- Scenario 2: click & collect ------------------------------------------------------------------


def test_click_and_collect(
    http: httpx.Client, admin_token: str, shop_key: str, hub: Hub, clock: FixedClock
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 3)
    anna = customer(http, admin_token, shop_key, "c-anna", "anna@example.de")

    body = {
        "id": "web-1001",
        "profile_id": anna,
        "channel": "web",
        "fulfilment": "click_and_collect",
        "fulfilment_location_id": "store-mitte",
        "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
    }
    order = _order(http, admin_token, body)
    assert order["status"] == "placed"
    assert order["total_cents"] == 12990  # the web price
    assert order["lines"][0]["stock_location_id"] == "store-mitte"
    # The store's stock is reserved for the customer.
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE") == {
        "on_hand": 3,
        "reserved": 1,
        "allocated": 0,
        "available": 2,
    }

    # The shop retries the same order: the same answer, and no second reservation.
    again = _order(http, admin_token, body, status=200)
    assert again["id"] == "web-1001"
    assert again["created_at"] == order["created_at"]
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE")["reserved"] == 1

    clock.advance(timedelta(hours=1))
    _status(http, admin_token, "web-1001", "confirmed")
    clock.advance(timedelta(hours=2))
    ready = _status(http, admin_token, "web-1001", "ready_for_pickup")
    assert ready["status"] == "ready_for_pickup"

    # "Ready for pick-up" waits in the outbox for messaging, with the customer and the store.
    pending = get(http, admin_token, "/api/commerce/notifications", status="pending")["notifications"]
    [ready_note] = [n for n in pending if n["kind"] == "order_ready_for_pickup"]
    assert ready_note["profile_id"] == anna
    assert ready_note["order_id"] == "web-1001"
    assert ready_note["payload"]["store_id"] == "store-mitte"
    assert ready_note["payload"]["store_name"] == "Berlin Mitte"

    # The till records the hand-over: the reserved unit leaves the store.
    clock.advance(timedelta(days=1))
    done = _status(http, admin_token, "web-1001", "picked_up")
    assert done["status"] == "picked_up"
    assert [h["to"] for h in done["history"]] == ["placed", "confirmed", "ready_for_pickup", "picked_up"]
    assert done["history"][-1]["channel"] == "store"
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE") == {
        "on_hand": 2,
        "reserved": 0,
        "allocated": 0,
        "available": 2,
    }
    ledger = get(http, admin_token, "/api/commerce/stock/movements", sku="DRILL-18V-BLUE")["movements"]
    assert [m["kind"] for m in reversed(ledger)] == ["receipt", "reservation", "sale"]
    assert {m["reference"] for m in ledger[:2]} == {"web-1001"}

    # A picked-up order cannot be shipped: a clear 409, and the stock stays as it is.
    response = http.post(
        "/api/commerce/orders/web-1001/status", json={"status": "shipped"}, headers=bearer(admin_token)
    )
    error = assert_error(response, 409, "illegal_transition", "status")
    assert "picked_up" in error["message"]
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE")["on_hand"] == 2

    # The timeline tells the story, each step on its channel.
    events = _commerce_events(http, admin_token, anna)
    assert [(e["event"], e["channel"]) for e in events] == [
        ("Order Completed", "web"),
        ("Order Updated", "web"),
        ("Order Ready For Pickup", "store"),
        ("Order Updated", "store"),
    ]
    completed = events[0]["properties"]
    assert completed["order_id"] == "web-1001"
    assert completed["total"] == 129.9
    assert completed["currency"] == "EUR"
    assert completed["fulfilment"] == "click_and_collect"
    assert completed["store_id"] == "store-mitte"
    assert completed["products"] == [
        {
            "product_id": "DRILL-18V",
            "sku": "DRILL-18V-BLUE",
            "name": "Akku-Bohrschrauber 18 V",
            "variant": "blue",
            "price": 129.9,
            "quantity": 1,
        }
    ]
    assert [e["properties"]["status"] for e in events[1:]] == ["confirmed", "ready_for_pickup", "picked_up"]
    assert parse_time(events[-1]["timestamp"]) == START + timedelta(days=1, hours=3)

    # The event-log processor sees these events and records no second order from them.
    hub.runner.run_once()
    orders = get(http, admin_token, "/api/commerce/orders", profile_id=anna)["orders"]
    assert [(o["id"], o["recorded_by"]) for o in orders] == [("web-1001", "commerce")]


# -- Scenario 3: reserve online, try and buy in store ---------------------------------------------


def test_reserve_online_buy_in_store_and_an_unclaimed_reservation_expires(
    http: httpx.Client, admin_token: str, shop_key: str, hub: Hub, clock: FixedClock
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-GREEN", 2)
    ben = customer(http, admin_token, shop_key, "c-ben")
    cleo = customer(http, admin_token, shop_key, "c-cleo")

    reservation = post(
        http,
        admin_token,
        "/api/commerce/reservations",
        {
            "profile_id": ben,
            "location_id": "store-mitte",
            "sku": "DRILL-18V-GREEN",
            "quantity": 1,
            "hold_hours": 24,
            "channel": "app",
        },
    )
    assert reservation["status"] == "active"
    assert parse_time(reservation["expires_at"]) == START + timedelta(hours=24)
    assert level(http, admin_token, "store-mitte", "DRILL-18V-GREEN")["available"] == 1

    # More than is left cannot be reserved; nothing changes.
    response = http.post(
        "/api/commerce/reservations",
        json={"profile_id": cleo, "location_id": "store-mitte", "sku": "DRILL-18V-GREEN", "quantity": 2},
        headers=bearer(admin_token),
    )
    assert_error(response, 409, "insufficient_stock", "quantity")
    assert level(http, admin_token, "store-mitte", "DRILL-18V-GREEN")["reserved"] == 1

    # Ben tries the drill in the store and buys it at the till: the purchase fulfils the reservation.
    clock.advance(timedelta(hours=3))
    sale = _order(
        http,
        admin_token,
        {
            "profile_id": ben,
            "channel": "store",
            "fulfilment": "buy_in_store",
            "fulfilment_location_id": "store-mitte",
            "lines": [{"sku": "DRILL-18V-GREEN", "quantity": 1}],
            "reservation_ids": [reservation["id"]],
        },
    )
    assert sale["status"] == "picked_up"
    assert sale["total_cents"] == 13490  # the store price
    assert sale["lines"][0]["reservation_id"] == reservation["id"]
    fulfilled = get(http, admin_token, f"/api/commerce/reservations/{reservation['id']}")
    assert (fulfilled["status"], fulfilled["order_id"]) == ("fulfilled", sale["id"])
    assert level(http, admin_token, "store-mitte", "DRILL-18V-GREEN") == {
        "on_hand": 1,
        "reserved": 0,
        "allocated": 0,
        "available": 1,
    }

    # Cleo reserves the last one for two hours and does not come.
    second = post(
        http,
        admin_token,
        "/api/commerce/reservations",
        {"profile_id": cleo, "location_id": "store-mitte", "sku": "DRILL-18V-GREEN", "hold_hours": 2},
    )
    assert level(http, admin_token, "store-mitte", "DRILL-18V-GREEN")["available"] == 0
    clock.advance(timedelta(minutes=90))  # within the reminder window (4 h by default)
    hub.commerce.jobs.run_once()
    assert get(http, admin_token, f"/api/commerce/reservations/{second['id']}")["status"] == "active"
    kinds = [
        n["kind"]
        for n in get(http, admin_token, "/api/commerce/notifications", profile_id=cleo)["notifications"]
    ]
    assert kinds == ["reservation_ready", "reservation_expiring"]

    clock.advance(timedelta(minutes=31))
    hub.commerce.jobs.run_once()
    assert get(http, admin_token, f"/api/commerce/reservations/{second['id']}")["status"] == "expired"
    assert level(http, admin_token, "store-mitte", "DRILL-18V-GREEN") == {
        "on_hand": 1,
        "reserved": 0,
        "allocated": 0,
        "available": 1,
    }
    # An expired reservation cannot be cancelled any more; nothing is released twice.
    response = http.post(f"/api/commerce/reservations/{second['id']}/cancel", headers=bearer(admin_token))
    assert_error(response, 409, "reservation_not_active", "status")
    assert level(http, admin_token, "store-mitte", "DRILL-18V-GREEN")["reserved"] == 0

    assert [(e["event"], e["channel"]) for e in _commerce_events(http, admin_token, ben)] == [
        ("Product Reserved", "app"),
        ("Order Completed", "store"),
    ]
    assert [(e["event"], e["channel"]) for e in _commerce_events(http, admin_token, cleo)] == [
        ("Product Reserved", "web"),
        ("Reservation Expired", "store"),
    ]


# -- Scenario 4: choose in store, order another colour at home -------------------------------------


def test_chosen_in_store_delivered_home_and_returned_in_another_store(
    http: httpx.Client, admin_token: str, shop_key: str, clock: FixedClock
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 1)  # on the shelf: blue only
    receive(http, admin_token, "wh-north", "DRILL-18V-GREEN", 5)
    dora = customer(http, admin_token, shop_key, "c-dora")

    scan = get(http, admin_token, "/api/scan", gtin=make_gtin(1), store="store-mitte", profile=dora)
    assert scan["sku"] == "DRILL-18V-BLUE"
    # The green one is not on the shelf here.
    assert scan["other_variants"] == [{"sku": "DRILL-18V-GREEN", "colour": "green", "size": None, "here": 0}]

    # On her phone, in the store, she orders the green one for home delivery.
    clock.advance(timedelta(minutes=5))
    order = _order(
        http,
        admin_token,
        {
            "id": "app-77",
            "profile_id": dora,
            "channel": "app",
            "origin_location_id": "store-mitte",
            "fulfilment": "home_delivery",
            "lines": [{"sku": "DRILL-18V-GREEN", "quantity": 1}],
            "shipping_address": {"street": "Hauptstr. 5", "postal_code": "10827", "city": "Berlin"},
        },
    )
    assert order["origin_location_id"] == "store-mitte"
    assert order["lines"][0]["stock_location_id"] == "wh-north"
    assert level(http, admin_token, "wh-north", "DRILL-18V-GREEN") == {
        "on_hand": 5,
        "reserved": 0,
        "allocated": 1,
        "available": 4,
    }
    # Home delivery never waits for pick-up.
    _status(http, admin_token, "app-77", "confirmed")
    response = http.post(
        "/api/commerce/orders/app-77/status", json={"status": "ready_for_pickup"}, headers=bearer(admin_token)
    )
    assert_error(response, 409, "illegal_transition", "status")
    clock.advance(timedelta(hours=4))
    _status(http, admin_token, "app-77", "shipped")
    assert level(http, admin_token, "wh-north", "DRILL-18V-GREEN")["on_hand"] == 4
    clock.advance(timedelta(days=1))
    _status(http, admin_token, "app-77", "delivered")

    # A week later she brings it back to another store: it is restocked there.
    clock.advance(timedelta(days=7))
    returned = post(
        http,
        admin_token,
        "/api/commerce/orders/app-77/returns",
        {
            "channel": "store",
            "location_id": "store-kreuzberg",
            "condition": "resellable",
            "reason": "colour",
            "lines": [{"sku": "DRILL-18V-GREEN", "quantity": 1}],
        },
    )
    assert returned["refund_cents"] == 12990
    assert returned["order"]["status"] == "returned"
    assert level(http, admin_token, "store-kreuzberg", "DRILL-18V-GREEN")["on_hand"] == 1
    assert level(http, admin_token, "wh-north", "DRILL-18V-GREEN")["on_hand"] == 4
    # Nothing more can come back than was bought.
    response = http.post(
        "/api/commerce/orders/app-77/returns",
        json={
            "channel": "store",
            "location_id": "store-kreuzberg",
            "condition": "resellable",
            "lines": [{"sku": "DRILL-18V-GREEN", "quantity": 1}],
        },
        headers=bearer(admin_token),
    )
    assert_error(response, 409, "illegal_transition", "status")
    assert level(http, admin_token, "store-kreuzberg", "DRILL-18V-GREEN")["on_hand"] == 1

    events = _commerce_events(http, admin_token, dora)
    assert [(e["event"], e["channel"]) for e in events] == [
        ("Product Scanned", "store"),
        ("Order Completed", "app"),
        ("Order Updated", "app"),
        ("Order Updated", "app"),
        ("Order Updated", "app"),
        ("Order Refunded", "store"),
    ]
    assert events[1]["properties"]["origin_store_id"] == "store-mitte"
    assert events[1]["properties"]["fulfilment"] == "home_delivery"
    assert events[-1]["properties"]["store_id"] == "store-kreuzberg"
    assert events[-1]["properties"]["order_channel"] == "app"


# -- Scenario 5: scan in store --------------------------------------------------------------------


def test_scan_in_store(http: httpx.Client, admin_token: str, shop_key: str) -> None:
    bits = {
        "id": "BITS-SET",
        "names": {"de": "Bit-Set 32-teilig", "en": "Bit set, 32 pieces"},
        "variants": [
            {"sku": "BITS-32", "gtin": make_gtin(500), "prices": [{"channel": "store", "amount_cents": 1999}]}
        ],
    }
    gloves = {
        "id": "GLOVES",
        "names": {"de": "Arbeitshandschuhe"},
        "variants": [{"sku": "GLOVES-L", "prices": [{"channel": "store", "amount_cents": 899}]}],
    }
    setup_shop(http, admin_token, [drill(), bits, gloves])
    for location, quantity in [
        ("store-mitte", 2),
        ("store-kreuzberg", 5),
        ("store-potsdam", 1),
        ("store-hamburg", 5),
        ("wh-north", 10),
    ]:
        receive(http, admin_token, location, "DRILL-18V-BLUE", quantity)
    receive(http, admin_token, "store-kreuzberg", "BITS-32", 10)
    receive(http, admin_token, "store-kreuzberg", "GLOVES-L", 10)
    # Past purchases: the drill with bits twice, with gloves once.
    for extra in ("BITS-32", "BITS-32", "GLOVES-L"):
        _order(
            http,
            admin_token,
            {
                "channel": "store",
                "fulfilment": "buy_in_store",
                "fulfilment_location_id": "store-kreuzberg",
                "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}, {"sku": extra, "quantity": 1}],
            },
        )
    emil = customer(http, admin_token, shop_key, "c-emil")

    # The app scans the EAN-13 (written here as GTIN-14 with its leading zero).
    answer = get(http, admin_token, "/api/scan", gtin="0" + make_gtin(1), store="store-mitte", profile=emil)
    assert answer["sku"] == "DRILL-18V-BLUE"
    assert answer["gtin"] == "0" + make_gtin(1)
    assert answer["product"]["names"]["de"] == "Akku-Bohrschrauber 18 V"
    assert answer["price"] == {"amount_cents": 13490, "currency": "EUR", "channel": "store"}
    stock = answer["stock"]
    assert stock["here"] == 2
    assert stock["online"] == 10
    assert [s["store_id"] for s in stock["nearby"]] == ["store-kreuzberg", "store-potsdam", "store-hamburg"]
    # Kreuzberg sold three of its five in the orders above.
    assert [s["available"] for s in stock["nearby"]] == [2, 1, 5]
    kreuzberg, potsdam, hamburg = stock["nearby"]
    assert 2 < kreuzberg["distance_km"] < 3
    assert 20 < potsdam["distance_km"] < 30
    assert 250 < hamburg["distance_km"] < 260
    assert [(s["product_id"], s["bought_together"]) for s in answer["suggestions"]] == [
        ("BITS-SET", 2),
        ("GLOVES", 1),
    ]
    assert answer["recorded"] is True

    # The scan is a touchpoint on Emil's timeline, in the store.
    [scanned] = [e for e in timeline(http, admin_token, emil) if e["event"] == "Product Scanned"]
    assert scanned["channel"] == "store"
    assert scanned["properties"]["sku"] == "DRILL-18V-BLUE"
    assert scanned["properties"]["store_id"] == "store-mitte"
    assert scanned["properties"]["price"] == 134.9

    # Without a customer the answer is the same and nothing is recorded.
    anonymous = get(http, admin_token, "/api/scan", gtin=make_gtin(1), store="store-mitte")
    assert anonymous["recorded"] is False
    assert anonymous["stock"] == stock
    assert track_events(timeline(http, admin_token, emil)).count("Product Scanned") == 1

    # Bad scans get clear answers.
    wrong = make_gtin(1)[:-1] + str((int(make_gtin(1)[-1]) + 1) % 10)
    assert_error(
        http.get("/api/scan", params={"gtin": wrong, "store": "store-mitte"}, headers=bearer(admin_token)),
        400,
        "invalid_check_digit",
        "gtin",
    )
    assert_error(
        http.get(
            "/api/scan", params={"gtin": make_gtin(999), "store": "store-mitte"}, headers=bearer(admin_token)
        ),
        404,
        "product_not_found",
        "gtin",
    )
    assert_error(
        http.get(
            "/api/scan", params={"gtin": make_gtin(1), "store": "store-nowhere"}, headers=bearer(admin_token)
        ),
        404,
        "location_not_found",
        "store",
    )
    assert_error(
        http.get(
            "/api/scan",
            params={"gtin": make_gtin(1), "store": "store-mitte", "profile": "prof_unknown"},
            headers=bearer(admin_token),
        ),
        404,
        "profile_not_found",
        "profile",
    )
