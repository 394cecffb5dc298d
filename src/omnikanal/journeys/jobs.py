"""The event-driven half of the engine (a processor of the event log) and the timed half (workers).

``JourneyProcessor`` runs in the transaction that advances its cursor: for each tracked event it
ends runs whose exit criteria it meets, resumes runs waiting for it, records goals, and lets
customers in whose trigger it is. Segment entries and exits arrive as the segments capability's
``Segment Entered`` / ``Segment Exited`` timeline events, in log order with everything else.

``TimerWorker`` claims due timers without a coordinator: on PostgreSQL with ``FOR UPDATE SKIP
LOCKED`` (each worker takes rows no other holds), on SQLite under the single write lock. The claim,
the steps and the messages they cause are one transaction, so a worker killed half-way leaves the
timer to the next one and nothing sent. ``DateScan`` lets customers in on a date held in a trait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, null, select, update

from omnikanal.background import Periodic
from omnikanal.clock import Clock
from omnikanal.db.engine import read_tx, run_write
from omnikanal.eventlog.model import NOTHING, Interest
from omnikanal.journeys.engine import (
    ACTIVE,
    Entry,
    JourneyEngine,
    Version,
    event_matches,
    family_of,
    key_matches,
    live_of,
)
from omnikanal.journeys.tables import journey_runs, journey_timers, journeys
from omnikanal.journeys.timing import local_midnight, occurrence, trait_date, zone
from omnikanal.profiles.tables import profiles
from omnikanal.segments.service import ENTERED, EXITED
from omnikanal.segments.service import PROCESSOR as SEGMENTS_PROCESSOR
from omnikanal.segments.tables import computed_traits

log = logging.getLogger(__name__)
PROCESSOR = "journeys"


@dataclass(frozen=True, slots=True)
class _Known:
    """The versions the processor must look at: current versions of active journeys (triggers) and
    every version some run is still on (exits, waits, goals)."""

    triggers: list[Version]
    names: set[str]


def _known(conn: Connection, engine: JourneyEngine) -> _Known:
    active = conn.execute(
        select(journeys.c.id, journeys.c.version).where(journeys.c.status == "active")
    ).all()
    triggers = [engine.version(conn, r.id, r.version) for r in active]
    in_use = conn.execute(
        select(journey_runs.c.journey_id, journey_runs.c.version)
        .where(journey_runs.c.status == ACTIVE)
        .distinct()
    ).all()
    # goals are watched after a run ended, until their window closes; their versions are few
    goals = conn.execute(
        select(journey_runs.c.journey_id, journey_runs.c.version)
        .where(journey_runs.c.goal_at.is_(None), journey_runs.c.goal_until.is_not(None))
        .distinct()
    ).all()
    names: set[str] = set()
    for version in [*triggers, *(engine.version(conn, r.journey_id, r.version) for r in [*in_use, *goals])]:
        names |= version.journey.event_names()
        if version.segments:
            # entering and leaving a segment matter only to journeys that name one (every profile's
            # first event can make it enter several, and each would cost a look-up here)
            names |= {ENTERED, EXITED}
    return _Known(triggers, names)


class JourneyProcessor:
    name = PROCESSOR
    # An audience or a branch taken for an event sees the segments and computed traits after it.
    follows = SEGMENTS_PROCESSOR

    def __init__(self, engine: JourneyEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._known: _Known | None = None

    def interest(self, conn: Connection) -> Interest:
        """Track events of the names some journey triggers on, exits on, waits for or counts as a
        goal; nothing without journeys. The versions read for it serve the batch that follows."""
        self._known = _known(conn, self._engine)
        return Interest(names=frozenset(self._known.names)) if self._known.names else NOTHING

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        relevant = [r for r in batch if r.type == "track"]
        if not relevant:
            return
        # read in interest() in this transaction just before; anew if called on its own
        known, self._known = self._known or _known(conn, self._engine), None
        now = self._clock.now()
        pending = _Pending(known.triggers)
        for row in relevant:
            if row.event in known.names:
                self._event(conn, known, row, now, pending)
        pending.enter(conn, self._engine, now)

    def _event(self, conn: Connection, known: _Known, row: Any, now: datetime, pending: _Pending) -> None:
        live = live_of(conn, row.profile_id)
        if live is None:
            return
        if live in pending.customers:
            # this event may end, resume or reach the goal of runs those entries start: in first
            pending.enter(conn, self._engine, now)
        properties: dict[str, Any] = (row.payload or {}).get("properties") or {}
        name: str = row.event
        segment_id = properties.get("segment_id") if name in (ENTERED, EXITED) else None
        family = family_of(conn, live)
        runs = conn.execute(
            select(journey_runs.c.id)
            .where(journey_runs.c.profile_id.in_(family), journey_runs.c.status == ACTIVE)
            .order_by(journey_runs.c.entered_at, journey_runs.c.id)
        ).all()
        for (run_id,) in runs:
            run = self._engine.lock_run(conn, run_id)
            if run is None or run["status"] != ACTIVE:
                continue
            version = self._engine.version(conn, run["journey_id"], run["version"])
            journey = version.journey
            if not key_matches(journey, run["run_key"], properties):
                continue
            if any(event_matches(m, name, properties) for m in journey.exit_events):
                self._engine.end(conn, run, f"event:{name}", now)
                continue
            if name == EXITED and segment_id in {version.segments[s] for s in journey.exit_segments}:
                self._engine.end(conn, run, "segment_exited", now)
                continue
            if run["wait_event"] is not None and run["step"] is not None:
                step = journey.steps[run["step"]]
                waited = (step.event is not None and event_matches(step.event, name, properties)) or (
                    name == ENTERED and run["wait_event"] == f"segment:{segment_id}"
                )
                if waited:
                    self._engine.resume(conn, run, version, now)
        self._goals(conn, family, name, properties, row.timestamp)
        for n, version in enumerate(known.triggers):
            entry = self._trigger(version, live, row, name, properties, segment_id)
            if entry is not None:
                pending.add(n, entry)

    def _goals(
        self, conn: Connection, family: list[str], name: str, properties: dict[str, Any], at: datetime
    ) -> None:
        rows = conn.execute(
            select(journey_runs).where(
                journey_runs.c.profile_id.in_(family),
                journey_runs.c.goal_at.is_(None),
                journey_runs.c.goal_until >= at,
                journey_runs.c.entered_at <= at,
            )
        ).all()
        for row in rows:
            journey = self._engine.version(conn, row.journey_id, row.version).journey
            goal = journey.goal_event
            if goal is None or not event_matches(goal, name, properties):
                continue
            if not key_matches(journey, row.run_key, properties):
                continue
            # the goal goes to the run's variant (on the row) and to the last message sent before it
            conn.execute(
                update(journey_runs)
                .where(journey_runs.c.id == row.id, journey_runs.c.goal_at.is_(None))
                .values(goal_at=at, goal_message_id=row.last_message_id)
            )

    @staticmethod
    def _trigger(
        version: Version,
        live: str,
        row: Any,
        name: str,
        properties: dict[str, Any],
        segment_id: str | None,
    ) -> Entry | None:
        """The entry this event asks for into this version, if it is the version's trigger."""
        journey = version.journey
        if journey.trigger_kind == "event":
            assert journey.trigger_event is not None
            if not event_matches(journey.trigger_event, name, properties):
                return None
        elif journey.trigger_kind == "segment_entered":
            if name != ENTERED or segment_id != version.segments[str(journey.trigger)]:
                return None
        else:
            return None
        key = ""
        if journey.key is not None:
            if properties.get(journey.key) in (None, ""):
                return None  # a keyed journey needs the key (a cart without an id is no cart to follow)
            key = str(properties[journey.key])
        data = {k: v for k, v in properties.items() if isinstance(k, str)}
        return Entry(live, key, f"event:{row.seq}", data)


class _Pending:
    """Entries the processor's events asked for, held to enter many customers per version at once.

    Entering later changes nothing as long as no later event of the same customer is handled before
    (the processor lets them in first), and each customer's entries of one event still go into the
    versions in trigger order. Different customers' runs do not touch each other.
    """

    def __init__(self, triggers: list[Version]) -> None:
        self._triggers = triggers
        self._entries: dict[int, list[Entry]] = {}  # index in triggers -> entries
        self.customers: set[str] = set()

    def add(self, trigger: int, entry: Entry) -> None:
        self._entries.setdefault(trigger, []).append(entry)
        self.customers.add(entry.profile_id)

    def enter(self, conn: Connection, engine: JourneyEngine, now: datetime) -> None:
        for n in sorted(self._entries):
            engine.enter_many(conn, self._triggers[n], self._entries[n], now)
        self._entries.clear()
        self.customers.clear()


class TimerWorker:
    """Claims due timers and takes the steps after them; many may run side by side."""

    def __init__(
        self,
        db: Engine,
        engine: JourneyEngine,
        clock: Clock,
        batch: int,
        poll_seconds: float,
        pause_file: str = "",
        pause_seconds: float = 0.0,
    ) -> None:
        self._db = db
        self._engine = engine
        self._clock = clock
        self._batch = batch
        # A test hook: after taking its steps, and before committing, the worker writes this file
        # and sleeps, so a test can kill it inside the step transaction.
        self._pause_file = pause_file
        self._pause_seconds = pause_seconds
        self._loop = Periodic("journey-timers", poll_seconds, lambda: self.run_once() > 0)
        self._behind = False  # the last claim took a full batch
        # Told, after each commit, which (run, due time) it fired: the benchmark's lateness probe.
        self.on_commit: Callable[[list[tuple[str, datetime]]], None] | None = None

    def run_once(self) -> int:
        """Fire one batch of due timers in one transaction; answers how many were claimed."""
        # A read first: an idle worker polling twice a second must not take SQLite's write lock. After
        # a full batch more is likely due, and the read would only cost a transaction. (Threads
        # sharing the worker may race on the flag: the worst is one read too many, or a claim of none.)
        if not self._behind and self._nothing_due():
            return 0

        def work(conn: Connection) -> list[tuple[str, datetime]]:
            now = self._clock.now()
            due = self._engine.claim_due(conn, now, self._batch)
            self._engine.fire_many(conn, [(run_id, seq) for run_id, seq, _ in due], now)
            if due and self._pause_file:
                Path(self._pause_file).write_text(",".join(run_id for run_id, _, _ in due))
                time.sleep(self._pause_seconds)
            return [(run_id, due_at) for run_id, _, due_at in due]

        # redone if a power loss takes it back: the timers it deleted come back with it, and the
        # messages it wrote carry keys of (run, step), so they are written once
        fired = run_write(self._db, work, redoable=True)
        self._behind = len(fired) == self._batch
        if fired and self.on_commit is not None:
            self.on_commit(fired)
        return len(fired)

    def _nothing_due(self) -> bool:
        with read_tx(self._db) as conn:
            due = select(journey_timers.c.run_id).where(journey_timers.c.due_at <= self._clock.now()).limit(1)
            return conn.execute(due).first() is None

    def run_until_done(self, limit: int = 100_000) -> int:
        total = 0
        for _ in range(limit):
            done = self.run_once()
            total += done
            if done == 0:
                break
        return total

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()


class DateScan:
    """Lets customers into journeys triggered by a date trait (a birthday, N days after a date).

    A periodic scan over live profiles holding the trait; the entry's origin names the date, so a
    customer enters once per occurrence however often the scan runs. An occurrence is due from its
    moment (local midnight of the date, plus the offset) for one day; a scan that misses that day
    misses the occurrence rather than congratulating a week late.
    """

    def __init__(
        self, db: Engine, engine: JourneyEngine, clock: Clock, interval: float, default_tz: str, page: int
    ) -> None:
        self._db = db
        self._engine = engine
        self._clock = clock
        self._default_tz = default_tz
        self._page = page
        # one scan per interval: a scan covers every profile, so there is never more waiting at once
        self._loop = Periodic("journey-dates", interval, self._tick)

    def _tick(self) -> bool:
        self.run_once()
        return False

    def run_once(self) -> int:
        with read_tx(self._db) as conn:
            rows = conn.execute(
                select(journeys.c.id, journeys.c.version).where(journeys.c.status == "active")
            ).all()
            versions = [self._engine.version(conn, r.id, r.version) for r in rows]
        entered = 0
        for version in versions:
            if version.journey.trigger_kind == "date":
                entered += self._scan(version)
        return entered

    def _holders(
        self, conn: Connection, rule: dict[str, Any], after: str
    ) -> list[tuple[str, dict[str, Any], Any]]:
        """(live profile, its traits, the date's value) for the next page of profiles holding it."""
        if "computed" in rule:
            # a computed trait holding a time (days_since_last keeps the last event's epoch seconds)
            query = (
                select(profiles.c.id, profiles.c.traits, computed_traits.c.value)
                .join(computed_traits, computed_traits.c.profile_id == profiles.c.id)
                .where(computed_traits.c.name == rule["computed"])
            )
        else:
            query = select(profiles.c.id, profiles.c.traits, null().label("value"))
        rows = conn.execute(
            query.where(profiles.c.state == "live", profiles.c.id > after)
            .order_by(profiles.c.id)
            .limit(self._page)
        ).all()
        found = []
        for row in rows:
            traits = {k: v.get("value") for k, v in (row.traits or {}).items() if isinstance(v, dict)}
            value = (row.value or {}).get("v") if "computed" in rule else traits.get(str(rule["trait"]))
            found.append((row.id, traits, value))
        return found

    def _scan(self, version: Version) -> int:
        rule: dict[str, Any] = version.journey.trigger
        annual = bool(rule.get("annual"))
        entered = 0
        after = ""
        while True:
            now = self._clock.now()
            with read_tx(self._db) as conn:
                page = self._holders(conn, rule, after)
            if not page:
                return entered
            after = page[-1][0]
            due: list[tuple[str, str]] = []
            for profile_id, traits, value in page:
                tz = zone(traits, self._default_tz)
                day = trait_date(value, tz)
                if day is None:
                    continue
                moment = local_midnight(occurrence(day, annual, now.astimezone(tz).date()), tz)
                moment += version.journey.trigger_offset
                if moment <= now < moment + timedelta(days=1):
                    due.append((profile_id, moment.date().isoformat()))
            if due:

                def work(conn: Connection, due: list[tuple[str, str]] = due) -> int:
                    entries = [Entry(p, "", f"date:{day}", {"date": day}) for p, day in due]
                    answers = self._engine.enter_many(conn, version, entries, self._clock.now())
                    return sum(run_id is not None for run_id, _ in answers)

                entered += run_write(self._db, work)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
