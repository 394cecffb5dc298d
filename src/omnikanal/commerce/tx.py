"""Write transactions of commerce.

SQLite has one writer at a time. Threads of one process that each wait for its lock with
``busy_timeout`` are woken by SQLite's busy handler, which sleeps in growing steps (up to 100 ms):
under contention most of a reservation's latency would be that sleeping. Commerce writes of one
process therefore queue on a lock of their own first, which hands over the moment the holder is
done; SQLite's lock (and its busy handler) is then contended only with other work and other
processes. PostgreSQL locks rows, not the database, so its writers run side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine

from omnikanal.db.engine import run_write

T = TypeVar("T")

_SQLITE_WRITER = threading.Lock()


def write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """``run_write`` (retries included), one commerce writer at a time on SQLite."""
    if engine.dialect.name == "sqlite":
        with _SQLITE_WRITER:
            return run_write(engine, work)
    return run_write(engine, work)
