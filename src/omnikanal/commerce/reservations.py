"""Reservations (scenario 3): hold an item in a store for a set time; the till purchase fulfils it,
the customer or staff may cancel it, and an unclaimed one expires and frees the stock."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update

from omnikanal.clock import Clock, isoformat
from omnikanal.commerce.tables import commerce_reservations
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.ids import new_id

from . import stock as deltas
from .catalogue import CatalogueService, require_location
from .model import ReservationIn
from .stock import Stock
from .touchpoints import Touchpoints, branch, live_profile, notify
from .tx import write

r = commerce_reservations.c


def reservation_view(row: Row[Any], sku: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "profile_id": row.profile_id,
        "location_id": row.location_id,
        "sku": sku,
        "quantity": row.quantity,
        "status": row.status,
        "order_id": row.order_id,
        "expires_at": isoformat(row.expires_at),
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
    }


class Reservations:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        catalogue: CatalogueService,
        stock: Stock,
        touchpoints: Touchpoints,
        hold_hours: float,
        reminder_hours: float,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._catalogue = catalogue
        self._stock = stock
        self._touchpoints = touchpoints
        self._hold = timedelta(hours=hold_hours)
        self._reminder = timedelta(hours=reminder_hours)

    def create(self, body: ReservationIn, actor: str) -> dict[str, Any]:
        self._touchpoints.source()
        hold = timedelta(hours=body.hold_hours) if body.hold_hours is not None else self._hold

        def work(conn: Connection) -> dict[str, Any]:
            profile_id = live_profile(conn, body.profile_id, lock=True)
            variant = self._catalogue.variant(conn, body.sku)
            location = require_location(conn, body.location_id, "location_id", "reservations")
            now = self._clock.now()
            reservation_id = new_id("res")
            # A cheap look first, so a request for stock that is gone does no work; the guarded
            # update at the end decides. Taking the contended stock row last keeps its lock (held to
            # the commit on PostgreSQL) short.
            self._stock.check_available(conn, variant.id, location.id, body.quantity, sku=body.sku)
            expires = now + hold
            conn.execute(
                insert(commerce_reservations).values(
                    id=reservation_id,
                    profile_id=profile_id,
                    location_id=location.id,
                    variant_id=variant.id,
                    quantity=body.quantity,
                    status="active",
                    order_id=None,
                    expires_at=expires,
                    reminded_at=None,
                    created_at=now,
                    updated_at=now,
                )
            )
            facts = {
                "reservation_id": reservation_id,
                "sku": body.sku,
                "product_id": variant.product_id,
                "quantity": body.quantity,
                "store_id": location.id,
                "store_name": location.name,
                "expires_at": isoformat(expires),
            }
            self._touchpoints.emit(
                conn,
                profile_id,
                "Product Reserved",
                facts,
                channel=body.channel,
                message_id=f"{reservation_id}:reserved",
            )
            # Held at once, so it is ready for the customer now.
            notify(
                conn,
                self._clock,
                profile_id=profile_id,
                kind="reservation_ready",
                payload=facts,
                reservation_id=reservation_id,
            )
            self._stock.move(
                conn,
                variant.id,
                location.id,
                deltas.reservation(body.quantity),
                sku=body.sku,
                reference=reservation_id,
                actor=actor,
            )
            row = conn.execute(select(commerce_reservations).where(r.id == reservation_id)).one()
            return reservation_view(row, body.sku)

        return write(self._engine, work)

    def get(self, reservation_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(commerce_reservations).where(r.id == reservation_id)).first()
            if row is None:
                raise NotFound("reservation_not_found", f"no reservation {reservation_id!r}")
            sku = self._stock.skus(conn, [row.variant_id]).get(row.variant_id)
        return reservation_view(row, sku)

    def find(
        self, location_id: str | None, profile_id: str | None, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Reservations to set aside or hand over: of a store, of a customer, by status; soonest end first."""
        with read_tx(self._engine) as conn:
            stmt = select(commerce_reservations)
            if location_id is not None:
                stmt = stmt.where(r.location_id == location_id)
            if profile_id is not None:
                stmt = stmt.where(r.profile_id.in_(branch(conn, live_profile(conn, profile_id))))
            if status is not None:
                stmt = stmt.where(r.status == status)
            rows = list(conn.execute(stmt.order_by(r.expires_at, r.id).limit(limit)))
            names = self._stock.skus(conn, [x.variant_id for x in rows])
        return [reservation_view(x, names.get(x.variant_id)) for x in rows]

    def of_profiles(self, conn: Connection, profile_ids: list[str]) -> list[dict[str, Any]]:
        rows = list(
            conn.execute(
                select(commerce_reservations).where(r.profile_id.in_(profile_ids)).order_by(r.created_at)
            )
        )
        names = self._stock.skus(conn, [x.variant_id for x in rows])
        return [reservation_view(x, names.get(x.variant_id)) for x in rows]

    def cancel(self, reservation_id: str, actor: str, channel: str = "store") -> dict[str, Any]:
        self._touchpoints.source()
        return write(self._engine, lambda conn: self._end(conn, reservation_id, "cancelled", actor, channel))

    def _locked(self, conn: Connection, reservation_id: str, field: str | None = None) -> Row[Any]:
        row = conn.execute(
            select(commerce_reservations).where(r.id == reservation_id).with_for_update()
        ).first()
        if row is None:
            where = f"{field}: " if field else ""
            raise NotFound("reservation_not_found", f"{where}no reservation {reservation_id!r}", field)
        return row

    def _end(
        self, conn: Connection, reservation_id: str, status: str, actor: str | None, channel: str
    ) -> dict[str, Any]:
        """Cancel or expire an active reservation: its stock is released."""
        row = self._locked(conn, reservation_id)
        if row.status != "active":
            raise Conflict(
                "reservation_not_active",
                f"status: reservation {reservation_id} is {row.status}, not active",
                "status",
            )
        sku = self._stock.skus(conn, [row.variant_id])[row.variant_id]
        self._stock.move(
            conn,
            row.variant_id,
            row.location_id,
            deltas.release(row.quantity),
            sku=sku,
            reference=reservation_id,
            actor=actor,
        )
        now = self._clock.now()
        conn.execute(
            update(commerce_reservations).where(r.id == reservation_id).values(status=status, updated_at=now)
        )
        event = "Reservation Cancelled" if status == "cancelled" else "Reservation Expired"
        self._touchpoints.emit(
            conn,
            row.profile_id,
            event,
            {
                "reservation_id": reservation_id,
                "sku": sku,
                "quantity": row.quantity,
                "store_id": row.location_id,
            },
            channel=channel,
            message_id=f"{reservation_id}:{status}",
        )
        updated = conn.execute(select(commerce_reservations).where(r.id == reservation_id)).one()
        return reservation_view(updated, sku)

    def fulfil(
        self,
        conn: Connection,
        reservation_id: str,
        *,
        location_id: str,
        variant_id: str,
        quantity: int,
        order_id: str,
        field: str,
    ) -> Row[Any]:
        """Hand a reserved item over in a till purchase (the caller's transaction): reserved and on
        hand both go down by the reserved quantity; the rest of the line comes from what is available."""
        row = self._locked(conn, reservation_id, field)
        if row.status != "active":
            raise Conflict(
                "reservation_not_active", f"{field}: reservation {reservation_id} is {row.status}", field
            )
        if row.location_id != location_id:
            raise Conflict(
                "reservation_elsewhere",
                f"{field}: reservation {reservation_id} is held at {row.location_id}",
                field,
            )
        if row.variant_id != variant_id or row.quantity > quantity:
            raise InvalidInput(
                "reservation_mismatch",
                f"{field}: reservation {reservation_id} is not for this line's item and quantity",
                field,
            )
        now = self._clock.now()
        conn.execute(
            update(commerce_reservations)
            .where(r.id == reservation_id)
            .values(status="fulfilled", order_id=order_id, updated_at=now)
        )
        return row

    # -- scheduled work (jobs.py) --------------------------------------------------------------

    def expire_due(self, limit: int = 200) -> int:
        """Expire active reservations whose time is up; each in its own transaction."""
        now = self._clock.now()
        with read_tx(self._engine) as conn:
            due = list(
                conn.execute(
                    select(r.id)
                    .where(r.status == "active", r.expires_at <= now)
                    .order_by(r.expires_at)
                    .limit(limit)
                ).scalars()
            )
        if due:
            self._touchpoints.source()
        expired = 0
        for reservation_id in due:
            try:
                write(self._engine, partial(self._expire, reservation_id=reservation_id, now=now))
                expired += 1
            except Conflict:  # fulfilled or cancelled since it was read: nothing to do
                continue
        return expired

    def _expire(self, conn: Connection, *, reservation_id: str, now: datetime) -> None:
        row = self._locked(conn, reservation_id)
        if row.status != "active" or row.expires_at > now:
            raise Conflict("reservation_not_active", f"reservation {reservation_id} is {row.status}")
        self._end(conn, reservation_id, "expired", "job:reservation-expiry", "store")
        notify(
            conn,
            self._clock,
            profile_id=row.profile_id,
            kind="reservation_expired",
            payload={"reservation_id": reservation_id, "store_id": row.location_id, "quantity": row.quantity},
            reservation_id=reservation_id,
        )

    def remind_due(self, limit: int = 200) -> int:
        """Tell customers whose reservation ends within the reminder window, once each."""
        now = self._clock.now()

        def work(conn: Connection) -> int:
            rows = list(
                conn.execute(
                    select(commerce_reservations)
                    .where(
                        r.status == "active",
                        r.reminded_at.is_(None),
                        r.expires_at > now,
                        r.expires_at <= now + self._reminder,
                    )
                    .order_by(r.expires_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            names = self._stock.skus(conn, [x.variant_id for x in rows])
            for row in rows:
                notify(
                    conn,
                    self._clock,
                    profile_id=row.profile_id,
                    kind="reservation_expiring",
                    payload={
                        "reservation_id": row.id,
                        "sku": names.get(row.variant_id),
                        "store_id": row.location_id,
                        "quantity": row.quantity,
                        "expires_at": isoformat(row.expires_at),
                    },
                    reservation_id=row.id,
                )
                conn.execute(update(commerce_reservations).where(r.id == row.id).values(reminded_at=now))
            return len(rows)

        return write(self._engine, work)
