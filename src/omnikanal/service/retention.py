"""Retention of closed cases, in the worker role: cases closed longer than the setting's days ago
are deleted, or anonymised (the texts, the subject, the comment and the tie to the person removed;
times, queue, channel, SLA and score kept for the figures). It reads only closed cases past the
cut-off, by an index on the closing time, a batch per transaction."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import Connection

from omnikanal.background import Periodic
from omnikanal.db.engine import run_write

from . import store
from .cases import ServiceDesk

log = logging.getLogger(__name__)
ANONYMOUS = "anonymised"  # the profile id an anonymised case keeps: nobody's


class Retention:
    def __init__(self, desk: ServiceDesk, days: int, mode: str, interval: float, batch: int) -> None:
        self._desk = desk
        self._days = days
        self._mode = mode
        self._batch = batch
        self._loop = Periodic("service-retention", interval, self.run_once)

    @property
    def enabled(self) -> bool:
        return self._days > 0

    def run_once(self) -> bool:
        """One batch; True when there may be more."""
        if not self.enabled:
            return False
        done = run_write(self._desk.engine, self._pass)
        if done:
            log.info("service retention: %s %d closed cases", self._mode, done)
        return done >= self._batch

    def _pass(self, conn: Connection) -> int:
        cutoff = self._desk.clock_now() - timedelta(days=self._days)
        ids = store.expired_cases(conn, cutoff, ANONYMOUS, self._batch)
        if self._mode == "delete":
            store.delete_cases(conn, ids)
        else:
            store.anonymise_cases(conn, ids, ANONYMOUS)
        return len(ids)

    def start(self) -> None:
        if self.enabled:
            self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
