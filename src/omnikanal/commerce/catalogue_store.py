"""SQL for the catalogue: categories, products, variants, prices, locations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from omnikanal.commerce.tables import (
    commerce_categories,
    commerce_locations,
    commerce_prices,
    commerce_products,
    commerce_variants,
)


def category(conn: Connection, category_id: str) -> Row[Any] | None:
    return conn.execute(select(commerce_categories).where(commerce_categories.c.id == category_id)).first()


def all_categories(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(commerce_categories).order_by(commerce_categories.c.id)))


def save_category(conn: Connection, values: dict[str, Any]) -> None:
    if category(conn, values["id"]) is None:
        conn.execute(insert(commerce_categories).values(**values))
    else:
        values = {k: v for k, v in values.items() if k != "created_at"}
        conn.execute(
            update(commerce_categories).where(commerce_categories.c.id == values["id"]).values(**values)
        )


def parent_chain(conn: Connection, category_id: str) -> list[str]:
    """The category and its ancestors, nearest first (bounded: the tree may not be trusted)."""
    chain: list[str] = []
    current: str | None = category_id
    while current is not None and current not in chain and len(chain) < 64:
        chain.append(current)
        current = conn.execute(
            select(commerce_categories.c.parent_id).where(commerce_categories.c.id == current)
        ).scalar()
    return chain


# Statements of the hot read paths (scan, orders), built once: building a WHERE clause costs about as
# much as an indexed SQLite read.
_PRODUCT = select(commerce_products).where(commerce_products.c.id == bindparam("id"))
_VARIANT_BY_GTIN = select(commerce_variants).where(commerce_variants.c.gtin == bindparam("gtin"))
_VARIANT_BY_SKU = select(commerce_variants).where(commerce_variants.c.sku == bindparam("sku"))
_LOCATION = select(commerce_locations).where(commerce_locations.c.id == bindparam("id"))
_PRICES = (
    select(commerce_prices)
    .where(commerce_prices.c.variant_id.in_(bindparam("ids", expanding=True)))
    .order_by(commerce_prices.c.channel)
)
_ACTIVE_VARIANTS = (
    select(commerce_variants)
    .where(
        commerce_variants.c.product_id.in_(bindparam("ids", expanding=True)),
        commerce_variants.c.active.is_(True),
    )
    .order_by(commerce_variants.c.product_id, commerce_variants.c.sku)
)


def product(conn: Connection, product_id: str) -> Row[Any] | None:
    return conn.execute(_PRODUCT, {"id": product_id}).first()


def products_page(
    conn: Connection, category_ids: Sequence[str] | None, after: str | None, limit: int
) -> list[Row[Any]]:
    stmt = select(commerce_products).where(commerce_products.c.active.is_(True))
    if category_ids is not None:
        stmt = stmt.where(commerce_products.c.category_id.in_(category_ids))
    if after is not None:
        stmt = stmt.where(commerce_products.c.id > after)
    return list(conn.execute(stmt.order_by(commerce_products.c.id).limit(limit)))


def insert_product(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(commerce_products).values(**values))


def update_product(conn: Connection, product_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(commerce_products).where(commerce_products.c.id == product_id).values(**values))


def variants_of(conn: Connection, product_ids: Sequence[str], active_only: bool = True) -> list[Row[Any]]:
    if active_only:
        return list(conn.execute(_ACTIVE_VARIANTS, {"ids": list(product_ids)}))
    stmt = select(commerce_variants).where(commerce_variants.c.product_id.in_(product_ids))
    return list(conn.execute(stmt.order_by(commerce_variants.c.product_id, commerce_variants.c.sku)))


def variant_by_sku(conn: Connection, sku: str) -> Row[Any] | None:
    return conn.execute(_VARIANT_BY_SKU, {"sku": sku}).first()


def variants_by_skus(conn: Connection, skus: Sequence[str]) -> dict[str, Row[Any]]:
    rows = conn.execute(select(commerce_variants).where(commerce_variants.c.sku.in_(list(skus))))
    return {r.sku: r for r in rows}


def variant_by_gtin(conn: Connection, gtin14: str) -> Row[Any] | None:
    return conn.execute(_VARIANT_BY_GTIN, {"gtin": gtin14}).first()


def insert_variant(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(commerce_variants).values(**values))


def update_variant(conn: Connection, variant_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(commerce_variants).where(commerce_variants.c.id == variant_id).values(**values))


def deactivate_variants(conn: Connection, product_id: str, keep_ids: Sequence[str], now: datetime) -> None:
    conn.execute(
        update(commerce_variants)
        .where(commerce_variants.c.product_id == product_id, commerce_variants.c.id.not_in(list(keep_ids)))
        .values(active=False, updated_at=now)
    )


def replace_prices(conn: Connection, variant_id: str, prices: list[dict[str, Any]]) -> None:
    conn.execute(delete(commerce_prices).where(commerce_prices.c.variant_id == variant_id))
    if prices:
        conn.execute(insert(commerce_prices), [{"variant_id": variant_id, **p} for p in prices])


def prices_of(conn: Connection, variant_ids: Sequence[str]) -> dict[str, list[Row[Any]]]:
    found: dict[str, list[Row[Any]]] = {v: [] for v in variant_ids}
    rows = conn.execute(_PRICES, {"ids": list(variant_ids)})
    for r in rows:
        found[r.variant_id].append(r)
    return found


def price(conn: Connection, variant_id: str, channel: str) -> Row[Any] | None:
    return conn.execute(
        select(commerce_prices).where(
            commerce_prices.c.variant_id == variant_id, commerce_prices.c.channel == channel
        )
    ).first()


# -- locations -----------------------------------------------------------------------------------


def location(conn: Connection, location_id: str) -> Row[Any] | None:
    return conn.execute(_LOCATION, {"id": location_id}).first()


def all_locations(conn: Connection, kind: str | None = None) -> list[Row[Any]]:
    stmt = select(commerce_locations).where(commerce_locations.c.active.is_(True))
    if kind is not None:
        stmt = stmt.where(commerce_locations.c.kind == kind)
    return list(conn.execute(stmt.order_by(commerce_locations.c.id)))


def save_location(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert or update; True when it was new."""
    if location(conn, values["id"]) is None:
        conn.execute(insert(commerce_locations).values(**values))
        return True
    values = {k: v for k, v in values.items() if k != "created_at"}
    conn.execute(update(commerce_locations).where(commerce_locations.c.id == values["id"]).values(**values))
    return False


def recommendable(conn: Connection) -> list[Row[Any]]:
    """Every active product with its category, attributes, names and each active variant's sku."""
    p, v = commerce_products.c, commerce_variants.c
    return list(
        conn.execute(
            select(p.id, p.category_id, p.attributes, p.names, v.sku)
            .join(commerce_variants, v.product_id == p.id)
            .where(p.active.is_(True), v.active.is_(True))
            .order_by(p.id, v.sku)
        )
    )
