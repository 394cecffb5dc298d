"""No overselling under concurrency, on SQLite and PostgreSQL, with real threads and no mocks.

The rule lives in one conditional UPDATE per stock row (commerce/stock_store.py); these tests race
many writers for the last units and count what came out.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from omnikanal.commerce.model import OrderIn, OrderLineIn, ReservationIn
from omnikanal.errors import Conflict
from omnikanal.hub import Hub
from tests.commerce_helpers import customer, get, level, receive, service_customer, setup_shop
from tests.helpers import bearer


def test_200_parallel_reservations_for_the_last_10_units_give_exactly_10(
    http: httpx.Client, admin_token: str, make_channel: Any, live_server: Any
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 10)
    key = make_channel("webshop", "web").write_key
    buyers = [customer(http, admin_token, key, f"racer-{i}") for i in range(20)]
    start = threading.Barrier(32)

    def reserve(n: int) -> int:
        if n < 32:
            start.wait()  # the first wave leaves together
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            response = client.post(
                "/api/commerce/reservations",
                json={
                    "profile_id": buyers[n % len(buyers)],
                    "location_id": "store-mitte",
                    "sku": "DRILL-18V-BLUE",
                    "quantity": 1,
                },
                headers=bearer(admin_token),
            )
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "insufficient_stock", response.text
        return response.status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(reserve, range(200)))

    assert statuses.count(201) == 10, sorted(set(statuses))
    assert statuses.count(409) == 190
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE") == {
        "on_hand": 10,
        "reserved": 10,
        "allocated": 0,
        "available": 0,
    }
    ledger = get(http, admin_token, "/api/commerce/stock/movements", sku="DRILL-18V-BLUE", limit=500)
    assert sorted(m["kind"] for m in ledger["movements"]) == ["receipt"] + ["reservation"] * 10


def test_reservations_orders_and_till_sales_racing_for_5_units_never_oversell(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 5)
    buyer = service_customer(hub, "racer")
    commerce = hub.commerce

    def attempt(n: int) -> str:
        try:
            if n % 3 == 0:
                commerce.reservations.create(
                    ReservationIn(profile_id=buyer, location_id="store-mitte", sku="DRILL-18V-BLUE"), "test"
                )
            elif n % 3 == 1:
                commerce.orders.place(
                    OrderIn(
                        profile_id=buyer,
                        channel="web",
                        fulfilment="click_and_collect",
                        fulfilment_location_id="store-mitte",
                        lines=[OrderLineIn(sku="DRILL-18V-BLUE", quantity=1)],
                    ),
                    "test",
                )
            else:
                commerce.orders.place(
                    OrderIn(
                        channel="store",
                        fulfilment="buy_in_store",
                        fulfilment_location_id="store-mitte",
                        lines=[OrderLineIn(sku="DRILL-18V-BLUE", quantity=1)],
                    ),
                    "test",
                )
        except Conflict as exc:
            return exc.code
        return "ok"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(90)))

    assert outcomes.count("ok") == 5
    assert outcomes.count("insufficient_stock") == 85
    stock = level(http, admin_token, "store-mitte", "DRILL-18V-BLUE")
    assert stock["available"] == 0
    # Sold units left the shelf; the rest are held for customers: together the 5 there were.
    assert (5 - stock["on_hand"]) + stock["reserved"] == 5


def test_a_shop_retrying_one_order_in_parallel_records_it_once(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "wh-north", "DRILL-18V-GREEN", 3)
    buyer = service_customer(hub, "retrier")
    body = OrderIn(
        id="shop-retry-1",
        profile_id=buyer,
        channel="web",
        fulfilment="home_delivery",
        lines=[OrderLineIn(sku="DRILL-18V-GREEN", quantity=1)],
    )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: hub.commerce.orders.place(body, "shop"), range(8)))

    assert sum(created for _, created in results) == 1
    assert {order["id"] for order, _ in results} == {"shop-retry-1"}
    assert level(http, admin_token, "wh-north", "DRILL-18V-GREEN")["allocated"] == 1
