"""How a worker process learns that another process (an API) committed events.

In one process, ingest wakes the processors directly. A worker beside the API in another process,
or on another machine, sees commits through the database instead, at the cost of almost nothing:

- SQLite: ``PRAGMA data_version`` on a connection of its own changes whenever another connection
  committed; reading it touches only the WAL index in shared memory (no lock, no I/O), so it can be
  read every few milliseconds.
- PostgreSQL: ingest calls ``pg_notify(CHANNEL)`` in its transaction (delivered at commit, once per
  transaction however many events it wrote); the watch LISTENs and wakes at once. The poll interval
  is then only the longest wait, should a notification be lost with a connection.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "omnikanal_log"
# The longest a PostgreSQL watch waits without a notification before it wakes the processors anyway.
PG_FALLBACK_SECONDS = 1.0


class LogWatch:
    """A daemon thread that calls each of ``wake`` when another process committed."""

    def __init__(self, engine: Engine, interval: float, wake: Sequence[Callable[[], None]]) -> None:
        self._engine = engine
        self._interval = interval
        self._wake = list(wake)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            target = self._run_pg if self._engine.dialect.name == "postgresql" else self._run_sqlite
            self._thread = threading.Thread(target=target, name="log-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None

    def _fire(self) -> None:
        for wake in self._wake:
            wake()

    def _run_sqlite(self) -> None:
        path = self._engine.url.database
        if not path or path == ":memory:":
            return  # a memory database is never shared with another process
        while not self._stop.is_set():
            try:
                db = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
                try:
                    self._watch_sqlite(db)
                finally:
                    db.close()
            except sqlite3.Error:
                log.exception("watching the database for commits failed; trying again")
                self._stop.wait(1.0)

    def _watch_sqlite(self, db: sqlite3.Connection) -> None:
        last = db.execute("PRAGMA data_version").fetchone()[0]
        while not self._stop.wait(self._interval):
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if version != last:
                last = version
                self._fire()

    def _run_pg(self) -> None:
        url = make_url(self._engine.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._fire()  # whatever committed while no one listened
                    self._watch_pg(conn)
            except psycopg.Error:
                log.exception("listening for commits failed; trying again")
                self._stop.wait(1.0)

    def _watch_pg(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        timeout = max(self._interval, 0.05)
        last = time.monotonic()
        while not self._stop.is_set():
            got = False
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                got = True
            if got or time.monotonic() - last >= PG_FALLBACK_SECONDS:
                last = time.monotonic()
                self._fire()
