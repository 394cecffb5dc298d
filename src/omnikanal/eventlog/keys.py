"""Removing events together with their dedupe keys (PostgreSQL's event_keys; see eventlog/tables.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, tuple_

from omnikanal.eventlog.tables import event_keys, events

CHUNK = 500


def delete_events(conn: Connection, condition: Any) -> int:
    """Delete the events matching ``condition``; on PostgreSQL their keys go too, as SQLite's
    unique constraint goes with the row, so a message id is taken exactly while its event exists."""
    if conn.dialect.name != "postgresql":
        return conn.execute(delete(events).where(condition)).rowcount
    keys = [
        (row[0], row[1])
        for row in conn.execute(
            delete(events).where(condition).returning(events.c.source_id, events.c.message_id)
        )
    ]
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        conn.execute(
            delete(event_keys).where(and_(tuple_(event_keys.c.source_id, event_keys.c.message_id).in_(chunk)))
        )
    return len(keys)
