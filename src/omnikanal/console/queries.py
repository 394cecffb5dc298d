"""Read-only SQL that only the console needs: customer search by name, aggregates for the overview
and data quality, the store's pick-ups, a person's privacy requests. Everything else comes from the
capabilities' own services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from omnikanal.clock import isoformat
from omnikanal.commerce.tables import commerce_orders
from omnikanal.eventlog.tables import events
from omnikanal.ingest.tables import quarantine
from omnikanal.messaging.tables import message_statuses
from omnikanal.privacy.tables import privacy_requests
from omnikanal.profiles.identity.tables import identities
from omnikanal.profiles.tables import profiles
from omnikanal.segments.store import SYSTEM_SOURCE_ID

# Escaped for LIKE, so a "%" or "_" typed by staff is matched literally.
_LIKE_ESCAPE = "\\"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _day(conn: Connection, column: Any) -> ColumnElement[str]:
    """The UTC calendar day of a time column as YYYY-MM-DD on both engines."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(cast(column, String), 1, 10)


def _trait(name: str) -> ColumnElement[str]:
    return func.lower(profiles.c.traits[name]["value"].as_string())


def search_names(conn: Connection, text: str, limit: int) -> list[str]:
    """Live profiles whose first or last name, full name, or an identifier contains the text.

    In a fixed order (names first, each part by profile id), so that pages of hits follow on."""
    pattern = _like(text)
    words = [w for w in text.lower().split() if w]
    by_name: ColumnElement[bool]
    if len(words) >= 2:
        # "Eva Müller": first and last name both given.
        by_name = and_(
            _trait("firstName").like(_like(words[0]), escape=_LIKE_ESCAPE),
            _trait("lastName").like(_like(words[-1]), escape=_LIKE_ESCAPE),
        )
    else:
        by_name = or_(
            _trait("firstName").like(pattern, escape=_LIKE_ESCAPE),
            _trait("lastName").like(pattern, escape=_LIKE_ESCAPE),
            _trait("name").like(pattern, escape=_LIKE_ESCAPE),
        )
    live = select(profiles.c.id).where(profiles.c.state == "live", by_name)
    named = live.order_by(profiles.c.id).limit(limit)
    ids = [r[0] for r in conn.execute(named)]
    if len(ids) < limit and len(text) >= 3:
        # Part of an email, phone number or customer number.
        found = select(identities.c.profile_id).where(
            identities.c.type.in_(("email", "phone", "user_id", "loyalty_card")),
            identities.c.value.like(pattern, escape=_LIKE_ESCAPE),
        )
        for row in conn.execute(found.order_by(identities.c.profile_id).limit(limit)):
            if row[0] not in ids:
                ids.append(row[0])
    return ids[:limit]


def summaries(conn: Connection, profile_ids: list[str]) -> list[dict[str, Any]]:
    """Name, email, channels and last activity of profiles, for a list of search hits."""
    if not profile_ids:
        return []
    rows = conn.execute(
        select(profiles.c.id, profiles.c.traits, profiles.c.stats, profiles.c.last_seen).where(
            profiles.c.id.in_(profile_ids)
        )
    )
    emails: dict[str, str] = {}
    for pid, value in conn.execute(
        select(identities.c.profile_id, identities.c.value).where(
            identities.c.profile_id.in_(profile_ids), identities.c.type == "email"
        )
    ):
        emails.setdefault(pid, value)
    by_id = {}
    for row in rows:
        traits = row.traits or {}
        by_id[row.id] = {
            "id": row.id,
            "name": display_name(traits),
            "email": emails.get(row.id),
            "channels": sorted((row.stats or {}).get("channels", {})),
            "last_seen": isoformat(row.last_seen),
        }
    return [by_id[pid] for pid in profile_ids if pid in by_id]


def display_name(traits: dict[str, Any]) -> str:
    def value(key: str) -> str:
        item = traits.get(key)
        got = item.get("value") if isinstance(item, dict) else item
        return str(got) if got else ""

    full = " ".join(x for x in (value("firstName"), value("lastName")) if x)
    return full or value("name") or "–"


def privacy_requests_of(conn: Connection, profile_id: str, limit: int) -> list[dict[str, Any]]:
    t = privacy_requests.c
    rows = conn.execute(
        select(t.id, t.type, t.status, t.created_at, t.due_at, t.completed_at)
        .where(t.profile_id == profile_id)
        .order_by(t.created_at.desc())
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "type": r.type,
            "status": r.status,
            "created_at": isoformat(r.created_at),
            "due_at": isoformat(r.due_at),
            "completed_at": isoformat(r.completed_at),
        }
        for r in rows
    ]


# -- the overview -------------------------------------------------------------------------------


def activity(conn: Connection, since: datetime) -> list[tuple[str, str, int, int]]:
    """(day, channel, events, active customers) since a time; the segments' own events left out."""
    e = events.c
    day = _day(conn, e.timestamp).label("day")
    stmt = (
        select(day, e.channel, func.count(), func.count(func.distinct(e.profile_id)))
        .where(e.timestamp >= since, e.source_id != SYSTEM_SOURCE_ID)
        .group_by(day, e.channel)
        .order_by(day, e.channel)
    )
    return [(str(d), str(c), int(n), int(a)) for d, c, n, a in conn.execute(stmt)]


def channel_mix(conn: Connection, since: datetime) -> tuple[int, int]:
    """(customers active on one channel, on several) since a time."""
    e = events.c
    per_profile = (
        select(e.profile_id, func.count(func.distinct(e.channel)).label("n"))
        .where(e.timestamp >= since, e.source_id != SYSTEM_SOURCE_ID)
        .group_by(e.profile_id)
        .subquery()
    )
    row = conn.execute(
        select(
            func.coalesce(func.sum(case((per_profile.c.n == 1, 1), else_=0)), 0),
            func.coalesce(func.sum(case((per_profile.c.n > 1, 1), else_=0)), 0),
        )
    ).one()
    return int(row[0]), int(row[1])


def message_days(conn: Connection, since: datetime) -> list[tuple[str, str, int]]:
    """(day, status, messages) for sent and opened messages since a time."""
    m = message_statuses.c
    day = _day(conn, m.at).label("day")
    stmt = (
        select(day, m.status, func.count(func.distinct(m.message_id)))
        .where(m.at >= since, m.status.in_(("sent", "opened")))
        .group_by(day, m.status)
        .order_by(day)
    )
    return [(str(d), str(s), int(n)) for d, s, n in conn.execute(stmt)]


def revenue(conn: Connection, since: datetime) -> list[tuple[str, int]]:
    """(channel, revenue in cents) of orders placed since a time, cancelled ones left out."""
    o = commerce_orders.c
    stmt = (
        select(o.channel, func.sum(o.total_cents))
        .where(o.created_at >= since, o.status != "cancelled")
        .group_by(o.channel)
        .order_by(o.channel)
    )
    return [(str(c), int(total or 0)) for c, total in conn.execute(stmt)]


# -- data quality and the store -----------------------------------------------------------------


def source_rates(conn: Connection, day_ago: datetime, week_ago: datetime) -> dict[str, tuple[int, int]]:
    """Per source id: events received in the last day and in the last week."""
    e = events.c
    stmt = (
        select(
            e.source_id,
            func.sum(case((e.received_at >= day_ago, 1), else_=0)),
            func.count(),
        )
        .where(e.received_at >= week_ago)
        .group_by(e.source_id)
    )
    return {str(s): (int(d or 0), int(w)) for s, d, w in conn.execute(stmt)}


def quarantined(conn: Connection, limit: int) -> list[dict[str, Any]]:
    q = quarantine.c
    rows = conn.execute(
        select(q.id, q.source_id, q.received_at, q.code, q.field, q.reason, q.payload)
        .order_by(q.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "source_id": r.source_id,
            "received_at": isoformat(r.received_at),
            "code": r.code,
            "field": r.field,
            "reason": r.reason,
            "payload": r.payload[:500],
        }
        for r in rows
    ]


def pickups(conn: Connection, store_id: str, limit: int) -> list[dict[str, Any]]:
    """Click & collect orders of a store that are not yet handed over, oldest first."""
    o = commerce_orders.c
    rows = conn.execute(
        select(o.id, o.profile_id, o.status, o.total_cents, o.currency, o.created_at)
        .add_columns(literal(store_id).label("store"))
        .where(
            o.fulfilment == "click_and_collect",
            o.fulfilment_location_id == store_id,
            o.status.in_(("placed", "confirmed", "ready_for_pickup")),
        )
        .order_by(o.created_at)
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "profile_id": r.profile_id,
            "status": r.status,
            "total_cents": r.total_cents,
            "currency": r.currency,
            "created_at": isoformat(r.created_at),
        }
        for r in rows
    ]
