"""SQL for the consent ledger, its derived state, confirmations and restrictions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omnikanal.consent.model import ContactFacts
from omnikanal.consent.tables import consent_confirmations, consent_records, consent_state, restrictions
from omnikanal.db.fast import Raw


def insert_record(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(consent_records), [row])


def upsert_state(conn: Connection, row: dict[str, Any]) -> None:
    """The state follows the newest change by the time it happened; a late-arriving older one does not
    overwrite a newer decision."""
    # Both dialects spell the upsert alike; only the insert construct differs.
    insert_for = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert_for(consent_state).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["profile_id", "purpose"],
        set_={
            "status": stmt.excluded.status,
            "record_id": stmt.excluded.record_id,
            "occurred_at": stmt.excluded.occurred_at,
        },
        where=consent_state.c.occurred_at <= stmt.excluded.occurred_at,
    )
    conn.execute(stmt)


def states(conn: Connection, profile_ids: Sequence[str]) -> dict[str, tuple[str, datetime, str]]:
    """Purpose -> (status, occurred_at, record id), the newest over all the given profiles."""
    found: dict[str, tuple[str, datetime, str]] = {}
    rows = conn.execute(
        select(
            consent_state.c.purpose,
            consent_state.c.status,
            consent_state.c.occurred_at,
            consent_state.c.record_id,
        ).where(consent_state.c.profile_id.in_(profile_ids))
    )
    for purpose, status, at, record_id in rows:
        if purpose not in found or found[purpose][1] < at:
            found[purpose] = (status, at, record_id)
    return found


def history(conn: Connection, profile_ids: Sequence[str], limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(consent_records)
            .where(consent_records.c.profile_id.in_(profile_ids))
            .order_by(consent_records.c.occurred_at.desc(), consent_records.c.recorded_at.desc())
            .limit(limit)
        )
    )


def restricted_among(conn: Connection, profile_ids: Sequence[str]) -> set[str]:
    """Which of these profiles carry a restriction."""
    return set(
        conn.execute(
            select(restrictions.c.profile_id).where(restrictions.c.profile_id.in_(profile_ids))
        ).scalars()
    )


def is_restricted(conn: Connection, profile_ids: Sequence[str]) -> bool:
    return (
        conn.execute(
            select(restrictions.c.profile_id).where(restrictions.c.profile_id.in_(profile_ids))
        ).first()
        is not None
    )


def insert_confirmation(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(consent_confirmations), [row])


def confirmation(conn: Connection, token_id: str) -> Any:
    return conn.execute(
        select(consent_confirmations).where(consent_confirmations.c.token_id == token_id)
    ).first()


def use_confirmation(conn: Connection, token_id: str, now: datetime) -> bool:
    """Mark a link used; False when it was used already (a concurrent click loses)."""
    result = conn.execute(
        update(consent_confirmations)
        .where(consent_confirmations.c.token_id == token_id, consent_confirmations.c.used_at.is_(None))
        .values(used_at=now)
    )
    return result.rowcount == 1


def pending_confirmations(
    conn: Connection, now: datetime, limit: int, *, unsent: bool = False, offset: int = 0
) -> list[Any]:
    """Unused, unexpired confirmations, oldest first (``unsent``: only those whose mail is not out)."""
    c = consent_confirmations.c
    stmt = select(consent_confirmations).where(c.used_at.is_(None), c.expires_at > now)
    if unsent:
        stmt = stmt.where(c.sent_at.is_(None))
    return list(conn.execute(stmt.order_by(c.created_at, c.token_id).offset(offset).limit(limit)))


def mark_sent(conn: Connection, token_id: str, now: datetime) -> None:
    conn.execute(
        update(consent_confirmations).where(consent_confirmations.c.token_id == token_id).values(sent_at=now)
    )


def set_restricted(
    conn: Connection, profile_id: str, request_id: str | None, now: datetime, on: bool
) -> None:
    conn.execute(delete(restrictions).where(restrictions.c.profile_id == profile_id))
    if on:
        conn.execute(
            insert(restrictions), [{"profile_id": profile_id, "request_id": request_id, "created_at": now}]
        )


# One statement: follow merges up to the live profile, collect the profiles merged into it, and
# read their consent state, restriction and identifiers. The contact question sits on the hot path
# of every send, so it must cost one round trip, not six. Identifiers are filtered by type here, not
# in SQL: with a type condition both engines may walk the (type, value) key over every customer's
# emails instead of the profile's few identifiers.
_FACTS_SQL = """
WITH RECURSIVE
up(id, state, merged_into, depth) AS (
    SELECT id, state, merged_into, 0 FROM profiles WHERE id = {p}
    UNION ALL
    SELECT pr.id, pr.state, pr.merged_into, up.depth + 1 FROM profiles pr JOIN up ON pr.id = up.merged_into
    WHERE up.state <> 'live' AND up.depth < 64
),
live(id) AS (SELECT id FROM up WHERE state = 'live' OR merged_into IS NULL),
members(id) AS (
    SELECT id FROM live
    UNION
    SELECT pr.id FROM profiles pr JOIN members m ON pr.merged_into = m.id
)
SELECT 's', cs.purpose, cs.status, cs.occurred_at FROM consent_state cs
    WHERE cs.profile_id IN (SELECT id FROM members)
UNION ALL SELECT 'l', id, NULL, NULL FROM live
UNION ALL SELECT 'r', rs.profile_id, NULL, NULL FROM restrictions rs
    WHERE rs.profile_id IN (SELECT id FROM members)
UNION ALL SELECT 'a', i.value, i.type, NULL FROM identities i
    WHERE i.profile_id IN (SELECT id FROM live)
"""


def contact_facts(conn: Connection, profile_id: str, identifier_type: str | None) -> ContactFacts:
    raw = Raw(conn)
    rows = raw.fetch(_FACTS_SQL.format(p=raw.p), [profile_id])
    live: str | None = None
    states: dict[str, tuple[str, Any]] = {}
    restricted = False
    addresses: list[str] = []
    for kind, a, b, at in rows:
        if kind == "s":
            if a not in states or states[a][1] < at:
                states[a] = (b, at)
        elif kind == "l":
            live = a
        elif kind == "r":
            restricted = True
        elif b == identifier_type:
            addresses.append(a)
    return ContactFacts(live, states, restricted, addresses)
