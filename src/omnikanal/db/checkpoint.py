"""SQLite WAL checkpoints in the background.

By default SQLite checkpoints inside whichever commit pushes the WAL past its threshold, so an
unlucky ingest transaction pays for copying megabytes (measured here: commits of 50 ms on average
under load). A passive checkpoint from another thread every second keeps the WAL short without
blocking writers; the automatic threshold stays as a safety net, raised so it rarely fires.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine

from omnikanal.background import Periodic

log = logging.getLogger(__name__)

# A truncating checkpoint waits for readers to finish with older pages; it is tried this often.
TRUNCATE_TRIES = 50
TRUNCATE_PAUSE_SECONDS = 0.05


def truncate_wal(engine: Engine) -> bool:
    """Copy the whole WAL into the database file and empty it (SQLite; elsewhere nothing to do).

    After an erasure the WAL still holds the pages as they were before it; secure_delete only
    overwrites the database file. True when the WAL was emptied.
    """
    if engine.dialect.name != "sqlite":
        return True
    for _ in range(TRUNCATE_TRIES):
        with engine.connect() as conn:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        if busy is None or not busy[0]:
            return True
        time.sleep(TRUNCATE_PAUSE_SECONDS)  # a reader still uses older pages: try again
    log.warning("the WAL could not be truncated: readers kept it busy")
    return False


class Checkpointer:
    def __init__(self, engine: Engine, interval_seconds: float) -> None:
        self._engine = engine
        self._interval = interval_seconds
        self._loop = Periodic("wal-checkpoint", interval_seconds, self.checkpoint)

    def start(self) -> None:
        if self._engine.dialect.name == "sqlite" and self._interval > 0:
            self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        # A stopped hub leaves no old page images (an erased person's, say) in the WAL file.
        if self._engine.dialect.name == "sqlite":
            truncate_wal(self._engine)

    def checkpoint(self) -> None:
        with self._engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
