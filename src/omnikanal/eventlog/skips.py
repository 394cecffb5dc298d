"""Positions of consumers past events they skipped, kept in memory between cursor writes.

Most rounds of a processor whose definitions want few events hand it nothing; writing its cursor
each time would take SQLite's one write lock (which ingest needs) several times a second for no
change that matters. The position past the skipped events is kept here instead, valid only while the
stored cursor is the one it was reached from, and written with the next batch or after
``SKIP_FLUSH_SECONDS``. Losing it (a restart, another worker) only means skipping those events again.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnikanal.eventlog.service import Position

# How stale a consumer's stored cursor may get while it only skips: what `omnikanal lag` of another
# process may overstate, and what another worker may re-read.
SKIP_FLUSH_SECONDS = 0.5


class Skips:
    def __init__(self, flush_seconds: float = SKIP_FLUSH_SECONDS) -> None:
        self._flush = flush_seconds
        self._lock = threading.Lock()
        # consumer -> (the stored cursor it was reached from, the position past the skipped events)
        self._past: dict[str, tuple[Position, Position]] = {}
        self._written: dict[str, float] = {}  # consumer -> monotonic time of its last cursor write

    def past(self, consumer: str, stored: Position) -> Position:
        """Where the consumer goes on from, given its stored cursor."""
        with self._lock:
            kept = self._past.get(consumer)
        return kept[1] if kept is not None and kept[0] == stored else stored

    def due(self, consumer: str) -> bool:
        """Whether the consumer's cursor should be written now rather than kept here."""
        with self._lock:
            return time.monotonic() - self._written.get(consumer, float("-inf")) >= self._flush

    def keep(self, consumer: str, stored: Position, after: Position) -> None:
        with self._lock:
            self._past[consumer] = (stored, after)

    def written(self, consumer: str) -> None:
        with self._lock:
            self._past.pop(consumer, None)
            self._written[consumer] = time.monotonic()
