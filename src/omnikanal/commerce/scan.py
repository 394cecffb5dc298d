"""Scan in store (scenario 5): one call from a barcode to product, price, stock here and nearby,
online availability and suggestions, recording a ``Product Scanned`` touchpoint for the customer."""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select

from omnikanal.clock import Clock, isoformat
from omnikanal.commerce.tables import (
    commerce_locations,
    commerce_order_lines,
    commerce_products,
    commerce_scans,
    commerce_stock,
    commerce_variants,
)
from omnikanal.db.engine import read_tx
from omnikanal.ids import new_id
from omnikanal.listeners import Listeners

from . import catalogue_store
from .catalogue import CatalogueService, product_view, require_location, variant_view
from .hours import is_open
from .touchpoints import Touchpoints, live_profile
from .tx import write

EARTH_RADIUS_KM = 6371.0088
log = logging.getLogger(__name__)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


_ol = commerce_order_lines.c
_var = commerce_variants.c
# Two small steps rather than one self-join: each is an index walk whatever the planner's statistics
# say (without them PostgreSQL picked hash joins over whole tables: 100 ms instead of 1 ms), and the
# number of past orders looked at is capped for products found in very many orders.
ORDERS_WITH = (
    select(_ol.order_id)
    .where(_ol.variant_id.in_(bindparam("variant_ids", expanding=True)))
    .distinct()
    .limit(bindparam("orders"))
)
_times = func.count(func.distinct(_ol.order_id))
OTHERS_IN = (
    select(_var.product_id, _times.label("times"), commerce_products.c.names)
    .select_from(commerce_order_lines)
    .join(commerce_variants, _var.id == _ol.variant_id)
    .join(commerce_products, commerce_products.c.id == _var.product_id)
    .where(
        _ol.order_id.in_(bindparam("order_ids", expanding=True)),
        _var.product_id != bindparam("product_id"),
        _var.active.is_(True),
    )
    .group_by(_var.product_id, commerce_products.c.names)
    .order_by(_times.desc(), _var.product_id)
    .limit(bindparam("limit"))
)
MAX_ORDERS_LOOKED_AT = 1000


# Built once: building statements costs about as much as running them (the scan is hot).
_loc = commerce_locations.c
_st = commerce_stock.c
STOCK_EVERYWHERE = (
    select(
        _st.location_id,
        (_st.on_hand - _st.reserved - _st.allocated).label("available"),
        _loc.kind,
        _loc.name,
        _loc.latitude,
        _loc.longitude,
        _loc.services,
        _loc.opening_hours,
        _loc.timezone,
    )
    .join(commerce_locations, _loc.id == _st.location_id)
    .where(_st.variant_id == bindparam("variant_id"), _loc.active.is_(True))
)
# The product's other variants with what is available of each in the store scanned in.
SIBLINGS_HERE = (
    select(
        _var.id,
        _var.sku,
        _var.colour,
        _var.size,
        (_st.on_hand - _st.reserved - _st.allocated).label("available"),
    )
    .outerjoin(commerce_stock, (_st.variant_id == _var.id) & (_st.location_id == bindparam("location_id")))
    .where(
        _var.product_id == bindparam("product_id"), _var.active.is_(True), _var.id != bindparam("variant_id")
    )
    .order_by(_var.sku)
)


def bought_together(
    conn: Connection, product_id: str, variant_ids: list[str], limit: int
) -> list[dict[str, Any]]:
    """Other products found in the same past orders, most often first (the "for now" suggestion)."""
    if limit <= 0 or not variant_ids:
        return []
    orders = list(
        conn.execute(ORDERS_WITH, {"variant_ids": variant_ids, "orders": MAX_ORDERS_LOOKED_AT}).scalars()
    )
    if not orders:
        return []
    found = conn.execute(OTHERS_IN, {"order_ids": orders, "product_id": product_id, "limit": limit})
    return [{"product_id": r.product_id, "names": r.names, "bought_together": r.times} for r in found]


class ScanService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        catalogue: CatalogueService,
        touchpoints: Touchpoints,
        nearby: int,
        suggestions: int,
        listeners: Listeners | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._catalogue = catalogue
        self._touchpoints = touchpoints
        self._nearby = nearby
        self._suggestions = suggestions
        self._listeners = listeners or Listeners()

    def scan(
        self, gtin: str, store_id: str, profile_id: str | None, channel: str = "store"
    ) -> dict[str, Any]:
        """Everything the app shows for a scanned barcode; with a customer, the touchpoint is recorded."""
        with read_tx(self._engine) as conn:
            variant = self._catalogue.variant_for_gtin(conn, gtin)
            here = require_location(conn, store_id, "store")
            live = live_profile(conn, profile_id, "profile") if profile_id else None
            product_row = catalogue_store.product(conn, variant.product_id)
            assert product_row is not None
            prices = catalogue_store.prices_of(conn, [variant.id])[variant.id]
            levels = list(conn.execute(STOCK_EVERYWHERE, {"variant_id": variant.id}))
            siblings = list(
                conn.execute(
                    SIBLINGS_HERE,
                    {"product_id": variant.product_id, "variant_id": variant.id, "location_id": here.id},
                )
            )
            suggestions = bought_together(
                conn, variant.product_id, [variant.id, *(v.id for v in siblings)], self._suggestions
            )

        now = self._clock.now()
        here_available = 0
        online = 0
        nearby: list[dict[str, Any]] = []
        for loc in levels:
            count = max(loc.available, 0)
            if loc.location_id == here.id:
                here_available = count
            elif loc.kind == "warehouse":
                online += count
            elif (
                count > 0
                and here.latitude is not None
                and here.longitude is not None
                and loc.latitude is not None
                and loc.longitude is not None
            ):
                nearby.append(
                    {
                        "store_id": loc.location_id,
                        "name": loc.name,
                        "distance_km": round(
                            haversine_km(here.latitude, here.longitude, loc.latitude, loc.longitude), 2
                        ),
                        "available": count,
                        "services": loc.services,
                        "open_now": is_open(loc.opening_hours, loc.timezone, now),
                    }
                )
        nearby.sort(key=lambda x: (x["distance_km"], x["store_id"]))
        price_here = next((p for p in prices if p.channel == channel), None) or next(
            (p for p in prices if p.channel == "web"), None
        )
        product = product_view(product_row, [variant_view(variant, prices)])
        answer: dict[str, Any] = {
            "gtin": variant.gtin,
            "sku": variant.sku,
            "product": product,
            "price": {
                "amount_cents": price_here.amount_cents,
                "currency": price_here.currency,
                "channel": price_here.channel,
            }
            if price_here is not None
            else None,
            "stock": {
                "store_id": here.id,
                "open_now": is_open(here.opening_hours, here.timezone, now),
                "here": here_available,
                "nearby": nearby[: self._nearby],
                "online": online,
            },
            "other_variants": [
                {
                    "sku": s.sku,
                    "colour": s.colour,
                    "size": s.size,
                    "here": max(s.available or 0, 0),
                }
                for s in siblings
            ],
            "suggestions": suggestions,
            "suggestions_personal": False,
            "profile_id": live,
            "recorded": False,
        }
        if live is not None:
            self._personal(answer, live, variant.product_id, here.id)
            answer["recorded"] = self._record(live, here.id, variant, product_row, price_here)
        return answer

    def _personal(self, answer: dict[str, Any], live: str, product_id: str, store_id: str) -> None:
        """Suggestions for this customer where a listener (recommendations) has some: it decides on
        consent; without an answer the bought-together ones stay."""
        for suggest in self._listeners.scan_suggestions:
            try:
                personal = suggest(live, product_id, store_id, self._suggestions)
            except Exception:  # the scan answers without them rather than not at all
                log.exception("personal suggestions failed for a scan in %s", store_id)
                continue
            if personal is not None:
                answer["suggestions"] = personal
                answer["suggestions_personal"] = True
                return

    def _record(self, live: str, store_id: str, variant: Any, product_row: Any, price: Any) -> bool:
        self._touchpoints.source()
        now = self._clock.now()
        names = product_row.names or {}

        def work(conn: Connection) -> bool:
            conn.execute(
                insert(commerce_scans).values(
                    profile_id=live, location_id=store_id, variant_id=variant.id, at=now
                )
            )
            return self._touchpoints.emit(
                conn,
                live,
                "Product Scanned",
                {
                    "product_id": variant.product_id,
                    "sku": variant.sku,
                    "gtin": variant.gtin,
                    "name": names.get("de") or names.get("en"),
                    "variant": " / ".join(p for p in (variant.colour, variant.size) if p) or None,
                    "price": price.amount_cents / 100 if price is not None else None,
                    "currency": price.currency if price is not None else None,
                    "store_id": store_id,
                    "scanned_at": isoformat(now),
                },
                channel="store",
                message_id=new_id("scan"),
                at=now,
            )

        return write(self._engine, work)
