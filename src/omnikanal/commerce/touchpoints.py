"""Commerce facts on the customer's timeline, and transactional notifications in the outbox.

Touchpoints go through the ingest path (the same validation, deduplication and profile statistics as
any event) inside the caller's transaction, so an order's state and its timeline event commit
together. They come from one internal source and carry ``context.omnikanal.origin = "commerce"``:
the order processor (jobs.py) skips them, so an order is never recorded twice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from omnikanal.clock import Clock, isoformat
from omnikanal.commerce.tables import commerce_notifications, commerce_orders, commerce_reservations
from omnikanal.errors import Conflict, NotFound
from omnikanal.ids import new_id
from omnikanal.ingest.service import IngestService
from omnikanal.profiles import access as profiles
from omnikanal.profiles import chain
from omnikanal.sources.model import Source
from omnikanal.sources.service import SourceService

from .model import ORIGIN


def live_profile(conn: Connection, profile_id: str, field: str = "profile_id", *, lock: bool = False) -> str:
    """The live profile of an id (following merges), or NotFound naming the field.

    ``lock`` takes the profile's row now (PostgreSQL), before any stock row: the touchpoint event
    takes it anyway, and every commerce write taking profile then stock cannot deadlock another.
    """
    live = chain.resolve_live(conn, profile_id)
    if live is None:
        raise NotFound("profile_not_found", f"{field}: no profile {profile_id!r}", field)
    if lock:
        profiles.lock(conn, [live])
    return live


def branch(conn: Connection, live_id: str) -> list[str]:
    """A live profile and every profile merged into it: their carts, orders, etc. are the person's."""
    return chain.merge_set(conn, live_id)


def orders_among(conn: Connection, profile_ids: Sequence[str], order_ids: Sequence[str]) -> list[str]:
    """Those of ``order_ids`` that are orders of these profiles, in the order given.

    For another capability that finds order ids in what a customer wrote (service: a complaint by
    mail): only the person's own orders count, so a number naming someone else's order links nothing.
    """
    if not profile_ids or not order_ids:
        return []
    orders = commerce_orders.c
    found = set(
        conn.execute(
            select(orders.id).where(orders.id.in_(list(order_ids)), orders.profile_id.in_(list(profile_ids)))
        ).scalars()
    )
    return [order_id for order_id in order_ids if order_id in found]


class Touchpoints:
    def __init__(
        self,
        ingest: IngestService,
        sources: SourceService,
        clock: Clock,
        source_name: str,
        origin: str = ORIGIN,
    ) -> None:
        # ``origin``: another capability (service) writes its facts the same way, under its own name
        self._origin = origin
        self._ingest = ingest
        self._sources = sources
        self._clock = clock
        self._source_name = source_name
        self._source: Source | None = None
        self._lock = threading.Lock()

    def source(self) -> Source:
        """The hub's own source for commerce events, created on first use.

        Called before a write transaction opens: creating it takes a transaction of its own.
        """
        if self._source is not None:
            return self._source
        with self._lock:
            if self._source is None:
                try:
                    self._source = self._sources.get(self._source_name)
                except NotFound:
                    try:
                        self._source, _ = self._sources.create(self._source_name, "other")
                    except Conflict:  # another process created it meanwhile
                        self._source = self._sources.get(self._source_name)
            return self._source

    @staticmethod
    def identity(conn: Connection, live_id: str) -> tuple[str, str] | None:
        """The envelope field and value that lead ingest to this profile: its user id, else an anonymous id.

        Every profile was created by an event with one of the two, and identifiers always sit on
        live profiles, so the event lands exactly here.
        """
        found = profiles.entry_identifier(conn, live_id)
        if found is None:
            return None
        return ("userId" if found[0] == "user_id" else "anonymousId", found[1])

    def emit(
        self,
        conn: Connection,
        profile_id: str | None,
        event: str,
        properties: dict[str, Any],
        *,
        channel: str,
        message_id: str,
        at: datetime | None = None,
    ) -> bool:
        """Write a track event on the profile's timeline in the caller's transaction.

        Returns False when there is no customer to write it for (an anonymous sale at the till).
        """
        if profile_id is None:
            return False
        live = chain.resolve_live(conn, profile_id)
        if live is None:
            return False
        who = self.identity(conn, live)
        if who is None:
            return False
        envelope: dict[str, Any] = {
            "type": "track",
            "event": event,
            who[0]: who[1],
            "messageId": message_id,
            "timestamp": isoformat(at or self._clock.now()),
            "properties": properties,
            "context": {"touchpoint": {"channel": channel}, "omnikanal": {"origin": self._origin}},
        }
        submission = self._ingest.prepare(self.source(), [envelope])
        if submission.rejected:  # our own envelopes are valid; anything else is a bug
            raise AssertionError(f"{self._origin} event refused by ingest: {submission.rejected[0][1]}")
        self._ingest.write(conn, [submission])
        return True


def notify(
    conn: Connection,
    clock: Clock,
    *,
    profile_id: str | None,
    kind: str,
    payload: dict[str, Any],
    order_id: str | None = None,
    reservation_id: str | None = None,
) -> str | None:
    """Put a transactional message in the outbox, in the caller's transaction (the state change's)."""
    if profile_id is None:
        return None
    notification_id = new_id("ntf")
    conn.execute(
        insert(commerce_notifications).values(
            id=notification_id,
            profile_id=profile_id,
            kind=kind,
            order_id=order_id,
            reservation_id=reservation_id,
            payload=payload,
            status="pending",
            created_at=clock.now(),
        )
    )
    return notification_id


def list_notifications(
    conn: Connection,
    status: str | None,
    profile_ids: Sequence[str] | None,
    limit: int,
    store_id: str | None = None,
) -> list[dict[str, Any]]:
    """Notifications, oldest first; with ``store_id`` only those of the store's orders and reservations."""
    stmt = select(commerce_notifications).order_by(
        commerce_notifications.c.created_at, commerce_notifications.c.id
    )
    if store_id is not None:
        orders = commerce_orders.c
        of_orders = select(orders.id).where(
            (orders.origin_location_id == store_id) | (orders.fulfilment_location_id == store_id)
        )
        of_reservations = select(commerce_reservations.c.id).where(
            commerce_reservations.c.location_id == store_id
        )
        stmt = stmt.where(
            commerce_notifications.c.order_id.in_(of_orders)
            | commerce_notifications.c.reservation_id.in_(of_reservations)
        )
    if status is not None:
        stmt = stmt.where(commerce_notifications.c.status == status)
    if profile_ids is not None:
        stmt = stmt.where(commerce_notifications.c.profile_id.in_(profile_ids))
    return [
        {
            "id": r.id,
            "profile_id": r.profile_id,
            "kind": r.kind,
            "order_id": r.order_id,
            "reservation_id": r.reservation_id,
            "payload": r.payload,
            "status": r.status,
            "created_at": isoformat(r.created_at),
        }
        for r in conn.execute(stmt.limit(limit))
    ]


def count_notifications(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(commerce_notifications)).scalar_one())


def pending_notifications(conn: Connection, limit: int) -> list[Any]:
    """The oldest pending notifications; on PostgreSQL locked, skipping those another worker holds."""
    query = (
        select(commerce_notifications)
        .where(commerce_notifications.c.status == "pending")
        .order_by(commerce_notifications.c.created_at, commerce_notifications.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query).all())


def mark_notification(conn: Connection, notification_id: str, status: str) -> None:
    """A notification was handed to messaging (queued) or could not be (failed)."""
    conn.execute(
        update(commerce_notifications)
        .where(commerce_notifications.c.id == notification_id)
        .values(status=status)
    )
