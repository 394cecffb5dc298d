"""The merge chain: which profile lives for an id, and which profiles were merged into one.

The one part of the profiles' SQL that every capability needs inside its own transaction (a cart,
a message, a consent, an erasure belongs to the live profile and to all profiles merged into it):
public, so that no capability reads the profiles table itself for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, literal, select

from omnikanal.profiles.tables import profiles

CHUNK = 500


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
