"""SQL for the profiles table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from omnikanal.db.tables import profiles
from omnikanal.profiles.model import ProfileState

CHUNK = 500


def _state(row: Any) -> ProfileState:
    return ProfileState(
        id=row.id,
        created_at=row.created_at,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        traits=dict(row.traits or {}),
        stats=dict(row.stats or {"channels": {}, "types": {}}),
        event_count=row.event_count,
    )


def load(
    conn: Connection, ids: Iterable[str], *, lock: bool = False
) -> dict[str, tuple[ProfileState, str, str | None]]:
    """States of the given profiles, with their state (live/merged) and merged_into.

    ``lock`` takes the rows FOR UPDATE in id order (PostgreSQL; SQLite's writer lock covers it).
    """
    wanted = sorted(set(ids))
    found: dict[str, tuple[ProfileState, str, str | None]] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        stmt = select(profiles).where(profiles.c.id.in_(chunk)).order_by(profiles.c.id)
        if lock:
            stmt = stmt.with_for_update()
        for row in conn.execute(stmt):
            found[row.id] = (_state(row), row.state, row.merged_into)
    return found


def insert_new(
    conn: Connection, states: list[ProfileState], merged_into: dict[str, str], now: datetime
) -> None:
    if not states:
        return
    conn.execute(
        insert(profiles),
        [
            {
                "id": s.id,
                "state": "merged" if s.id in merged_into else "live",
                "merged_into": merged_into.get(s.id),
                "created_at": s.created_at,
                "updated_at": now,
                "first_seen": s.first_seen,
                "last_seen": s.last_seen,
                "traits": s.traits,
                "stats": s.stats,
                "event_count": s.event_count,
            }
            for s in states
        ],
    )


_UPDATE = (
    update(profiles)
    .where(profiles.c.id == bindparam("b_id"))
    .values(
        updated_at=bindparam("b_updated_at"),
        first_seen=bindparam("b_first_seen"),
        last_seen=bindparam("b_last_seen"),
        traits=bindparam("b_traits"),
        stats=bindparam("b_stats"),
        event_count=bindparam("b_event_count"),
        created_at=bindparam("b_created_at"),
    )
)


def save(conn: Connection, states: list[ProfileState], now: datetime) -> None:
    """Write the derived values of existing profiles back."""
    if not states:
        return
    conn.execute(
        _UPDATE,
        [
            {
                "b_id": s.id,
                "b_updated_at": now,
                "b_first_seen": s.first_seen,
                "b_last_seen": s.last_seen,
                "b_traits": s.traits,
                "b_stats": s.stats,
                "b_event_count": s.event_count,
                "b_created_at": s.created_at,
            }
            for s in states
        ],
    )


def mark_merged(conn: Connection, profile_id: str, into: str, now: datetime) -> None:
    conn.execute(
        update(profiles)
        .where(profiles.c.id == profile_id)
        .values(state="merged", merged_into=into, updated_at=now)
    )


def mark_live(conn: Connection, profile_id: str, now: datetime) -> None:
    conn.execute(
        update(profiles)
        .where(profiles.c.id == profile_id)
        .values(state="live", merged_into=None, updated_at=now)
    )


def resolve_live(conn: Connection, profile_id: str) -> tuple[str, bool] | None:
    """Follow merged_into to the live profile; returns (live id, whether it was redirected)."""
    current = profile_id
    for _ in range(64):  # merge chains are short; the bound guards against a corrupt cycle
        row = conn.execute(
            select(profiles.c.state, profiles.c.merged_into).where(profiles.c.id == current)
        ).first()
        if row is None:
            return None
        if row.state == "live" or row.merged_into is None:
            return current, current != profile_id
        current = row.merged_into
    return None
