"""Stock movements, orders, returns and their bad input over HTTP, on SQLite and PostgreSQL: each
wrong request gets its clear answer and the stock stays as it was."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from tests.commerce_helpers import customer, get, level, post, receive, setup_shop
from tests.helpers import assert_error, bearer


@pytest.fixture
def shop(http: httpx.Client, admin_token: str, make_channel: Any) -> str:
    """Locations, the drill, 4 blue in Mitte and 2 green in the warehouse; returns a customer."""
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 4)
    receive(http, admin_token, "wh-north", "DRILL-18V-GREEN", 2)
    return customer(http, admin_token, make_channel("webshop", "web").write_key, "c-1")


def _snapshot(http: httpx.Client, token: str) -> list[dict[str, Any]]:
    return get(http, token, "/api/commerce/stock")["stock"]


def test_stock_movements_transfer_adjust_and_refuse_bad_quantities(
    http: httpx.Client, admin_token: str, shop: str
) -> None:
    moved = post(
        http,
        admin_token,
        "/api/commerce/stock/movements",
        {
            "location_id": "store-mitte",
            "sku": "DRILL-18V-BLUE",
            "kind": "transfer",
            "quantity": 3,
            "to_location_id": "store-kreuzberg",
        },
    )["stock"]
    assert {(s["location_id"], s["on_hand"]) for s in moved} == {("store-mitte", 1), ("store-kreuzberg", 3)}
    post(
        http,
        admin_token,
        "/api/commerce/stock/movements",
        {
            "location_id": "store-kreuzberg",
            "sku": "DRILL-18V-BLUE",
            "kind": "adjustment",
            "quantity": -1,
            "note": "count",
        },
    )
    assert level(http, admin_token, "store-kreuzberg", "DRILL-18V-BLUE")["on_hand"] == 2
    before = _snapshot(http, admin_token)

    bad: list[tuple[dict[str, Any], int, str, str]] = [
        ({"kind": "receipt", "quantity": -5}, 400, "invalid_quantity", "quantity"),
        ({"kind": "sale", "quantity": 0}, 400, "invalid_quantity", "quantity"),
        ({"kind": "sale", "quantity": 2}, 409, "insufficient_stock", "quantity"),
        ({"kind": "adjustment", "quantity": -2}, 409, "insufficient_stock", "quantity"),
        ({"kind": "transfer", "quantity": 1}, 400, "missing_field", "to_location_id"),
        (
            {"kind": "transfer", "quantity": 5, "to_location_id": "wh-north"},
            409,
            "insufficient_stock",
            "quantity",
        ),
        (
            {"kind": "transfer", "quantity": 1, "to_location_id": "nowhere"},
            404,
            "location_not_found",
            "to_location_id",
        ),
        ({"kind": "receipt", "quantity": 1, "sku": "NOPE"}, 404, "product_not_found", "sku"),
        (
            {"kind": "receipt", "quantity": 1, "location_id": "nowhere"},
            404,
            "location_not_found",
            "location_id",
        ),
        ({"kind": "reservation", "quantity": 1}, 400, "invalid_request", "kind"),
    ]
    for change, status, code, field in bad:
        body = {"location_id": "store-mitte", "sku": "DRILL-18V-BLUE", **change}
        response = http.post("/api/commerce/stock/movements", json=body, headers=bearer(admin_token))
        assert_error(response, status, code, field)
    assert _snapshot(http, admin_token) == before
    kinds = [
        m["kind"]
        for m in get(http, admin_token, "/api/commerce/stock/movements", sku="DRILL-18V-BLUE")["movements"]
    ]
    assert kinds == ["adjustment", "transfer", "transfer", "receipt"]


def test_bad_orders_get_clear_answers_and_change_no_stock(
    http: httpx.Client, admin_token: str, shop: str
) -> None:
    good = {
        "id": "web-1",
        "profile_id": shop,
        "channel": "web",
        "fulfilment": "click_and_collect",
        "fulfilment_location_id": "store-mitte",
        "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 2}],
    }
    post(http, admin_token, "/api/commerce/orders", good)
    before = _snapshot(http, admin_token)

    def line(**change: Any) -> list[dict[str, Any]]:
        return [{"sku": "DRILL-18V-BLUE", "quantity": 1, **change}]

    bad: list[tuple[dict[str, Any], int, str, str]] = [
        ({"lines": line(quantity=3)}, 409, "order_id_conflict", "id"),  # the same id, other content
        ({"id": "web-2", "lines": line(quantity=-1)}, 400, "invalid_request", "lines.0.quantity"),
        ({"id": "web-2", "lines": line(sku="NOPE")}, 404, "product_not_found", "lines.0.sku"),
        ({"id": "web-2", "lines": line(quantity=3)}, 409, "insufficient_stock", "lines.0.quantity"),
        (
            {"id": "web-2", "fulfilment_location_id": "nowhere"},
            404,
            "location_not_found",
            "fulfilment_location_id",
        ),
        (
            {"id": "web-2", "fulfilment_location_id": "store-potsdam"},
            409,
            "service_not_offered",
            "fulfilment_location_id",
        ),
        (
            {"id": "web-2", "fulfilment_location_id": "wh-north"},
            409,
            "service_not_offered",
            "fulfilment_location_id",
        ),
        ({"id": "web-2", "fulfilment_location_id": None}, 400, "missing_field", "fulfilment_location_id"),
        ({"id": "web-2", "profile_id": "prof_nobody"}, 404, "profile_not_found", "profile_id"),
        ({"id": "web-2", "profile_id": None}, 400, "missing_field", "profile_id"),
        ({"id": "web-2", "channel": "fax"}, 400, "invalid_request", "channel"),
        ({"id": "web 2"}, 400, "invalid_request", "id"),
        (
            {"id": "web-2", "lines": line(unit_price_cents=-5)},
            400,
            "invalid_request",
            "lines.0.unit_price_cents",
        ),
        ({"id": "web-2", "currency": "USD"}, 400, "currency_mismatch", "lines.0.unit_price_cents"),
        ({"id": "web-2", "origin_location_id": "nowhere"}, 404, "location_not_found", "origin_location_id"),
        ({"id": "web-2", "lines": line() + line()}, 400, "duplicate_sku", "lines"),
    ]
    for change, status, code, field in bad:
        response = http.post("/api/commerce/orders", json={**good, **change}, headers=bearer(admin_token))
        assert_error(response, status, code, field)
    assert _snapshot(http, admin_token) == before
    assert [o["id"] for o in get(http, admin_token, "/api/commerce/orders")["orders"]] == ["web-1"]
    assert_error(http.get("/api/commerce/orders/web-2", headers=bearer(admin_token)), 404, "order_not_found")


def test_illegal_transitions_are_refused_with_409_and_the_allowed_next_states(
    http: httpx.Client, admin_token: str, shop: str
) -> None:
    post(
        http,
        admin_token,
        "/api/commerce/orders",
        {
            "id": "o-1",
            "profile_id": shop,
            "channel": "hotline",
            "fulfilment": "home_delivery",
            "lines": [{"sku": "DRILL-18V-GREEN", "quantity": 1}],
        },
    )
    for wanted in ("shipped", "delivered", "picked_up", "ready_for_pickup"):
        response = http.post(
            "/api/commerce/orders/o-1/status", json={"status": wanted}, headers=bearer(admin_token)
        )
        error = assert_error(response, 409, "illegal_transition", "status")
        assert "allowed next: cancelled, confirmed" in error["message"]
    response = http.post(
        "/api/commerce/orders/o-1/status", json={"status": "returned"}, headers=bearer(admin_token)
    )
    assert_error(response, 400, "invalid_request", "status")
    response = http.post(
        "/api/commerce/orders/o-1/returns",
        json={
            "channel": "web",
            "condition": "resellable",
            "lines": [{"sku": "DRILL-18V-GREEN", "quantity": 1}],
        },
        headers=bearer(admin_token),
    )
    assert_error(response, 409, "illegal_transition", "status")
    assert level(http, admin_token, "wh-north", "DRILL-18V-GREEN")["allocated"] == 1

    # Cancelling gives the allocation back; a cancelled order is final.
    cancelled = post(http, admin_token, "/api/commerce/orders/o-1/status", {"status": "cancelled"}, 200)
    assert cancelled["status"] == "cancelled"
    assert level(http, admin_token, "wh-north", "DRILL-18V-GREEN") == {
        "on_hand": 2,
        "reserved": 0,
        "allocated": 0,
        "available": 2,
    }
    response = http.post(
        "/api/commerce/orders/o-1/status", json={"status": "confirmed"}, headers=bearer(admin_token)
    )
    error = assert_error(response, 409, "illegal_transition", "status")
    assert "none, it is final" in error["message"]
    assert_error(
        http.post(
            "/api/commerce/orders/nope/status", json={"status": "confirmed"}, headers=bearer(admin_token)
        ),
        404,
        "order_not_found",
    )


def test_click_and_collect_from_a_warehouse_is_transferred_to_the_store_before_pick_up(
    http: httpx.Client, admin_token: str, shop: str
) -> None:
    # Kreuzberg has no green drill: the warehouse allocates it and sends it over.
    order = post(
        http,
        admin_token,
        "/api/commerce/orders",
        {
            "profile_id": shop,
            "channel": "web",
            "fulfilment": "click_and_collect",
            "fulfilment_location_id": "store-kreuzberg",
            "lines": [{"sku": "DRILL-18V-GREEN", "quantity": 2}],
        },
    )
    assert order["lines"][0]["stock_location_id"] == "wh-north"
    assert level(http, admin_token, "wh-north", "DRILL-18V-GREEN")["allocated"] == 2
    post(http, admin_token, f"/api/commerce/orders/{order['id']}/status", {"status": "confirmed"}, 200)
    ready = post(
        http, admin_token, f"/api/commerce/orders/{order['id']}/status", {"status": "ready_for_pickup"}, 200
    )
    assert ready["lines"][0]["stock_location_id"] == "store-kreuzberg"
    assert level(http, admin_token, "wh-north", "DRILL-18V-GREEN") == {
        "on_hand": 0,
        "reserved": 0,
        "allocated": 0,
        "available": 0,
    }
    assert level(http, admin_token, "store-kreuzberg", "DRILL-18V-GREEN") == {
        "on_hand": 2,
        "reserved": 2,
        "allocated": 0,
        "available": 0,
    }
    # The customer does not come: cancelling frees the units in the store.
    post(http, admin_token, f"/api/commerce/orders/{order['id']}/status", {"status": "cancelled"}, 200)
    assert level(http, admin_token, "store-kreuzberg", "DRILL-18V-GREEN")["available"] == 2


def test_damaged_returns_are_not_restocked_and_partial_returns_keep_the_order_open(
    http: httpx.Client, admin_token: str, shop: str
) -> None:
    sale = post(
        http,
        admin_token,
        "/api/commerce/orders",
        {
            "profile_id": shop,
            "channel": "store",
            "fulfilment": "buy_in_store",
            "fulfilment_location_id": "store-mitte",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 3}],
        },
    )
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE")["on_hand"] == 1
    first = post(
        http,
        admin_token,
        f"/api/commerce/orders/{sale['id']}/returns",
        {
            "channel": "store",
            "location_id": "store-mitte",
            "condition": "damaged",
            "reason": "broken",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
        },
    )
    assert first["lines"] == [
        {"sku": "DRILL-18V-BLUE", "quantity": 1, "restocked": False, "location_id": "store-mitte"}
    ]
    assert first["order"]["status"] == "picked_up"
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE")["on_hand"] == 1
    response = http.post(
        f"/api/commerce/orders/{sale['id']}/returns",
        json={
            "channel": "store",
            "location_id": "store-mitte",
            "condition": "resellable",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 3}],
        },
        headers=bearer(admin_token),
    )
    assert_error(response, 400, "return_exceeds_order", "lines.0.quantity")
    response = http.post(
        f"/api/commerce/orders/{sale['id']}/returns",
        json={
            "channel": "store",
            "condition": "resellable",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
        },
        headers=bearer(admin_token),
    )
    assert_error(response, 400, "missing_field", "location_id")
    last = post(
        http,
        admin_token,
        f"/api/commerce/orders/{sale['id']}/returns",
        {
            "channel": "store",
            "location_id": "store-mitte",
            "condition": "resellable",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 2}],
        },
    )
    assert last["refund_cents"] == 2 * 13490
    assert last["order"]["status"] == "returned"
    assert [r["condition"] for r in last["order"]["returns"]] == ["damaged", "resellable"]
    assert level(http, admin_token, "store-mitte", "DRILL-18V-BLUE")["on_hand"] == 3
    kinds = [
        m["kind"]
        for m in get(http, admin_token, "/api/commerce/stock/movements", location_id="store-mitte")[
            "movements"
        ]
    ]
    assert kinds == ["return", "return", "sale", "receipt"]


def test_roles_decide_who_may_read_and_change_commerce(
    hub: Hub, http: httpx.Client, admin_token: str, shop: str
) -> None:
    store_token = hub.tokens.create("till", "store", "store-mitte")[1]
    marketing = hub.tokens.create("campaigns", "marketing")[1]
    service = hub.tokens.create("hotline", "service")[1]
    movement = {"location_id": "store-mitte", "sku": "DRILL-18V-BLUE", "kind": "receipt", "quantity": 1}
    assert (
        http.post("/api/commerce/stock/movements", json=movement, headers=bearer(store_token)).status_code
        == 201
    )
    assert_error(
        http.post("/api/commerce/stock/movements", json=movement, headers=bearer(marketing)), 403, "forbidden"
    )
    assert http.get("/api/commerce/products", headers=bearer(marketing)).status_code == 200
    assert_error(http.get("/api/commerce/orders", headers=bearer(marketing)), 403, "forbidden")
    assert http.get("/api/commerce/orders", headers=bearer(service)).status_code == 200
    assert_error(
        http.post("/api/commerce/orders/x/status", json={"status": "confirmed"}, headers=bearer(service)),
        403,
        "forbidden",
    )
    scan = http.get(
        "/api/scan", params={"gtin": "4006380000018", "store": "store-mitte"}, headers=bearer(store_token)
    )
    assert scan.status_code == 200, scan.text
    assert_error(
        http.get("/api/scan", params={"gtin": "4006380000018", "store": "store-mitte"}), 401, "missing_token"
    )
