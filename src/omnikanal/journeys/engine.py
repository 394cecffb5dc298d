"""The journey engine: entries, steps, durable timers and the step log, inside the caller's transaction.

A run is one customer's pass through one version of a journey. The engine moves a run from step to
step until it must wait (a timer row in ``journey_timers``, or a wait for an event) or ends. Each step
taken writes a row of the step log keyed by (run, sequence number): a second attempt to take the same
step fails on that key, so no step runs twice. Messages, tasks and webhooks are written to the
messaging outbox in the same transaction as the run's state, so they commit together (or neither).

Every method takes the connection of a transaction the caller owns: the event-log processor's, the
timer worker's, or an API call's. Runs are locked (``FOR UPDATE``) before they change, so the
processor and any number of timer workers can touch the same run without losing an update.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.sql.dml import ReturningDelete

from omnikanal.db.fast import Raw
from omnikanal.db.rows import among, insert_new_returning, insert_rows, update_rows
from omnikanal.errors import NotFound
from omnikanal.eventlog.tables import events
from omnikanal.ids import new_id
from omnikanal.journeys.model import EventMatch, Journey, JourneyLimits, Step, parse_journey
from omnikanal.journeys.recommended import RecommendationCheck
from omnikanal.journeys.tables import journey_runs, journey_steps, journey_timers, journey_versions
from omnikanal.journeys.timing import local_midnight, next_local_time, occurrence, trait_date, zone
from omnikanal.messaging.service import MessagingService, SendRequest
from omnikanal.profiles import chain
from omnikanal.profiles import store as profiles_store
from omnikanal.profiles.tables import profiles
from omnikanal.segments import store as segments_store
from omnikanal.segments.evaluate import Facts, evaluate, matches_filters, readable
from omnikanal.segments.model import ComputedTrait, Condition, Limits, parse_computed
from omnikanal.segments.service import SegmentService
from omnikanal.segments.tables import segment_members

log = logging.getLogger(__name__)

ACTIVE = "active"
ENDED = "ended"
# A pass of the engine takes at most this many steps; cycles without a wait are refused when a
# document is saved, so only a very long straight journey can reach it.
MAX_STEPS_PER_PASS = 200
# How far back "skipped if already true" looks for the awaited event (from the run's entry).
ALREADY_SCAN_LIMIT = 500


# Statements built once: the engine runs them for every step of every run, and building a statement
# (and its cache key) costs SQLAlchemy more than SQLite needs to execute it.
# the runs of a journey among a set of profiles: what the re-entry rules look at
_EARLIER = {
    dialect: select(
        journey_runs.c.profile_id, journey_runs.c.run_key, journey_runs.c.status, journey_runs.c.entered_at
    ).where(journey_runs.c.journey_id == bindparam("journey_id"), among_ids)
    for dialect, among_ids in among(journey_runs.c.profile_id, "ids").items()
}
_STATES = {
    dialect: select(profiles.c.id, profiles.c.state).where(among_ids)
    for dialect, among_ids in among(profiles.c.id, "ids").items()
}
# which of these live profiles absorbed others (most absorbed none: one cheap look for the batch)
_WITH_MERGED = {
    dialect: select(profiles.c.merged_into).where(among_ids).distinct()
    for dialect, among_ids in among(profiles.c.merged_into, "ids").items()
}
_STATE = select(profiles.c.state).where(profiles.c.id == bindparam("profile_id"))
_MERGED_INTO = select(profiles.c.id).where(profiles.c.merged_into == bindparam("live")).limit(1)
_LOCK_RUN = select(journey_runs).where(journey_runs.c.id == bindparam("run_id")).with_for_update()
# an UPDATE given a parameter dict sets the columns named by its keys; "_run" is the WHERE's
_SAVE_RUN = update(journey_runs).where(journey_runs.c.id == bindparam("_run"))
_DROP_TIMER = delete(journey_timers).where(journey_timers.c.run_id == bindparam("run_id"))
_DROP_FIRED_TIMER = delete(journey_timers).where(
    journey_timers.c.run_id == bindparam("run_id"), journey_timers.c.seq == bindparam("seq")
)
_ADD_TIMER = insert(journey_timers)
_ADD_STEP = insert(journey_steps)
# the columns the batch writes (driver-level, db/rows.py)
_STEP_COLUMNS = ("run_id", "seq", "profile_id", "step", "kind", "outcome", "message_id", "at")
_TIMER_COLUMNS = ("run_id", "seq", "due_at", "profile_id")
_RUN_COLUMNS = tuple(c.name for c in journey_runs.c if c.name != "id")
_LOCK_RUNS = {
    dialect: select(journey_runs)
    .where(among_ids)
    # one order for every worker: two batches locking overlapping runs wait rather than deadlock
    .order_by(journey_runs.c.id)
    .with_for_update()
    for dialect, among_ids in among(journey_runs.c.id, "run_ids").items()
}
_NEW_RUN_COLUMNS = tuple(c.name for c in journey_runs.c)
# Entries handled in one go, to bound the lists a batch's look-ups pass and the rows it holds.
ENTER_SLICE = 1000


def _claim(skip_locked: bool) -> ReturningDelete[str, int, datetime]:
    """The earliest due timers, deleted as they are claimed (``claim_due``)."""
    due = (
        select(journey_timers.c.run_id)
        .where(journey_timers.c.due_at <= bindparam("now"))
        .order_by(journey_timers.c.due_at)
        .limit(bindparam("limit"))
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        delete(journey_timers)
        .where(journey_timers.c.run_id.in_(due.scalar_subquery()))
        .returning(journey_timers.c.run_id, journey_timers.c.seq, journey_timers.c.due_at)
    )


# SQLite's single write lock is the claim there
_CLAIM = {"postgresql": _claim(skip_locked=True), "sqlite": _claim(skip_locked=False)}


def live_of(conn: Connection, profile_id: str) -> str | None:
    """The live profile behind an id; the common case (it is live) in one prepared statement."""
    if conn.execute(_STATE, {"profile_id": profile_id}).scalar() == "live":
        return profile_id
    return chain.resolve_live(conn, profile_id)


def family_of(conn: Connection, live: str) -> list[str]:
    """The live profile and every profile merged into it; one cheap look when nothing was merged."""
    if conn.execute(_MERGED_INTO, {"live": live}).first() is None:
        return [live]
    return chain.merge_set(conn, live)


def states_of(conn: Connection, profile_ids: Iterable[str]) -> dict[str, str]:
    """The state (live, merged, ...) of each of these profiles that exists, in one statement."""
    found = conn.execute(_STATES[conn.dialect.name], {"ids": sorted(set(profile_ids))})
    return {row.id: row.state for row in found}


def lives_of(conn: Connection, profile_ids: Sequence[str]) -> tuple[dict[str, str | None], set[str]]:
    """``live_of`` for many ids: (id -> its live profile or None, the ids that are live themselves).

    One statement for the common case (every id live); merged ones follow their chain one by one.
    """
    states = states_of(conn, profile_ids)
    live = {p for p, state in states.items() if state == "live"}
    lives = {
        p: p if p in live else (chain.resolve_live(conn, p) if p in states else None) for p in profile_ids
    }
    return lives, live


def families_of(conn: Connection, lives: Sequence[str]) -> dict[str, list[str]]:
    """``family_of`` for many live profiles, in one statement unless some absorbed others."""
    wanted = sorted(set(lives))
    if not wanted:
        return {}
    merged = set(conn.execute(_WITH_MERGED[conn.dialect.name], {"ids": wanted}).scalars())
    return {live: chain.merge_set(conn, live) if live in merged else [live] for live in wanted}


@dataclass(frozen=True, slots=True)
class Entry:
    """One customer to let in: ``profile_id`` may be merged (the run goes to the live profile);
    ``origin`` names the cause (an event, a date, an API call), entering once per profile."""

    profile_id: str
    key: str
    origin: str
    data: dict[str, Any]


# (run id or None, why): the answer to one entry
Entered = tuple[str | None, str]


def refusal(journey: Journey, earlier: Sequence[dict[str, Any]], now: datetime) -> str | None:
    """Why the re-entry rules keep a customer out, given their earlier runs with the same key (each
    with its ``status`` and ``entered_at``); None lets them in."""
    if journey.reentry != "every_time" and any(r["status"] == ACTIVE for r in earlier):
        return "already_inside"
    if journey.reentry == "once" and earlier:
        return "entered_before"
    cooldown = journey.cooldown if journey.reentry == "cooldown" else None
    if earlier and cooldown is not None and max(r["entered_at"] for r in earlier) + cooldown > now:
        return "cooling_down"
    return None


def one_per_customer(waiting: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Split (entry index, live profile) pairs into the first of each customer and the rest, in order."""
    seen: set[str] = set()
    first: list[tuple[int, str]] = []
    rest: list[tuple[int, str]] = []
    for item in waiting:
        (rest if item[1] in seen else first).append(item)
        seen.add(item[1])
    return first, rest


@dataclass(slots=True)
class _Batch:
    """Writes of a batch of runs moving on (fired timers, or new entries), held until its end and
    then made in one statement each.

    Safe because nothing the steps of a run read is among them: a run is at most once in a batch
    (one timer per run; one entry per customer), and the step log, the run rows, the timers and the
    outbox are not read again before the batch's commit. The step log keeps its primary key: a step
    taken twice still fails the whole transaction, at the flush. No run of a batch has a timer row to
    drop (a fired one's was deleted by its claim, a new one has none), so a batch drops none.
    """

    live: set[str]  # profiles known to be live (read once for the batch)
    steps: list[dict[str, Any]] = field(default_factory=list)
    saves: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> its last state
    new_timers: list[dict[str, Any]] = field(default_factory=list)
    # (request with its live profile, the message id the step log names, the actor)
    messages: list[tuple[SendRequest, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Version:
    journey_id: str
    version: int
    journey: Journey
    segments: dict[str, str]  # segment name or id as written -> segment id


def variant_bucket(journey_id: str, step_id: str, profile_id: str) -> int:
    """0..9999, the same for a customer every time: the split is sticky across runs and versions."""
    digest = hashlib.sha256(f"{journey_id}:{step_id}:{profile_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10000


def key_matches(journey: Journey, run_key: str, properties: dict[str, Any]) -> bool:
    """An event carrying the journey key's property concerns only the run with that key; one without
    it concerns every run of the customer (an order without a cart id ends every cart's run)."""
    if journey.key is None or journey.key not in properties:
        return True
    return str(properties[journey.key]) == run_key


def event_matches(match: EventMatch, name: str | None, properties: dict[str, Any]) -> bool:
    return name == match.name and matches_filters(properties, match.where)


class JourneyEngine:
    def __init__(
        self,
        messaging: MessagingService,
        segments: SegmentService,
        limits: JourneyLimits,
        condition_limits: Limits,
        default_timezone: str,
        recommendations: RecommendationCheck | None = None,
    ) -> None:
        self._messaging = messaging
        # asked by a branch on the customer's recommendations (none wired: such a branch says no)
        self._recommendations = recommendations
        self._segments = segments
        self.limits = limits
        self.condition_limits = condition_limits
        self._default_tz = default_timezone
        self._versions: dict[tuple[str, int], Version] = {}
        # the batch of the timer worker running in this thread (workers and the processor share
        # the engine, each in a thread of its own)
        self._local = threading.local()

    @property
    def _batch(self) -> _Batch | None:
        batch: _Batch | None = getattr(self._local, "batch", None)
        return batch

    @_batch.setter
    def _batch(self, batch: _Batch | None) -> None:
        self._local.batch = batch

    # --- versions

    def version(self, conn: Connection, journey_id: str, number: int) -> Version:
        """A parsed version (cached: a saved version never changes)."""
        cached = self._versions.get((journey_id, number))
        if cached is not None:
            return cached
        row = conn.execute(
            select(journey_versions).where(
                journey_versions.c.journey_id == journey_id, journey_versions.c.version == number
            )
        ).first()
        if row is None:
            raise NotFound(
                "journey_not_found", f"no version {number} of journey {journey_id!r}", "journey_id"
            )
        parsed = Version(
            journey_id,
            number,
            parse_journey(row.document, self.limits, self.condition_limits),
            dict(row.resolved.get("segments", {})),
        )
        self._versions[(journey_id, number)] = parsed
        return parsed

    # --- entering

    def enter(
        self,
        conn: Connection,
        version: Version,
        profile_id: str,
        key: str,
        origin: str,
        data: dict[str, Any],
        now: datetime,
    ) -> Entered:
        """Let a customer in if the entry rules allow; (run id or None, why)."""
        [answer] = self.enter_many(conn, version, [Entry(profile_id, key, origin, data)], now)
        return answer

    def enter_many(
        self, conn: Connection, version: Version, entries: Sequence[Entry], now: datetime
    ) -> list[Entered]:
        """Let many customers in, answering each as ``enter`` would have had they come one by one.

        Why an entry is refused: ``unknown_profile``, ``not_in_audience``, ``already_inside``,
        ``entered_before``, ``cooling_down``, or ``duplicate`` (its origin entered that customer
        before, or a racing transaction let them in first: the unique keys make the insert a no-op).
        A few statements per slice of entries whatever its size; the audience is still checked
        customer by customer.
        """
        answers: list[Entered] = []
        for start in range(0, len(entries), ENTER_SLICE):
            answers += self._enter_slice(conn, version, entries[start : start + ENTER_SLICE], now)
        return answers

    def _enter_slice(
        self, conn: Connection, version: Version, entries: Sequence[Entry], now: datetime
    ) -> list[Entered]:
        lives, live = lives_of(conn, [e.profile_id for e in entries])
        known = {p for p in lives.values() if p is not None}
        earlier = self._earlier_runs(conn, version, known)
        answers: dict[int, Entered] = {}
        waiting: list[tuple[int, str]] = []
        for n, entry in enumerate(entries):
            profile = lives[entry.profile_id]
            if profile is None:
                answers[n] = (None, "unknown_profile")
            else:
                waiting.append((n, profile))
        while waiting:
            # A customer's later entry must see the run of the earlier one as its first steps left it
            # (after_exit lets them in again if that run ended at once), so a round takes one entry
            # per customer, in order; the rounds are as many as one customer's entries in the slice.
            this_round, waiting = one_per_customer(waiting)
            self._enter_round(
                conn, version, [(n, entries[n], p) for n, p in this_round], live, earlier, answers, now
            )
        return [answers[n] for n in range(len(entries))]

    def _earlier_runs(
        self, conn: Connection, version: Version, lives: set[str]
    ) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """(live profile, key) -> the journey's runs of that customer's family with that key."""
        if version.journey.reentry == "every_time" or not lives:
            return {}  # nothing earlier keeps anybody out
        live_of_member = {
            m: live for live, family in families_of(conn, sorted(lives)).items() for m in family
        }
        params = {"journey_id": version.journey_id, "ids": sorted(live_of_member)}
        rows = conn.execute(_EARLIER[conn.dialect.name], params)
        earlier: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            earlier.setdefault((live_of_member[row.profile_id], row.run_key), []).append(
                {"status": row.status, "entered_at": row.entered_at}
            )
        return earlier

    def _enter_round(
        self,
        conn: Connection,
        version: Version,
        round_: Sequence[tuple[int, Entry, str]],
        live: set[str],
        earlier: dict[tuple[str, str], list[dict[str, Any]]],
        answers: dict[int, Entered],
        now: datetime,
    ) -> None:
        """Entries of different customers: the rules decide, the runs go in with one insert, and
        their first steps are taken as one batch."""
        journey = version.journey
        # the audience is still checked customer by customer, on that customer's facts
        computed = self.computed_traits(conn) if journey.audience is not None else []
        admitted: list[tuple[int, dict[str, Any]]] = []
        for n, entry, profile in round_:
            if journey.audience is not None and not self.audience_matches(
                conn, profile, journey.audience, now, computed
            ):
                answers[n] = (None, "not_in_audience")
                continue
            why = refusal(journey, earlier.get((profile, entry.key), []), now)
            if why is not None:
                answers[n] = (None, why)
                continue
            admitted.append((n, self._new_run(version, profile, entry, now)))
        if not admitted:
            return
        # in one order for every transaction: two batches racing to enter the same customers then wait
        # for each other's rows instead of deadlocking on them
        runs = sorted((run for _, run in admitted), key=lambda r: (r["profile_id"], r["run_key"]))
        written = insert_new_returning(Raw(conn), journey_runs, _NEW_RUN_COLUMNS, runs, "id")
        batch = _Batch(live=live)
        self._batch = batch
        try:
            for n, run in admitted:
                if run["id"] not in written:
                    answers[n] = (None, "duplicate")
                    continue
                answers[n] = (run["id"], "entered")
                # the run itself: a later round sees its status after the first steps
                earlier.setdefault((run["profile_id"], run["run_key"]), []).append(run)
                self._advance(conn, version, run, journey.first, now)
        finally:
            self._batch = None
        self._flush(conn, batch)

    @staticmethod
    def _new_run(version: Version, profile: str, entry: Entry, now: datetime) -> dict[str, Any]:
        journey = version.journey
        return {
            "id": new_id("run"),
            "journey_id": version.journey_id,
            "version": version.version,
            "profile_id": profile,
            "run_key": entry.key,
            "origin": entry.origin,
            # every_time allows parallel runs; otherwise the unique key turns a racing second entry
            # into a no-op
            "active_key": None if journey.reentry == "every_time" else f"{profile}|{entry.key}",
            "status": ACTIVE,
            "step": None,
            "seq": 0,
            "wait_event": None,
            "variant": None,
            "data": entry.data,
            "last_message_id": None,
            "exit_reason": None,
            "entered_at": now,
            "ended_at": None,
            "goal_until": now + journey.goal_within if journey.goal_within is not None else None,
            "goal_at": None,
            "goal_message_id": None,
            "updated_at": now,
        }

    def computed_traits(self, conn: Connection) -> list[ComputedTrait]:
        """The computed traits' definitions, which every audience check reads."""
        rows = segments_store.computed_definitions(conn)
        return [parse_computed(row.definition, self.condition_limits) for row in rows]

    def audience_matches(
        self,
        conn: Connection,
        live: str,
        condition: Condition,
        now: datetime,
        computed: Sequence[ComputedTrait] | None = None,
    ) -> bool:
        """Whether the customer meets the condition; ``computed`` (``computed_traits``) spares a batch
        reading the definitions for every customer."""
        facts: Facts
        facts, _ = SegmentService.facts(conn, live, None)
        stored = segments_store.stored_computed(conn, live)
        for trait in self.computed_traits(conn) if computed is None else computed:
            facts.computed[trait.name] = readable(trait, stored.get(trait.name), now)
        member, _ = evaluate(condition, facts, now)
        return member

    # --- moving on

    def lock_run(self, conn: Connection, run_id: str) -> dict[str, Any] | None:
        row = conn.execute(_LOCK_RUN, {"run_id": run_id}).first()
        return dict(row._mapping) if row is not None else None

    def fire(self, conn: Connection, run_id: str, seq: int, now: datetime) -> bool:
        """A due timer: the wait is over (or a wait for an event timed out). False: it was stale."""
        conn.execute(_DROP_FIRED_TIMER, {"run_id": run_id, "seq": seq})
        run = self.lock_run(conn, run_id)
        if run is None or run["status"] != ACTIVE or run["seq"] != seq or run["step"] is None:
            return False
        self._fire_locked(conn, run, now)
        return True

    def _fire_locked(self, conn: Connection, run: dict[str, Any], now: datetime) -> None:
        version = self.version(conn, run["journey_id"], run["version"])
        step = version.journey.steps[run["step"]]
        if step.kind == "wait_for":
            self._log(conn, run, step, "timed_out", None, now)
            following = step.body.get("on_timeout", step.next)
        elif step.kind == "wait":
            self._log(conn, run, step, "elapsed", None, now)
            following = step.next
        else:  # a pass that reached its step limit goes on here, at this step, not yet taken
            following = step.id
        run["wait_event"] = None
        self._advance(conn, version, run, following, now)

    def claim_due(self, conn: Connection, now: datetime, limit: int) -> list[tuple[str, int, datetime]]:
        """Take up to ``limit`` due timers, earliest first, off the table: (run id, seq, due at).

        One statement deletes what it claims. On PostgreSQL it skips timers another worker holds, so
        workers side by side take each timer once; a claim rolled back (a worker dies) puts them back.
        """
        claimed = conn.execute(_CLAIM[conn.dialect.name], {"now": now, "limit": limit}).all()
        return sorted(((r.run_id, r.seq, r.due_at) for r in claimed), key=lambda t: t[2])

    def fire_many(self, conn: Connection, timers: Sequence[tuple[str, int]], now: datetime) -> int:
        """``fire`` for a batch of due (run id, seq) timers that ``claim_due`` took, with one statement
        per kind of write and one look-up of runs and profiles; answers how many were not stale."""
        if not timers:
            return 0
        locked = conn.execute(_LOCK_RUNS[conn.dialect.name], {"run_ids": sorted({r for r, _ in timers})})
        runs = {row.id: dict(row._mapping) for row in locked}
        states = states_of(conn, (run["profile_id"] for run in runs.values()))
        batch = _Batch(live={p for p, state in states.items() if state == "live"})
        fired = 0
        self._batch = batch
        try:
            for run_id, seq in timers:
                run = runs.pop(run_id, None)  # a run has one timer; a second row for it would be stale
                if run is None or run["status"] != ACTIVE or run["seq"] != seq or run["step"] is None:
                    continue
                self._fire_locked(conn, run, now)
                fired += 1
        finally:
            self._batch = None
        self._flush(conn, batch)
        return fired

    def _flush(self, conn: Connection, batch: _Batch) -> None:
        raw = Raw(conn)
        if batch.steps:
            insert_rows(raw, journey_steps, _STEP_COLUMNS, batch.steps)
        if batch.saves:
            saves = [{"id": k, **v} for k, v in batch.saves.items()]
            update_rows(raw, journey_runs, _RUN_COLUMNS, "id", saves)
        if batch.new_timers:
            insert_rows(raw, journey_timers, _TIMER_COLUMNS, batch.new_timers)
        by_actor: dict[str, list[tuple[SendRequest, str]]] = {}
        for request, message_id, actor in batch.messages:
            by_actor.setdefault(actor, []).append((request, message_id))
        for actor, pending in by_actor.items():
            self._messaging.enqueue_many(
                conn, [r for r, _ in pending], actor=actor, ids=[i for _, i in pending]
            )

    def resume(self, conn: Connection, run: dict[str, Any], version: Version, now: datetime) -> None:
        """A run waiting for an event or a segment saw it: on to the step after the wait."""
        conn.execute(_DROP_TIMER, {"run_id": run["id"]})
        step = version.journey.steps[run["step"]]
        self._log(conn, run, step, "matched", None, now)
        run["wait_event"] = None
        self._advance(conn, version, run, step.next, now)

    def end(self, conn: Connection, run: dict[str, Any], reason: str, now: datetime) -> None:
        """End a run at once; a pending wait is cancelled with its timer."""
        self._drop_timer(conn, run["id"])
        run.update(
            status=ENDED,
            exit_reason=reason,
            ended_at=now,
            active_key=None,
            wait_event=None,
            updated_at=now,
        )
        self._save(conn, run)

    def _save(self, conn: Connection, run: dict[str, Any]) -> None:
        state = {k: v for k, v in run.items() if k != "id"}
        if self._batch is not None:
            self._batch.saves[run["id"]] = state
            return
        conn.execute(_SAVE_RUN, {"_run": run["id"], **state})

    def _drop_timer(self, conn: Connection, run_id: str) -> None:
        if self._batch is None:  # a batch's runs have no timer row (see _Batch)
            conn.execute(_DROP_TIMER, {"run_id": run_id})

    def _log(
        self,
        conn: Connection,
        run: dict[str, Any],
        step: Step,
        outcome: str,
        message_id: str | None,
        now: datetime,
    ) -> None:
        # A plain insert: the primary key (run, seq) refuses a step taken twice, and the whole
        # transaction with it.
        entry = {
            "run_id": run["id"],
            "seq": run["seq"],
            "profile_id": run["profile_id"],
            "step": step.id,
            "kind": step.kind,
            "outcome": outcome,
            "message_id": message_id,
            "at": now,
        }
        if self._batch is not None:
            self._batch.steps.append(entry)
        else:
            conn.execute(_ADD_STEP, entry)
        run["seq"] += 1

    def _advance(
        self, conn: Connection, version: Version, run: dict[str, Any], step_id: str | None, now: datetime
    ) -> None:
        journey = version.journey
        for _ in range(MAX_STEPS_PER_PASS):
            if step_id is None:
                self.end(conn, run, "completed", now)
                return
            step = journey.steps[step_id]
            following, stop = self._take(conn, version, run, step, now)
            if stop:
                run["updated_at"] = now
                self._save(conn, run)
                return
            step_id = following
        log.warning(
            "run %s took %d steps in one pass; it goes on at the next timer", run["id"], MAX_STEPS_PER_PASS
        )
        run["step"] = step_id
        self._set_timer(conn, run, now)
        self._save(conn, run)

    def _set_timer(self, conn: Connection, run: dict[str, Any], due: datetime) -> None:
        self._drop_timer(conn, run["id"])
        timer = {"run_id": run["id"], "seq": run["seq"], "due_at": due, "profile_id": run["profile_id"]}
        if self._batch is not None:
            self._batch.new_timers.append(timer)
        else:
            conn.execute(_ADD_TIMER, timer)

    def _take(
        self, conn: Connection, version: Version, run: dict[str, Any], step: Step, now: datetime
    ) -> tuple[str | None, bool]:
        """Take one step; (the next step, whether the run stops here for now)."""
        kind, body = step.kind, step.body
        if kind == "wait":
            due = self._wait_until(conn, run, step, now)
            if due <= now:
                self._log(conn, run, step, "passed", None, now)
                return step.next, False
            self._log(conn, run, step, "waiting", None, now)
            run["step"] = step.id
            self._set_timer(conn, run, due)
            return None, True
        if kind == "wait_for":
            if self._already(conn, version, run, step):
                self._log(conn, run, step, "already_true", None, now)
                return step.next, False
            self._log(conn, run, step, "waiting", None, now)
            run["step"] = step.id
            run["wait_event"] = (
                step.event.name if step.event is not None else f"segment:{version.segments[body['segment']]}"
            )
            assert step.duration is not None
            self._set_timer(conn, run, now + step.duration)
            return None, True
        if kind == "branch":
            live = live_of(conn, run["profile_id"]) or run["profile_id"]
            if step.recommended is not None:
                check = self._recommendations
                taken = check is not None and check.matches(live, step.recommended)
            else:
                assert step.condition is not None
                taken = self.audience_matches(conn, live, step.condition, now)
            self._log(conn, run, step, "then" if taken else "else", None, now)
            return body["then" if taken else "else"], False
        if kind == "split":
            bucket = variant_bucket(version.journey_id, step.id, run["profile_id"])
            holdout = int(body.get("holdout", 0)) * 100
            if bucket < holdout:
                run["variant"] = "holdout"
                self._log(conn, run, step, "holdout", None, now)
                self.end(conn, run, "holdout", now)
                return None, True
            variants = body["variants"]
            total = sum(int(v["weight"]) for v in variants)
            point = (bucket - holdout) * total // (10000 - holdout)
            for variant in variants:
                point -= int(variant["weight"])
                if point < 0:
                    break
            run["variant"] = variant["name"]
            self._log(conn, run, step, variant["name"], None, now)
            return str(variant["next"]), False
        if kind in ("send", "task", "webhook"):
            message_id = self._message(conn, version, run, step)
            if message_id is None:
                self._log(conn, run, step, "profile_gone", None, now)
                self.end(conn, run, "profile_gone", now)
                return None, True
            run["last_message_id"] = message_id
            self._log(conn, run, step, "enqueued", message_id, now)
            return step.next, False
        if kind == "update_trait":
            live = live_of(conn, run["profile_id"])
            if live is not None:
                profiles_store.set_traits(
                    conn, live, {body["key"]: body["value"]}, "journey", f"journey:{version.journey_id}", now
                )
            self._log(conn, run, step, "updated" if live else "profile_gone", None, now)
            return step.next, False
        if kind == "exit":
            self._log(conn, run, step, "exit", None, now)
            self.end(conn, run, str(body.get("reason", "exit_step")), now)
            return None, True
        raise AssertionError(f"unknown step kind {kind}")

    def _message(self, conn: Connection, version: Version, run: dict[str, Any], step: Step) -> str | None:
        body = step.body
        content = body.get("content")
        data = {**run["data"], "journey": version.journey.name, "journey_key": run["run_key"]}
        common: dict[str, Any] = {
            "profile_id": run["profile_id"],
            "template": body.get("template"),
            "content": dict(content) if content else None,
            "data": data,
            # the run and its sequence number: a repeated step could not send twice even without
            # the step log
            "idempotency_key": f"journey:{run['id']}:{run['seq']}",
        }
        if step.kind == "send":
            request = SendRequest(
                channel=body.get("channel", "auto"),
                transactional=bool(body.get("transactional", False)),
                purpose=body.get("purpose"),
                best_hour=body.get("send_at") == "best_hour",
                **common,
            )
        elif step.kind == "task":
            request = SendRequest(
                channel="task",
                transactional=True,
                queue=body["queue"],
                kind=body.get("kind", "call"),
                **common,
            )
        else:
            request = SendRequest(channel="webhook", transactional=True, to=body.get("url"), **common)
        actor = f"journey:{version.journey_id}"
        if self._batch is not None:
            profile_id = run["profile_id"]
            live = profile_id if profile_id in self._batch.live else live_of(conn, profile_id)
            if live is None:
                return None
            message_id = new_id("msg")
            self._batch.messages.append((replace(request, profile_id=live), message_id, actor))
            return message_id
        try:
            message_id, _ = self._messaging.enqueue(conn, request, actor=actor)
        except NotFound:
            return None
        return message_id

    def _wait_until(self, conn: Connection, run: dict[str, Any], step: Step, now: datetime) -> datetime:
        body = step.body
        if "duration" in body:
            assert step.duration is not None
            return now + step.duration
        traits = segments_store.profile_traits(conn, run["profile_id"])
        tz = zone(traits, self._default_tz)
        if "until" in body:
            return next_local_time(now, body["until"]["time"], body["until"].get("weekdays"), tz)
        spec = body["until_trait"]
        day = trait_date(traits.get(spec["trait"]), tz)
        if day is None:
            return now  # no such date: nothing to wait for
        moment = local_midnight(occurrence(day, bool(spec.get("annual")), now.astimezone(tz).date()), tz)
        return moment + (step.duration or timedelta())

    def _already(self, conn: Connection, version: Version, run: dict[str, Any], step: Step) -> bool:
        """Whether what a wait_for waits for has happened already (since the run entered)."""
        family = family_of(conn, run["profile_id"])
        if step.event is None:
            segment_id = version.segments[step.body["segment"]]
            found = conn.execute(
                select(segment_members.c.profile_id).where(
                    segment_members.c.segment_id == segment_id, segment_members.c.profile_id.in_(family)
                )
            ).first()
            return found is not None
        rows = conn.execute(
            select(events.c.event, events.c.payload)
            .where(
                events.c.profile_id.in_(family),
                events.c.type == "track",
                events.c.event == step.event.name,
                events.c.timestamp >= run["entered_at"],
            )
            .order_by(events.c.timestamp.desc())
            .limit(ALREADY_SCAN_LIMIT)
        ).all()
        for row in rows:
            properties = (row.payload or {}).get("properties") or {}
            if event_matches(step.event, row.event, properties) and key_matches(
                version.journey, run["run_key"], properties
            ):
                return True
        return False
