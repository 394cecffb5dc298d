"""The event log's tables: the events themselves and each consumer's cursor."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    text,
)

from omnikanal.db.schema import ID, BigId, metadata
from omnikanal.db.types import UTCDateTime, json_type

consumer_cursors = Table(
    "consumer_cursors",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("txid", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # PostgreSQL: ids of committed transactions past the horizon that the consumer has read already
    # (eventlog/service.py); NULL when there are none
    Column("ahead", json_type(), nullable=True),
)


events = Table(
    "events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    # Writing transaction's id on PostgreSQL (0 on SQLite, where commits are serial): the event log
    # orders by (txid, seq) and keeps track of committed transactions, so nothing is skipped.
    Column("txid", BigInteger, nullable=False),
    Column("source_id", ID, ForeignKey("sources.id"), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("profile_id", ID, nullable=False),
    Column("type", String(10), nullable=False),
    Column("event", String(200), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("lib_channel", String(40), nullable=True),
    Column("user_id", String(320), nullable=True),
    Column("anonymous_id", String(320), nullable=True),
    Column("original_timestamp", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("payload", json_type(), nullable=False),
    # SQLite dedupes on the table itself. On PostgreSQL the table is partitioned by the month of
    # received_at (migration 0021, eventlog/partitions.py), where a unique key must hold the
    # partition key, and a retried message arrives later: event_keys below holds the key there.
    UniqueConstraint("source_id", "message_id", info={"dialects": ("sqlite",)}).ddl_if(dialect="sqlite"),
    Index("ix_events_profile_time", "profile_id", "timestamp", "seq"),
    # Only PostgreSQL orders the log by txid; on SQLite (txid always 0) the index stays empty and free,
    # and readers go by seq, the primary key.
    Index("ix_events_log", "txid", "seq", sqlite_where=text("txid <> 0")),
    # Without AUTOINCREMENT SQLite reuses the seq of deleted newest rows (erasure), and a consumer
    # whose cursor passed them would skip the new events for ever.
    sqlite_autoincrement=True,
)


# The dedupe key of every stored event on PostgreSQL (see above); empty on SQLite. No profile id:
# a message id says nothing about a person, and erasure removes an erased person's keys with
# their events (eventlog/keys.py), as SQLite's constraint goes with the row.
event_keys = Table(
    "event_keys",
    metadata,
    Column("source_id", ID, primary_key=True),
    Column("message_id", String(200), primary_key=True),
)

# Batch computation counts events by name and time.
Index("ix_events_event_time", events.c.event, events.c.timestamp)
