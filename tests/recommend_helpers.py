"""Factories for recommendation tests: a small DIY catalogue, customers' histories as events."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.hub import Hub
from tests.commerce_helpers import make_gtin, put, receive, setup_shop

PROCESSOR = "recommend.interactions"


def product(product_id: str, name: str, base: int, **attributes: Any) -> dict[str, Any]:
    return {
        "id": product_id,
        "names": {"de": name, "en": name},
        "descriptions": {"de": "", "en": ""},
        "attributes": attributes,
        "variants": [
            {
                "sku": f"{product_id}-1",
                "gtin": make_gtin(base),
                "prices": [{"channel": "web", "amount_cents": 1990, "currency": "EUR"}],
            }
        ],
    }


CATALOGUE = [
    product("DRILL", "Akku-Bohrschrauber", 10),
    product("CASE", "Bohrer-Koffer", 20),
    product("BITS", "Bit-Satz", 30),
    product("HOLSTER", "Werkzeuggürtel", 40),
    product("PAINT", "Wandfarbe weiß", 50),
    product("ROLLER", "Farbroller", 60),
    product("TAPE", "Malerkrepp", 70),
    product("SCREWS", "Schrauben 4x40", 80, consumable=True),
]


def shop_with_stock(http: httpx.Client, token: str) -> None:
    """The catalogue; everything in stock at Mitte and the warehouse except the holster (warehouse only)."""
    setup_shop(http, token, CATALOGUE)
    for item in CATALOGUE:
        sku = f"{item['id']}-1"
        if item["id"] != "HOLSTER":
            receive(http, token, "store-mitte", sku, 5)
        receive(http, token, "wh-north", sku, 5)


def track(user_id: str, event: str, sku: str, at: datetime, **properties: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"sku": f"{sku}-1", **properties}
    if event in ("Order Completed", "Order Refunded"):
        props = {
            "order_id": properties.get("order_id", f"o-{user_id}-{sku}"),
            "products": [{"sku": f"{sku}-1"}],
        }
    return {
        "type": "track",
        "userId": user_id,
        "event": event,
        "properties": props,
        "timestamp": at.isoformat(),
    }


def crowd(start: datetime) -> list[dict[str, Any]]:
    """Thirty customers in two tribes: drillers (drill, case, bits, holster) and painters."""
    events: list[dict[str, Any]] = []
    tribes = {"d": ["DRILL", "CASE", "BITS", "HOLSTER", "SCREWS"], "p": ["PAINT", "ROLLER", "TAPE"]}
    for n in range(30):
        tribe = "d" if n % 2 == 0 else "p"
        user = f"{tribe}-{n}"
        for k, sku in enumerate(tribes[tribe]):
            at = start + timedelta(hours=n, minutes=k)
            events.append(track(user, "Product Viewed", sku, at))
            if (n + k) % 3 != 0:
                events.append(
                    track(user, "Order Completed", sku, at + timedelta(minutes=1), order_id=f"o-{user}-{k}")
                )
    return events


def settle(hub: Hub) -> None:
    """Wait until the interactions processor has seen every committed event."""
    deadline = time.monotonic() + 20
    while hub.eventlog.behind(PROCESSOR):
        hub.runner.wake()
        assert time.monotonic() < deadline, "the interactions processor is behind"
        time.sleep(0.02)


def consent(hub: Hub, profile_id: str, granted: bool = True) -> None:
    status = ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN
    hub.consent.record(profile_id, [ConsentChange("personalisation", status)], source="test")


def now() -> datetime:
    return datetime.now(UTC)


__all__ = ["CATALOGUE", "consent", "crowd", "put", "settle", "shop_with_stock", "track"]
