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
from omnikanal.profiles import chain

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

# the cart changes [(event, sku, change), ...] and the order events [(event, properties), ...]
Plan = tuple[list[tuple[Any, str, int]], list[tuple[Any, dict[str, Any]]]]


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

    def plan(self, conn: Connection, batch: Sequence[Any]) -> Plan:
        """What the batch asks for, each kind in the batch's order (read before the writing
        transaction: parsing the payloads does not hold SQLite's write lock): the cart changes, and
        the order events. The two kinds touch different tables (recording an order reads no cart), so
        each is applied as one run: a run per change between orders cost a few statements each."""
        carts: list[tuple[Any, str, int]] = []
        orders: list[tuple[Any, dict[str, Any]]] = []
        skipped: list[str] = []
        for event in batch:
            properties = _shop_properties(event)
            if properties is None:
                continue
            if event.event in SHOP_ORDER_EVENTS:
                orders.append((event, properties))
            elif event.event in CART_EVENTS:
                sku = _text(properties.get("sku")) or _text(properties.get("product_id"))
                quantity = _quantity(properties.get("quantity"))
                if sku is None or quantity is None:
                    skipped.append(event.message_id)
                    continue
                carts.append((event, sku, quantity if event.event == "Product Added" else -quantity))
        _log_skipped("cart events without a usable sku or quantity", skipped)
        return carts, orders

    def apply(self, conn: Connection, batch: Sequence[Any], plan: Plan) -> None:
        carts, orders = plan
        if carts:
            self._cart_changes(conn, carts)
        _log_skipped("order events without a usable order_id", self._order_events(conn, orders))

    def _cart_changes(self, conn: Connection, changes: list[tuple[Any, str, int]]) -> None:
        """Cart events of a batch: their live profiles in one look-up (in the writing transaction,
        so a merge meanwhile is seen), their lines in one pass."""
        lives = chain.live_ids(conn, [event.profile_id for event, _, _ in changes])
        resolved, gone = [], []
        for event, sku, quantity in changes:
            live = lives.get(event.profile_id)
            if live is None:
                gone.append(event.message_id)
                continue
            resolved.append((live, sku, quantity))
        _log_skipped("cart events whose profile is gone", gone)
        self._carts.change_many(conn, resolved)

    def _order_events(self, conn: Connection, steps: list[tuple[Any, dict[str, Any]]]) -> list[str]:
        """Record or move the orders of a run of order events, in their order, with a few statements
        for the whole run (the orders, live profiles and variants read once; rows written together):
        one statement per event held the write lock ingest needs for ~0.3 ms an event. Answers the
        message ids of events that name no usable order."""
        if not steps:
            return []
        unusable: list[str] = []
        named: list[tuple[Any, dict[str, Any], str]] = []
        for event, properties in steps:
            order_id = _text(properties.get("order_id")) or _text(properties.get("orderId"))
            if order_id is None:
                unusable.append(event.message_id)
            else:
                named.append((event, properties, order_id))
        if not named:
            return unusable
        # order id -> (status, recorded_by, profile id), as the run moves it
        state = {
            row.id: (row.status, row.recorded_by, row.profile_id)
            for row in store.orders_by_id(conn, sorted({oid for _, _, oid in named}), lock=True)
        }
        lives = chain.live_ids(
            conn, {e.profile_id for e, _, oid in named if oid not in state and e.event == "Order Completed"}
        )
        now = self._clock.now()
        new_orders: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        moved: dict[str, str] = {}
        history: list[dict[str, Any]] = []
        for event, properties, order_id in named:
            actor = f"event:{event.source_id}/{event.message_id}"
            current = state.get(order_id)
            if current is None:
                if event.event == "Order Completed":
                    live = lives.get(event.profile_id)
                    made = self._new_order(event, order_id, properties, live, now)
                    new_orders.append(made)
                    first = made[0]["status"]
                    state[order_id] = (first, "ingest", live)
                    history.append(_history(order_id, live, None, first, event.channel, actor, now))
                continue
            status, recorded_by, profile_id = current
            if recorded_by != "ingest":
                continue  # the commerce API owns this order; its own events are the timeline's record
            wanted = {"Order Cancelled": "cancelled", "Order Refunded": "returned"}.get(event.event)
            if event.event == "Order Updated":
                wanted = _text(properties.get("status"), 20)
            if wanted is None or wanted not in TRANSITIONS.get(status, frozenset()):
                continue  # a repeat, or a change the order cannot make: the first record stands
            state[order_id] = (wanted, recorded_by, profile_id)
            moved[order_id] = wanted
            history.append(_history(order_id, profile_id, status, wanted, event.channel, actor, now))
        order_lines = [line for _, lines in new_orders for line in lines]
        self._resolve_variants(conn, order_lines)
        store.insert_orders(conn, [values for values, _ in new_orders], order_lines)
        store.set_statuses(conn, moved, now)
        store.add_history_rows(conn, history)
        return unusable

    @staticmethod
    def _resolve_variants(conn: Connection, lines: list[dict[str, Any]]) -> None:
        variants = catalogue_store.variants_by_skus(conn, sorted({line["sku"] for line in lines}))
        for line in lines:
            variant = variants.get(line["sku"])
            line["variant_id"] = variant.id if variant is not None else None

    def _new_order(
        self, event: Any, order_id: str, properties: dict[str, Any], live: str | None, now: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The order a shop's ``Order Completed`` records, and its lines (variants filled in later)."""
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
            lines.append(
                {
                    "order_id": order_id,
                    "line_no": len(lines) + 1,
                    "profile_id": live,
                    "variant_id": None,
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
        # A till's sale is a store sale, handed over at the counter: bought in the store it names,
        # complete when recorded. Other shops fulfil their own orders; the hub records them (their
        # stock is the shop's).
        till = event.channel in TILL_CHANNELS
        store_id = _text(properties.get("store") or properties.get("store_id"), 100) if till else None
        order = {
            "id": order_id,
            "profile_id": live,
            "channel": "store" if till else (event.channel if event.channel in COMMERCE_CHANNELS else "web"),
            "origin_location_id": store_id,
            "fulfilment": "buy_in_store" if till else "home_delivery",
            "fulfilment_location_id": store_id,
            "status": "picked_up" if till else "placed",
            "currency": currency.upper(),
            "total_cents": total,
            "recorded_by": "ingest",
            "shipping_address": None,
            "created_at": event.timestamp or now,
            "updated_at": now,
        }
        return order, lines


# Business channels of sources that sell at the counter (a till system, a store's own source).
TILL_CHANNELS = frozenset({"pos", "store"})


def _history(
    order_id: str, profile_id: str | None, before: str | None, after: str, channel: Any, actor: str, at: Any
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "profile_id": profile_id,
        "from_status": before,
        "to_status": after,
        "channel": channel,
        "location_id": None,
        "actor": actor,
        "at": at,
    }


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
