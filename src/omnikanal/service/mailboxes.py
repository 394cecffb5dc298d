"""The IMAP poller's rows: how far each support mailbox has been read, the outcome of its last poll,
and the lease that keeps two workers from reading one mailbox at the same time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, update

from omnikanal.db.engine import insert_ignoring_duplicates

from .tables import service_mailboxes as mb

MAX_ERROR = 1000


def claim(conn: Connection, mailbox: str, now: datetime, lease: timedelta) -> Any:
    """The mailbox's row, leased to this poll until ``now + lease``; None when another worker holds it."""
    insert_ignoring_duplicates(conn, mb, [{"mailbox": mailbox, "last_uid": 0, "fetched": 0}])
    taken = conn.execute(
        update(mb)
        .where(mb.c.mailbox == mailbox, or_(mb.c.leased_until.is_(None), mb.c.leased_until < now))
        .values(leased_until=now + lease, last_poll_at=now)
    ).rowcount
    if taken != 1:
        return None
    return conn.execute(select(mb).where(mb.c.mailbox == mailbox)).one()


def advance(conn: Connection, mailbox: str, uid: int, fetched: int, leased_until: datetime) -> None:
    """The messages up to ``uid`` are in (or were dropped on purpose): read on after it. The lease
    is renewed, so a long poll keeps its mailbox."""
    values = {"last_uid": uid, "stuck_uid": None, "stuck_count": 0, "leased_until": leased_until}
    conn.execute(update(mb).where(mb.c.mailbox == mailbox).values(fetched=mb.c.fetched + fetched, **values))


def stuck(conn: Connection, mailbox: str, uid: int) -> int:
    """The intake failed on ``uid`` once more; answers how often it has in a row."""
    row = conn.execute(select(mb.c.stuck_uid, mb.c.stuck_count).where(mb.c.mailbox == mailbox)).one()
    count = row.stuck_count + 1 if row.stuck_uid == uid else 1
    conn.execute(update(mb).where(mb.c.mailbox == mailbox).values(stuck_uid=uid, stuck_count=count))
    return int(count)


def synced(conn: Connection, mailbox: str, uidvalidity: int, last_uid: int) -> None:
    """The folder's unseen mail is read after a new UIDVALIDITY: read by UID from now on."""
    conn.execute(update(mb).where(mb.c.mailbox == mailbox).values(uidvalidity=uidvalidity, last_uid=last_uid))


def release(conn: Connection, mailbox: str, now: datetime, error: str | None) -> None:
    """The poll is over: the lease ends, and its outcome is recorded for operations."""
    values: dict[str, Any] = {"leased_until": None, "last_error": error[:MAX_ERROR] if error else None}
    if error is None:
        values["last_ok_at"] = now
    conn.execute(update(mb).where(mb.c.mailbox == mailbox).values(**values))


def status(conn: Connection) -> list[dict[str, Any]]:
    """Every mailbox's position and the outcome of its last poll."""
    rows = conn.execute(select(mb).order_by(mb.c.mailbox)).all()
    return [
        {
            "mailbox": r.mailbox,
            "uidvalidity": r.uidvalidity,
            "last_uid": r.last_uid,
            "fetched": r.fetched,
            "last_poll_at": r.last_poll_at,
            "last_ok_at": r.last_ok_at,
            "last_error": r.last_error,
        }
        for r in rows
    ]
