"""Types of the commerce capability: request models, states and their rules. No I/O."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LOCALES: tuple[str, ...] = ("de", "en")
# Channels a price, an order or a touchpoint of commerce can belong to (a subset of sources.CHANNELS).
COMMERCE_CHANNELS: tuple[str, ...] = ("web", "app", "store", "hotline")
LOCATION_KINDS: tuple[str, ...] = ("store", "warehouse")
SERVICES: tuple[str, ...] = ("click_and_collect", "reservations", "returns", "ship_from_store")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Stock movement kinds of the ledger and the counters each may change.
MOVEMENT_KINDS: tuple[str, ...] = (
    "receipt",
    "sale",
    "transfer",
    "adjustment",
    "return",
    "reservation",
    "release",
    "allocation",
    "deallocation",
    "shipment",
)
# Kinds staff may post directly; the others follow from reservations, orders and returns.
MANUAL_MOVEMENTS: tuple[str, ...] = ("receipt", "sale", "transfer", "adjustment")

FULFILMENTS: tuple[str, ...] = (
    "home_delivery",
    "click_and_collect",
    "buy_in_store",
    "ship_from_store",
)
ORDER_STATUSES: tuple[str, ...] = (
    "placed",
    "confirmed",
    "ready_for_pickup",
    "picked_up",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
)
PICKUP_FULFILMENTS = frozenset({"click_and_collect"})
DELIVERY_FULFILMENTS = frozenset({"home_delivery", "ship_from_store"})

# The order state machine. "returned" is reached only through a return (which says what came back).
TRANSITIONS: dict[str, frozenset[str]] = {
    "placed": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"ready_for_pickup", "shipped", "cancelled"}),
    "ready_for_pickup": frozenset({"picked_up", "cancelled"}),
    "picked_up": frozenset({"returned"}),
    "shipped": frozenset({"delivered", "returned"}),
    "delivered": frozenset({"returned"}),
    "cancelled": frozenset(),
    "returned": frozenset(),
}
# Which fulfilments a status belongs to: a home delivery is never ready for pick-up.
STATUS_FULFILMENTS: dict[str, frozenset[str]] = {
    "ready_for_pickup": PICKUP_FULFILMENTS,
    "picked_up": PICKUP_FULFILMENTS | {"buy_in_store"},
    "shipped": DELIVERY_FULFILMENTS,
    "delivered": DELIVERY_FULFILMENTS,
}

# The Segment e-commerce event (or our own name where the spec has none) for each status an order
# reaches; properties.status says which one for "Order Updated".
STATUS_EVENTS: dict[str, str] = {
    "placed": "Order Completed",
    "confirmed": "Order Updated",
    "ready_for_pickup": "Order Ready For Pickup",
    "picked_up": "Order Updated",
    "shipped": "Order Updated",
    "delivered": "Order Updated",
    "cancelled": "Order Cancelled",
    "returned": "Order Refunded",
}
# Events a shop may send through ingest that the order processor reads.
SHOP_ORDER_EVENTS = frozenset({"Order Completed", "Order Updated", "Order Cancelled", "Order Refunded"})
# Marks events the commerce API emitted itself, so the order processor never records them again.
ORIGIN = "commerce"

RESERVATION_STATUSES: tuple[str, ...] = ("active", "fulfilled", "expired", "cancelled")


def transition_error(order_id: str, fulfilment: str, current: str, wanted: str) -> str | None:
    """Why an order cannot go from ``current`` to ``wanted``, or None when it can."""
    allowed = TRANSITIONS.get(current, frozenset())
    if wanted not in allowed:
        options = ", ".join(sorted(allowed)) or "none, it is final"
        return f"order {order_id} is {current} and cannot become {wanted} (allowed next: {options})"
    fits = STATUS_FULFILMENTS.get(wanted)
    if fits is not None and fulfilment not in fits:
        return f"order {order_id} is a {fulfilment} order and cannot become {wanted}"
    return None


# -- request bodies ------------------------------------------------------------------------------

Code = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
Text = Field(max_length=5000)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceIn(_Strict):
    channel: str = Field(description=f"one of: {', '.join(COMMERCE_CHANNELS)}")
    amount_cents: int = Field(ge=0, le=10**12, description="price in the currency's minor unit")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in COMMERCE_CHANNELS:
            raise ValueError(f"must be one of: {', '.join(COMMERCE_CHANNELS)}")
        return value


def _locales(value: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(value) - set(LOCALES))
    if unknown:
        raise ValueError(f"unknown locale {unknown[0]!r}; use one of: {', '.join(LOCALES)}")
    return value


class VariantIn(_Strict):
    sku: str = Code
    gtin: str | None = Field(default=None, description="GTIN-8/12/13/14; stored as 14 digits")
    colour: str | None = Field(default=None, max_length=100)
    size: str | None = Field(default=None, max_length=100)
    prices: list[PriceIn] = Field(default_factory=list, max_length=len(COMMERCE_CHANNELS))
    attributes: dict[str, Any] = Field(default_factory=dict)


class ProductIn(_Strict):
    id: str = Code
    names: dict[str, str] = Field(description="name per locale (de, en); at least one")
    descriptions: dict[str, str] = Field(default_factory=dict)
    category_id: str | None = Field(default=None, max_length=100)
    brand: str | None = Field(default=None, max_length=200)
    attributes: dict[str, Any] = Field(default_factory=dict)
    variants: list[VariantIn] = Field(min_length=1, max_length=500)

    @field_validator("names")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        if not any(v.strip() for v in value.values()):
            raise ValueError("at least one locale needs a name")
        return _locales(value)

    @field_validator("descriptions")
    @classmethod
    def _descriptions(cls, value: dict[str, str]) -> dict[str, str]:
        return _locales(value)


class CategoryIn(_Strict):
    id: str = Code
    parent_id: str | None = Field(default=None, max_length=100)
    names: dict[str, str]

    @field_validator("names")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        return _locales(value)


class LocationIn(_Strict):
    id: str = Code
    kind: Literal["store", "warehouse"]
    name: str = Field(min_length=1, max_length=200)
    address: dict[str, str] = Field(default_factory=dict, description="street, postal_code, city, country")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    timezone: str = Field(default="Europe/Berlin", description="IANA time zone")
    opening_hours: dict[str, list[tuple[str, str]]] = Field(
        default_factory=dict,
        description='per weekday (mon..sun) opening spans, e.g. {"mon": [["09:00", "20:00"]]}',
    )
    services: list[str] = Field(default_factory=list, description=f"any of: {', '.join(SERVICES)}")

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        for item in value:
            if item not in SERVICES:
                raise ValueError(f"unknown service {item!r}; use any of: {', '.join(SERVICES)}")
        return sorted(set(value))

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            for start, end in spans:
                for moment in (start, end):
                    if len(moment) != 5 or moment[2] != ":" or not (moment[:2] + moment[3:]).isdigit():
                        raise ValueError(f"{moment!r} is not a time HH:MM")
                    if int(moment[:2]) > 24 or int(moment[3:]) > 59:
                        raise ValueError(f"{moment!r} is not a time HH:MM")
                if start >= end:
                    raise ValueError(f"{day}: {start} is not before {end}")
        return value


class StockMovementIn(_Strict):
    location_id: str = Field(min_length=1, max_length=100)
    sku: str = Field(min_length=1, max_length=100)
    kind: Literal["receipt", "sale", "transfer", "adjustment"]
    quantity: int = Field(
        ge=-1_000_000,
        le=1_000_000,
        description="units; positive except for an adjustment, which may take stock away",
    )
    to_location_id: str | None = Field(default=None, max_length=100, description="for a transfer")
    note: str | None = Field(default=None, max_length=500)


class ReservationIn(_Strict):
    profile_id: str = Field(min_length=1, max_length=40)
    location_id: str = Field(min_length=1, max_length=100)
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(default=1, gt=0, le=1000)
    hold_hours: float | None = Field(default=None, gt=0, le=24 * 14, description="default from the settings")
    channel: Literal["web", "app", "store", "hotline"] = "web"


class OrderLineIn(_Strict):
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(gt=0, le=10_000)
    unit_price_cents: int | None = Field(
        default=None, ge=0, le=10**12, description="default: the variant's price on the order's channel"
    )


class OrderIn(_Strict):
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="the shop's order id; a repeated id answers with the order recorded first",
    )
    profile_id: str | None = Field(
        default=None, max_length=40, description="the customer; optional at the till"
    )
    channel: Literal["web", "app", "store", "hotline"]
    origin_location_id: str | None = Field(
        default=None, max_length=100, description="the store an order was started in (scenario 4)"
    )
    fulfilment: Literal["home_delivery", "click_and_collect", "buy_in_store", "ship_from_store"]
    fulfilment_location_id: str | None = Field(
        default=None,
        max_length=100,
        description="pick-up store, selling store, shipping store or warehouse; "
        "default: any warehouse with stock",
    )
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    reservation_ids: list[str] = Field(
        default_factory=list, max_length=200, description="reservations the purchase fulfils (at the till)"
    )
    shipping_address: dict[str, str] | None = None


class StatusChange(_Strict):
    status: Literal["confirmed", "ready_for_pickup", "picked_up", "shipped", "delivered", "cancelled"]
    channel: Literal["web", "app", "store", "hotline"] | None = Field(
        default=None, description="where the change happened; default: store for pick-ups, else the order's"
    )


class ReturnLineIn(_Strict):
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(gt=0, le=10_000)


class ReturnIn(_Strict):
    channel: Literal["web", "app", "store", "hotline"]
    location_id: str | None = Field(
        default=None, max_length=100, description="where the goods came back (a store or a warehouse)"
    )
    condition: Literal["resellable", "damaged"] = Field(
        description="resellable goods go back on hand at the location; damaged ones do not"
    )
    reason: str | None = Field(default=None, max_length=500)
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)


class CartItemIn(_Strict):
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=0, le=1000, description="0 removes the item")
