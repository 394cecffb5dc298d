"""A processor that wants few events: the rounds that hand it nothing write no transaction, and the
stored cursor still catches up."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from omnikanal.db.engine import read_tx
from omnikanal.eventlog.model import Interest
from omnikanal.eventlog.service import START, EventLog, Position
from omnikanal.eventlog.tables import consumer_cursors
from omnikanal.hub import Hub


class Wants:
    """Records the events of one name; every other event is skipped by its head."""

    def __init__(self, name: str, event: str) -> None:
        self.name = name
        self._interest = Interest(names=frozenset({event}))
        self.seen: list[str] = []

    def interest(self, conn: Connection) -> Interest:
        return self._interest

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self.seen.extend(row.message_id for row in batch)


def _track(hub: Hub, source: Any, event: str, message_id: str) -> None:
    result = hub.ingest.ingest(
        source, [{"type": "track", "anonymousId": "a", "event": event, "messageId": message_id}]
    )
    assert result.accepted == 1


def _stored(hub: Hub, name: str) -> Position:
    with read_tx(hub.engine) as conn:
        row = conn.execute(
            select(consumer_cursors.c.txid, consumer_cursors.c.seq, consumer_cursors.c.ahead).where(
                consumer_cursors.c.name == name
            )
        ).first()
    return START if row is None else Position(row.txid, row.seq, frozenset(row.ahead or ()))


def _consume_until(log: EventLog, processor: Any, seen: int) -> int:
    """Consume until ``seen`` events passed (PostgreSQL may hold one back a moment: see drain)."""
    got, deadline = 0, time.monotonic() + 20
    while got < seen and time.monotonic() < deadline:
        n = log.consume(processor)
        got += n
        if n == 0:
            time.sleep(0.05)
    return got


def test_skipped_rounds_keep_the_position_in_memory_and_write_it_once_caught_up(hub: Hub) -> None:
    log = EventLog(hub.engine, hub.clock, skip_flush_seconds=3600)
    source = hub.sources.create("shop", "web")[0]
    orders = Wants("orders-only", "Order Completed")
    _track(hub, source, "Order Completed", "o1")
    assert _consume_until(log, orders, 1) == 1
    assert orders.seen == ["o1"]
    written = _stored(hub, orders.name)
    assert written != START  # a handed-out batch moves the stored cursor with it

    for n in range(5):
        _track(hub, source, "Product Viewed", f"v{n}")
    # A round that only skips: no transaction, the stored cursor stays, the process knows better.
    with read_tx(hub.engine) as conn:
        assert log._pending(conn, written)
    assert _consume_until(log, orders, 5) == 5
    assert _stored(hub, orders.name) == written
    assert log.behind(orders.name) == 0
    assert log.position(orders.name) != written

    # Caught up: the next round finds nothing new and writes the position past the skipped events.
    assert log.consume(orders) == 0
    assert _stored(hub, orders.name) == log.position(orders.name) != written
    assert orders.seen == ["o1"]


def test_a_wanted_event_after_skipped_ones_is_handed_out_once_and_moves_the_cursor(hub: Hub) -> None:
    log = EventLog(hub.engine, hub.clock, skip_flush_seconds=3600)
    source = hub.sources.create("shop", "web")[0]
    orders = Wants("orders-later", "Order Completed")
    _track(hub, source, "Order Completed", "o1")
    assert _consume_until(log, orders, 1) == 1
    _track(hub, source, "Product Viewed", "v1")
    assert _consume_until(log, orders, 1) == 1  # skipped, kept in memory
    _track(hub, source, "Order Completed", "o2")
    assert _consume_until(log, orders, 1) == 1
    assert orders.seen == ["o1", "o2"]
    assert _stored(hub, orders.name) == log.position(orders.name)
    assert log.consume(orders) == 0
    assert orders.seen == ["o1", "o2"]


def test_another_reader_of_the_stored_cursor_skips_the_same_events_again_and_nothing_more(hub: Hub) -> None:
    """A second worker (another process: its own memory) goes on from the stored cursor."""
    first = EventLog(hub.engine, hub.clock, skip_flush_seconds=3600)
    second = EventLog(hub.engine, hub.clock, skip_flush_seconds=3600)
    source = hub.sources.create("shop", "web")[0]
    one, other = Wants("shared", "Order Completed"), Wants("shared", "Order Completed")
    _track(hub, source, "Order Completed", "o1")
    assert _consume_until(first, one, 1) == 1
    for n in range(3):
        _track(hub, source, "Product Viewed", f"v{n}")
    assert _consume_until(first, one, 3) == 3  # skipped in the first worker's memory only
    _track(hub, source, "Order Completed", "o2")
    assert _consume_until(second, other, 4) == 4  # the three skipped again, then o2
    assert (one.seen, other.seen) == (["o1"], ["o2"])
    assert first.consume(one) == 0  # the stored cursor moved on: the first worker's memory is void
    assert one.seen == ["o1"]


class Batches(Wants):
    """Records each batch handed out, to see how large the rounds are."""

    def __init__(self, name: str, event: str) -> None:
        super().__init__(name, event)
        self.sizes: list[int] = []

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self.sizes.append(len(batch))
        super().handle(conn, batch)


def test_a_filtered_round_applies_at_most_the_limit_on_sqlite(hub: Hub) -> None:
    """A processor that wants most events of a long scan is handed at most ``limit`` of them a round on
    SQLite (the write lock is the database's one; a round of thousands would hold it from ingest),
    and every wanted event still comes exactly once, in log order."""
    log = EventLog(hub.engine, hub.clock)
    source = hub.sources.create("shop", "web")[0]
    wanted = [f"w{n}" for n in range(130)]
    items = []
    for n, message_id in enumerate(wanted):
        items.append({"type": "track", "anonymousId": "a", "event": "Wanted", "messageId": message_id})
        if n % 3 == 0:
            items.append({"type": "track", "anonymousId": "a", "event": "Other", "messageId": f"o{n}"})
    assert hub.ingest.ingest(source, items).accepted == len(items)
    processor = Batches("mostly-wanted", "Wanted")
    passed, deadline = 0, time.monotonic() + 20
    while processor.seen != wanted and time.monotonic() < deadline:
        n = log.consume(processor, limit=50)
        passed += n
        if n == 0:
            time.sleep(0.05)
    assert processor.seen == wanted
    assert passed == len(items)  # each event passed once: the cut rounds resume where they stopped
    if hub.engine.dialect.name == "sqlite":
        assert processor.sizes == [50, 50, 30]
    assert log.behind(processor.name) == 0
