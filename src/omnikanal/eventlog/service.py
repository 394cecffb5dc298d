"""The ordered event log that processors (segments, journeys, notifications, ...) consume.

Each consumer keeps a cursor (txid, seq). On PostgreSQL sequence numbers are handed out at insert
but become visible at commit, so a reader going by seq alone could pass over an event whose
transaction commits late. Every event therefore carries its writing transaction's id. Below the
horizon (the oldest transaction still running anywhere on the server, the snapshot's xmin) the set
of events can no longer grow, and (txid, seq) orders it totally: the cursor moves through it and
never skips anything. Committed transactions past the horizon are read too, at once, so that one
long transaction elsewhere on the server does not hold every consumer back: their ids are kept with
the cursor (``ahead``) until the horizon passes them, so each is handed out once. On SQLite commits
are serial and txid is 0, so the order is simply seq.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    and_,
    any_,
    bindparam,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from omnikanal.clock import Clock
from omnikanal.db.engine import insert_ignoring_duplicates, read_tx, run_write
from omnikanal.eventlog.model import EVERY, Interest
from omnikanal.eventlog.skips import SKIP_FLUSH_SECONDS, Skips
from omnikanal.eventlog.tables import consumer_cursors, events

log = logging.getLogger(__name__)

# Transactions a consumer remembers past the horizon. A transaction running for hours while the hub
# commits thousands would make the list long; beyond this many the consumer waits for the horizon.
MAX_AHEAD = 10_000


@dataclass(frozen=True, slots=True)
class Position:
    """Everything up to (txid, seq) has been handed out, and every event of the ``ahead`` txids."""

    txid: int
    seq: int
    ahead: frozenset[int] = frozenset()

    def covers(self, txid: int, seq: int) -> bool:
        """Whether the event at (txid, seq) has been handed out already."""
        return (txid, seq) <= (self.txid, self.seq) or txid in self.ahead


START = Position(-1, 0)


@dataclass(frozen=True, slots=True)
class Lag:
    consumer: str
    behind: int
    # seconds since the oldest event not yet handed out was received; None when nothing is waiting
    oldest_seconds: float | None


class Processor(Protocol):
    """Something that reacts to events; it runs in the same transaction as its cursor's advance.

    A processor may also have ``interest(conn) -> Interest``, asked in that transaction before each
    batch (without it, every event is handed to it), and ``follows``, the name of the consumer whose
    cursor it never passes.
    """

    name: str

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None: ...


# What is read of events a processor may not want: enough to decide, and to move the cursor.
_HEAD = (events.c.seq, events.c.txid, events.c.type, events.c.event)
# Events looked at per round when a processor wants only some: most are skipped by their heads.
SCAN_LIMIT = 5000


def _horizon(conn: Connection) -> int | None:
    if conn.dialect.name != "postgresql":
        return None
    return int(
        conn.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one()
    )


def _among(txids: frozenset[int]) -> ColumnElement[bool]:
    """``txid`` among these (PostgreSQL only, where ``ahead`` is ever filled): one array parameter,
    so the statement is the same text however many there are."""
    return events.c.txid == any_(bindparam("txids", sorted(txids), type_=ARRAY(BigInteger), unique=True))


def _after(position: Position, conn: Connection | None = None) -> ColumnElement[bool]:
    """The events a consumer at ``position`` has not been handed yet (of those visible).

    Given a SQLite connection, by seq alone: txid is always 0 there, and the log's index on (txid,
    seq) holds no SQLite rows, so the general form would scan the whole table. On PostgreSQL a row
    comparison, which the index on (txid, seq) answers as one range.
    """
    if conn is not None and conn.dialect.name != "postgresql":
        return events.c.seq > position.seq
    later = tuple_(events.c.txid, events.c.seq) > _pair(position)
    if not position.ahead:
        return later
    return and_(later, ~_among(position.ahead))


def _pair(position: Position) -> ColumnElement[Any]:
    return tuple_(literal(position.txid, BigInteger), literal(position.seq, BigInteger))


def _up_to(position: Position, conn: Connection) -> ColumnElement[bool]:
    """The events at or before ``position``'s (txid, seq) (its ``ahead`` left aside)."""
    if conn.dialect.name != "postgresql":
        return events.c.seq <= position.seq
    return tuple_(events.c.txid, events.c.seq) <= _pair(position)


def _interest(processor: Processor, conn: Connection) -> Interest:
    ask = getattr(processor, "interest", None)
    return EVERY if ask is None else ask(conn)


def _full_rows(conn: Connection, seqs: list[int]) -> list[Any]:
    """The whole rows of these events, in log order."""
    if not seqs:
        return []
    if conn.dialect.name == "postgresql":
        wanted = events.c.seq == any_(bindparam("seqs", seqs, type_=ARRAY(BigInteger)))
    else:
        wanted = events.c.seq.in_(bindparam("seqs", seqs, expanding=True))
    return list(conn.execute(select(events).where(wanted).order_by(*_log_order(conn))))


def _log_order(conn: Connection) -> tuple[ColumnElement[Any], ...]:
    """The log's order as its index holds it: seq on SQLite (txid is always 0), (txid, seq) else."""
    if conn.dialect.name != "postgresql":
        return (events.c.seq,)
    return (events.c.txid, events.c.seq)


def _follows(processor: Processor) -> str | None:
    """The consumer whose cursor this processor never passes (journeys follow segments, so an
    audience or branch sees the segments and computed traits after the event), if any."""
    leader: str | None = getattr(processor, "follows", None)
    return leader


def _position_of(row: Any) -> Position:
    return Position(row.txid, row.seq, frozenset(row.ahead or ()))


class EventLog:
    def __init__(self, engine: Engine, clock: Clock, skip_flush_seconds: float = SKIP_FLUSH_SECONDS) -> None:
        self._engine = engine
        self._clock = clock
        self._skips = Skips(skip_flush_seconds)

    def position(self, consumer: str) -> Position:
        with read_tx(self._engine) as conn:
            return self._start(conn, consumer)[1]

    def behind(self, consumer: str) -> int:
        """How many committed events the consumer has not been handed yet."""
        with read_tx(self._engine) as conn:
            after = _after(self._start(conn, consumer)[1], conn)
            return int(conn.execute(select(func.count()).select_from(events).where(after)).scalar_one())

    def lag(self, consumers: Sequence[str]) -> list[Lag]:
        """How far each consumer is behind: events not yet handed to it, and how long ago the oldest
        of them was received."""
        now = self._clock.now()
        out = []
        with read_tx(self._engine) as conn:
            for name in consumers:
                after = _after(self._start(conn, name)[1], conn)
                behind = int(conn.execute(select(func.count()).select_from(events).where(after)).scalar_one())
                oldest = None
                if behind:
                    first = conn.execute(
                        select(events.c.received_at).where(after).order_by(*_log_order(conn)).limit(1)
                    ).scalar()
                    if first is not None:
                        oldest = max(0.0, (now - first).total_seconds())
                out.append(Lag(name, behind, oldest))
        return out

    @staticmethod
    def _position(conn: Connection, consumer: str) -> Position:
        row = conn.execute(
            select(consumer_cursors.c.txid, consumer_cursors.c.seq, consumer_cursors.c.ahead).where(
                consumer_cursors.c.name == consumer
            )
        ).first()
        return _position_of(row) if row else START

    @staticmethod
    def read(
        conn: Connection,
        after: Position,
        limit: int,
        cap: Position | None = None,
        columns: Sequence[ColumnElement[Any]] | None = None,
    ) -> tuple[list[Any], Position]:
        """Committed events not yet handed out, and the position once they are.

        Below the horizon in log order first; then, if the limit leaves room, whole committed
        transactions past it. With a ``cap`` (the position of the consumer this one follows), only
        what the cap covers: events at or before its (txid, seq), and the transactions it read ahead.
        """
        horizon = _horizon(conn)
        picked = (events,) if columns is None else tuple(columns)
        if horizon is None:
            # SQLite: serial commits, txid always 0, so seq alone is the order.
            stmt = select(*picked).where(events.c.seq > after.seq)
            if cap is not None:
                stmt = stmt.where(events.c.seq <= cap.seq)
            rows = list(conn.execute(stmt.order_by(events.c.seq).limit(limit)))
            return rows, (Position(rows[-1].txid, rows[-1].seq) if rows else after)
        order = (events.c.txid, events.c.seq)
        stmt = select(*picked).where(_after(after), events.c.txid < horizon)
        if cap is not None:
            stmt = stmt.where(_up_to(cap, conn))
        below = list(conn.execute(stmt.order_by(*order).limit(limit)))
        if len(below) == limit:
            # the transactions read ahead that the cursor has now passed are behind it anyway:
            # forget them, or a consumer that only ever reads full batches keeps them for good
            last = below[-1]
            return below, Position(last.txid, last.seq, frozenset(t for t in after.ahead if t > last.txid))
        # Every event below the horizon (and the cap) has now been handed out; (horizon, 0) says so,
        # as every sequence number is positive.
        upper = (horizon, 0) if cap is None else min((horizon, 0), (cap.txid, cap.seq))
        base = max((after.txid, after.seq), upper)
        beyond: list[Any] = []
        room = limit - len(below)
        if len(after.ahead) < MAX_AHEAD and (cap is None or cap.ahead):
            # Committed only: a running transaction's rows are not visible (and the cap's ahead are
            # committed). A transaction is handed out whole, so one cut off by the limit waits.
            past = events.c.txid >= horizon if cap is None else _among(cap.ahead)
            seen = () if not after.ahead else (~_among(after.ahead),)
            beyond = list(conn.execute(select(*picked).where(past, *seen).order_by(*order).limit(room + 1)))
            if len(beyond) > room:
                cut = beyond[room].txid
                beyond = [row for row in beyond[:room] if row.txid != cut]
        ahead = frozenset(t for t in after.ahead | {row.txid for row in beyond} if t >= base[0])
        return below + beyond, Position(base[0], base[1], ahead)

    def _pending(self, conn: Connection, position: Position, leader: str | None = None) -> bool:
        """Whether any committed event is after ``position`` (and, with a leader, at or before its
        cursor)."""
        condition = _after(position, conn)
        if leader:
            cap = self._start(conn, leader)[1]
            covered = _up_to(cap, conn)
            if cap.ahead:
                covered = or_(covered, _among(cap.ahead))
            condition = and_(condition, covered)
        # the first in log order rather than EXISTS: with the ORDER BY, even the generic plan of a
        # prepared statement walks the log's index (measured: the EXISTS form now and then became a
        # scan of the table, 50 ms at 200,000 events)
        first = select(events.c.seq).where(condition).order_by(*_log_order(conn)).limit(1)
        return conn.execute(first).first() is not None

    def consume(self, processor: Processor, limit: int = 500) -> int:
        """Hand the next events to a processor and advance its cursor in the same transaction.

        The events are read in a read transaction first (on SQLite without the one write lock, which
        ingest needs), with the processor's ``plan(conn, batch)`` if it has one: its reading and
        deciding. Only the writes (``apply(conn, batch, plan)``, else ``handle(conn, batch)``) run in
        the transaction that advances the cursor; if the cursor moved meanwhile (another worker took
        the batch), the read is dropped unused.

        A round that hands out nothing (every event skipped by the processor's interest) writes no
        transaction: its position is kept in this process and written at most every
        ``SKIP_FLUSH_SECONDS``, so a processor with nothing defined does not queue for the write lock
        each round. Another worker reading from the stored cursor skips those events again.
        """
        leader = _follows(processor)
        planner = getattr(processor, "plan", None)
        with read_tx(self._engine) as conn:
            stored, start = self._start(conn, processor.name)
            pending = self._pending(conn, start, leader)
            if pending:
                batch, after, seen = self._take(conn, processor, start, leader, limit)
                plan = planner(conn, batch) if planner is not None and batch else None
        if not pending:
            if start != stored:  # caught up after skipping: the stored cursor says so now
                self._advance(processor.name, stored, start)
            return 0
        if not batch and after == start:
            return 0
        if not batch and not self._skips.due(processor.name):
            self._skips.keep(processor.name, stored, after)
            return seen

        def handle(conn: Connection) -> None:
            if planner is not None:
                processor.apply(conn, batch, plan)  # type: ignore[attr-defined]
            else:
                processor.handle(conn, batch)

        moved = self._advance(processor.name, stored, after, handle if batch else None)
        return seen if moved else 0

    def _advance(
        self, name: str, stored: Position, after: Position, work: Callable[[Connection], None] | None = None
    ) -> bool:
        """Run ``work`` and move the cursor from ``stored`` to ``after`` in one transaction; False
        (nothing done) if the cursor is no longer at ``stored`` (another worker moved it)."""

        def advance(conn: Connection) -> bool:
            if self._lock_cursor(conn, name) != stored:
                return False
            if work is not None:
                work(conn)
            conn.execute(
                update(consumer_cursors)
                .where(consumer_cursors.c.name == name)
                .values(txid=after.txid, seq=after.seq, ahead=sorted(after.ahead) or None)
                .values(updated_at=self._clock.now())
            )
            return True

        # redone from the log if a power loss takes it back: the cursor moves in the same transaction
        moved = run_write(self._engine, advance, redoable=True)
        self._skips.written(name)
        return moved

    def _start(self, conn: Connection, name: str) -> tuple[Position, Position]:
        """The consumer's stored cursor, and where it goes on from (past the events it skipped in
        this process since the cursor was last written)."""
        stored = self._position(conn, name)
        return stored, self._skips.past(name, stored)

    def _lock_cursor(self, conn: Connection, name: str) -> Position:
        """The consumer's position, its row taken for update (so two workers never hand out the
        same events); a new consumer's row is made."""
        locked = (
            select(consumer_cursors.c.txid, consumer_cursors.c.seq, consumer_cursors.c.ahead)
            .where(consumer_cursors.c.name == name)
            .with_for_update()
        )
        row = conn.execute(locked).first()
        if row is None:
            new = {"name": name, "txid": START.txid, "seq": START.seq, "updated_at": self._clock.now()}
            insert_ignoring_duplicates(conn, consumer_cursors, [new])
            row = conn.execute(locked).one()
        return _position_of(row)

    def _take(
        self, conn: Connection, processor: Processor, before: Position, leader: str | None, limit: int
    ) -> tuple[list[Any], Position, int]:
        """The events for the processor after ``before``, the position past them, and how many
        events that passed (the ones it does not want included)."""
        cap = self._start(conn, leader)[1] if leader else None
        interest = _interest(processor, conn)
        if interest.every:
            batch, after = self.read(conn, before, limit, cap)
            return batch, after, len(batch)
        heads, after = self.read(conn, before, SCAN_LIMIT, cap, _HEAD)
        wanted = [i for i, h in enumerate(heads) if interest.wants(h.type, h.event)]
        if len(wanted) > limit and conn.dialect.name != "postgresql":
            # SQLite's one write lock: a round applies at most ``limit`` events, as an unfiltered one
            # does, so that ingest never waits behind a round of thousands (serial seqs: a cut anywhere
            # is a position)
            cut = wanted[limit - 1]
            wanted, after = wanted[:limit], Position(heads[cut].txid, heads[cut].seq)
            heads = heads[: cut + 1]
        return _full_rows(conn, [heads[i].seq for i in wanted]), after, len(heads)

    def reset(self, consumer: str) -> None:
        """Replay from the start: adding a processor and replaying history are the same operation."""

        def work(conn: Connection) -> None:
            conn.execute(
                update(consumer_cursors)
                .where(consumer_cursors.c.name == consumer)
                .values(txid=START.txid, seq=START.seq, ahead=None, updated_at=self._clock.now())
            )

        run_write(self._engine, work)
