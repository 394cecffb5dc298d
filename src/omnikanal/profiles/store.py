"""SQL for the profiles table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from omnikanal.db.fast import Raw
from omnikanal.profiles.model import ProfileState
from omnikanal.profiles.tables import profiles

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


# What ingest recomputes on a profile; inserts and updates write these in this order.
_DERIVED = ("updated_at", "first_seen", "last_seen", "traits", "stats", "event_count", "created_at")
_JSON_COLUMNS = ("traits", "stats")


def _derived(raw: Raw, state: ProfileState, stamp: Any) -> tuple[Any, ...]:
    t = raw.time
    return (
        stamp,
        t(state.first_seen),
        t(state.last_seen),
        raw.json(state.traits),
        raw.json(state.stored_stats()),
        state.event_count,
        t(state.created_at),
    )


def insert_new(
    conn: Connection, states: list[ProfileState], merged_into: dict[str, str], now: datetime
) -> None:
    raw = Raw(conn)
    stamp = raw.time(now)
    rows = [
        (s.id, "merged" if s.id in merged_into else "live", merged_into.get(s.id), *_derived(raw, s, stamp))
        for s in states
    ]
    raw.insert_many("profiles", ("id", "state", "merged_into", *_DERIVED), rows, json_columns=_JSON_COLUMNS)


def save(conn: Connection, states: list[ProfileState], now: datetime) -> None:
    """Write the derived values of existing profiles back."""
    if not states:
        return
    raw = Raw(conn)
    assignments = ", ".join(f"{c} = {raw.pj if c in _JSON_COLUMNS else raw.p}" for c in _DERIVED)
    sql = f"UPDATE profiles SET {assignments} WHERE id = {raw.p}"  # noqa: S608 (column names are ours)
    stamp = raw.time(now)
    conn.exec_driver_sql(sql, [(*_derived(raw, s, stamp), s.id) for s in states])


def set_traits(
    conn: Connection, profile_id: str, traits: dict[str, Any], source: str, by: str | None, now: datetime
) -> dict[str, Any]:
    """Set traits by hand (a rectification, the preference centre), with that as their provenance.

    Answers the values they had before.
    """
    row = conn.execute(select(profiles.c.traits).where(profiles.c.id == profile_id).with_for_update()).first()
    if row is None:
        raise LookupError(profile_id)
    current = dict(row.traits or {})
    previous = {key: (current.get(key) or {}).get("value") for key in traits}
    for key, value in traits.items():
        current[key] = {"value": value, "source": source, "source_id": None, "at": now.isoformat(), "by": by}
    conn.execute(update(profiles).where(profiles.c.id == profile_id).values(traits=current, updated_at=now))
    return previous


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
