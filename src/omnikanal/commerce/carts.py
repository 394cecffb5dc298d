"""Carts that follow the customer across devices (scenario 1).

A cart belongs to a profile. Reading a cart takes the items of the live profile and of every profile
merged into it, so the phone's cart is there on the PC as soon as the two profiles merge. A write
folds those items into the live profile's rows first, so later writes see one cart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, select, update

from omnikanal.clock import Clock, isoformat
from omnikanal.commerce.tables import commerce_cart_items
from omnikanal.db.engine import insert_ignoring_duplicates, read_tx
from omnikanal.db.fast import Raw
from omnikanal.db.rows import insert_ignoring

from . import catalogue_store
from .catalogue import CatalogueService
from .model import CartItemIn
from .touchpoints import branch, live_profile
from .tx import write

c = commerce_cart_items.c


class Carts:
    def __init__(self, engine: Engine, clock: Clock, catalogue: CatalogueService) -> None:
        self._engine = engine
        self._clock = clock
        self._catalogue = catalogue

    def get(self, profile_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            live = live_profile(conn, profile_id)
            return self._view(conn, live)

    def set_item(self, profile_id: str, body: CartItemIn) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            live = live_profile(conn, profile_id)
            self._catalogue.variant(conn, body.sku)
            self.fold(conn, live)
            self.put(conn, live, body.sku, body.quantity, absolute=True)
            return self._view(conn, live)

        return write(self._engine, work)

    def put(self, conn: Connection, live: str, sku: str, quantity: int, *, absolute: bool) -> None:
        """Set (or with ``absolute=False`` change by) a quantity on the live profile's cart."""
        now = self._clock.now()
        insert_ignoring_duplicates(
            conn, commerce_cart_items, [{"profile_id": live, "sku": sku, "quantity": 0, "updated_at": now}]
        )
        new = quantity if absolute else c.quantity + quantity
        conn.execute(
            update(commerce_cart_items)
            .where(c.profile_id == live, c.sku == sku)
            .values(quantity=new, updated_at=now)
        )
        conn.execute(delete(commerce_cart_items).where(c.profile_id == live, c.quantity <= 0))

    def change_many(self, conn: Connection, changes: list[tuple[str, str, int]]) -> None:
        """Apply (live profile, sku, change of quantity) in order, as ``put(absolute=False)`` one by
        one would (a line that reaches zero or less is gone, and a later add starts from zero), with
        one read and a few writes for the whole list."""
        if not changes:
            return
        now = self._clock.now()
        pairs = sorted({(live, sku) for live, sku, _ in changes})
        lives = sorted({live for live, _ in pairs})
        current = {
            (row.profile_id, row.sku): row.quantity
            for row in conn.execute(select(c.profile_id, c.sku, c.quantity).where(c.profile_id.in_(lives)))
        }
        final = {pair: current.get(pair, 0) for pair in pairs}
        for live, sku, quantity in changes:
            final[(live, sku)] = max(0, final[(live, sku)] + quantity)
        kept = [
            {"profile_id": live, "sku": sku, "quantity": q, "updated_at": now}
            for (live, sku), q in final.items()
            if q > 0
        ]
        if kept:  # through the driver: Core's per-row parameter handling cost more than the insert
            insert_ignoring(Raw(conn), commerce_cart_items, list(kept[0]), kept)
        changed = [row for row in kept if current.get((row["profile_id"], row["sku"])) != row["quantity"]]
        if changed:
            conn.execute(
                update(commerce_cart_items)
                .where(c.profile_id == bindparam("p"), c.sku == bindparam("s"))
                .values(quantity=bindparam("q"), updated_at=now),
                [{"p": r["profile_id"], "s": r["sku"], "q": r["quantity"]} for r in changed],
            )
        gone = [pair for pair, q in final.items() if q == 0 and pair in current]
        if gone:
            conn.execute(
                delete(commerce_cart_items).where(c.profile_id == bindparam("p"), c.sku == bindparam("s")),
                [{"p": live, "s": sku} for live, sku in gone],
            )

    def fold(self, conn: Connection, live: str) -> None:
        """Move the items of profiles merged into ``live`` onto its own cart."""
        others = [p for p in branch(conn, live) if p != live]
        if not others:
            return
        rows = list(conn.execute(select(commerce_cart_items).where(c.profile_id.in_(others))))
        for row in rows:
            self.put(conn, live, row.sku, row.quantity, absolute=False)
        conn.execute(delete(commerce_cart_items).where(c.profile_id.in_(others)))

    def _view(self, conn: Connection, live: str) -> dict[str, Any]:
        totals: dict[str, int] = {}
        updated = None
        for row in conn.execute(select(commerce_cart_items).where(c.profile_id.in_(branch(conn, live)))):
            totals[row.sku] = totals.get(row.sku, 0) + row.quantity
            updated = max(updated, row.updated_at) if updated else row.updated_at
        variants = catalogue_store.variants_by_skus(conn, list(totals))
        items = []
        for sku, quantity in sorted(totals.items()):
            v = variants.get(sku)
            price = catalogue_store.price(conn, v.id, "web") if v is not None else None
            items.append(
                {
                    "sku": sku,
                    "product_id": v.product_id if v is not None else None,
                    "quantity": quantity,
                    "unit_price_cents": price.amount_cents if price is not None else None,
                    "currency": price.currency if price is not None else None,
                }
            )
        return {"profile_id": live, "items": items, "updated_at": isoformat(updated)}

    def of_profiles(self, conn: Connection, profile_ids: list[str]) -> list[dict[str, Any]]:
        rows = conn.execute(select(commerce_cart_items).where(c.profile_id.in_(profile_ids)))
        return [
            {
                "profile_id": r.profile_id,
                "sku": r.sku,
                "quantity": r.quantity,
                "updated_at": isoformat(r.updated_at),
            }
            for r in rows
        ]
