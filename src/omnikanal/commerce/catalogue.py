"""Use cases of the catalogue (products, variants, prices, categories) and of locations."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, Row

from omnikanal.clock import Clock, isoformat
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.ids import new_id

from . import catalogue_store as store
from . import gtin as gtins
from .model import CategoryIn, LocationIn, ProductIn
from .tx import write


def variant_view(row: Row[Any], prices: list[Row[Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "sku": row.sku,
        "gtin": row.gtin,
        "gtin_display": gtins.display(row.gtin) if row.gtin else None,
        "colour": row.colour,
        "size": row.size,
        "attributes": row.attributes,
        "active": row.active,
        "prices": [
            {"channel": p.channel, "amount_cents": p.amount_cents, "currency": p.currency} for p in prices
        ],
    }


def product_view(row: Row[Any], variants: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "names": row.names,
        "descriptions": row.descriptions,
        "category_id": row.category_id,
        "brand": row.brand,
        "attributes": row.attributes,
        "active": row.active,
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
        "variants": variants,
    }


def location_view(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "address": row.address,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "timezone": row.timezone,
        "opening_hours": row.opening_hours,
        "services": row.services,
        "active": row.active,
    }


class CatalogueService:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    # -- categories ----------------------------------------------------------------------------

    def save_category(self, body: CategoryIn) -> dict[str, Any]:
        def work(conn: Connection) -> None:
            if body.parent_id is not None:
                if store.category(conn, body.parent_id) is None:
                    raise NotFound(
                        "category_not_found", f"parent_id: no category {body.parent_id!r}", "parent_id"
                    )
                if body.id in store.parent_chain(conn, body.parent_id):
                    raise InvalidInput(
                        "category_cycle", f"parent_id: {body.parent_id} lies below {body.id}", "parent_id"
                    )
            store.save_category(
                conn,
                {
                    "id": body.id,
                    "parent_id": body.parent_id,
                    "names": body.names,
                    "created_at": self._clock.now(),
                },
            )

        write(self._engine, work)
        return {"id": body.id, "parent_id": body.parent_id, "names": body.names}

    def category_tree(self) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            rows = store.all_categories(conn)
        nodes = {r.id: {"id": r.id, "names": r.names, "children": []} for r in rows}
        roots: list[dict[str, Any]] = []
        for r in rows:
            (nodes[r.parent_id]["children"] if r.parent_id in nodes else roots).append(nodes[r.id])
        return roots

    # -- products ------------------------------------------------------------------------------

    def save_product(self, body: ProductIn, *, replace_variants: bool = True) -> tuple[dict[str, Any], bool]:
        """Create or update a product and its variants; returns the product and whether it was new.

        ``replace_variants``: variants missing from the body are deactivated (a full PUT); without it
        they stay (an import row names one variant of a product).
        """
        checked = self.check_product(body)
        created = write(self._engine, lambda conn: self.write_product(conn, checked, replace_variants))
        return self.product(body.id), created

    @staticmethod
    def check_product(body: ProductIn) -> ProductIn:
        """Everything about a product that needs no database: GTIN check digits, repeated SKUs."""
        seen_skus: set[str] = set()
        seen_gtins: set[str] = set()
        for index, variant in enumerate(body.variants):
            if variant.sku in seen_skus:
                raise InvalidInput(
                    "duplicate_sku",
                    f"variants.{index}.sku {variant.sku!r} is repeated",
                    f"variants.{index}.sku",
                )
            seen_skus.add(variant.sku)
            if variant.gtin is not None:
                variant.gtin = gtins.normalise(variant.gtin, f"variants.{index}.gtin")
                if variant.gtin in seen_gtins:
                    raise InvalidInput(
                        "duplicate_gtin",
                        f"variants.{index}.gtin {variant.gtin} is repeated",
                        f"variants.{index}.gtin",
                    )
                seen_gtins.add(variant.gtin)
        return body

    def write_product(self, conn: Connection, body: ProductIn, replace_variants: bool) -> bool:
        """Store a checked product in the caller's transaction; True when the product is new."""
        now = self._clock.now()
        if body.category_id is not None and store.category(conn, body.category_id) is None:
            raise NotFound(
                "category_not_found", f"category_id: no category {body.category_id!r}", "category_id"
            )
        values = {
            "names": body.names,
            "descriptions": body.descriptions,
            "category_id": body.category_id,
            "brand": body.brand,
            "attributes": body.attributes,
            "active": True,
            "updated_at": now,
        }
        created = store.product(conn, body.id) is None
        if created:
            store.insert_product(conn, {"id": body.id, "created_at": now, **values})
        else:
            store.update_product(conn, body.id, values)
        kept: list[str] = []
        existing = store.variants_by_skus(conn, [v.sku for v in body.variants])
        for index, variant in enumerate(body.variants):
            row = existing.get(variant.sku)
            if row is not None and row.product_id != body.id:
                raise Conflict(
                    "sku_taken",
                    f"variants.{index}.sku {variant.sku!r} belongs to product {row.product_id}",
                    f"variants.{index}.sku",
                )
            if variant.gtin is not None:
                holder = store.variant_by_gtin(conn, variant.gtin)
                if holder is not None and holder.sku != variant.sku:
                    raise Conflict(
                        "gtin_taken",
                        f"variants.{index}.gtin {variant.gtin} belongs to SKU {holder.sku}",
                        f"variants.{index}.gtin",
                    )
            fields = {
                "product_id": body.id,
                "gtin": variant.gtin,
                "colour": variant.colour,
                "size": variant.size,
                "attributes": variant.attributes,
                "active": True,
                "updated_at": now,
            }
            if row is None:
                variant_id = new_id("var")
                store.insert_variant(
                    conn, {"id": variant_id, "sku": variant.sku, "created_at": now, **fields}
                )
            else:
                variant_id = row.id
                store.update_variant(conn, variant_id, fields)
            store.replace_prices(conn, variant_id, [p.model_dump() for p in variant.prices])
            kept.append(variant_id)
        if replace_variants:
            store.deactivate_variants(conn, body.id, kept, now)
        return created

    def product(self, product_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            found = self.products_by_ids(conn, [product_id], active_only=False)
        if not found:
            raise NotFound("product_not_found", f"no product {product_id!r}")
        return found[0]

    @staticmethod
    def products_by_ids(
        conn: Connection, product_ids: list[str], active_only: bool = True
    ) -> list[dict[str, Any]]:
        rows = [r for r in (store.product(conn, p) for p in product_ids) if r is not None]
        variants = store.variants_of(conn, [r.id for r in rows], active_only=active_only)
        prices = store.prices_of(conn, [v.id for v in variants])
        by_product: dict[str, list[dict[str, Any]]] = {r.id: [] for r in rows}
        for v in variants:
            by_product[v.product_id].append(variant_view(v, prices[v.id]))
        return [product_view(r, by_product[r.id]) for r in rows]

    def products(self, category_id: str | None, after: str | None, limit: int) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            ids: list[str] | None = None
            if category_id is not None:
                if store.category(conn, category_id) is None:
                    raise NotFound("category_not_found", f"category: no category {category_id!r}", "category")
                # The category and everything below it.
                children = {r.id: r.parent_id for r in store.all_categories(conn)}
                ids = [c for c in children if category_id in store_chain(children, c)]
            rows = store.products_page(conn, ids, after, limit + 1)
            page = self.products_by_ids(conn, [r.id for r in rows[:limit]])
        return {"products": page, "next_after": rows[limit - 1].id if len(rows) > limit else None}

    def deactivate(self, product_id: str) -> dict[str, Any]:
        def work(conn: Connection) -> None:
            if store.product(conn, product_id) is None:
                raise NotFound("product_not_found", f"no product {product_id!r}")
            now = self._clock.now()
            store.update_product(conn, product_id, {"active": False, "updated_at": now})
            store.deactivate_variants(conn, product_id, [], now)

        write(self._engine, work)
        return self.product(product_id)

    def variant(self, conn: Connection, sku: str, field: str = "sku") -> Row[Any]:
        row = store.variant_by_sku(conn, sku)
        if row is None or not row.active:
            raise NotFound("product_not_found", f"{field}: no product with SKU {sku!r}", field)
        return row

    def variant_for_gtin(self, conn: Connection, value: str, field: str = "gtin") -> Row[Any]:
        normal = gtins.normalise(value, field, lenient=True)
        row = store.variant_by_gtin(conn, normal)
        if row is None or not row.active:
            raise NotFound("product_not_found", f"{field}: no product with GTIN {value.strip()}", field)
        return row

    # -- locations -----------------------------------------------------------------------------

    def save_location(self, body: LocationIn) -> tuple[dict[str, Any], bool]:
        try:
            ZoneInfo(body.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                "invalid_timezone", f"timezone {body.timezone!r} is not an IANA time zone", "timezone"
            ) from None
        if (body.latitude is None) != (body.longitude is None):
            raise InvalidInput("invalid_coordinates", "latitude and longitude come together", "latitude")
        now = self._clock.now()
        values = {
            **body.model_dump(),
            "opening_hours": {d: [list(s) for s in spans] for d, spans in body.opening_hours.items()},
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        created = write(self._engine, lambda conn: store.save_location(conn, values))
        return self.location(body.id), created

    def location(self, location_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = store.location(conn, location_id)
        if row is None:
            raise NotFound("location_not_found", f"no location {location_id!r}")
        return location_view(row)

    def locations(self, kind: str | None) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            return [location_view(r) for r in store.all_locations(conn, kind)]


def store_chain(parents: dict[str, str | None], start: str) -> list[str]:
    """A category and its ancestors from an in-memory parent map (bounded against cycles)."""
    chain: list[str] = []
    current: str | None = start
    while current is not None and current not in chain and len(chain) < 64:
        chain.append(current)
        current = parents.get(current)
    return chain


def require_location(conn: Connection, location_id: str, field: str, service: str | None = None) -> Row[Any]:
    """An active location, offering ``service`` if given; else NotFound / Conflict naming the field."""
    row = store.location(conn, location_id)
    if row is None or not row.active:
        raise NotFound("location_not_found", f"{field}: no location {location_id!r}", field)
    if service is not None and service not in (row.services or []):
        raise Conflict(
            "service_not_offered", f"{field}: location {location_id} does not offer {service}", field
        )
    return row
