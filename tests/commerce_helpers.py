"""Factories for commerce tests: products, locations, stock and customers, over HTTP or the service."""

from __future__ import annotations

from typing import Any

import httpx

from omnikanal.commerce import gtin as gtins
from omnikanal.hub import Hub
from tests.helpers import bearer, lookup

# Stores in and around Berlin, and a warehouse: distances between them are known roughly.
BERLIN_MITTE = {"lat": 52.5200, "lon": 13.4050}
LOCATIONS: list[dict[str, Any]] = [
    {
        "id": "store-mitte",
        "kind": "store",
        "name": "Berlin Mitte",
        "address": {"street": "Alexanderplatz 1", "postal_code": "10178", "city": "Berlin", "country": "DE"},
        "latitude": 52.5219,
        "longitude": 13.4132,
        "timezone": "Europe/Berlin",
        "opening_hours": {"mon": [["09:00", "20:00"]], "sat": [["10:00", "18:00"]]},
        "services": ["click_and_collect", "reservations", "returns"],
    },
    {
        "id": "store-kreuzberg",
        "kind": "store",
        "name": "Berlin Kreuzberg",
        "latitude": 52.4986,
        "longitude": 13.4031,
        "services": ["click_and_collect", "reservations", "returns"],
    },
    {
        "id": "store-potsdam",
        "kind": "store",
        "name": "Potsdam",
        "latitude": 52.3906,
        "longitude": 13.0645,
        "services": ["returns"],
    },
    {
        "id": "store-hamburg",
        "kind": "store",
        "name": "Hamburg",
        "latitude": 53.5511,
        "longitude": 9.9937,
        "services": ["click_and_collect", "reservations", "returns"],
    },
    {"id": "wh-north", "kind": "warehouse", "name": "Warehouse North", "latitude": 52.6, "longitude": 13.3},
]


def make_gtin(n: int, prefix: str = "400638") -> str:
    """A valid EAN-13 from a number."""
    body = f"{prefix}{n:06d}"
    return body + str(gtins.check_digit(body))


def drill(
    product_id: str = "DRILL-18V", colours: tuple[str, ...] = ("blue", "green"), base: int = 1
) -> dict[str, Any]:
    """A cordless drill in some colours; SKU <product>-<COLOUR>, EAN-13 from ``base``."""
    return {
        "id": product_id,
        "names": {"de": "Akku-Bohrschrauber 18 V", "en": "Cordless drill 18 V"},
        "descriptions": {"de": "Mit zwei Akkus", "en": "With two batteries"},
        "brand": "Bosch",
        "attributes": {"voltage": 18},
        "variants": [
            {
                "sku": f"{product_id}-{colour.upper()}",
                "gtin": make_gtin(base + i),
                "colour": colour,
                "prices": [
                    {"channel": "web", "amount_cents": 12990, "currency": "EUR"},
                    {"channel": "store", "amount_cents": 13490, "currency": "EUR"},
                ],
            }
            for i, colour in enumerate(colours)
        ],
    }


def put(http: httpx.Client, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.put(path, json=body, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def post(
    http: httpx.Client, token: str, path: str, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = http.post(path, json=body, headers=bearer(token))
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def get(http: httpx.Client, token: str, path: str, **params: Any) -> dict[str, Any]:
    response = http.get(path, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def setup_shop(http: httpx.Client, token: str, products: list[dict[str, Any]] | None = None) -> None:
    """Locations and products over the API."""
    for location in LOCATIONS:
        put(http, token, f"/api/commerce/locations/{location['id']}", location)
    for product in products if products is not None else [drill()]:
        put(http, token, f"/api/commerce/products/{product['id']}", product)


def receive(http: httpx.Client, token: str, location_id: str, sku: str, quantity: int) -> None:
    post(
        http,
        token,
        "/api/commerce/stock/movements",
        {"location_id": location_id, "sku": sku, "kind": "receipt", "quantity": quantity},
    )


def level(http: httpx.Client, token: str, location_id: str, sku: str) -> dict[str, Any]:
    rows = get(http, token, "/api/commerce/stock", sku=sku, location_id=location_id)["stock"]
    if not rows:
        return {"on_hand": 0, "reserved": 0, "allocated": 0, "available": 0}
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    return {k: row[k] for k in ("on_hand", "reserved", "allocated", "available")}


def customer(http: httpx.Client, token: str, write_key: str, user_id: str, email: str | None = None) -> str:
    """A customer known by user id (through an identify from the shop); returns the profile id."""
    traits = {"email": email} if email else {}
    response = http.post("/v1/identify", json={"userId": user_id, "traits": traits}, auth=(write_key, ""))
    assert response.status_code == 200, response.text
    return str(lookup(http, token, "user_id", user_id)["id"])


def service_customer(hub: Hub, user_id: str) -> str:
    """A customer through the ingest service (no HTTP); returns the profile id."""
    try:
        source = hub.sources.get("test-shop")
    except Exception:
        source, _ = hub.sources.create("test-shop", "web")
    result = hub.ingest.ingest(source, [{"type": "identify", "userId": user_id}])
    assert result.accepted == 1, result
    return str(hub.profiles.lookup("user_id", user_id)["id"])


def track_events(events: list[dict[str, Any]]) -> list[str]:
    """The names of track events, oldest first (the timeline lists newest first)."""
    return [e.get("event") or e.get("name") or "" for e in reversed(events) if e["type"] == "track"]
