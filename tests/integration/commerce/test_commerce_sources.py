"""One source per fact: shops' e-commerce events record orders through the event log, the commerce
API's own events never do, and no order is recorded twice. Also carts across devices, exports and
the person's commerce data for the privacy capability. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from omnikanal.commerce.tables import commerce_order_lines
from omnikanal.db.engine import read_tx, write_tx
from omnikanal.eventlog.service import START
from omnikanal.hub import Hub
from tests.commerce_helpers import customer, get, level, post, put, receive, setup_shop
from tests.helpers import bearer, lookup, timeline


def _track(http: httpx.Client, key: str, body: dict[str, Any]) -> None:
    response = http.post("/v1/track", json=body, auth=(key, ""))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] + response.json()["duplicates"] == 1, response.text


def _process(hub: Hub) -> None:
    """Run the event-log processors until the commerce processor has passed every stored event.

    On PostgreSQL the log hands out only events below the oldest running transaction, so one pass
    may stop short while another transaction (the background runner's, say) is still open.
    """
    deadline = time.monotonic() + 30
    while True:
        hub.runner.run_once()
        behind = hub.eventlog.behind("commerce.shop-events")
        if not behind:
            return
        assert time.monotonic() < deadline, f"{behind} events still unprocessed"
        time.sleep(0.05)


def test_shop_order_events_record_orders_once_and_never_beside_the_commerce_api(
    hub: Hub, http: httpx.Client, admin_token: str, make_channel: Any
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "wh-north", "DRILL-18V-BLUE", 5)
    key = make_channel("webshop", "web").write_key
    completed = {
        "userId": "u-shop",
        "event": "Order Completed",
        "messageId": "m-1",
        "properties": {
            "order_id": "shop-500",
            "total": 259.8,
            "currency": "EUR",
            "products": [
                {"sku": "DRILL-18V-BLUE", "price": 129.9, "quantity": 2},
                {"sku": "GIFT-WRAP", "price": 0},
            ],
        },
    }
    _track(http, key, completed)
    _track(http, key, completed)  # a retry with the same messageId: a duplicate for ingest
    _track(http, key, {**completed, "messageId": "m-2"})  # the same order again under a new messageId
    _process(hub)
    pid = lookup(http, admin_token, "user_id", "u-shop")["id"]

    order = get(http, admin_token, "/api/commerce/orders/shop-500")
    assert (order["recorded_by"], order["status"], order["channel"], order["profile_id"]) == (
        "ingest",
        "placed",
        "web",
        pid,
    )
    assert order["total_cents"] == 25980
    assert [(x["sku"], x["quantity"], x["unit_price_cents"]) for x in order["lines"]] == [
        ("DRILL-18V-BLUE", 2, 12990),
        ("GIFT-WRAP", 1, 0),
    ]
    # The shop fulfils its own orders: the hub's stock is not touched by them.
    assert level(http, admin_token, "wh-north", "DRILL-18V-BLUE")["allocated"] == 0

    # The commerce API asked to record the same order answers with the shop's record, changes nothing.
    again = http.post(
        "/api/commerce/orders",
        json={
            "id": "shop-500",
            "profile_id": pid,
            "channel": "web",
            "fulfilment": "home_delivery",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 2}, {"sku": "GIFT-WRAP", "quantity": 1}],
        },
        headers=bearer(admin_token),
    )
    assert again.status_code == 200, again.text
    assert again.json()["recorded_by"] == "ingest"
    assert level(http, admin_token, "wh-north", "DRILL-18V-BLUE")["allocated"] == 0

    _track(
        http,
        key,
        {
            "userId": "u-shop",
            "event": "Order Cancelled",
            "messageId": "m-3",
            "properties": {"order_id": "shop-500"},
        },
    )
    _process(hub)
    cancelled = get(http, admin_token, "/api/commerce/orders/shop-500")
    assert [h["to"] for h in cancelled["history"]] == ["placed", "cancelled"]

    # An order recorded by the commerce API: its own events are skipped, and a shop event for the same
    # order id does not make a second record or change it.
    post(
        http,
        admin_token,
        "/api/commerce/orders",
        {
            "id": "api-1",
            "profile_id": pid,
            "channel": "web",
            "fulfilment": "home_delivery",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
        },
    )
    _track(
        http,
        key,
        {
            "userId": "u-shop",
            "event": "Order Completed",
            "messageId": "m-4",
            "properties": {"order_id": "api-1", "total": 999},
        },
    )
    _track(
        http,
        key,
        {
            "userId": "u-shop",
            "event": "Order Cancelled",
            "messageId": "m-5",
            "properties": {"order_id": "api-1"},
        },
    )
    _process(hub)
    api_order = get(http, admin_token, "/api/commerce/orders/api-1")
    assert (api_order["recorded_by"], api_order["status"], api_order["total_cents"]) == (
        "commerce",
        "placed",
        12990,
    )
    orders = get(http, admin_token, "/api/commerce/orders", profile_id=pid)["orders"]
    assert sorted(o["id"] for o in orders) == ["api-1", "shop-500"]
    # The commerce API's event is marked as its own on the timeline.
    [own] = [
        e
        for e in timeline(http, admin_token, pid)
        if e["properties"].get("order_id") == "api-1"
        and e["event"] == "Order Completed"
        and e["source"]["name"] == "omnikanal-commerce"
    ]
    assert own["context"]["omnikanal"] == {"origin": "commerce"}

    # Malformed shop events are skipped without stopping the processor.
    for i, properties in enumerate(
        [
            {"order_id": None},
            {"order_id": "x" * 300},
            {
                "order_id": "bad",
                "total": "lots",
                "products": [{"sku": None}, "junk", {"sku": "Q", "quantity": -1}],
            },
        ]
    ):
        _track(
            http,
            key,
            {
                "userId": "u-shop",
                "event": "Order Completed",
                "messageId": f"bad-{i}",
                "properties": properties,
            },
        )
    _process(hub)
    bad = get(http, admin_token, "/api/commerce/orders/bad")
    assert (bad["total_cents"], bad["lines"]) == (0, [])
    # the bad events did not stop the processor: its cursor is past them
    assert hub.eventlog.position("commerce.shop-events") != START
    assert hub.eventlog.behind("commerce.shop-events") == 0


def test_the_phone_cart_is_on_the_pc_once_the_profiles_merge(
    hub: Hub, http: httpx.Client, admin_token: str, make_channel: Any
) -> None:
    setup_shop(http, admin_token)
    app_key = make_channel("app", "app").write_key
    web_key = make_channel("webshop", "web").write_key
    _track(
        http,
        app_key,
        {
            "anonymousId": "phone-1",
            "event": "Product Added",
            "messageId": "a-1",
            "properties": {"sku": "DRILL-18V-BLUE", "quantity": 1},
        },
    )
    _track(
        http,
        app_key,
        {
            "anonymousId": "phone-1",
            "event": "Product Added",
            "messageId": "a-2",
            "properties": {"sku": "DRILL-18V-BLUE"},
        },
    )
    _process(hub)
    phone = lookup(http, admin_token, "anonymous_id", "phone-1")["id"]
    assert [
        (i["sku"], i["quantity"]) for i in get(http, admin_token, f"/api/commerce/carts/{phone}")["items"]
    ] == [("DRILL-18V-BLUE", 2)]
    pc = customer(http, admin_token, web_key, "u-9")
    put(http, admin_token, f"/api/commerce/carts/{pc}/items", {"sku": "DRILL-18V-GREEN", "quantity": 1})

    # She logs in on the phone: the two profiles merge, and so do the carts.
    response = http.post("/v1/identify", json={"userId": "u-9", "anonymousId": "phone-1"}, auth=(app_key, ""))
    assert response.status_code == 200, response.text
    live = lookup(http, admin_token, "user_id", "u-9")["id"]
    for asked in (phone, pc, live):
        cart = get(http, admin_token, f"/api/commerce/carts/{asked}")
        assert cart["profile_id"] == live
        assert [(i["sku"], i["quantity"]) for i in cart["items"]] == [
            ("DRILL-18V-BLUE", 2),
            ("DRILL-18V-GREEN", 1),
        ]
    assert cart["items"][0]["unit_price_cents"] == 12990
    # A change on the PC folds the phone's items into the one cart.
    changed = put(
        http, admin_token, f"/api/commerce/carts/{live}/items", {"sku": "DRILL-18V-BLUE", "quantity": 1}
    )
    assert [(i["sku"], i["quantity"]) for i in changed["items"]] == [
        ("DRILL-18V-BLUE", 1),
        ("DRILL-18V-GREEN", 1),
    ]
    removed = put(
        http, admin_token, f"/api/commerce/carts/{phone}/items", {"sku": "DRILL-18V-GREEN", "quantity": 0}
    )
    assert [i["sku"] for i in removed["items"]] == ["DRILL-18V-BLUE"]
    _track(
        http,
        app_key,
        {
            "anonymousId": "phone-1",
            "event": "Product Removed",
            "messageId": "a-3",
            "properties": {"sku": "DRILL-18V-BLUE", "quantity": 1},
        },
    )
    _process(hub)
    assert get(http, admin_token, f"/api/commerce/carts/{live}")["items"] == []


def test_exports_of_orders_and_stock(http: httpx.Client, admin_token: str, make_channel: Any) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 3)
    receive(http, admin_token, "wh-north", "DRILL-18V-GREEN", 1)
    pid = customer(http, admin_token, make_channel("webshop", "web").write_key, "u-x")
    for n in range(3):
        post(
            http,
            admin_token,
            "/api/commerce/orders",
            {
                "id": f"o-{n}",
                "profile_id": pid,
                "channel": "web",
                "fulfilment": "click_and_collect",
                "fulfilment_location_id": "store-mitte",
                "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
            },
        )
    response = http.get("/api/commerce/export/orders.jsonl", headers=bearer(admin_token))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    orders = [orjson.loads(line) for line in response.text.splitlines()]
    assert [(o["id"], o["lines"][0]["sku"]) for o in orders] == [
        (f"o-{n}", "DRILL-18V-BLUE") for n in range(3)
    ]

    response = http.get("/api/commerce/export/stock.csv", headers=bearer(admin_token))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {(r["sku"], r["location_id"], r["on_hand"], r["reserved"], r["available"]) for r in rows} == {
        ("DRILL-18V-BLUE", "store-mitte", "3", "3", "0"),
        ("DRILL-18V-GREEN", "wh-north", "1", "0", "1"),
    }


def test_personal_data_export_and_erasure(
    hub: Hub, http: httpx.Client, admin_token: str, make_channel: Any
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 3)
    key = make_channel("webshop", "web").write_key
    pid = customer(http, admin_token, key, "u-erase")
    other = customer(http, admin_token, key, "u-stays")
    order = post(
        http,
        admin_token,
        "/api/commerce/orders",
        {
            "profile_id": pid,
            "channel": "store",
            "fulfilment": "buy_in_store",
            "fulfilment_location_id": "store-mitte",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
            "shipping_address": {"street": "Geheimweg 1"},
        },
    )
    post(
        http,
        admin_token,
        f"/api/commerce/orders/{order['id']}/returns",
        {
            "channel": "store",
            "location_id": "store-mitte",
            "condition": "resellable",
            "reason": "my reason",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
        },
    )
    post(
        http,
        admin_token,
        "/api/commerce/reservations",
        {"profile_id": pid, "location_id": "store-mitte", "sku": "DRILL-18V-BLUE"},
    )
    post(
        http,
        admin_token,
        "/api/commerce/reservations",
        {"profile_id": other, "location_id": "store-mitte", "sku": "DRILL-18V-BLUE"},
    )
    put(http, admin_token, f"/api/commerce/carts/{pid}/items", {"sku": "DRILL-18V-GREEN", "quantity": 1})
    get(http, admin_token, "/api/scan", gtin="4006380000018", store="store-mitte", profile=pid)

    personal = hub.commerce.personal_data
    assert personal.name == "commerce"
    with read_tx(hub.engine) as conn:
        exported = personal.export(conn, [pid])
    orjson.dumps(exported)  # JSON-able
    assert [o["id"] for o in exported["orders"]] == [order["id"]]
    assert exported["orders"][0]["shipping_address"] == {"street": "Geheimweg 1"}
    assert [r["reason"] for r in exported["returns"]] == ["my reason"]
    assert len(exported["reservations"]) == 1
    assert [c["sku"] for c in exported["cart_items"]] == ["DRILL-18V-GREEN"]
    assert len(exported["scans"]) == 1
    assert {n["kind"] for n in exported["notifications"]} == {"reservation_ready"}

    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE")["reserved"] == 2
    with write_tx(hub.engine) as conn:
        erased = personal.erase(conn, [pid])
    assert erased >= 7
    # Her active reservation let go of its unit; the other customer's still holds one.
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE")["reserved"] == 1
    ledger = get(http, admin_token, "/api/commerce/stock/movements", sku="DRILL-18V-BLUE")["movements"]
    assert (ledger[0]["kind"], ledger[0]["note"]) == ("release", "erasure of the customer")
    with read_tx(hub.engine) as conn:
        after = personal.export(conn, [pid])
        assert all(not rows for rows in after.values())
        assert len(personal.export(conn, [other])["reservations"]) == 1
    # The order stays for the books, without the person.
    kept = get(http, admin_token, f"/api/commerce/orders/{order['id']}")
    assert (kept["profile_id"], kept["shipping_address"], kept["status"]) == (None, None, "returned")


def test_store_staff_list_the_reservations_to_set_aside(
    hub: Hub, http: httpx.Client, admin_token: str, make_channel: Any
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 5)
    receive(http, admin_token, "store-kreuzberg", "DRILL-18V-BLUE", 5)
    key = make_channel("webshop", "web").write_key
    anna, ben = (customer(http, admin_token, key, u) for u in ("u-a", "u-b"))
    made = [
        post(
            http,
            admin_token,
            "/api/commerce/reservations",
            {"profile_id": who, "location_id": where, "sku": "DRILL-18V-BLUE", "hold_hours": hours},
        )
        for who, where, hours in (
            (anna, "store-mitte", 48),
            (ben, "store-mitte", 2),
            (ben, "store-kreuzberg", 5),
        )
    ]
    post(http, admin_token, f"/api/commerce/reservations/{made[0]['id']}/cancel", {}, 200)
    mitte = get(http, admin_token, "/api/commerce/reservations", location_id="store-mitte", status="active")
    assert [r["id"] for r in mitte["reservations"]] == [made[1]["id"]]
    bens = get(http, admin_token, "/api/commerce/reservations", profile_id=ben)["reservations"]
    assert [r["id"] for r in bens] == [made[1]["id"], made[2]["id"]]  # soonest end first
    response = http.get("/api/commerce/reservations", params={"status": "gone"}, headers=bearer(admin_token))
    assert response.status_code == 400


def test_the_openapi_document_describes_commerce(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    for path in (
        "/api/scan",
        "/api/commerce/products/{product_id}",
        "/api/commerce/catalogue/import",
        "/api/commerce/locations/{location_id}",
        "/api/commerce/stock",
        "/api/commerce/stock/movements",
        "/api/commerce/reservations",
        "/api/commerce/orders",
        "/api/commerce/orders/{order_id}/status",
        "/api/commerce/orders/{order_id}/returns",
        "/api/commerce/carts/{profile_id}",
        "/api/commerce/notifications",
        "/api/commerce/export/orders.jsonl",
        "/api/commerce/export/stock.csv",
    ):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    for model in (
        "ProductIn",
        "VariantIn",
        "LocationIn",
        "OrderIn",
        "ReservationIn",
        "ReturnIn",
        "StatusChange",
    ):
        assert model in schemas, model
    body = doc["paths"]["/api/commerce/orders"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert body["$ref"] == "#/components/schemas/OrderIn"
    assert "text/csv" in doc["paths"]["/api/commerce/catalogue/import"]["post"]["requestBody"]["content"]


def test_cart_events_of_one_batch_apply_in_order(
    http: httpx.Client, admin_token: str, make_channel: Any, hub: Hub
) -> None:
    """The processor applies a round's cart events together, with the result of one at a time: a
    removal from an empty cart leaves nothing to take from a later add, and a line taken below zero
    is gone before the next add starts it again."""
    setup_shop(http, admin_token)
    key = make_channel("app", "app").write_key

    def cart_event(n: int, who: str, name: str, sku: str, quantity: int) -> dict[str, Any]:
        return {
            "type": "track",
            "anonymousId": who,
            "event": name,
            "messageId": f"cart-{n}",
            "properties": {"sku": sku, "quantity": quantity},
        }

    batch = [
        cart_event(1, "p-1", "Product Removed", "DRILL-18V-BLUE", 1),
        cart_event(2, "p-1", "Product Added", "DRILL-18V-BLUE", 1),
        cart_event(3, "p-2", "Product Added", "DRILL-18V-GREEN", 2),
        cart_event(4, "p-2", "Product Removed", "DRILL-18V-GREEN", 5),
        cart_event(5, "p-2", "Product Added", "DRILL-18V-GREEN", 1),
        cart_event(6, "p-2", "Product Added", "DRILL-18V-BLUE", 3),
        cart_event(7, "p-2", "Product Removed", "DRILL-18V-BLUE", 3),
    ]
    response = http.post("/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(batch)
    _process(hub)

    def items(who: str) -> list[tuple[str, int]]:
        pid = lookup(http, admin_token, "anonymous_id", who)["id"]
        cart = get(http, admin_token, f"/api/commerce/carts/{pid}")
        return [(i["sku"], i["quantity"]) for i in cart["items"]]

    assert items("p-1") == [("DRILL-18V-BLUE", 1)]
    assert items("p-2") == [("DRILL-18V-GREEN", 1)]


def test_order_events_of_one_batch_apply_in_order(
    http: httpx.Client, admin_token: str, make_channel: Any, hub: Hub
) -> None:
    """The processor records a round's order events together, with the result of one at a time: an
    order made and moved in the same round ends where the last allowed event put it, a change it
    cannot make is left out of its history, and the same order completed twice is recorded once."""
    setup_shop(http, admin_token)
    key = make_channel("webshop", "web").write_key

    def order_event(n: int, name: str, order_id: str, **properties: Any) -> dict[str, Any]:
        return {
            "type": "track",
            "userId": f"u-batch-{order_id}",
            "event": name,
            "messageId": f"ord-{n}",
            "properties": {"order_id": order_id, **properties},
        }

    line = {"sku": "DRILL-18V-BLUE", "price": 10, "quantity": 1}
    batch = [
        order_event(1, "Order Completed", "b-1", products=[line]),
        order_event(2, "Order Updated", "b-1", status="confirmed"),
        order_event(3, "Order Updated", "b-1", status="picked_up"),  # not allowed from confirmed
        order_event(4, "Order Cancelled", "b-1"),
        order_event(5, "Order Completed", "b-2", total=5),
        order_event(6, "Order Completed", "b-2", total=7),  # the same order again: the first stands
        order_event(7, "Order Cancelled", "b-3"),  # no such order: nothing is made
        order_event(8, "Order Completed", "b-4"),
    ]
    response = http.post("/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(batch)
    _process(hub)

    first = get(http, admin_token, "/api/commerce/orders/b-1")
    assert first["status"] == "cancelled"
    assert [(h["from"], h["to"]) for h in first["history"]] == [
        (None, "placed"),
        ("placed", "confirmed"),
        ("confirmed", "cancelled"),
    ]
    assert [(x["sku"], x["unit_price_cents"]) for x in first["lines"]] == [("DRILL-18V-BLUE", 1000)]
    with read_tx(hub.engine) as conn:
        variant = conn.execute(
            select(commerce_order_lines.c.variant_id).where(commerce_order_lines.c.order_id == "b-1")
        ).scalar_one()
    assert variant is not None  # the line is tied to the catalogue's variant of its sku
    assert first["profile_id"] == lookup(http, admin_token, "user_id", "u-batch-b-1")["id"]
    second = get(http, admin_token, "/api/commerce/orders/b-2")
    assert (second["status"], second["total_cents"], len(second["history"])) == ("placed", 500, 1)
    assert http.get("/api/commerce/orders/b-3", headers=bearer(admin_token)).status_code == 404
    assert get(http, admin_token, "/api/commerce/orders/b-4")["status"] == "placed"


def test_a_tills_order_completed_is_a_completed_sale_in_its_store(
    hub: Hub, http: httpx.Client, admin_token: str, make_channel: Any
) -> None:
    setup_shop(http, admin_token)
    till = make_channel("till-mitte", "pos").write_key
    _track(
        http,
        till,
        {
            "userId": "u-till",
            "event": "Order Completed",
            "messageId": "till-1",
            "properties": {
                "order_id": "S-1",
                "revenue": 129.9,
                "store": "store-mitte",
                "products": [{"sku": "DRILL-18V-BLUE", "price": 129.9, "quantity": 1}],
            },
        },
    )
    _process(hub)
    order = get(http, admin_token, "/api/commerce/orders/S-1")
    assert (order["channel"], order["fulfilment"], order["fulfilment_location_id"], order["status"]) == (
        "store",
        "buy_in_store",
        "store-mitte",
        "picked_up",
    )
    # Goods of a counter sale can come back: the order takes the refund.
    _track(
        http,
        till,
        {
            "userId": "u-till",
            "event": "Order Refunded",
            "messageId": "till-2",
            "properties": {"order_id": "S-1"},
        },
    )
    _process(hub)
    assert get(http, admin_token, "/api/commerce/orders/S-1")["status"] == "returned"
