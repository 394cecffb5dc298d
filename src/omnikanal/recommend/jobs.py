"""Recommend's background work: the event-log processors that collect interactions with products
and messages with the reactions to them, and the scheduled training of the model."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from omnikanal.background import Periodic
from omnikanal.eventlog.model import Interest

from . import store
from .channels import EVENT_NAMES as CHANNEL_EVENTS
from .model import EVENT_KINDS, MAX_QUANTITY, WEIGHTS

log = logging.getLogger(__name__)

# Only these track events are read: every other event is skipped by its name, without its payload.
INTEREST = Interest(names=frozenset(EVENT_KINDS))


def _text(value: Any, limit: int = 100) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= limit and "\x00" not in value else None


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 1
    return max(1, min(int(value), MAX_QUANTITY))


def interactions_of(event: Any) -> list[dict[str, Any]]:
    """The interaction rows one event stands for (none for an event without a profile or product)."""
    kind = EVENT_KINDS.get(event.event or "")
    if kind is None or event.type != "track" or not event.profile_id:
        return []
    payload = event.payload if isinstance(event.payload, dict) else {}
    properties = payload.get("properties")
    if not isinstance(properties, dict):
        return []
    products = properties.get("products") if kind in ("order", "return") else [properties]
    store_id = _text(properties.get("store_id"))
    rows = []
    for item in products if isinstance(products, list) else []:
        if not isinstance(item, dict):
            continue
        sku = _text(item.get("sku"))
        product_id = _text(item.get("product_id"))
        if sku is None and product_id is None:
            continue
        quantity = _quantity(item.get("quantity"))
        rows.append(
            {
                "profile_id": event.profile_id,
                "sku": sku,
                "product_id": product_id,
                "kind": kind,
                "weight": WEIGHTS[kind] * quantity,
                "quantity": quantity,
                "channel": _text(event.channel, 20),
                "store_id": store_id,
                "at": event.timestamp,
            }
        )
    return rows


class InteractionsProcessor:
    """Reads the event log: views (web and app), scans in store, cart adds, reservations, orders
    online and at the till, and returns become rows of ``recommend_interactions``."""

    name = "recommend.interactions"

    def interest(self, conn: Connection) -> Interest:
        return INTEREST

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        rows = [row for event in batch for row in interactions_of(event)]
        store.add_interactions(conn, rows)


class ChannelsProcessor:
    """Reads the event log's message statuses (sent, opened, clicked), replies and calls into the
    next-best-channel tables and refreshes the scores of the customers they concern; every other
    event is skipped by its name."""

    name = "recommend.channels"
    INTEREST = Interest(names=CHANNEL_EVENTS)

    def __init__(self, service: Any) -> None:
        self._service = service

    def interest(self, conn: Connection) -> Interest:
        return self.INTEREST

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self._service.record(conn, batch)


class TrainingJob:
    """Trains a new model every ``interval`` seconds, when interactions came in since the last one,
    and refreshes every customer's channel scores with new population rates."""

    def __init__(self, train: Any, interval: float, refresh_channels: Any = None) -> None:
        self._train = train
        self._refresh_channels = refresh_channels
        self._loop = Periodic("recommend-training", interval, self.run_once, first_after=interval)

    def run_once(self) -> bool:
        self._train(only_if_new=True)
        if self._refresh_channels is not None:
            self._refresh_channels()
        return False

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
