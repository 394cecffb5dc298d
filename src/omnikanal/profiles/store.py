"""SQL for the profiles table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, select, update

from omnikanal.db.fast import Raw
from omnikanal.db.tables import profiles
from omnikanal.profiles.model import ProfileState

CHUNK = 500


_COLUMNS = "id, state, merged_into, created_at, first_seen, last_seen, traits, stats, event_count"


def load(
    conn: Connection, ids: Iterable[str], *, lock: bool = False
) -> dict[str, tuple[ProfileState, str, str | None]]:
    """States of the given profiles, with their state (live/merged) and merged_into.

    ``lock`` takes the rows FOR UPDATE in id order (PostgreSQL; SQLite's writer lock covers it).
    """
    raw = Raw(conn)
    wanted = sorted(set(ids))
    found: dict[str, tuple[ProfileState, str, str | None]] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        sql = f"SELECT {_COLUMNS} FROM profiles WHERE id IN ({raw.in_list(len(chunk))}) ORDER BY id"  # noqa: S608
        if lock and raw.pg:
            sql += " FOR UPDATE"
        for pid, state, merged_into, created, first, last, traits, stats, count in raw.fetch(sql, chunk):
            profile = ProfileState(
                id=pid,
                created_at=raw.read_time(created) or datetime.now(UTC),
                first_seen=raw.read_time(first),
                last_seen=raw.read_time(last),
                traits=dict(raw.read_json(traits) or {}),
                event_count=count,
            )
            stored = dict(raw.read_json(stats) or {})
            profile.identifier_counts = dict(stored.pop("identifiers", {}))
            profile.user_ids = set(stored.pop("user_ids", ()))
            profile.stats = {"channels": {}, "types": {}, **stored}
            found[pid] = (profile, state, merged_into)
    return found


_INSERT_COLUMNS = (
    "id",
    "state",
    "merged_into",
    "created_at",
    "updated_at",
    "first_seen",
    "last_seen",
    "traits",
    "stats",
    "event_count",
)


def insert_new(
    conn: Connection, states: list[ProfileState], merged_into: dict[str, str], now: datetime
) -> None:
    raw = Raw(conn)
    t = raw.time
    stamp = t(now)
    rows = [
        (
            s.id,
            "merged" if s.id in merged_into else "live",
            merged_into.get(s.id),
            t(s.created_at),
            stamp,
            t(s.first_seen),
            t(s.last_seen),
            raw.json(s.traits),
            raw.json(s.stored_stats()),
            s.event_count,
        )
        for s in states
    ]
    raw.insert_many("profiles", _INSERT_COLUMNS, rows, json_columns=("traits", "stats"))


def save(conn: Connection, states: list[ProfileState], now: datetime) -> None:
    """Write the derived values of existing profiles back."""
    if not states:
        return
    raw = Raw(conn)
    t, p, pj = raw.time, raw.p, raw.pj
    sql = (
        f"UPDATE profiles SET updated_at = {p}, first_seen = {p}, last_seen = {p}, traits = {pj}, "  # noqa: S608
        f"stats = {pj}, event_count = {p}, created_at = {p} WHERE id = {p}"
    )
    stamp = t(now)
    rows = [
        (
            stamp,
            t(s.first_seen),
            t(s.last_seen),
            raw.json(s.traits),
            raw.json(s.stored_stats()),
            s.event_count,
            t(s.created_at),
            s.id,
        )
        for s in states
    ]
    conn.exec_driver_sql(sql, rows)


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
