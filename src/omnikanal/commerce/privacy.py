"""The commerce part of a person's data, for the privacy capability (access and erasure requests).

Orders and returns are kept for the retailer's bookkeeping duties, but no longer tied to the
person: erasure removes the profile id and the shipping address from them (anonymised). Carts,
reservations, scans and notifications are deleted. Catalogue, locations and stock hold no personal
data. Timeline events are the privacy capability's own (the events table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, update

from omnikanal.clock import Clock, SystemClock, isoformat
from omnikanal.commerce.tables import (
    commerce_cart_items,
    commerce_notifications,
    commerce_order_history,
    commerce_order_lines,
    commerce_orders,
    commerce_reservations,
    commerce_returns,
    commerce_scans,
)

from . import orders_store, stock_store
from .orders import order_view


def _plain(row: Any) -> dict[str, Any]:
    # Column names come as quoted_name, a str subclass JSON encoders may refuse as a key.
    return {str(k): (isoformat(v) if hasattr(v, "astimezone") else v) for k, v in row._mapping.items()}


class CommercePersonalData:
    name = "commerce"

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        """Everything commerce holds about these profiles, JSON-able."""
        ids = list(profile_ids)
        orders = list(
            conn.execute(
                select(commerce_orders)
                .where(commerce_orders.c.profile_id.in_(ids))
                .order_by(commerce_orders.c.id)
            )
        )
        lines = orders_store.lines_of(conn, [o.id for o in orders])
        return {
            "orders": [order_view(o, lines[o.id], orders_store.history(conn, o.id)) for o in orders],
            "returns": [
                _plain(r)
                for r in conn.execute(select(commerce_returns).where(commerce_returns.c.profile_id.in_(ids)))
            ],
            "reservations": [
                _plain(r)
                for r in conn.execute(
                    select(commerce_reservations).where(commerce_reservations.c.profile_id.in_(ids))
                )
            ],
            "cart_items": [
                _plain(r)
                for r in conn.execute(
                    select(commerce_cart_items).where(commerce_cart_items.c.profile_id.in_(ids))
                )
            ],
            "scans": [
                _plain(r)
                for r in conn.execute(select(commerce_scans).where(commerce_scans.c.profile_id.in_(ids)))
            ],
            "notifications": [
                _plain(r)
                for r in conn.execute(
                    select(commerce_notifications).where(commerce_notifications.c.profile_id.in_(ids))
                )
            ],
        }

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        """Delete or anonymise the person's rows; returns how many rows were touched.

        An active reservation holds stock: it is released (with its ledger entry) before the row goes.
        """
        ids = list(profile_ids)
        count = 0
        r = commerce_reservations.c
        active = conn.execute(
            select(commerce_reservations)
            .where(r.profile_id.in_(ids), r.status == "active")
            .order_by(r.variant_id, r.location_id)
            .with_for_update()
        ).all()
        now = self._clock.now()
        for row in active:
            if stock_store.change(conn, row.variant_id, row.location_id, now, reserved=-row.quantity):
                stock_store.record(
                    conn,
                    [
                        {
                            "variant_id": row.variant_id,
                            "location_id": row.location_id,
                            "kind": "release",
                            "on_hand_delta": 0,
                            "reserved_delta": -row.quantity,
                            "allocated_delta": 0,
                            "reference": row.id,
                            "note": "erasure of the customer",
                            "actor": "privacy",
                            "at": now,
                        }
                    ],
                )
        for table in (commerce_cart_items, commerce_scans, commerce_notifications, commerce_reservations):
            count += conn.execute(delete(table).where(table.c.profile_id.in_(ids))).rowcount
        count += conn.execute(
            update(commerce_orders)
            .where(commerce_orders.c.profile_id.in_(ids))
            .values(profile_id=None, shipping_address=None)
        ).rowcount
        for table in (commerce_order_lines, commerce_order_history):
            count += conn.execute(
                update(table).where(table.c.profile_id.in_(ids)).values(profile_id=None)
            ).rowcount
        # A return's reason is free text the customer may have given: it goes too.
        count += conn.execute(
            update(commerce_returns)
            .where(commerce_returns.c.profile_id.in_(ids))
            .values(profile_id=None, reason=None)
        ).rowcount
        return count
