"""What other capabilities may read of the catalogue and stock: the recommendable products and what
is available of them where. Public functions, so that no one else reads commerce's tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from omnikanal.db.engine import read_tx
from omnikanal.errors import NotFound

from . import catalogue_store, stock_store


@dataclass(frozen=True, slots=True)
class ProductFacts:
    product_id: str
    category_id: str | None
    # bought again and again (coffee, screws): a purchase does not rule out recommending it again
    consumable: bool
    skus: tuple[str, ...]
    name: str | None


class CommerceFacts:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def products(self) -> dict[str, ProductFacts]:
        """Every active product with an active variant, by id."""
        with read_tx(self._engine) as conn:
            rows = catalogue_store.recommendable(conn)
        skus: dict[str, list[str]] = {}
        first: dict[str, ProductFacts] = {}
        for r in rows:
            skus.setdefault(r.id, []).append(r.sku)
            if r.id not in first:
                attributes = r.attributes if isinstance(r.attributes, dict) else {}
                names = r.names if isinstance(r.names, dict) else {}
                first[r.id] = ProductFacts(
                    r.id,
                    r.category_id,
                    attributes.get("consumable") is True,
                    (),
                    names.get("de") or names.get("en"),
                )
        return {
            pid: ProductFacts(f.product_id, f.category_id, f.consumable, tuple(skus[pid]), f.name)
            for pid, f in first.items()
        }

    def location_kind(self, location_id: str, field: str = "store") -> str:
        """The kind of an active location (store, warehouse); NotFound naming ``field`` otherwise."""
        with read_tx(self._engine) as conn:
            row = catalogue_store.location(conn, location_id)
        if row is None or not row.active:
            raise NotFound("location_not_found", f"{field}: no location {location_id!r}", field)
        return str(row.kind)

    def available(self, product_ids: Sequence[str], location_id: str | None) -> dict[str, tuple[str, int]]:
        """product id -> (its sku with most available, that count) for the products with any stock
        at the location; ``None``: online, the active warehouses together."""
        if not product_ids:
            return {}
        with read_tx(self._engine) as conn:
            if location_id is None:
                where = [r.id for r in catalogue_store.all_locations(conn, "warehouse") if r.active]
            else:
                where = [location_id]
            rows = stock_store.available_of_products(conn, product_ids, where) if where else []
        best: dict[str, tuple[str, int]] = {}
        for r in rows:
            count = int(r.available or 0)
            if count > 0 and (r.product_id not in best or count > best[r.product_id][1]):
                best[r.product_id] = (r.sku, count)
        return best
