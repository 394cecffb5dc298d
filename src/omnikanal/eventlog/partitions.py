"""Monthly partitions of the event log on PostgreSQL, created ahead by the worker.

The events table is partitioned by range of ``received_at`` (migration 0021): old months can be
detached or dropped whole, and the newest month's indexes stay small. An event whose month has no
partition yet lands in ``events_default``, so nothing is ever refused for it; when that month's
partition is made later, its rows are moved out of the default partition in the same transaction.
On SQLite there is one table, and this does nothing.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import Connection, Engine, text

from omnikanal.background import Periodic
from omnikanal.clock import Clock
from omnikanal.db.engine import run_write

log = logging.getLogger(__name__)

DEFAULT = "events_default"


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"events_p{month.year:04d}_{month.month:02d}"


def months_from(today: date, ahead: int) -> list[date]:
    """The current month and ``ahead`` months after it."""
    month = date(today.year, today.month, 1)
    months = [month]
    for _ in range(ahead):
        month = next_month(month)
        months.append(month)
    return months


def existing_partitions(conn: Connection) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'"
        )
    )
    return {row[0] for row in rows}


def _create(conn: Connection, month: date) -> None:
    name = partition_name(month)
    start, end = f"{month.isoformat()} 00:00:00+00", f"{next_month(month).isoformat()} 00:00:00+00"
    # Rows of this month in the default partition would make ATTACH fail: they move along first.
    conn.execute(text(f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE received_at >= :start AND received_at < :end "  # noqa: S608
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        {"start": start, "end": end},
    )
    conn.execute(text(f"ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')"))


def ensure_partitions(engine: Engine, today: date, ahead: int) -> list[str]:
    """Create the partitions of this month and the next ``ahead`` ones that are missing; their names."""
    if engine.dialect.name != "postgresql":
        return []

    def work(conn: Connection) -> list[str]:
        # one worker at a time: two creating the same month would fail on the name
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('omnikanal.events.partitions'))"))
        have = existing_partitions(conn)
        made = []
        for month in months_from(today, ahead):
            if partition_name(month) not in have:
                _create(conn, month)
                made.append(partition_name(month))
        return made

    made = run_write(engine, work)
    if made:
        log.info("event log partitions created: %s", ", ".join(made))
    return made


class PartitionJob(Periodic):
    """The worker's pass that keeps months of partitions ready ahead of the events."""

    def __init__(self, engine: Engine, clock: Clock, ahead: int, interval: float) -> None:
        super().__init__("event-partitions", interval, self.tick)
        self._engine = engine
        self._clock = clock
        self._ahead = ahead

    def tick(self) -> bool:
        ensure_partitions(self._engine, self._clock.now().date(), self._ahead)
        return False
