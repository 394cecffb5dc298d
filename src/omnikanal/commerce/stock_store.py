"""SQL for stock and its ledger. The concurrency of stock is decided here.

Every change is one conditional UPDATE of the stock row whose WHERE clause states the rule (enough
available, no counter below zero); the row count says whether it held. No read-then-write, so no
lost update and no overselling:

* SQLite: a write transaction begins IMMEDIATE (db/engine.py), so writers run one at a time.
* PostgreSQL, READ COMMITTED: a second UPDATE of the same row waits for the first to commit and then
  evaluates its WHERE clause again on the new row version, so the guard always sees the latest
  counts. Rows of one transaction are changed in (variant, location) order, so two multi-line
  orders cannot deadlock each other; a deadlock with other work is retried by ``run_write``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from omnikanal.commerce.tables import commerce_stock, commerce_stock_movements
from omnikanal.db.engine import insert_ignoring_duplicates

s = commerce_stock.c


def ensure_row(conn: Connection, variant_id: str, location_id: str, now: datetime) -> None:
    insert_ignoring_duplicates(
        conn,
        commerce_stock,
        [
            {
                "variant_id": variant_id,
                "location_id": location_id,
                "on_hand": 0,
                "reserved": 0,
                "allocated": 0,
                "updated_at": now,
            }
        ],
    )


def change(
    conn: Connection,
    variant_id: str,
    location_id: str,
    now: datetime,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    allocated: int = 0,
    needs_available: int = 0,
) -> bool:
    """Apply deltas to one stock row if the rules hold; False (and nothing changed) if not.

    ``needs_available``: at least this many units must be available (on hand, neither reserved nor
    allocated) before the change.
    """
    stmt = update(commerce_stock).where(s.variant_id == variant_id, s.location_id == location_id)
    if needs_available:
        stmt = stmt.where(s.on_hand - s.reserved - s.allocated >= needs_available)
    if on_hand < 0:
        stmt = stmt.where(s.on_hand >= -on_hand)
    if reserved < 0:
        stmt = stmt.where(s.reserved >= -reserved)
    if allocated < 0:
        stmt = stmt.where(s.allocated >= -allocated)
    stmt = stmt.values(
        on_hand=s.on_hand + on_hand,
        reserved=s.reserved + reserved,
        allocated=s.allocated + allocated,
        updated_at=now,
    )
    return conn.execute(stmt).rowcount == 1


def record(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append movements to the ledger."""
    if rows:
        conn.execute(insert(commerce_stock_movements), rows)


def row(conn: Connection, variant_id: str, location_id: str) -> Row[Any] | None:
    return conn.execute(
        select(commerce_stock).where(s.variant_id == variant_id, s.location_id == location_id)
    ).first()


def of_variant(conn: Connection, variant_id: str) -> list[Row[Any]]:
    return list(conn.execute(select(commerce_stock).where(s.variant_id == variant_id)))


def rows(
    conn: Connection,
    variant_ids: Sequence[str] | None,
    location_id: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Row[Any]]:
    stmt = select(commerce_stock)
    if variant_ids is not None:
        stmt = stmt.where(s.variant_id.in_(list(variant_ids)))
    if location_id is not None:
        stmt = stmt.where(s.location_id == location_id)
    if after is not None:
        stmt = stmt.where(
            (s.variant_id > after[0]) | ((s.variant_id == after[0]) & (s.location_id > after[1]))
        )
    return list(conn.execute(stmt.order_by(s.variant_id, s.location_id).limit(limit)))


def movements(
    conn: Connection, variant_id: str | None, location_id: str | None, before: int | None, limit: int
) -> list[Row[Any]]:
    m = commerce_stock_movements.c
    stmt = select(commerce_stock_movements)
    if variant_id is not None:
        stmt = stmt.where(m.variant_id == variant_id)
    if location_id is not None:
        stmt = stmt.where(m.location_id == location_id)
    if before is not None:
        stmt = stmt.where(m.id < before)
    return list(conn.execute(stmt.order_by(m.id.desc()).limit(limit)))


def available_of_products(
    conn: Connection, product_ids: Sequence[str], location_ids: Sequence[str]
) -> list[Row[Any]]:
    """(product_id, sku, available) of the products' active variants, summed over the locations."""
    from omnikanal.commerce.tables import commerce_variants

    v = commerce_variants.c
    available = func.sum(s.on_hand - s.reserved - s.allocated)
    return list(
        conn.execute(
            select(v.product_id, v.sku, available.label("available"))
            .join(commerce_stock, s.variant_id == v.id)
            .where(
                v.product_id.in_(list(product_ids)),
                v.active.is_(True),
                s.location_id.in_(list(location_ids)),
            )
            .group_by(v.product_id, v.sku)
        )
    )
