"""SQL for the messaging tables, and the customer facts the gate reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from omnikanal.eventlog import access as eventlog
from omnikanal.messaging.model import ENGAGEMENT_CHANNEL, CustomerFacts, Status
from omnikanal.messaging.tables import (
    message_statuses,
    message_templates,
    messages,
    push_subscriptions,
    staff_tasks,
)
from omnikanal.profiles import access as profiles
from omnikanal.profiles.chain import merge_set


def plain_traits(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Trait values without their provenance."""
    out: dict[str, Any] = {}
    for key, entry in (stored or {}).items():
        out[key] = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
    return out


def facts(
    conn: Connection,
    profile_id: str,
    cap_since: datetime,
    exclude_message: str | None,
    *,
    lock: bool = False,
    engagement: bool = True,
) -> CustomerFacts | None:
    """What the gate needs of a live profile; with ``lock`` the profile row is locked (PostgreSQL),
    so two dispatchers cannot both let a message through under the same cap."""
    row = profiles.live_row(conn, profile_id, lock=lock)
    if row is None or row.state != "live":
        return None
    traits = plain_traits(row.traits)
    addresses: dict[str, str] = {}
    for kind, value in profiles.contact_addresses(conn, profile_id):
        if kind == "email":
            addresses.setdefault("email", value)
        else:
            addresses.setdefault("sms", value)
            addresses.setdefault("whatsapp", value)
    push = conn.execute(
        select(push_subscriptions.c.id)
        .where(
            push_subscriptions.c.profile_id.in_(merge_set(conn, profile_id)),
            push_subscriptions.c.expired_at.is_(None),
        )
        .order_by(push_subscriptions.c.created_at.desc())
        .limit(1)
    ).scalar()
    if push is not None:
        addresses["push"] = push
    used: dict[str, tuple[int, datetime | None]] = {}
    for channel, count, newest in (
        eventlog.engagement(conn, profile_id, ENGAGEMENT_CHANNEL) if engagement else []
    ):
        used[ENGAGEMENT_CHANNEL[channel]] = (count, _aware(newest))
    recent_stmt = select(messages.c.passed_at, messages.c.channel).where(
        messages.c.profile_id == profile_id,
        messages.c.transactional.is_(False),
        messages.c.passed_at >= cap_since,
        messages.c.status != Status.FAILED.value,
    )
    if exclude_message is not None:
        recent_stmt = recent_stmt.where(messages.c.id != exclude_message)
    recent = [(r.passed_at, r.channel) for r in conn.execute(recent_stmt)]
    return CustomerFacts(profile_id, traits, addresses, used, recent)


def _aware(value: Any) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def add_status(
    conn: Connection, message_id: str, profile_id: str, status: str, at: datetime, detail: dict[str, Any]
) -> None:
    conn.execute(
        message_statuses.insert().values(
            message_id=message_id, profile_id=profile_id, status=status, at=at, detail=detail
        )
    )


def history(conn: Connection, message_id: str) -> list[Any]:
    return list(
        conn.execute(
            select(message_statuses)
            .where(message_statuses.c.message_id == message_id)
            .order_by(message_statuses.c.id)
        )
    )


def message(conn: Connection, message_id: str) -> Any:
    return conn.execute(select(messages).where(messages.c.id == message_id)).first()


def by_idempotency_key(conn: Connection, key: str) -> Any:
    return conn.execute(select(messages).where(messages.c.idempotency_key == key)).first()


def claim_due(
    conn: Connection, now: datetime, lease_until: datetime, limit: int, ids: Sequence[str] | None = None
) -> list[Any]:
    """Claim due messages for this dispatcher until ``lease_until``.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so several workers take disjoint rows without waiting.
    SQLite: the write transaction holds the database lock, and the UPDATE repeats the condition.
    """
    due = and_(
        messages.c.due_at.is_not(None),
        messages.c.due_at <= now,
        or_(messages.c.claimed_until.is_(None), messages.c.claimed_until < now),
    )
    if ids is not None:
        due = and_(due, messages.c.id.in_(list(ids)))
    stmt = select(messages.c.id).where(due).order_by(messages.c.due_at).limit(limit)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = [r.id for r in conn.execute(stmt)]
    if not ids:
        return []
    conn.execute(update(messages).where(messages.c.id.in_(ids), due).values(claimed_until=lease_until))
    # Within this transaction nobody else can have claimed them (row locks, or SQLite's write lock).
    return list(conn.execute(select(messages).where(messages.c.id.in_(ids))))


def template_rows(conn: Connection, name: str | None = None, channel: str | None = None) -> list[Any]:
    stmt = select(message_templates).order_by(
        message_templates.c.name, message_templates.c.channel, message_templates.c.locale
    )
    if name is not None:
        stmt = stmt.where(message_templates.c.name == name)
    if channel is not None:
        stmt = stmt.where(message_templates.c.channel == channel)
    return list(conn.execute(stmt))


def template_for(conn: Connection, name: str, channel: str, locale: str, fallback: Sequence[str]) -> Any:
    rows = {r.locale: r for r in template_rows(conn, name, channel)}
    for candidate in (locale, *fallback):
        if candidate in rows:
            return rows[candidate]
    return next(iter(rows.values()), None)


def open_tasks(conn: Connection, queue: str, status: str | None, limit: int) -> list[Any]:
    stmt = select(staff_tasks).where(staff_tasks.c.queue == queue)
    if status is not None:
        stmt = stmt.where(staff_tasks.c.status == status)
    return list(conn.execute(stmt.order_by(staff_tasks.c.created_at, staff_tasks.c.id).limit(limit)))


def statuses(conn: Connection, message_ids: Sequence[str]) -> dict[str, str]:
    """The current status of each of these messages."""
    found: dict[str, str] = {}
    ids = list(message_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in conn.execute(select(messages.c.id, messages.c.status).where(messages.c.id.in_(chunk))):
            found[row.id] = row.status
    return found
