"""Who looked at whom: every read of personal data through the API is recorded.

Records are buffered and written by a background flush (every half second, and on shutdown) so
that reads do not each take the database's write lock; a hard crash can lose the last half second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from omnikanal.audit.tables import access_log
from omnikanal.background import Periodic
from omnikanal.clock import Clock, isoformat
from omnikanal.db.engine import read_tx, write_tx

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5


class AuditTrail:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._loop = Periodic(
            "audit-flush",
            FLUSH_SECONDS,
            self.flush_quietly,
            # the database is away for a moment; the rows wait for the next try
            lambda exc: log.exception("writing the access log failed; retrying", exc_info=exc),
        )

    def record(self, actor: str, action: str, profile_id: str | None) -> None:
        with self._lock:
            self._buffer.append(
                {"actor": actor, "action": action, "profile_id": profile_id, "at": self._clock.now()}
            )

    def flush(self) -> int:
        # One flush at a time: a caller that flushes before it reads the log (the access-log
        # endpoint) must not return while the background flush still writes the rows it took.
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            rows, self._buffer = self._buffer, []
        if rows:
            try:
                with write_tx(self._engine) as conn:
                    conn.execute(insert(access_log), rows)
            except Exception:
                with self._lock:  # keep them for the next flush, oldest first
                    self._buffer[:0] = rows
                raise
        return len(rows)

    def entries(self, profile_ids: list[str] | None, limit: int, before: int | None) -> list[dict[str, Any]]:
        """The log, newest first: of these profiles, or of everyone when ``profile_ids`` is None.
        Flushes first, so a read just made shows up."""
        self.flush()
        query = select(access_log)
        if profile_ids is not None:
            query = query.where(access_log.c.profile_id.in_(profile_ids))
        if before is not None:
            query = query.where(access_log.c.id < before)
        with read_tx(self._engine) as conn:
            rows = conn.execute(query.order_by(access_log.c.id.desc()).limit(limit))
            return [_entry(r) for r in rows]

    def flush_quietly(self) -> bool:
        self.flush()
        return False

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop(timeout=10)
        try:
            self.flush()
        except Exception:  # shutting down must go on; the rows are lost only with the process
            log.exception("the last access-log rows could not be written")


def access_entries(
    conn: Connection, profile_ids: list[str], limit: int, before: int | None
) -> list[dict[str, Any]]:
    """Who read these profiles' data, newest first; ``before`` pages by entry id."""
    query = select(access_log).where(access_log.c.profile_id.in_(profile_ids))
    if before is not None:
        query = query.where(access_log.c.id < before)
    rows = conn.execute(query.order_by(access_log.c.id.desc()).limit(limit))
    return [_entry(r) for r in rows]


def _entry(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "actor": r.actor,
        "action": r.action,
        "profile_id": r.profile_id,
        "at": isoformat(r.at),
    }


def staff_access(conn: Connection, profile_ids: Sequence[str]) -> list[Any]:
    """Who on the staff looked at these profiles' data (actor, action, at; raw rows), oldest first."""
    return list(
        conn.execute(
            select(access_log.c.actor, access_log.c.action, access_log.c.at)
            .where(access_log.c.profile_id.in_(profile_ids))
            .order_by(access_log.c.at)
        )
    )
