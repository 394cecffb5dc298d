"""The ordered event log that processors (segments, journeys, notifications, ...) consume.

Each consumer keeps a cursor (txid, seq). On PostgreSQL sequence numbers are handed out at insert
but become visible at commit, so a reader going by seq alone could pass over an event whose
transaction commits late. Every event therefore carries its writing transaction's id, and a reader
takes only events of transactions older than the oldest one still running (the snapshot's xmin):
that set can no longer grow, and (txid, seq) orders it totally, so a cursor never skips anything.
On SQLite commits are serial and txid is 0, so the order is simply seq.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, and_, or_, select, text, update

from omnikanal.background import Periodic
from omnikanal.clock import Clock
from omnikanal.db.engine import insert_ignoring_duplicates, read_tx, run_write
from omnikanal.db.tables import consumer_cursors, events

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Position:
    txid: int
    seq: int


START = Position(-1, 0)


class Processor(Protocol):
    """Something that reacts to events; it runs in the same transaction as its cursor's advance."""

    name: str

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None: ...


def _horizon(conn: Connection) -> int | None:
    if conn.dialect.name != "postgresql":
        return None
    return int(
        conn.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one()
    )


class EventLog:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def position(self, consumer: str) -> Position:
        with read_tx(self._engine) as conn:
            return self._position(conn, consumer)

    @staticmethod
    def _position(conn: Connection, consumer: str) -> Position:
        row = conn.execute(
            select(consumer_cursors.c.txid, consumer_cursors.c.seq).where(consumer_cursors.c.name == consumer)
        ).first()
        return Position(row.txid, row.seq) if row else START

    @staticmethod
    def read_after(conn: Connection, after: Position, limit: int) -> list[Any]:
        """Committed events after a position, in log order, that no late commit can precede."""
        horizon = _horizon(conn)
        if horizon is None:
            # SQLite: serial commits, txid always 0, so seq alone is the order.
            stmt = select(events).where(events.c.seq > after.seq).order_by(events.c.seq)
            return list(conn.execute(stmt.limit(limit)))
        stmt = select(events).where(
            or_(events.c.txid > after.txid, and_(events.c.txid == after.txid, events.c.seq > after.seq)),
            events.c.txid < horizon,
        )
        return list(conn.execute(stmt.order_by(events.c.txid, events.c.seq).limit(limit)))

    def consume(self, processor: Processor, limit: int = 500) -> int:
        """Hand the next events to a processor and advance its cursor in the same transaction."""

        def work(conn: Connection) -> int:
            insert_ignoring_duplicates(
                conn,
                consumer_cursors,
                [
                    {
                        "name": processor.name,
                        "txid": START.txid,
                        "seq": START.seq,
                        "updated_at": self._clock.now(),
                    }
                ],
            )
            # Taking the cursor row for update keeps two workers from handing out the same events.
            row = conn.execute(
                select(consumer_cursors.c.txid, consumer_cursors.c.seq)
                .where(consumer_cursors.c.name == processor.name)
                .with_for_update()
            ).one()
            batch = self.read_after(conn, Position(row.txid, row.seq), limit)
            if not batch:
                return 0
            processor.handle(conn, batch)
            last = batch[-1]
            conn.execute(
                update(consumer_cursors)
                .where(consumer_cursors.c.name == processor.name)
                .values(txid=last.txid, seq=last.seq, updated_at=self._clock.now())
            )
            return len(batch)

        return run_write(self._engine, work)

    def reset(self, consumer: str) -> None:
        """Replay from the start: adding a processor and replaying history are the same operation."""

        def work(conn: Connection) -> None:
            conn.execute(
                update(consumer_cursors)
                .where(consumer_cursors.c.name == consumer)
                .values(txid=START.txid, seq=START.seq, updated_at=self._clock.now())
            )

        run_write(self._engine, work)


class ProcessorRunner:
    """Polls the log for each registered processor in a background thread."""

    def __init__(self, log_: EventLog, processors: Sequence[Processor], poll_seconds: float) -> None:
        self._log = log_
        self._processors = list(processors)
        self._loop = Periodic("processors", poll_seconds, lambda: self.run_once() > 0)
        self.on_error: Callable[[Processor, Exception], None] = lambda p, e: log.exception(
            "processor %s failed", p.name, exc_info=e
        )

    def run_once(self) -> int:
        handled = 0
        for processor in self._processors:
            try:
                handled += self._log.consume(processor)
            except Exception as exc:  # one broken processor must not stop the others
                self.on_error(processor, exc)
        return handled

    def wake(self) -> None:
        """Events were committed in this process: look now rather than at the next poll."""
        self._loop.wake()

    def start(self) -> None:
        if self._processors:
            self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
