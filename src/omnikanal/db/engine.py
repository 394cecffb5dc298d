"""The engine, and transactions with the concurrency rules decided here, in one place.

SQLite: WAL, one writer at a time. A write transaction starts with ``BEGIN IMMEDIATE`` so it takes
the write lock up front instead of failing half-way when it upgrades a read lock. Writers queue for
their turn before that: SQLite's busy handler sleeps (up to 100 ms a time) while the lock is held,
whereas a writer waiting on a lock of its own runs the moment the writer before it is done. Threads
of one process queue on a mutex; processes (the API and its worker beside it) on an advisory lock
of a file next to the database (``flock``), which the kernel hands on at once when it is released
and frees by itself when its holder dies.
PostgreSQL: READ COMMITTED; code that races relies on unique constraints and row locks and is
re-run as a whole when the database reports a deadlock, serialization failure or a lost insert race.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from omnikanal.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_PG_CODES = {"40001", "40P01", "23505"}  # serialization failure, deadlock, unique violation
CHECK_VIOLATION = "23514"
SQLITE_BUSY_SECONDS = 30


class _WriterLock:
    """This process's turn at a SQLite database: a mutex for its threads and, for a file, an advisory
    lock of ``<file>-writer`` for its processes. Re-entrant in one thread; the file lock is taken on
    the outermost turn only."""

    def __init__(self, path: str | None) -> None:
        self._mutex = threading.RLock()
        self._path = path
        self._fd: int | None = None
        self._depth = 0
        self._pid = os.getpid()

    def acquire(self, timeout: float) -> bool:
        # Bounded like SQLite's own wait: past it, SQLite's lock alone decides (and reports "locked").
        if not self._mutex.acquire(timeout=timeout):
            return False
        if self._depth == 0 and self._path is not None:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
            except BaseException:
                self._mutex.release()
                raise
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            assert self._path is not None
            self._fd = os.open(self._path + "-writer", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd


# One writer lock per SQLite database file and process (see the module's docstring), shared by the
# engines of one file, and each engine's configured synchronous.
_writer_locks: dict[str, _WriterLock] = {}
_writer_locks_guard = threading.Lock()
_writers: weakref.WeakKeyDictionary[Engine, _WriterLock] = weakref.WeakKeyDictionary()
_synchronous: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


class RetryTransaction(Exception):
    """Raised inside a unit of work that read state another transaction changed meanwhile."""


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """Build the engine for the configured database."""
    url = url or settings.resolved_database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            pool_size=8,
            max_overflow=8,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
        )
        _configure_sqlite(
            engine,
            settings.sqlite_synchronous,
            settings.sqlite_checkpoint_seconds > 0,
            settings.sqlite_cache_mb,
        )
        _writers[engine] = _writer_lock(path)
        _synchronous[engine] = settings.sqlite_synchronous.upper()
        return engine
    return create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        isolation_level="READ COMMITTED",
        connect_args={"options": "-c timezone=UTC"},
    )


def _writer_lock(path: str) -> _WriterLock:
    if not path or path == ":memory:":
        return _WriterLock(None)
    key = os.path.realpath(path)
    with _writer_locks_guard:
        lock = _writer_locks.get(key)
        if lock is None:
            lock = _writer_locks[key] = _WriterLock(key)
        return lock


def make_hot_read_engine(main: Engine) -> Engine:
    """An engine for single-statement reads on the hottest paths (the contact question).

    On PostgreSQL a checkout of the main pool costs two extra round trips (the liveness ping and
    the rollback on return), more than the query itself; these connections run in autocommit, are
    not pinged, and a connection found dead is replaced on the next try (``hot_read``). SQLite needs
    no network, so the main engine serves.
    """
    if main.dialect.name != "postgresql":
        return main
    return create_engine(
        main.url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=4,
        max_overflow=8,
        pool_pre_ping=False,
        pool_reset_on_return=None,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": "-c timezone=UTC"},
    )


def hot_read(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run one read on the hot-read engine; a connection that died meanwhile is replaced once."""
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                return work(conn)
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _configure_sqlite(
    engine: Engine, synchronous: str, checkpoint_in_background: bool, cache_mb: int
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's begin event below (pysqlite's own is unreliable).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # Erasure must leave nothing in the file: deleted content is overwritten, not just unlinked.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA cache_size={-1024 * cache_mb}")
        # A modest mapping: reads gain little from more, and mapped pages count in the process RSS.
        cursor.execute("PRAGMA mmap_size=67108864")
        # Checkpoints run in the background (db/checkpoint.py); this threshold is only a safety net.
        cursor.execute(f"PRAGMA wal_autocheckpoint={16384 if checkpoint_in_background else 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("omnikanal_write", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """Wait for the other writers of a SQLite database, in this process and others (nothing on
    PostgreSQL)."""
    mutex = _writers.get(engine)
    if mutex is None:
        yield
        return
    held = mutex.acquire(timeout=SQLITE_BUSY_SECONDS)
    try:
        yield
    finally:
        if held:
            mutex.release()


def _set_synchronous(conn: Connection, value: str) -> None:
    # on the driver's connection, outside any transaction (SQLAlchemy's would begin one first)
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA synchronous={value}")


@contextmanager
def write_tx(engine: Engine, *, redoable: bool = False) -> Iterator[Connection]:
    """A write transaction; commits on success, rolls back on error.

    ``redoable``: the transaction only derives from state that is already durable, in a way that is
    redone if it is lost (an event-log processor with its cursor, a timer worker with its timers).
    It then commits without waiting for the disk (SQLite: ``synchronous=NORMAL``; PostgreSQL:
    ``synchronous_commit`` off for the transaction): a crash of the machine may take it back, and
    the work is done again; the next ordinary commit makes it durable with everything before it, as
    the log is written in order.
    """
    relaxed = redoable and _synchronous.get(engine) in ("FULL", "EXTRA")
    with _writer_turn(engine), engine.connect() as conn:
        if relaxed:
            _set_synchronous(conn, "NORMAL")
        try:
            conn = conn.execution_options(omnikanal_write=True)
            with conn.begin():
                if redoable and conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield conn
        finally:
            if relaxed:
                try:
                    _set_synchronous(conn, _synchronous[engine])
                except Exception:
                    # never hand a relaxed connection back to the pool
                    conn.invalidate()
                    raise


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read-only unit (no write lock on SQLite)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def insert_ignoring_duplicates(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on either engine.

    It answers nothing: psycopg's row count is -1 after ON CONFLICT DO NOTHING, so a caller that must
    know which rows went in uses RETURNING (``db/rows.insert_new_returning``).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(table).on_conflict_do_nothing(), rows)
    else:
        conn.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed transaction may simply be run again."""
    if isinstance(exc, RetryTransaction):
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if code in RETRYABLE_PG_CODES:
            return True
        if code == CHECK_VIOLATION and "violates partition constraint" in str(exc):
            # A row routed to the default partition while the worker attached its month's partition
            # (eventlog/partitions.py): PostgreSQL refuses it; run again, it is routed anew.
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc):
            return True
    return False


def run_write(
    engine: Engine, work: Callable[[Connection], T], attempts: int = 8, *, redoable: bool = False
) -> T:
    """Run ``work`` in a write transaction, re-running it on retryable conflicts with backoff.

    ``work`` must be safe to re-run: everything it did in a failed attempt was rolled back.
    ``redoable``: see ``write_tx``.
    """
    delay = 0.005
    for attempt in range(1, attempts + 1):
        try:
            with write_tx(engine, redoable=redoable) as conn:
                return work(conn)
        except (OperationalError, IntegrityError, DBAPIError, RetryTransaction) as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            log.info("retrying transaction after %r (attempt %d)", exc, attempt)
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
    raise AssertionError("unreachable")
