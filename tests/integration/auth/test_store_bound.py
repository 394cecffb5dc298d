"""A store-bound token (a till) acts for its own store only: stock, sales, returns, exports and
notifications of other stores are refused or left out; a store token without a store is refused."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from omnikanal.errors import InvalidInput
from omnikanal.hub import Hub
from tests.commerce_helpers import customer, level, post, receive, setup_shop
from tests.helpers import assert_error, bearer

BLUE = "DRILL-18V-BLUE"


@pytest.fixture
def shop(http: httpx.Client, admin_token: str, make_channel: Any) -> str:
    """Locations, the drill, 4 blue in Mitte and in Kreuzberg; returns a customer."""
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", BLUE, 4)
    receive(http, admin_token, "store-kreuzberg", BLUE, 4)
    receive(http, admin_token, "wh-north", BLUE, 4)
    return customer(http, admin_token, make_channel("webshop", "web").write_key, "c-1", "c1@example.org")


@pytest.fixture
def till(hub: Hub) -> str:
    return hub.tokens.create("till-mitte", "store", "store-mitte")[1]


def _sale(profile_id: str, location: str) -> dict[str, Any]:
    return {
        "profile_id": profile_id,
        "channel": "store",
        "fulfilment": "buy_in_store",
        "fulfilment_location_id": location,
        "lines": [{"sku": BLUE, "quantity": 1}],
    }


@pytest.mark.parametrize(
    "movement",
    [
        {"kind": "adjustment", "quantity": -4},
        {"kind": "transfer", "quantity": 2, "to_location_id": "store-mitte"},
        {"kind": "receipt", "quantity": 5},
        {"kind": "sale", "quantity": 1},
    ],
)
def test_a_store_token_cannot_book_another_stores_stock(
    http: httpx.Client, admin_token: str, shop: str, till: str, movement: dict[str, Any]
) -> None:
    body = {"location_id": "store-kreuzberg", "sku": BLUE, **movement}
    response = http.post("/api/commerce/stock/movements", json=body, headers=bearer(till))
    assert_error(response, 403, "other_store")
    assert level(http, admin_token, "store-kreuzberg", BLUE)["on_hand"] == 4
    # its own store's stock it books, and a transfer out of its store may go anywhere
    own = {"location_id": "store-mitte", "sku": BLUE, "kind": "transfer", "quantity": 1}
    own["to_location_id"] = "store-kreuzberg"
    assert http.post("/api/commerce/stock/movements", json=own, headers=bearer(till)).status_code == 201
    assert level(http, admin_token, "store-mitte", BLUE)["on_hand"] == 3


def test_a_store_token_sells_at_its_own_till_only(
    http: httpx.Client, admin_token: str, shop: str, till: str
) -> None:
    response = http.post("/api/commerce/orders", json=_sale(shop, "store-kreuzberg"), headers=bearer(till))
    assert_error(response, 403, "other_store")
    assert level(http, admin_token, "store-kreuzberg", BLUE)["on_hand"] == 4
    post(http, till, "/api/commerce/orders", _sale(shop, "store-mitte"))
    assert level(http, admin_token, "store-mitte", BLUE)["on_hand"] == 3


def test_a_store_token_takes_returns_at_its_own_store_only(
    http: httpx.Client, admin_token: str, shop: str, till: str
) -> None:
    sold = post(http, admin_token, "/api/commerce/orders", _sale(shop, "store-kreuzberg"))
    back = {"channel": "store", "condition": "resellable", "lines": [{"sku": BLUE, "quantity": 1}]}
    for where in ({"location_id": "store-kreuzberg"}, {}):
        response = http.post(
            f"/api/commerce/orders/{sold['id']}/returns", json={**back, **where}, headers=bearer(till)
        )
        assert_error(response, 403, "other_store", "location_id")
    assert level(http, admin_token, "store-kreuzberg", BLUE)["on_hand"] == 3
    # goods bought in another store may come back here
    post(http, till, f"/api/commerce/orders/{sold['id']}/returns", {**back, "location_id": "store-mitte"})
    assert level(http, admin_token, "store-mitte", BLUE)["on_hand"] == 5


def test_a_store_token_exports_only_its_stores_orders(
    http: httpx.Client, admin_token: str, shop: str, till: str
) -> None:
    mine = post(http, admin_token, "/api/commerce/orders", _sale(shop, "store-mitte"))
    other = post(http, admin_token, "/api/commerce/orders", _sale(shop, "store-kreuzberg"))
    web = post(
        http,
        admin_token,
        "/api/commerce/orders",
        {
            "profile_id": shop,
            "channel": "web",
            "fulfilment": "home_delivery",
            "lines": [{"sku": BLUE, "quantity": 1}],
            "shipping_address": {"street": "Weg 1", "city": "Berlin"},
        },
    )

    def exported(token: str) -> set[str]:
        response = http.get("/api/commerce/export/orders.jsonl", headers=bearer(token))
        assert response.status_code == 200, response.text
        return {orjson.loads(line)["id"] for line in response.content.splitlines() if line}

    assert exported(till) == {mine["id"]}
    assert exported(admin_token) == {mine["id"], other["id"], web["id"]}


def test_a_store_token_sees_only_its_stores_notifications(
    http: httpx.Client, admin_token: str, shop: str, till: str
) -> None:
    for where in ("store-mitte", "store-kreuzberg"):
        post(
            http,
            admin_token,
            "/api/commerce/reservations",
            {"profile_id": shop, "location_id": where, "sku": BLUE},
        )

    def seen(token: str) -> list[dict[str, Any]]:
        response = http.get("/api/commerce/notifications", headers=bearer(token))
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["notifications"]
        return found

    everything = seen(admin_token)
    assert len(everything) == 2, everything
    own = seen(till)
    assert len(own) == 1, own
    reservation = http.get(f"/api/commerce/reservations/{own[0]['reservation_id']}", headers=bearer(till))
    assert reservation.status_code == 200, reservation.text
    assert reservation.json()["location_id"] == "store-mitte"


def test_a_store_token_needs_a_store_and_other_roles_take_none(hub: Hub) -> None:
    with pytest.raises(InvalidInput, match="needs a store") as caught:
        hub.tokens.create("till", "store")
    assert caught.value.field == "store"
    with pytest.raises(InvalidInput, match="only store"):
        hub.tokens.create("hotline", "service", "store-mitte")
    token = hub.tokens.create("till", "store", "store-mitte")[1]
    assert hub.tokens.authenticate(token).store_id == "store-mitte"
