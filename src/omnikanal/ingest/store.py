"""SQL for events and the quarantine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, text

from omnikanal.db.fast import Raw
from omnikanal.eventlog.watch import CHANNEL as LOG_CHANNEL
from omnikanal.ingest.tables import quarantine

CHUNK = 400


def existing_message_ids(conn: Connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source id, message id) pairs are stored already."""
    raw = Raw(conn)
    # PostgreSQL keeps the keys beside its partitioned log (eventlog/tables.py)
    table = "event_keys" if raw.pg else "events"
    by_source: dict[str, list[str]] = {}
    for source_id, message_id in keys:
        by_source.setdefault(source_id, []).append(message_id)
    found: set[tuple[str, str]] = set()
    for source_id, ids in by_source.items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            sql = (
                f"SELECT message_id FROM {table} WHERE source_id = {raw.p} "  # noqa: S608
                f"AND message_id IN ({raw.in_list(len(chunk))})"
            )
            found.update((source_id, row[0]) for row in raw.fetch(sql, [source_id, *chunk]))
    return found


def transaction_id(conn: Connection) -> int:
    """The writing transaction's id on PostgreSQL; 0 on SQLite, where writers are serial anyway.

    On PostgreSQL the same round trip notifies the workers listening on the log's channel
    (eventlog/watch.py): delivered at commit, once per transaction.
    """
    if conn.dialect.name == "postgresql":
        return int(conn.execute(_TXID_AND_NOTIFY).scalar_one())
    return 0


_TXID_AND_NOTIFY = text(f"SELECT pg_current_xact_id()::text::bigint, pg_notify('{LOG_CHANNEL}', '')")


EVENT_COLUMNS = (
    "txid",
    "source_id",
    "message_id",
    "profile_id",
    "type",
    "event",
    "channel",
    "lib_channel",
    "user_id",
    "anonymous_id",
    "original_timestamp",
    "sent_at",
    "received_at",
    "timestamp",
    "payload",
)


def insert_events(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows in EVENT_COLUMNS order, values already converted with Raw (times, JSON text).

    On PostgreSQL the keys go first: a message another writer stored meanwhile fails here, before
    the larger row is written, and the transaction is retried (db/engine.py run_write).
    """
    raw = Raw(conn)
    if raw.pg:
        raw.insert_many("event_keys", ("source_id", "message_id"), [(row[1], row[2]) for row in rows])
    raw.insert_many("events", EVENT_COLUMNS, rows, json_columns=("payload",))


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
