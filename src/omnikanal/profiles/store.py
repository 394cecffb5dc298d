"""SQL for the profiles table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, literal, select, update

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


def live_ids(conn: Connection, profile_ids: Iterable[str]) -> dict[str, str]:
    """profile id -> its live profile (following merges), for the ids that exist."""
    wanted = list(set(profile_ids))
    found: dict[str, str] = {}
    pending = wanted
    parent: dict[str, str | None] = {}
    for _ in range(20):  # merge chains are short; a bound keeps a broken chain from looping
        todo = [p for p in pending if p not in parent]
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            for pid, state, into in conn.execute(
                select(profiles.c.id, profiles.c.state, profiles.c.merged_into).where(
                    profiles.c.id.in_(chunk)
                )
            ):
                parent[pid] = into if state != "live" else None
        pending = [v for v in parent.values() if v is not None and v not in parent]
        if not pending:
            break
    for pid in wanted:
        current: str | None = pid
        for _ in range(20):
            if current is None or current not in parent:
                current = None
                break
            nxt = parent[current]
            if nxt is None:
                break
            current = nxt
        if current is not None:
            found[pid] = current
    return found


def resolve_live(conn: Connection, profile_id: str) -> str | None:
    """Follow merged_into to the live profile."""
    current = profile_id
    for _ in range(64):  # merge chains are short; the bound guards against a corrupt cycle
        row = conn.execute(
            select(profiles.c.state, profiles.c.merged_into).where(profiles.c.id == current)
        ).first()
        if row is None:
            return None
        if row.state == "live" or row.merged_into is None:
            return current
        current = row.merged_into
    return None


def merge_sets(conn: Connection, profile_ids: Sequence[str]) -> dict[str, list[str]]:
    """``merge_set`` of many profiles: one query per level of merging, not one per profile."""
    families: dict[str, list[str]] = {pid: [pid] for pid in profile_ids}
    root = {pid: pid for pid in profile_ids}
    level = list(profile_ids)
    for _ in range(64):  # merge chains are short; the bound guards against a corrupt cycle
        if not level:
            break
        found: list[str] = []
        for start in range(0, len(level), CHUNK):
            chunk = level[start : start + CHUNK]
            for pid, into in conn.execute(
                select(profiles.c.id, profiles.c.merged_into).where(profiles.c.merged_into.in_(chunk))
            ):
                if pid in root:
                    continue
                root[pid] = root[into]
                families[root[into]].append(pid)
                found.append(pid)
        level = found
    return families


def merge_set(conn: Connection, profile_id: str) -> list[str]:
    """A profile and every profile merged into it, directly or through others (one recursive query)."""
    chain = select(literal(profile_id).label("id")).cte("chain", recursive=True)
    chain = chain.union(select(profiles.c.id).where(profiles.c.merged_into == chain.c.id))
    return list(conn.execute(select(chain.c.id)).scalars())
