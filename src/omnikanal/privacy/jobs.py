"""Retention: events older than their configured maximum age and long-inactive anonymous profiles
are removed in small batches, each its own short transaction, so ingest never waits long."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine

from omnikanal.background import Periodic
from omnikanal.clock import Clock, isoformat
from omnikanal.db.engine import run_write
from omnikanal.eventlog import access as eventlog
from omnikanal.privacy.service import PrivacyRegistry
from omnikanal.profiles import access as profiles
from omnikanal.profiles import chain

log = logging.getLogger(__name__)

# Identifier types that name a known person; a profile with none of them is anonymous.
KNOWN_PERSON_TYPES = ("user_id", "email", "phone", "loyalty_card")


@dataclass(frozen=True, slots=True)
class RetentionRule:
    key: str  # "type:page", "event:Product Viewed", "channel:web"
    days: int

    def expired(self, conn: Connection, cutoff: datetime, limit: int) -> list[int]:
        """Seqs of up to ``limit`` events under this rule older than ``cutoff``."""
        kind, _, value = self.key.partition(":")
        return eventlog.expired(conn, kind, value, cutoff, limit)


def parse_rules(configured: Mapping[str, int]) -> list[RetentionRule]:
    rules = []
    for key, days in configured.items():
        kind, sep, value = key.partition(":")
        if not sep or kind not in eventlog.RETENTION_KINDS or not value:
            raise ValueError(f"retention rule {key!r}: use type:<type>, event:<name> or channel:<channel>")
        if days < 1:
            raise ValueError(f"retention rule {key!r}: days must be at least 1")
        rules.append(RetentionRule(key, int(days)))
    return rules


@dataclass
class RetentionReport:
    started_at: str | None = None
    events_removed: dict[str, int] = field(default_factory=dict)
    profiles_removed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "events_removed": dict(self.events_removed),
            "profiles_removed": self.profiles_removed,
        }


class RetentionJob:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        registry: PrivacyRegistry,
        rules: list[RetentionRule],
        anonymous_profile_days: int,
        batch_size: int,
        interval_seconds: float,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._registry = registry
        self._rules = rules
        self._anonymous_days = anonymous_profile_days
        self._batch = batch_size
        # The first pass waits one interval: a process that restarts often should not sweep each time.
        self._loop = Periodic("retention", interval_seconds, self._tick, first_after=interval_seconds)
        self.last_report: RetentionReport | None = None

    def run(self, progress: Callable[[str, int], None] | None = None) -> RetentionReport:
        """One full pass; ``progress(what, removed_in_batch)`` is told after every batch."""
        now = self._clock.now()
        report = RetentionReport(started_at=isoformat(now))
        for rule in self._rules:
            cutoff = now - timedelta(days=rule.days)
            total = 0
            while True:
                removed = run_write(self._engine, partial(self._events_batch, rule=rule, cutoff=cutoff))
                total += removed
                if progress:
                    progress(rule.key, removed)
                if removed < self._batch:
                    break
            report.events_removed[rule.key] = total
        if self._anonymous_days > 0:
            cutoff = now - timedelta(days=self._anonymous_days)
            while True:
                removed = run_write(self._engine, partial(self._profiles_batch, cutoff=cutoff))
                report.profiles_removed += removed
                if progress:
                    progress("anonymous profiles", removed)
                if removed < self._batch:
                    break
        self.last_report = report
        log.info("retention: %s", report.as_dict())
        return report

    def _events_batch(self, conn: Connection, *, rule: RetentionRule, cutoff: datetime) -> int:
        seqs = rule.expired(conn, cutoff, self._batch)
        if seqs:
            eventlog.delete_seqs(conn, seqs)
        return len(seqs)

    def _profiles_batch(self, conn: Connection, *, cutoff: datetime) -> int:
        candidates = profiles.anonymous_inactive(conn, cutoff, KNOWN_PERSON_TYPES, self._batch)
        for profile_id in candidates:
            members = chain.merge_set(conn, profile_id)
            # No suppression here: the device may come back, and that is a new visit, not a person
            # who asked to be forgotten.
            for part in reversed(self._registry.parts):
                part.erase(conn, members)
        return len(candidates)

    def _tick(self) -> bool:
        self.run()
        return False

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
