"""SQL for identities, merges, conflicts and merge blocks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from omnikanal.db.engine import insert_ignoring_duplicates
from omnikanal.db.fast import Raw
from omnikanal.eventlog.tables import events
from omnikanal.profiles.identity.model import Identifier
from omnikanal.profiles.identity.tables import identities, identity_conflicts, merge_blocks, merges

CHUNK = 400


def owners(conn: Connection, keys: Iterable[Identifier]) -> dict[Identifier, str]:
    """The profile each known identifier belongs to.

    One query per identifier type with ``value IN (...)``: SQLite answers a row-value
    ``(type, value) IN (VALUES ...)`` with a full table scan, this form with index searches.
    """
    raw = Raw(conn)
    by_type: dict[str, list[str]] = {}
    for identifier_type, value in set(keys):
        by_type.setdefault(identifier_type, []).append(value)
    found: dict[Identifier, str] = {}
    for identifier_type, values in by_type.items():
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            sql = (
                "SELECT value, profile_id FROM identities "  # noqa: S608
                f"WHERE type = {raw.p} AND value IN ({raw.in_list(len(chunk))})"
            )
            for value, profile_id in raw.fetch(sql, [identifier_type, *chunk]):
                found[(identifier_type, value)] = profile_id
    return found


IDENTITY_COLUMNS = ("type", "value", "profile_id", "origin_profile_id", "source_id", "created_at")


def insert_identities(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows in IDENTITY_COLUMNS order, created_at already converted with Raw."""
    Raw(conn).insert_many("identities", IDENTITY_COLUMNS, rows)


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
