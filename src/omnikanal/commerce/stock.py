"""Stock per location and its append-only ledger: receipts, sales, transfers, adjustments, returns,
reservations and their release, allocations for delivery and shipments.

``Stock.move`` is the one way stock changes; it runs in the caller's transaction (an order, a
reservation) so the counters, the ledger and the business record commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Row

from omnikanal.clock import Clock, isoformat
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict, InvalidInput, NotFound

from . import catalogue_store
from . import stock_store as store
from .catalogue import CatalogueService, require_location
from .model import StockMovementIn
from .tx import write


@dataclass(frozen=True, slots=True)
class Delta:
    """One stock change: counter deltas and the availability it needs."""

    kind: str
    on_hand: int = 0
    reserved: int = 0
    allocated: int = 0
    needs_available: int = 0


def reservation(quantity: int) -> Delta:
    return Delta("reservation", reserved=quantity, needs_available=quantity)


def release(quantity: int) -> Delta:
    return Delta("release", reserved=-quantity)


def sale(quantity: int, *, reserved: bool = False) -> Delta:
    """A hand-over to the customer: from a reservation (already held) or from what is available."""
    if reserved:
        return Delta("sale", on_hand=-quantity, reserved=-quantity)
    return Delta("sale", on_hand=-quantity, needs_available=quantity)


def allocation(quantity: int) -> Delta:
    return Delta("allocation", allocated=quantity, needs_available=quantity)


def deallocation(quantity: int) -> Delta:
    return Delta("deallocation", allocated=-quantity)


def shipment(quantity: int) -> Delta:
    return Delta("shipment", on_hand=-quantity, allocated=-quantity)


def stock_view(row: Row[Any], sku: str | None = None) -> dict[str, Any]:
    return {
        "sku": sku,
        "variant_id": row.variant_id,
        "location_id": row.location_id,
        "on_hand": row.on_hand,
        "reserved": row.reserved,
        "allocated": row.allocated,
        "available": row.on_hand - row.reserved - row.allocated,
        "updated_at": isoformat(row.updated_at),
    }


class Stock:
    def __init__(self, engine: Engine, clock: Clock, catalogue: CatalogueService) -> None:
        self._engine = engine
        self._clock = clock
        self._catalogue = catalogue

    def move(
        self,
        conn: Connection,
        variant_id: str,
        location_id: str,
        delta: Delta,
        *,
        sku: str,
        reference: str | None = None,
        actor: str | None = None,
        note: str | None = None,
        field: str = "quantity",
    ) -> None:
        """Change one stock row and append the movement, or raise Conflict and change nothing."""
        now = self._clock.now()
        if delta.on_hand > 0:
            store.ensure_row(conn, variant_id, location_id, now)
        applied = store.change(
            conn,
            variant_id,
            location_id,
            now,
            on_hand=delta.on_hand,
            reserved=delta.reserved,
            allocated=delta.allocated,
            needs_available=delta.needs_available,
        )
        if not applied:
            current = store.row(conn, variant_id, location_id)
            available = current.on_hand - current.reserved - current.allocated if current else 0
            wanted = delta.needs_available or -min(delta.on_hand, delta.reserved, delta.allocated)
            raise Conflict(
                "insufficient_stock",
                f"{field}: {wanted} of SKU {sku} needed at {location_id}, {max(available, 0)} available",
                field,
            )
        store.record(
            conn,
            [
                {
                    "variant_id": variant_id,
                    "location_id": location_id,
                    "kind": delta.kind,
                    "on_hand_delta": delta.on_hand,
                    "reserved_delta": delta.reserved,
                    "allocated_delta": delta.allocated,
                    "reference": reference,
                    "note": note,
                    "actor": actor,
                    "at": now,
                }
            ],
        )

    def check_available(
        self,
        conn: Connection,
        variant_id: str,
        location_id: str,
        quantity: int,
        *,
        sku: str,
        field: str = "quantity",
    ) -> None:
        """Conflict when fewer than ``quantity`` are available now (a look without a lock: ``move``
        decides)."""
        current = store.row(conn, variant_id, location_id)
        available = current.on_hand - current.reserved - current.allocated if current else 0
        if available < quantity:
            raise Conflict(
                "insufficient_stock",
                f"{field}: {quantity} of SKU {sku} needed at {location_id}, {max(available, 0)} available",
                field,
            )

    def record_only(
        self, conn: Connection, variant_id: str, location_id: str, kind: str, reference: str | None, note: str
    ) -> None:
        """A ledger entry that changes no counter (goods came back damaged and were not restocked)."""
        store.record(
            conn,
            [
                {
                    "variant_id": variant_id,
                    "location_id": location_id,
                    "kind": kind,
                    "on_hand_delta": 0,
                    "reserved_delta": 0,
                    "allocated_delta": 0,
                    "reference": reference,
                    "note": note,
                    "actor": None,
                    "at": self._clock.now(),
                }
            ],
        )

    # -- staff movements -----------------------------------------------------------------------

    def post(self, body: StockMovementIn, actor: str) -> list[dict[str, Any]]:
        """A receipt, a sale at the till without an order, a transfer or an adjustment (a count)."""
        if body.kind != "adjustment" and body.quantity <= 0:
            raise InvalidInput("invalid_quantity", f"quantity must be positive for a {body.kind}", "quantity")
        if body.kind == "adjustment" and body.quantity == 0:
            raise InvalidInput("invalid_quantity", "quantity of an adjustment must not be 0", "quantity")
        if body.kind == "transfer":
            if not body.to_location_id:
                raise InvalidInput(
                    "missing_field", "to_location_id is needed for a transfer", "to_location_id"
                )
            if body.to_location_id == body.location_id:
                raise InvalidInput(
                    "invalid_transfer", "to_location_id is the location itself", "to_location_id"
                )
        elif body.to_location_id:
            raise InvalidInput(
                "invalid_field", f"to_location_id is only for a transfer, not a {body.kind}", "to_location_id"
            )

        def work(conn: Connection) -> list[dict[str, Any]]:
            variant = self._catalogue.variant(conn, body.sku)
            require_location(conn, body.location_id, "location_id")
            q = body.quantity
            touched = [body.location_id]
            if body.kind == "receipt":
                self.move(
                    conn,
                    variant.id,
                    body.location_id,
                    Delta("receipt", on_hand=q),
                    sku=body.sku,
                    actor=actor,
                    note=body.note,
                )
            elif body.kind == "sale":
                self.move(
                    conn, variant.id, body.location_id, sale(q), sku=body.sku, actor=actor, note=body.note
                )
            elif body.kind == "adjustment":
                # A count is the truth about the shelf: it may leave less on hand than is reserved;
                # it only cannot go below zero.
                self.move(
                    conn,
                    variant.id,
                    body.location_id,
                    Delta("adjustment", on_hand=q),
                    sku=body.sku,
                    actor=actor,
                    note=body.note,
                )
            else:
                assert body.to_location_id is not None
                require_location(conn, body.to_location_id, "to_location_id")
                reference = f"transfer:{body.location_id}->{body.to_location_id}"
                # Lock order (variant, location) keeps concurrent transfers from deadlocking.
                steps = sorted(
                    [
                        (body.location_id, Delta("transfer", on_hand=-q, needs_available=q)),
                        (body.to_location_id, Delta("transfer", on_hand=q)),
                    ],
                    key=lambda step: step[0],
                )
                for location_id, delta in steps:
                    self.move(
                        conn,
                        variant.id,
                        location_id,
                        delta,
                        sku=body.sku,
                        reference=reference,
                        actor=actor,
                        note=body.note,
                    )
                touched.append(body.to_location_id)
            return [
                stock_view(r, body.sku)
                for loc in touched
                if (r := store.row(conn, variant.id, loc)) is not None
            ]

        return write(self._engine, work)

    # -- reading -------------------------------------------------------------------------------

    def levels(self, sku: str | None, location_id: str | None, limit: int = 500) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            variant_ids: list[str] | None = None
            names: dict[str, str] = {}
            if sku is not None:
                variant = self._catalogue.variant(conn, sku)
                variant_ids = [variant.id]
                names[variant.id] = sku
            if location_id is not None and catalogue_store.location(conn, location_id) is None:
                raise NotFound(
                    "location_not_found", f"location_id: no location {location_id!r}", "location_id"
                )
            found = store.rows(conn, variant_ids, location_id, None, limit)
            if not names:
                names = self.skus(conn, [r.variant_id for r in found])
        return [stock_view(r, names.get(r.variant_id)) for r in found]

    @staticmethod
    def skus(conn: Connection, variant_ids: list[str]) -> dict[str, str]:
        from sqlalchemy import select

        from omnikanal.commerce.tables import commerce_variants

        if not variant_ids:
            return {}
        rows = conn.execute(
            select(commerce_variants.c.id, commerce_variants.c.sku).where(
                commerce_variants.c.id.in_(set(variant_ids))
            )
        )
        return {r.id: r.sku for r in rows}

    def ledger(
        self, sku: str | None, location_id: str | None, before: int | None, limit: int
    ) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            variant_id = self._catalogue.variant(conn, sku).id if sku is not None else None
            found = store.movements(conn, variant_id, location_id, before, limit + 1)
            names = self.skus(conn, [r.variant_id for r in found])
        more = len(found) > limit
        found = found[:limit]
        return {
            "movements": [
                {
                    "id": r.id,
                    "sku": names.get(r.variant_id),
                    "location_id": r.location_id,
                    "kind": r.kind,
                    "on_hand_delta": r.on_hand_delta,
                    "reserved_delta": r.reserved_delta,
                    "allocated_delta": r.allocated_delta,
                    "reference": r.reference,
                    "note": r.note,
                    "actor": r.actor,
                    "at": isoformat(r.at),
                }
                for r in found
            ],
            "next_before": found[-1].id if more and found else None,
        }
