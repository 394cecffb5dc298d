"""Commerce work in the background: the event-log processor that records shops' orders and carts,
and the scheduled expiry of reservations and reminders before they expire."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection

from omnikanal.background import Periodic
from omnikanal.clock import Clock
from omnikanal.eventlog.model import Interest
from omnikanal.profiles import store as profile_store

from . import catalogue_store
from . import orders_store as store
from .carts import Carts
from .model import COMMERCE_CHANNELS, ORIGIN, SHOP_ORDER_EVENTS, TRANSITIONS
from .reservations import Reservations

log = logging.getLogger(__name__)

MAX_CENTS = 10**12


def to_cents(value: Any) -> int | None:
    """A decimal amount of the currency unit (Segment's money) as integer cents; None if unusable."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = (Decimal(str(value)) * 100).quantize(Decimal(1))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or not 0 <= amount <= MAX_CENTS:
        return None
    return int(amount)


def _text(value: Any, limit: int = 100) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= limit and "\x00" not in value else None


def _quantity(value: Any) -> int | None:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value) if 0 < value <= 10_000 else None


CART_EVENTS = frozenset({"Product Added", "Product Removed"})
INTEREST = Interest(names=SHOP_ORDER_EVENTS | CART_EVENTS)

# ("carts", [(event, sku, change), ...]) or ("order", (event, properties))
Step = tuple[str, Any]


def _shop_properties(event: Any) -> dict[str, Any] | None:
    """The properties of a shop's track event; None for events commerce itself emitted (one source
    per fact) and for events without properties."""
    if event.type != "track" or not event.event:
        return None
    payload = event.payload if isinstance(event.payload, dict) else {}
    context = payload.get("context")
    omnikanal = context.get("omnikanal") if isinstance(context, dict) else None
    if isinstance(omnikanal, dict) and omnikanal.get("origin") == ORIGIN:
        return None
    properties = payload.get("properties")
    return properties if isinstance(properties, dict) else None


def _log_skipped(what: str, message_ids: list[str]) -> None:
    """One line per batch, not per event: a shop sending thousands of such events a second must not
    flood the log (each id at debug level)."""
    if message_ids:
        log.info("%d %s skipped (first: %s)", len(message_ids), what, message_ids[0])
        log.debug("%s skipped: %s", what, ", ".join(message_ids))


class ShopEventsProcessor:
    """Reads the event log: ``Order Completed`` and friends sent by a shop through ingest create and
    update orders; ``Product Added`` / ``Product Removed`` fill the customer's cart.

    One source per fact: events the commerce API emitted itself (``context.omnikanal.origin`` is
    "commerce") are skipped, and an order the commerce API recorded is never changed by a shop's
    event, so no order is recorded or counted twice. A malformed event is skipped with a log line:
    failing would stop the cursor on it for ever.
    """

    name = "commerce.shop-events"

    def __init__(self, clock: Clock, carts: Carts) -> None:
        self._clock = clock
        self._carts = carts

    def interest(self, conn: Connection) -> Interest:
        return INTEREST

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self.apply(conn, batch, self.plan(conn, batch))

    def plan(self, conn: Connection, batch: Sequence[Any]) -> list[Step]:
        """What the batch asks for, in order (read before the writing transaction: parsing the
        payloads does not hold SQLite's write lock): runs of cart changes, and order events."""
        steps: list[Step] = []
        carts: list[tuple[Any, str, int]] = []
        skipped: list[str] = []
        for event in batch:
            properties = _shop_properties(event)
            if properties is None:
                continue
            if event.event in SHOP_ORDER_EVENTS:
                if carts:  # an order may read the cart: earlier changes first
                    steps.append(("carts", carts))
                    carts = []
                steps.append(("order", (event, properties)))
            elif event.event in CART_EVENTS:
                sku = _text(properties.get("sku")) or _text(properties.get("product_id"))
                quantity = _quantity(properties.get("quantity"))
                if sku is None or quantity is None:
                    skipped.append(event.message_id)
                    continue
                carts.append((event, sku, quantity if event.event == "Product Added" else -quantity))
        if carts:
            steps.append(("carts", carts))
        _log_skipped("cart events without a usable sku or quantity", skipped)
        return steps

    def apply(self, conn: Connection, batch: Sequence[Any], plan: list[Step]) -> None:
        unordered: list[str] = []
        for kind, step in plan:
            if kind == "carts":
                self._cart_changes(conn, step)
            elif not self._order_event(conn, *step):
                unordered.append(step[0].message_id)
        _log_skipped("order events without a usable order_id", unordered)

    def _cart_changes(self, conn: Connection, changes: list[tuple[Any, str, int]]) -> None:
        """Cart events of a batch: their live profiles in one look-up (in the writing transaction,
        so a merge meanwhile is seen), their lines in one pass."""
        lives = profile_store.live_ids(conn, [event.profile_id for event, _, _ in changes])
        resolved, gone = [], []
        for event, sku, quantity in changes:
            live = lives.get(event.profile_id)
            if live is None:
                gone.append(event.message_id)
                continue
            resolved.append((live, sku, quantity))
        _log_skipped("cart events whose profile is gone", gone)
        self._carts.change_many(conn, resolved)

    def _order_event(self, conn: Connection, event: Any, properties: dict[str, Any]) -> bool:
        """Record or move an order; False if the event names no usable order."""
        order_id = _text(properties.get("order_id")) or _text(properties.get("orderId"))
        if order_id is None:
            return False
        existing = store.order(conn, order_id, lock=True)
        actor = f"event:{event.source_id}/{event.message_id}"
        now = self._clock.now()
        if existing is None:
            if event.event == "Order Completed":
                self._record(conn, event, order_id, properties, actor)
            return True
        if existing.recorded_by != "ingest":
            return True  # the commerce API owns this order; its own events are the timeline's record
        wanted = {"Order Cancelled": "cancelled", "Order Refunded": "returned"}.get(event.event)
        if event.event == "Order Updated":
            wanted = _text(properties.get("status"), 20)
        if wanted is None or wanted not in TRANSITIONS.get(existing.status, frozenset()):
            return True  # a repeat, or a change the order cannot make: the first record stands
        store.set_status(conn, order_id, wanted, now)
        store.add_history(
            conn,
            order_id=order_id,
            profile_id=existing.profile_id,
            from_status=existing.status,
            to_status=wanted,
            channel=event.channel,
            location_id=None,
            actor=actor,
            at=now,
        )
        return True

    def _record(
        self, conn: Connection, event: Any, order_id: str, properties: dict[str, Any], actor: str
    ) -> None:
        live = profile_store.resolve_live(conn, event.profile_id)
        currency = _text(properties.get("currency"), 3) or "EUR"
        if len(currency) != 3 or not currency.isalpha():
            currency = "EUR"
        products = properties.get("products")
        lines: list[dict[str, Any]] = []
        for item in products if isinstance(products, list) else []:
            if not isinstance(item, dict):
                continue
            sku = _text(item.get("sku")) or _text(item.get("product_id"))
            quantity = _quantity(item.get("quantity"))
            price = to_cents(item.get("price")) if item.get("price") is not None else 0
            if sku is None or quantity is None or price is None:
                continue
            variant = catalogue_store.variant_by_sku(conn, sku)
            lines.append(
                {
                    "order_id": order_id,
                    "line_no": len(lines) + 1,
                    "profile_id": live,
                    "variant_id": variant.id if variant is not None else None,
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price_cents": price,
                    "returned_quantity": 0,
                    "stock_location_id": None,
                    "reservation_id": None,
                }
            )
        total = to_cents(properties.get("total", properties.get("revenue")))
        if total is None:
            total = sum(x["unit_price_cents"] * x["quantity"] for x in lines)
        now = self._clock.now()
        store.insert_order(
            conn,
            {
                "id": order_id,
                "profile_id": live,
                "channel": event.channel if event.channel in COMMERCE_CHANNELS else "web",
                "origin_location_id": None,
                # The shop fulfils its own orders; the hub records them (their stock is the shop's).
                "fulfilment": "home_delivery",
                "fulfilment_location_id": None,
                "status": "placed",
                "currency": currency.upper(),
                "total_cents": total,
                "recorded_by": "ingest",
                "shipping_address": None,
                "created_at": event.timestamp or now,
                "updated_at": now,
            },
            lines,
        )
        store.add_history(
            conn,
            order_id=order_id,
            profile_id=live,
            from_status=None,
            to_status="placed",
            channel=event.channel,
            location_id=None,
            actor=actor,
            at=now,
        )


class ReservationJobs:
    """Expires reservations whose time is up and reminds customers before; on the hub's clock."""

    def __init__(self, reservations: Reservations, interval: float) -> None:
        self._reservations = reservations
        self._loop = Periodic("commerce-reservations", interval, self.run_once)

    def run_once(self) -> bool:
        """One pass; True when there may be more due work (the loop runs again at once)."""
        expired = self._reservations.expire_due()
        reminded = self._reservations.remind_due()
        return expired + reminded > 0

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
