"""SQL for events and the quarantine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, text, tuple_

from omnikanal.db.tables import events, quarantine

CHUNK = 400


def existing_message_ids(conn: Connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source id, message id) pairs are stored already."""
    wanted = list(keys)
    found: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        stmt = select(events.c.source_id, events.c.message_id).where(
            tuple_(events.c.source_id, events.c.message_id).in_(chunk)
        )
        found.update((r.source_id, r.message_id) for r in conn.execute(stmt))
    return found


def transaction_id(conn: Connection) -> int:
    """The writing transaction's id on PostgreSQL; 0 on SQLite, where writers are serial anyway."""
    if conn.dialect.name == "postgresql":
        return int(conn.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one())
    return 0


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(events), rows)


def insert_quarantine(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(quarantine), rows)


def list_quarantine(
    conn: Connection, *, source_id: str | None, before_id: int | None, limit: int
) -> list[Any]:
    stmt = select(quarantine).order_by(quarantine.c.id.desc()).limit(limit)
    if source_id:
        stmt = stmt.where(quarantine.c.source_id == source_id)
    if before_id is not None:
        stmt = stmt.where(quarantine.c.id < before_id)
    return list(conn.execute(stmt))
