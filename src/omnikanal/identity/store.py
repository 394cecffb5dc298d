"""SQL for identities, merges, conflicts and merge blocks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, tuple_, update

from omnikanal.db.engine import insert_ignoring_duplicates
from omnikanal.db.tables import events, identities, identity_conflicts, merge_blocks, merges
from omnikanal.identity.model import Identifier

CHUNK = 400


def owners(conn: Connection, keys: Iterable[Identifier]) -> dict[Identifier, str]:
    """The profile each known identifier belongs to."""
    wanted = list(set(keys))
    found: dict[Identifier, str] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        stmt = select(identities.c.type, identities.c.value, identities.c.profile_id).where(
            tuple_(identities.c.type, identities.c.value).in_(chunk)
        )
        for row in conn.execute(stmt):
            found[(row.type, row.value)] = row.profile_id
    return found


def identifiers_of(conn: Connection, profile_ids: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    wanted = list(set(profile_ids))
    found: dict[str, dict[str, set[str]]] = {pid: {} for pid in wanted}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        stmt = select(identities.c.profile_id, identities.c.type, identities.c.value).where(
            identities.c.profile_id.in_(chunk)
        )
        for row in conn.execute(stmt):
            found[row.profile_id].setdefault(row.type, set()).add(row.value)
    return found


def identity_rows(conn: Connection, profile_id: str) -> list[Any]:
    stmt = (
        select(identities)
        .where(identities.c.profile_id == profile_id)
        .order_by(identities.c.type, identities.c.created_at, identities.c.value)
    )
    return list(conn.execute(stmt))


def insert_identities(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(identities), rows)


def move_profile_rows(conn: Connection, from_id: str, to_id: str) -> None:
    """Everything of one profile now belongs to another (a merge)."""
    conn.execute(update(identities).where(identities.c.profile_id == from_id).values(profile_id=to_id))
    conn.execute(update(events).where(events.c.profile_id == from_id).values(profile_id=to_id))


def insert_merges(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(merges), rows)


def insert_conflicts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    insert_ignoring_duplicates(conn, identity_conflicts, rows)


def blocked_pairs(conn: Connection, profile_ids: Iterable[str]) -> set[tuple[str, str]]:
    wanted = list(set(profile_ids))
    if not wanted:
        return set()
    stmt = select(merge_blocks.c.profile_a, merge_blocks.c.profile_b).where(
        or_(merge_blocks.c.profile_a.in_(wanted), merge_blocks.c.profile_b.in_(wanted))
    )
    return {(r.profile_a, r.profile_b) for r in conn.execute(stmt)}


def add_block(conn: Connection, a: str, b: str, at: datetime) -> None:
    first, second = sorted((a, b))
    insert_ignoring_duplicates(
        conn, merge_blocks, [{"profile_a": first, "profile_b": second, "created_at": at}]
    )
