"""The worker's part of matching: a processor of the event log that marks profiles whose identifying
traits may have changed (identify events only: every other event type is skipped by its head, so
matching costs ingest nothing), and a periodic job that matches the marked profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from omnikanal.background import Periodic
from omnikanal.clock import Clock
from omnikanal.eventlog.model import Interest
from omnikanal.matching.service import MatchingService

PROCESSOR = "matching"
INTEREST = Interest(types=frozenset({"identify"}))


class MatchingProcessor:
    name = PROCESSOR

    def __init__(self, service: MatchingService, clock: Clock) -> None:
        self._service = service
        self._clock = clock

    def interest(self, conn: Connection) -> Interest:
        return INTEREST

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        touched = sorted({row.profile_id for row in batch if row.type == "identify" and row.profile_id})
        if touched:
            self._service.mark_changed(conn, touched, self._clock.now())


class MatchJob:
    """Matches the marked profiles every ``interval`` seconds, ``batch`` at a time."""

    def __init__(self, service: MatchingService, interval: float, batch: int) -> None:
        self._service = service
        self._batch = batch
        self._loop = Periodic("matching", interval, self.run_once, first_after=interval)

    def run_once(self) -> bool:
        """Match one batch; True when there may be more."""
        report = self._service.run_changed(self._batch)
        return report is not None and report.profiles >= self._batch

    def wake(self) -> None:
        self._loop.wake()

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
