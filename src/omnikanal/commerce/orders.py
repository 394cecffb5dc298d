"""Orders from every channel, their state machine, their stock, and returns across channels.

Each change commits together with its stock movements, its history row, its timeline event (through
ingest, marked as the commerce API's own) and any transactional notification (outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Row, select

from omnikanal.clock import Clock, isoformat
from omnikanal.commerce.tables import commerce_locations, commerce_reservations, commerce_stock
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.ids import new_id

from . import catalogue_store
from . import orders_store as store
from . import stock as deltas
from .catalogue import CatalogueService, require_location
from .model import (
    STATUS_EVENTS,
    TRANSITIONS,
    OrderIn,
    ReturnIn,
    StatusChange,
    transition_error,
)
from .reservations import Reservations
from .stock import Stock
from .touchpoints import Touchpoints, branch, live_profile, notify
from .tx import write


def cents(amount: int) -> float:
    """Segment's e-commerce spec gives money as a decimal number of the currency unit."""
    return round(amount / 100, 2)


def order_view(
    row: Row[Any], line_rows: Sequence[Row[Any]], history: Sequence[Row[Any]] = ()
) -> dict[str, Any]:
    return {
        "id": row.id,
        "profile_id": row.profile_id,
        "channel": row.channel,
        "origin_location_id": row.origin_location_id,
        "fulfilment": row.fulfilment,
        "fulfilment_location_id": row.fulfilment_location_id,
        "status": row.status,
        "currency": row.currency,
        "total_cents": row.total_cents,
        "recorded_by": row.recorded_by,
        "shipping_address": row.shipping_address,
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
        "lines": [
            {
                "line_no": x.line_no,
                "sku": x.sku,
                "quantity": x.quantity,
                "unit_price_cents": x.unit_price_cents,
                "returned_quantity": x.returned_quantity,
                "stock_location_id": x.stock_location_id,
                "reservation_id": x.reservation_id,
            }
            for x in line_rows
        ],
        "history": [
            {
                "from": h.from_status,
                "to": h.to_status,
                "channel": h.channel,
                "location_id": h.location_id,
                "actor": h.actor,
                "at": isoformat(h.at),
            }
            for h in history
        ],
    }


class Orders:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        catalogue: CatalogueService,
        stock: Stock,
        reservations: Reservations,
        touchpoints: Touchpoints,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._catalogue = catalogue
        self._stock = stock
        self._reservations = reservations
        self._touchpoints = touchpoints

    # -- placing -------------------------------------------------------------------------------

    def place(self, body: OrderIn, actor: str) -> tuple[dict[str, Any], bool]:
        """Record an order; returns it and whether it is new.

        A repeated id (a shop retrying) answers with the order recorded first and changes nothing; the
        same id with other content is a conflict. Two concurrent first attempts: the loser's insert
        fails on the primary key, ``run_write`` runs it again, and it finds the winner's order.
        """
        self._touchpoints.source()
        if body.profile_id is None and body.fulfilment != "buy_in_store":
            raise InvalidInput(
                "missing_field", f"profile_id is needed for a {body.fulfilment} order", "profile_id"
            )
        if body.reservation_ids and body.fulfilment != "buy_in_store":
            raise InvalidInput(
                "invalid_field",
                "reservation_ids: only a purchase in store fulfils reservations",
                "reservation_ids",
            )
        return write(self._engine, lambda conn: self._place(conn, body, actor))

    def _place(self, conn: Connection, body: OrderIn, actor: str) -> tuple[dict[str, Any], bool]:
        if body.id is not None:
            existing = store.order(conn, body.id)
            if existing is not None:
                return self._repeat(conn, existing, body), False
        order_id = body.id or new_id("ord")
        profile_id = live_profile(conn, body.profile_id, lock=True) if body.profile_id else None
        if body.origin_location_id is not None:
            require_location(conn, body.origin_location_id, "origin_location_id")
        location = self._fulfilment_location(conn, body)

        variants: list[Row[Any]] = []
        priced: list[int] = []
        for index, line in enumerate(body.lines):
            variant = self._catalogue.variant(conn, line.sku, f"lines.{index}.sku")
            variants.append(variant)
            priced.append(self._price(conn, variant, body, index))
        if len({v.id for v in variants}) != len(variants):
            raise InvalidInput("duplicate_sku", "lines: each SKU once per order (use quantity)", "lines")

        now = self._clock.now()
        status = "picked_up" if body.fulfilment == "buy_in_store" else "placed"
        line_rows: list[dict[str, Any]] = []
        reservations = self._match_reservations(conn, body, variants)
        # Stock rows in (variant, location) order: concurrent orders lock them in the same order.
        for index in sorted(range(len(body.lines)), key=lambda i: variants[i].id):
            line, variant = body.lines[index], variants[index]
            stock_location, reservation_id = self._hold_stock(
                conn, body, order_id, index, variant, location, reservations.get(variant.id), actor
            )
            line_rows.append(
                {
                    "order_id": order_id,
                    "line_no": index + 1,
                    "profile_id": profile_id,
                    "variant_id": variant.id,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price_cents": priced[index],
                    "returned_quantity": 0,
                    "stock_location_id": stock_location,
                    "reservation_id": reservation_id,
                }
            )
        line_rows.sort(key=lambda x: x["line_no"])
        total = sum(x["unit_price_cents"] * x["quantity"] for x in line_rows)
        store.insert_order(
            conn,
            {
                "id": order_id,
                "profile_id": profile_id,
                "channel": body.channel,
                "origin_location_id": body.origin_location_id,
                "fulfilment": body.fulfilment,
                "fulfilment_location_id": location.id if location is not None else None,
                "status": status,
                "currency": body.currency,
                "total_cents": total,
                "recorded_by": "commerce",
                "shipping_address": body.shipping_address,
                "created_at": now,
                "updated_at": now,
            },
            line_rows,
        )
        store.add_history(
            conn,
            order_id=order_id,
            profile_id=profile_id,
            from_status=None,
            to_status=status,
            channel=body.channel,
            location_id=body.origin_location_id or (location.id if location is not None else None),
            actor=actor,
            at=now,
        )
        row = store.order(conn, order_id)
        assert row is not None
        saved = store.lines(conn, order_id)
        self._touchpoints.emit(
            conn,
            profile_id,
            "Order Completed",
            self._properties(conn, row, saved),
            channel=body.channel,
            message_id=f"{order_id}:placed",
        )
        return order_view(row, saved, store.history(conn, order_id)), True

    def _repeat(self, conn: Connection, existing: Row[Any], body: OrderIn) -> dict[str, Any]:
        saved = store.lines(conn, existing.id)
        same = (
            existing.channel == body.channel
            and existing.fulfilment == body.fulfilment
            and sorted((x.sku, x.quantity) for x in saved) == sorted((x.sku, x.quantity) for x in body.lines)
        )
        if not same:
            raise Conflict(
                "order_id_conflict",
                f"id: order {existing.id} exists already with other content "
                f"(recorded by {existing.recorded_by})",
                "id",
            )
        return order_view(existing, saved, store.history(conn, existing.id))

    def _fulfilment_location(self, conn: Connection, body: OrderIn) -> Row[Any] | None:
        field = "fulfilment_location_id"
        wanted = body.fulfilment_location_id
        if body.fulfilment == "home_delivery":
            return require_location(conn, wanted, field) if wanted else None
        if wanted is None:
            raise InvalidInput("missing_field", f"{field} is needed for {body.fulfilment}", field)
        service = {"click_and_collect": "click_and_collect", "ship_from_store": "ship_from_store"}.get(
            body.fulfilment
        )
        row = require_location(conn, wanted, field, service)
        if row.kind != "store":
            raise InvalidInput("not_a_store", f"{field}: {wanted} is a {row.kind}, not a store", field)
        return row

    def _price(self, conn: Connection, variant: Row[Any], body: OrderIn, index: int) -> int:
        given = body.lines[index].unit_price_cents
        if given is not None:
            return given
        price = catalogue_store.price(conn, variant.id, body.channel) or catalogue_store.price(
            conn, variant.id, "web"
        )
        field = f"lines.{index}.unit_price_cents"
        if price is None:
            raise InvalidInput(
                "price_missing", f"{field}: SKU {variant.sku} has no price on {body.channel}", field
            )
        if price.currency != body.currency:
            raise InvalidInput(
                "currency_mismatch",
                f"{field}: SKU {variant.sku} is priced in {price.currency}, not {body.currency}",
                field,
            )
        return int(price.amount_cents)

    @staticmethod
    def _match_reservations(
        conn: Connection, body: OrderIn, variants: list[Row[Any]]
    ) -> dict[str, tuple[int, str]]:
        """Which reservation a till purchase fulfils for which variant (checked under lock later)."""
        found: dict[str, tuple[int, str]] = {}
        for index, reservation_id in enumerate(body.reservation_ids):
            field = f"reservation_ids.{index}"
            row = conn.execute(
                select(commerce_reservations.c.variant_id).where(commerce_reservations.c.id == reservation_id)
            ).first()
            if row is None:
                raise NotFound("reservation_not_found", f"{field}: no reservation {reservation_id!r}", field)
            if row.variant_id not in {v.id for v in variants} or row.variant_id in found:
                raise InvalidInput(
                    "reservation_mismatch",
                    f"{field}: reservation {reservation_id} matches no line of the order",
                    field,
                )
            found[row.variant_id] = (index, reservation_id)
        return found

    def _hold_stock(
        self,
        conn: Connection,
        body: OrderIn,
        order_id: str,
        index: int,
        variant: Row[Any],
        location: Row[Any] | None,
        reservation: tuple[int, str] | None,
        actor: str,
    ) -> tuple[str | None, str | None]:
        """Reserve, allocate or sell a line's stock; returns where it is held and the reservation used."""
        quantity = body.lines[index].quantity
        field = f"lines.{index}.quantity"
        sku = variant.sku
        if body.fulfilment == "buy_in_store":
            assert location is not None
            remaining = quantity
            used = None
            if reservation is not None:
                res_field = f"reservation_ids.{reservation[0]}"
                held = self._reservations.fulfil(
                    conn,
                    reservation[1],
                    location_id=location.id,
                    variant_id=variant.id,
                    quantity=quantity,
                    order_id=order_id,
                    field=res_field,
                )
                self._stock.move(
                    conn,
                    variant.id,
                    location.id,
                    deltas.sale(held.quantity, reserved=True),
                    sku=sku,
                    reference=order_id,
                    actor=actor,
                    field=field,
                )
                remaining -= held.quantity
                used = reservation[1]
            if remaining:
                self._stock.move(
                    conn,
                    variant.id,
                    location.id,
                    deltas.sale(remaining),
                    sku=sku,
                    reference=order_id,
                    actor=actor,
                    field=field,
                )
            return location.id, used
        if body.fulfilment == "click_and_collect":
            assert location is not None
            available = self._available(conn, variant.id, location.id)
            if available >= quantity:
                self._stock.move(
                    conn,
                    variant.id,
                    location.id,
                    deltas.reservation(quantity),
                    sku=sku,
                    reference=order_id,
                    actor=actor,
                    field=field,
                )
                return location.id, None
            # Not enough on the store's shelf: a warehouse allocates it and it is transferred to the
            # store before the order is ready for pick-up.
            warehouse = self._warehouse_with(conn, variant.id, quantity)
            if warehouse is None:
                raise Conflict(
                    "insufficient_stock",
                    f"{field}: {quantity} of SKU {sku} needed at {location.id} (or a warehouse), "
                    f"{max(available, 0)} available",
                    field,
                )
            self._stock.move(
                conn,
                variant.id,
                warehouse,
                deltas.allocation(quantity),
                sku=sku,
                reference=order_id,
                actor=actor,
                note=f"for pick-up at {location.id}",
                field=field,
            )
            return warehouse, None
        # Home delivery or shipping from a store: allocate where it ships from.
        source = location.id if location is not None else self._warehouse_with(conn, variant.id, quantity)
        if source is None:
            raise Conflict(
                "insufficient_stock", f"{field}: {quantity} of SKU {sku} needed, no warehouse has them", field
            )
        self._stock.move(
            conn,
            variant.id,
            source,
            deltas.allocation(quantity),
            sku=sku,
            reference=order_id,
            actor=actor,
            field=field,
        )
        return source, None

    @staticmethod
    def _available(conn: Connection, variant_id: str, location_id: str) -> int:
        s = commerce_stock.c
        row = conn.execute(
            select(s.on_hand - s.reserved - s.allocated).where(
                s.variant_id == variant_id, s.location_id == location_id
            )
        ).scalar()
        return int(row or 0)

    @staticmethod
    def _warehouse_with(conn: Connection, variant_id: str, quantity: int) -> str | None:
        s, loc = commerce_stock.c, commerce_locations.c
        return conn.execute(
            select(s.location_id)
            .join(commerce_locations, loc.id == s.location_id)
            .where(
                s.variant_id == variant_id,
                loc.kind == "warehouse",
                loc.active.is_(True),
                s.on_hand - s.reserved - s.allocated >= quantity,
            )
            .order_by((s.on_hand - s.reserved - s.allocated).desc(), s.location_id)
            .limit(1)
        ).scalar()

    # -- the state machine ---------------------------------------------------------------------

    def change_status(self, order_id: str, body: StatusChange, actor: str) -> dict[str, Any]:
        self._touchpoints.source()
        return write(self._engine, lambda conn: self._change(conn, order_id, body, actor))

    def _change(self, conn: Connection, order_id: str, body: StatusChange, actor: str) -> dict[str, Any]:
        row = store.order(conn, order_id, lock=True)
        if row is None:
            raise NotFound("order_not_found", f"no order {order_id!r}")
        problem = transition_error(order_id, row.fulfilment, row.status, body.status)
        if problem:
            raise Conflict("illegal_transition", f"status: {problem}", "status")
        wanted = body.status
        channel = body.channel or ("store" if wanted in ("ready_for_pickup", "picked_up") else row.channel)
        line_rows = store.lines(conn, order_id) if row.recorded_by == "commerce" else []
        for line in sorted(line_rows, key=lambda x: x.variant_id or ""):
            self._line_effect(conn, row, line, wanted, actor)
        now = self._clock.now()
        store.set_status(conn, order_id, wanted, now)
        store.add_history(
            conn,
            order_id=order_id,
            profile_id=row.profile_id,
            from_status=row.status,
            to_status=wanted,
            channel=channel,
            location_id=row.fulfilment_location_id,
            actor=actor,
            at=now,
        )
        updated = store.order(conn, order_id)
        assert updated is not None
        saved = store.lines(conn, order_id)
        properties = self._properties(conn, updated, saved)
        self._touchpoints.emit(
            conn,
            row.profile_id,
            STATUS_EVENTS[wanted],
            properties,
            channel=channel,
            message_id=f"{order_id}:{wanted}",
        )
        if wanted == "ready_for_pickup":
            notify(
                conn,
                self._clock,
                profile_id=row.profile_id,
                kind="order_ready_for_pickup",
                payload={
                    "order_id": order_id,
                    "store_id": row.fulfilment_location_id,
                    "store_name": properties.get("store_name"),
                    "products": properties["products"],
                },
                order_id=order_id,
            )
        return order_view(updated, saved, store.history(conn, order_id))

    def _line_effect(
        self, conn: Connection, order: Row[Any], line: Row[Any], wanted: str, actor: str
    ) -> None:
        """What a status change does to one line's stock."""
        if line.variant_id is None or line.stock_location_id is None:
            return
        store_id = order.fulfilment_location_id
        held_at = line.stock_location_id
        q = line.quantity
        move = self._stock.move

        def go(location_id: str, delta: deltas.Delta, note: str | None = None) -> None:
            move(
                conn,
                line.variant_id,
                location_id,
                delta,
                sku=line.sku,
                reference=order.id,
                actor=actor,
                note=note,
            )

        if wanted == "ready_for_pickup" and held_at != store_id:
            # The warehouse's allocation travels to the store and is held there for the customer.
            go(held_at, deltas.Delta("transfer", on_hand=-q, allocated=-q), f"to {store_id} for pick-up")
            go(store_id, deltas.Delta("transfer", on_hand=q, reserved=q), f"from {held_at} for pick-up")
            store.set_line(conn, order.id, line.line_no, {"stock_location_id": store_id})
        elif wanted == "picked_up":
            go(held_at, deltas.sale(q, reserved=True))
        elif wanted == "shipped":
            go(held_at, deltas.shipment(q))
        elif wanted == "cancelled":
            if order.fulfilment == "click_and_collect" and held_at == store_id:
                go(held_at, deltas.release(q))
            else:
                go(held_at, deltas.deallocation(q))

    def _properties(self, conn: Connection, order: Row[Any], line_rows: Sequence[Row[Any]]) -> dict[str, Any]:
        """Segment e-commerce properties of an order, with where it came from and goes."""
        variants = catalogue_store.variants_by_skus(conn, [x.sku for x in line_rows])
        products = []
        for x in line_rows:
            v = variants.get(x.sku)
            product = catalogue_store.product(conn, v.product_id) if v is not None else None
            names = product.names if product is not None else {}
            products.append(
                {
                    "product_id": v.product_id if v is not None else None,
                    "sku": x.sku,
                    "name": names.get("de") or names.get("en"),
                    "variant": " / ".join(p for p in (v.colour, v.size) if p) if v is not None else None,
                    "price": cents(x.unit_price_cents),
                    "quantity": x.quantity,
                }
            )
        properties: dict[str, Any] = {
            "order_id": order.id,
            "status": order.status,
            "total": cents(order.total_cents),
            "revenue": cents(order.total_cents),
            "currency": order.currency,
            "products": products,
            "fulfilment": order.fulfilment,
            "order_channel": order.channel,
        }
        if order.fulfilment_location_id:
            location = catalogue_store.location(conn, order.fulfilment_location_id)
            properties["store_id" if location is not None and location.kind == "store" else "location_id"] = (
                order.fulfilment_location_id
            )
            if location is not None:
                properties["store_name"] = location.name
        if order.origin_location_id:
            properties["origin_store_id"] = order.origin_location_id
        return properties

    # -- returns -------------------------------------------------------------------------------

    def return_goods(self, order_id: str, body: ReturnIn, actor: str) -> dict[str, Any]:
        """Goods come back on any channel (bought online, returned in a store). Restocking rule:
        resellable goods go back on hand where they were returned (or where they were shipped
        from, for a parcel sent back); damaged goods are recorded in the ledger, not restocked."""
        self._touchpoints.source()
        return write(self._engine, lambda conn: self._return(conn, order_id, body, actor))

    def _return(self, conn: Connection, order_id: str, body: ReturnIn, actor: str) -> dict[str, Any]:
        row = store.order(conn, order_id, lock=True)
        if row is None:
            raise NotFound("order_not_found", f"no order {order_id!r}")
        if "returned" not in TRANSITIONS[row.status]:
            raise Conflict(
                "illegal_transition",
                f"status: order {order_id} is {row.status}; only goods handed over or delivered "
                "can be returned",
                "status",
            )
        if body.location_id is not None:
            require_location(conn, body.location_id, "location_id", "returns")
        elif body.channel == "store":
            raise InvalidInput(
                "missing_field", "location_id is needed for a return in a store", "location_id"
            )
        by_sku = {x.sku: x for x in store.lines(conn, order_id)}
        now = self._clock.now()
        return_id = new_id("ret")
        refund = 0
        record: list[dict[str, Any]] = []
        for index, item in enumerate(body.lines):
            field = f"lines.{index}.quantity"
            line = by_sku.get(item.sku)
            if line is None:
                raise InvalidInput(
                    "not_in_order",
                    f"lines.{index}.sku: {item.sku} is not in order {order_id}",
                    f"lines.{index}.sku",
                )
            if item.quantity > line.quantity - line.returned_quantity:
                raise InvalidInput(
                    "return_exceeds_order",
                    f"{field}: {item.quantity} returned but only "
                    f"{line.quantity - line.returned_quantity} of {item.sku} are open",
                    field,
                )
            where = body.location_id or line.stock_location_id
            restock = body.condition == "resellable" and where is not None and line.variant_id is not None
            if restock:
                self._stock.move(
                    conn,
                    line.variant_id,
                    where,
                    deltas.Delta("return", on_hand=item.quantity),
                    sku=item.sku,
                    reference=return_id,
                    actor=actor,
                )
            elif line.variant_id is not None and where is not None:
                self._stock.record_only(
                    conn, line.variant_id, where, "return", return_id, f"{body.condition}, not restocked"
                )
            store.set_line(
                conn, order_id, line.line_no, {"returned_quantity": line.returned_quantity + item.quantity}
            )
            refund += line.unit_price_cents * item.quantity
            record.append(
                {"sku": item.sku, "quantity": item.quantity, "restocked": restock, "location_id": where}
            )
        store.insert_return(
            conn,
            {
                "id": return_id,
                "order_id": order_id,
                "profile_id": row.profile_id,
                "channel": body.channel,
                "location_id": body.location_id,
                "condition": body.condition,
                "reason": body.reason,
                "lines": record,
                "refund_cents": refund,
                "created_at": now,
            },
        )
        saved = store.lines(conn, order_id)
        if all(x.returned_quantity >= x.quantity for x in saved):
            store.set_status(conn, order_id, "returned", now)
            store.add_history(
                conn,
                order_id=order_id,
                profile_id=row.profile_id,
                from_status=row.status,
                to_status="returned",
                channel=body.channel,
                location_id=body.location_id,
                actor=actor,
                at=now,
            )
        self._touchpoints.emit(
            conn,
            row.profile_id,
            "Order Refunded",
            {
                "order_id": order_id,
                "return_id": return_id,
                "total": cents(refund),
                "currency": row.currency,
                "products": [{"sku": x["sku"], "quantity": x["quantity"]} for x in record],
                "condition": body.condition,
                "store_id": body.location_id,
                "order_channel": row.channel,
            },
            channel=body.channel,
            message_id=f"{return_id}:refunded",
        )
        return {
            "id": return_id,
            "order_id": order_id,
            "refund_cents": refund,
            "currency": row.currency,
            "lines": record,
            "order": self._view(conn, order_id),
        }

    # -- reading -------------------------------------------------------------------------------

    def _view(self, conn: Connection, order_id: str) -> dict[str, Any]:
        row = store.order(conn, order_id)
        if row is None:
            raise NotFound("order_not_found", f"no order {order_id!r}")
        view = order_view(row, store.lines(conn, order_id), store.history(conn, order_id))
        view["returns"] = [
            {
                "id": x.id,
                "channel": x.channel,
                "location_id": x.location_id,
                "condition": x.condition,
                "lines": x.lines,
                "refund_cents": x.refund_cents,
                "created_at": isoformat(x.created_at),
            }
            for x in store.returns(conn, order_id)
        ]
        return view

    def get(self, order_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            return self._view(conn, order_id)

    def find(
        self, profile_id: str | None, status: str | None, after: str | None, limit: int
    ) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            ids = branch(conn, live_profile(conn, profile_id)) if profile_id else None
            rows = store.orders_of(conn, ids, status, after, limit + 1)
            page = rows[:limit]
            lines = store.lines_of(conn, [r.id for r in page])
        return {
            "orders": [order_view(r, lines[r.id]) for r in page],
            "next_after": page[-1].id if len(rows) > limit else None,
        }
