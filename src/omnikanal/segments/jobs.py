"""The segments processor of the event log, and the re-check of time windows.

The processor re-evaluates the computed traits and segments of every profile an event batch touches,
in the transaction that advances its cursor. Its own ``Segment Entered``/``Exited`` events come from
the system source and are skipped, so it never reacts to itself.

The re-check job takes the profiles whose answers may change by the passing of time (``segment_due``,
written by every evaluation) and re-evaluates them; at a longer interval it recomputes the segments
with time windows in batch, which also catches members computed in batch that no event has touched
since. Both use the hub clock: tests move a FixedClock and call ``run_once``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from omnikanal.background import Periodic
from omnikanal.clock import Clock
from omnikanal.eventlog.model import Interest
from omnikanal.segments.service import PROCESSOR, RefreshPlan, SegmentService
from omnikanal.segments.store import SYSTEM_SOURCE_ID


class SegmentProcessor:
    name = PROCESSOR

    def __init__(self, service: SegmentService, clock: Clock) -> None:
        self._service = service
        self._clock = clock

    def interest(self, conn: Connection) -> Interest:
        return self._service.interest(conn)

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self.apply(conn, batch, self.plan(conn, batch))

    def plan(self, conn: Connection, batch: Sequence[Any]) -> RefreshPlan | None:
        """Read and decide, without writing (the event log runs it before the writing transaction)."""
        touched = {row.profile_id for row in batch if row.source_id != SYSTEM_SOURCE_ID}
        return self._service.plan_refresh(conn, touched, self._clock.now()) if touched else None

    def apply(self, conn: Connection, batch: Sequence[Any], plan: RefreshPlan | None) -> None:
        if plan is not None:
            self._service.apply_refresh(conn, plan, self._clock.now())


class RecheckJob:
    """Re-evaluates due profiles every ``interval`` seconds; windowed segments in batch every
    ``batch_interval`` seconds (0: never)."""

    def __init__(self, service: SegmentService, clock: Clock, interval: float, batch_interval: float) -> None:
        self._service = service
        self._clock = clock
        self._batch_interval = batch_interval
        self._last_batch: datetime | None = None
        self._loop = Periodic("segments-recheck", interval, lambda: self.run_once() > 0, first_after=interval)

    def run_once(self) -> int:
        """Re-evaluate one batch of due profiles; answers how many there were."""
        now = self._clock.now()
        if self._batch_interval > 0 and (
            self._last_batch is None or now - self._last_batch >= timedelta(seconds=self._batch_interval)
        ):
            self._last_batch = now
            self._service.recompute_windowed()
        return self._service.recheck()

    def run_until_done(self, limit: int = 1000) -> int:
        total = 0
        for _ in range(limit):
            done = self._service.recheck()
            total += done
            if done == 0:
                break
        return total

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
