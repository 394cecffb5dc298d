"""events: partitioned by the month of received_at on PostgreSQL, dedupe keys in event_keys

Revision ID: 0021_events_by_month
Revises: 0020_analytics_costs
Create Date: 2026-12-03

On PostgreSQL the event log becomes a table partitioned by range of ``received_at``, one partition
per month plus a default one that catches what arrives before its month's partition exists (the
worker creates them ahead: eventlog/partitions.py). A unique key of a partitioned table must hold
the partition key, and a retried message is received later than its first copy, so the dedupe key
(source id, message id) moves to the table ``event_keys``. The rows are copied over in this
migration; its sequence carries on. SQLite keeps its one table and its constraint; ``event_keys``
is created there too, and stays empty.

The SQL is written out here, not taken from the application, so this migration keeps doing what
it did when the code around it changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0021_events_by_month"
down_revision: str | None = "0020_analytics_costs"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3
INDEXES = (
    ("ix_events_log", "txid, seq"),
    ("ix_events_profile_time", "profile_id, timestamp, seq"),
    ("ix_events_event_time", "event, timestamp"),
)


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _partition(month: date) -> None:
    op.execute(
        f"CREATE TABLE events_p{month.year:04d}_{month.month:02d} PARTITION OF events "
        f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') TO ('{_next(month).isoformat()} 00:00:00+00')"
    )


def upgrade() -> None:
    op.create_table(
        "event_keys",
        sa.Column("source_id", sa.String(40), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "message_id", name=op.f("pk_event_keys")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    op.execute("ALTER TABLE events_unpartitioned RENAME CONSTRAINT pk_events TO pk_events_unpartitioned")
    op.execute(
        "ALTER TABLE events_unpartitioned RENAME CONSTRAINT fk_events_source_id_sources "
        "TO fk_events_unpartitioned_source_id"
    )
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # LIKE takes the columns, their NOT NULLs and the default of seq (the same sequence)
    op.execute(
        "CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (received_at)"
    )
    op.execute("ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY (seq, received_at)")
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT fk_events_source_id_sources "
        "FOREIGN KEY (source_id) REFERENCES sources (id)"
    )
    op.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    oldest = op.get_bind().execute(sa.text("SELECT min(received_at) FROM events_unpartitioned")).scalar()
    today = datetime.now(UTC).date()
    month = date((oldest or today).year, (oldest or today).month, 1)
    last = date(today.year, today.month, 1)
    for _ in range(MONTHS_AHEAD):
        last = _next(last)
    while month <= last:
        _partition(month)
        month = _next(month)
    op.execute("INSERT INTO events SELECT * FROM events_unpartitioned")
    op.execute(
        "INSERT INTO event_keys (source_id, message_id) SELECT source_id, message_id FROM events_unpartitioned"
    )
    # the sequence belongs to the old column and would go with it
    op.execute("ALTER SEQUENCE events_seq_seq OWNED BY events.seq")
    op.execute("DROP TABLE events_unpartitioned")
    for name, columns in INDEXES:
        op.execute(f"CREATE INDEX {name} ON events ({columns})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE events RENAME TO events_partitioned")
        op.execute("ALTER TABLE events_partitioned RENAME CONSTRAINT pk_events TO pk_events_partitioned")
        op.execute(
            "ALTER TABLE events_partitioned RENAME CONSTRAINT fk_events_source_id_sources "
            "TO fk_events_partitioned_source_id"
        )
        for name, _ in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute("CREATE TABLE events (LIKE events_partitioned INCLUDING DEFAULTS)")
        op.execute("INSERT INTO events SELECT * FROM events_partitioned")
        op.execute("ALTER SEQUENCE events_seq_seq OWNED BY events.seq")
        op.execute("DROP TABLE events_partitioned")
        op.execute("ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY (seq)")
        op.execute(
            "ALTER TABLE events ADD CONSTRAINT fk_events_source_id_sources "
            "FOREIGN KEY (source_id) REFERENCES sources (id)"
        )
        op.execute(
            "ALTER TABLE events ADD CONSTRAINT uq_events_source_id_message_id UNIQUE (source_id, message_id)"
        )
        for name, columns in INDEXES:
            op.execute(f"CREATE INDEX {name} ON events ({columns})")
    op.drop_table("event_keys")
