"""Segments and computed traits: definitions, batch computation, real-time refresh, reads.

Subscribing to membership changes (for the journey engine)
----------------------------------------------------------
Every entry and exit is written, in the transaction that decides it, three ways:

* a row in ``segment_changes`` (segment, profile, ``entered``/``exited``, time, txid): ordered by
  (txid, id) like the event log, for consumers that poll;
* a ``Segment Entered`` / ``Segment Exited`` track event on the profile's timeline (source
  ``src_system_segments``, properties ``segment_id`` and ``segment_name``): a processor of the event log
  (a journey trigger "entering a segment") sees it in log order with everything else;
* a call of each function in ``SegmentService.listeners`` with the connection and the changes, inside
  the same transaction, so a subscriber's own writes commit (or roll back) with the change.

The segments processor ignores the events of its own source, so its events never wake it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from omnikanal.clock import Clock, isoformat
from omnikanal.consent.events import EVENT_NAME as CONSENT_EVENT_NAME
from omnikanal.db.engine import read_tx, run_write
from omnikanal.db.fast import Raw
from omnikanal.errors import Conflict, NotFound
from omnikanal.eventlog.service import EVERY, NOTHING, Interest
from omnikanal.ids import new_id
from omnikanal.ingest import store as ingest_store
from omnikanal.segments import store
from omnikanal.segments.compile import compile_condition
from omnikanal.segments.evaluate import Facts, compute, evaluate, readable
from omnikanal.segments.model import (
    Channels,
    Computed,
    ComputedTrait,
    Condition,
    Consent,
    EventCount,
    IdentifierLeaf,
    Limits,
    Trait,
    parse_computed,
    parse_condition,
    walk,
)

PROCESSOR = "segments"
# event types whose merges bring another profile's facts into a live one
MERGING_TYPES = frozenset({"identify", "alias"})

ENTERED = "Segment Entered"
EXITED = "Segment Exited"
SAMPLE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Change:
    segment_id: str
    segment_name: str
    profile_id: str
    change: str  # entered, exited
    at: datetime


ChangeListener = Callable[[Connection, list[Change]], None]


@dataclass(frozen=True, slots=True)
class _Segment:
    id: str
    name: str
    condition: Condition


def windows(condition: Condition) -> list[int | None]:
    """The windows of the event and channel leaves (None: all time)."""
    return [n.window_seconds for n in walk(condition) if isinstance(n, EventCount | Channels)]


def _interest_of(conditions: list[Condition], definitions: list[ComputedTrait]) -> Interest:
    if not conditions and not definitions:
        return NOTHING
    by_name = {d.name: d for d in definitions}
    names: set[str] = set()
    for definition in definitions:
        if definition.event is None:
            return EVERY
        names.add(definition.event)
    for condition in conditions:
        for node in walk(condition):
            if isinstance(node, EventCount):
                names.add(node.name)
            elif isinstance(node, Consent):
                names.add(CONSENT_EVENT_NAME)
            elif isinstance(node, Computed):
                known = by_name.get(node.name)
                if known is None or known.event is None:
                    return EVERY
            elif isinstance(node, Trait | IdentifierLeaf | Channels):
                return EVERY
    return Interest(types=MERGING_TYPES, names=frozenset(names))


def segment_view(row: Any, members: int | None = None) -> dict[str, Any]:
    view = {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "condition": row.condition,
        "created_by": row.created_by,
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
        "computed_at": isoformat(row.computed_at),
    }
    if members is not None:
        view["member_count"] = members
    return view


@dataclass(slots=True)
class _Target:
    """What a live profile's stored answers should be, as its facts said when the plan was made."""

    family: list[str]  # the profile and those merged into it
    computed: dict[str, Any]  # computed trait -> value (None: no value, dropped if stored)
    members: set[str]  # the segments it belongs to
    due: datetime | None  # when the answers may change by the passing of time


@dataclass(slots=True)
class RefreshPlan:
    """What ``plan_refresh`` read and decided; ``apply_refresh`` writes the difference."""

    segments: list[_Segment]
    definitions: list[ComputedTrait]
    gone: list[str]
    targets: dict[str, _Target] = field(default_factory=dict)


class SegmentService:
    def __init__(self, engine: Engine, clock: Clock, limits: Limits, recheck_batch: int = 500) -> None:
        self._engine = engine
        self._clock = clock
        self.limits = limits
        self._recheck_batch = recheck_batch
        self._parsed: dict[tuple[str, datetime], _Segment] = {}
        self._parsed_computed: dict[tuple[str, datetime], ComputedTrait] = {}
        self._interest: tuple[object, Interest] | None = None
        self.listeners: list[ChangeListener] = []

    # --- definitions

    def parse(self, document: Any) -> Condition:
        return parse_condition(document, self.limits)

    def create(self, name: str, description: str | None, document: Any, actor: str | None) -> dict[str, Any]:
        self.parse(document)
        now = self._clock.now()
        segment_id = new_id("seg")

        def work(conn: Connection) -> None:
            if store.segment_by_name(conn, name) is not None:
                raise Conflict("segment_exists", f"a segment named {name!r} exists already", "name")
            store.insert_segment(
                conn,
                {
                    "id": segment_id,
                    "name": name,
                    "description": description,
                    "condition": document,
                    "created_by": actor,
                    "created_at": now,
                    "updated_at": now,
                    "computed_at": None,
                },
            )

        run_write(self._engine, work)
        self.recompute(segment_id)
        return self.get(segment_id)

    def update(
        self, segment_id: str, name: str | None, description: str | None, document: Any | None
    ) -> dict[str, Any]:
        if document is not None:
            self.parse(document)
        now = self._clock.now()

        def work(conn: Connection) -> None:
            if store.segment(conn, segment_id, lock=True) is None:
                raise NotFound("segment_not_found", f"no segment {segment_id!r}", "segment_id")
            values: dict[str, Any] = {"updated_at": now}
            if name is not None:
                other = store.segment_by_name(conn, name)
                if other is not None and other.id != segment_id:
                    raise Conflict("segment_exists", f"a segment named {name!r} exists already", "name")
                values["name"] = name
            if description is not None:
                values["description"] = description
            if document is not None:
                values["condition"] = document
            store.update_segment(conn, segment_id, values)

        run_write(self._engine, work)
        if document is not None:
            self.recompute(segment_id)
        return self.get(segment_id)

    def delete(self, segment_id: str) -> int:
        """Delete a segment; its members leave it (timeline events, change rows, listeners), so a journey
        waiting on the segment sees the exit. Answers how many members left."""

        def work(conn: Connection) -> int:
            now = self._clock.now()
            store.lock_processing(conn, PROCESSOR, now)
            row = store.segment(conn, segment_id, lock=True)
            if row is None:
                raise NotFound("segment_not_found", f"no segment {segment_id!r}", "segment_id")
            members = sorted(store.member_ids(conn, segment_id))
            self._apply(conn, [Change(row.id, row.name, pid, "exited", now) for pid in members], now)
            store.delete_segment(conn, segment_id)
            return len(members)

        return run_write(self._engine, work)

    def get(self, segment_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = store.segment(conn, segment_id)
            if row is None:
                raise NotFound("segment_not_found", f"no segment {segment_id!r}", "segment_id")
            return segment_view(row, store.member_count(conn, segment_id))

    def all(self) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            return [segment_view(r, store.member_count(conn, r.id)) for r in store.all_segments(conn)]

    # --- computed trait definitions

    def define_computed(self, document: Any) -> dict[str, Any]:
        """Create or replace a computed trait; every live profile is re-evaluated by the re-check job."""
        trait = parse_computed(document, self.limits)
        now = self._clock.now()

        def work(conn: Connection) -> None:
            store.upsert_definition(conn, trait.name, document, now)
            store.mark_all_due(conn, now)

        run_write(self._engine, work)
        return {"name": trait.name, "definition": document}

    def computed_definitions(self) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            return [
                {"name": r.name, "definition": r.definition, "updated_at": isoformat(r.updated_at)}
                for r in store.computed_definitions(conn)
            ]

    def delete_computed(self, name: str) -> None:
        def work(conn: Connection) -> None:
            if store.delete_definition(conn, name) == 0:
                raise NotFound("computed_trait_not_found", f"no computed trait {name!r}", "name")

        run_write(self._engine, work)

    def _definitions(self, conn: Connection) -> list[ComputedTrait]:
        found = []
        for row in store.computed_definitions(conn):
            key = (row.name, row.updated_at)
            parsed = self._parsed_computed.get(key)
            if parsed is None:
                parsed = parse_computed(row.definition, self.limits)
                self._parsed_computed[key] = parsed
            found.append(parsed)
        return found

    def _segments(self, conn: Connection) -> list[_Segment]:
        found = []
        for row in store.all_segments(conn):
            key = (row.id, row.updated_at)
            parsed = self._parsed.get(key)
            if parsed is None:
                parsed = _Segment(row.id, row.name, self.parse(row.condition))
                self._parsed[key] = parsed
            found.append(parsed)
        return found

    # --- reads

    def preview(self, document: Any) -> dict[str, Any]:
        condition = self.parse(document)
        now = self._clock.now()
        with read_tx(self._engine) as conn:
            functions = {d.name: d.function for d in self._definitions(conn)}
            raw = Raw(conn)

            def run(select: str, tail: str) -> list[Any]:
                compiled = compile_condition(
                    condition,
                    dialect=conn.dialect.name,
                    now=now,
                    time=raw.time,
                    system_source=store.SYSTEM_SOURCE_ID,
                    computed_functions=functions,
                    select=select,
                    tail=tail,
                )
                return raw.fetch(compiled.sql, compiled.params)

            count = int(run("COUNT(*)", "")[0][0])
            sample = [r[0] for r in run("p.id", f" ORDER BY p.id LIMIT {SAMPLE_SIZE}")]
        return {"count": count, "sample": sample, "computed_at": isoformat(now)}

    def members(self, segment_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            if store.segment(conn, segment_id) is None:
                raise NotFound("segment_not_found", f"no segment {segment_id!r}", "segment_id")
            rows = store.members_page(conn, segment_id, cursor, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "segment_id": segment_id,
            "members": [{"profile_id": r.profile_id, "entered_at": isoformat(r.entered_at)} for r in rows],
            "next_cursor": rows[-1].profile_id if more and rows else None,
        }

    def iter_members(self, segment_id: str, page: int = 1000) -> Iterator[tuple[str, datetime]]:
        """Every member, one page per read transaction (for the CSV export)."""
        with read_tx(self._engine) as conn:
            if store.segment(conn, segment_id) is None:
                raise NotFound("segment_not_found", f"no segment {segment_id!r}", "segment_id")
        return self._pages(segment_id, page)

    def _pages(self, segment_id: str, page: int) -> Iterator[tuple[str, datetime]]:
        after: str | None = None
        while True:
            with read_tx(self._engine) as conn:
                rows = store.members_page(conn, segment_id, after, page)
            for r in rows:
                yield r.profile_id, r.entered_at
            if len(rows) < page:
                return
            after = rows[-1].profile_id

    def _live(self, conn: Connection, profile_id: str) -> str:
        live = store.live_ids(conn, [profile_id]).get(profile_id)
        if live is None:
            raise NotFound("profile_not_found", f"no profile {profile_id!r}", "profile_id")
        return live

    def profile_segments(self, profile_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            live = self._live(conn, profile_id)
            _, restricted, _ = store.consents_and_restriction(conn, live)
            rows = [] if restricted else store.segments_of(conn, live)
        return {
            "profile_id": live,
            "segments": [{"id": r.id, "name": r.name, "entered_at": isoformat(r.entered_at)} for r in rows],
        }

    def profile_computed(self, profile_id: str) -> dict[str, Any]:
        now = self._clock.now()
        with read_tx(self._engine) as conn:
            live = self._live(conn, profile_id)
            stored = store.stored_computed(conn, live)
            definitions = self._definitions(conn)
        return {
            "profile_id": live,
            "computed": {d.name: readable(d, stored.get(d.name), now) for d in definitions},
        }

    # --- computation

    def interest(self, conn: Connection) -> Interest:
        """The events that can change a computed trait or a segment's answer, from the definitions.

        Nothing defined: nothing. Otherwise identify and alias (their merges bring other profiles'
        events and traits), the names counted by event leaves and computed traits, Consent Updated for
        consent leaves, and every event as soon as a leaf looks at traits (any event may carry them in
        context.traits), identifiers, channels or all events of a profile. A merge by another event
        marks its profiles due (``merged``), so the re-check job covers it.
        """
        segments = self._segments(conn)
        definitions = self._definitions(conn)
        key = (tuple((s.id, id(s)) for s in segments), tuple(id(d) for d in definitions))
        if self._interest is not None and self._interest[0] == key:
            return self._interest[1]
        found = _interest_of([s.condition for s in segments], definitions)
        self._interest = (key, found)
        return found

    def merged(self, conn: Connection, profile_ids: list[str], now: datetime) -> None:
        """A merge inside ingest: the re-check job evaluates its profiles, if anything is defined."""
        if store.anything_defined(conn):
            self.mark_due(conn, profile_ids, now)

    def mark_due(self, conn: Connection, profile_ids: list[str], now: datetime) -> None:
        """Have the re-check job evaluate these profiles now: a change no event announces (an unmerge,
        a restriction, a rectification) happened to them. Runs in the caller's transaction."""
        for pid in sorted(set(profile_ids)):
            store.set_due(conn, pid, now)

    def recompute(self, segment_id: str) -> dict[str, int]:
        """Compute one segment over all profiles with one SQL statement and apply the difference."""
        return run_write(self._engine, lambda conn: self.recompute_in(conn, segment_id))

    def recompute_in(self, conn: Connection, segment_id: str) -> dict[str, int]:
        now = self._clock.now()
        store.lock_processing(conn, PROCESSOR, now)
        row = store.segment(conn, segment_id, lock=True)
        if row is None:
            raise NotFound("segment_not_found", f"no segment {segment_id!r}", "segment_id")
        condition = self.parse(row.condition)
        raw = Raw(conn)
        functions = {d.name: d.function for d in self._definitions(conn)}
        compiled = compile_condition(
            condition,
            dialect=conn.dialect.name,
            now=now,
            time=raw.time,
            system_source=store.SYSTEM_SOURCE_ID,
            computed_functions=functions,
        )
        wanted = {r[0] for r in raw.fetch(compiled.sql, compiled.params)}
        current = store.member_ids(conn, segment_id)
        changes = [Change(row.id, row.name, pid, "entered", now) for pid in sorted(wanted - current)]
        changes += [Change(row.id, row.name, pid, "exited", now) for pid in sorted(current - wanted)]
        self._apply(conn, changes, now)
        store.update_segment(conn, segment_id, {"computed_at": now})
        return {"members": len(wanted), "entered": len(wanted - current), "exited": len(current - wanted)}

    def recompute_windowed(self) -> int:
        """Recompute in batch every segment whose answer depends on time windows."""
        with read_tx(self._engine) as conn:
            ids = [s.id for s in self._segments(conn) if any(w is not None for w in windows(s.condition))]
        for segment_id in ids:
            try:
                self.recompute(segment_id)
            except NotFound:  # deleted meanwhile
                continue
        return len(ids)

    def recheck(self) -> int:
        """Re-evaluate the profiles whose answers may have changed by the passing of time."""

        def work(conn: Connection) -> int:
            now = self._clock.now()
            store.lock_processing(conn, PROCESSOR, now)
            due = store.due_profiles(conn, now, self._recheck_batch)
            if due:
                self.refresh(conn, due, now)
            return len(due)

        return run_write(self._engine, work)

    def refresh(self, conn: Connection, profile_ids: set[str] | list[str], now: datetime) -> list[Change]:
        """Re-evaluate computed traits and segments of the live profiles behind these ids."""
        return self.apply_refresh(conn, self.plan_refresh(conn, profile_ids, now), now)

    def plan_refresh(self, conn: Connection, profile_ids: set[str] | list[str], now: datetime) -> RefreshPlan:
        """The reading half of ``refresh``: each live profile's computed values, segments and due time
        as its facts say now. Writes nothing, so the worker runs it without SQLite's write lock."""
        segments = self._segments(conn)
        definitions = self._definitions(conn)
        since = self._since(segments, definitions, now)
        lives = store.live_ids(conn, profile_ids)
        plan = RefreshPlan(
            segments=segments,
            definitions=definitions,
            gone=sorted(pid for pid in profile_ids if lives.get(pid) != pid),
        )
        live_ids = sorted(set(lives.values()))
        if not segments and not definitions:
            # nothing to evaluate: every stored answer goes (there is none to keep)
            plan.targets = {live: _Target([live], {}, set(), None) for live in live_ids}
            return plan
        for live, (traits, consents, restricted, types, events, family) in store.facts_many(
            conn, live_ids, since
        ).items():
            facts = Facts(
                traits=traits,
                consents=consents,
                identifier_types=types,
                events=events,
                restricted=restricted,
            )
            plan.targets[live] = self._target(facts, family, segments, definitions, now)
        return plan

    def apply_refresh(self, conn: Connection, plan: RefreshPlan, now: datetime) -> list[Change]:
        """The writing half of ``refresh``: the differences between the plan and what is stored now.

        What is stored is read again here, in the writing transaction, so a plan made a moment
        earlier never adds a member twice or drops one that another writer already dropped; a
        profile merged away meanwhile is treated as gone.
        """
        names = {seg.id: seg.name for seg in plan.segments}
        still = store.live_ids(conn, list(plan.targets))
        gone = sorted({*plan.gone, *(pid for pid in plan.targets if still.get(pid) != pid)})
        changes: list[Change] = []
        for segment_id, pid in store.remove_all_memberships(conn, gone):
            changes.append(Change(segment_id, names.get(segment_id, ""), pid, "exited", now))
        for pid in gone:
            store.set_due(conn, pid, None)
        quiet = set(gone)
        lives = [pid for pid in plan.targets if pid not in quiet]
        current = store.memberships(conn, lives)
        defined = {d.name for d in plan.definitions}
        computed = store.stored_computed_many(conn, lives) if plan.definitions else {}
        due: dict[str, datetime | None] = {}
        for live in lives:
            target = plan.targets[live]
            others = [pid for pid in target.family if pid != live]
            quiet.update(others)
            for segment_id, pid in store.remove_all_memberships(conn, others):
                changes.append(Change(segment_id, names.get(segment_id, ""), pid, "exited", now))
            stored = computed.get(live, {})
            changed = {
                name: value
                for name, value in target.computed.items()
                if value is not None
                and (name not in stored or stored[name] != value or type(stored[name]) is not type(value))
            }
            dropped = [
                name for name in stored if name not in defined or target.computed.get(name, 0) is None
            ]
            store.put_computed(conn, live, changed, now)
            store.drop_computed(conn, live, dropped)
            members = current.get(live, set())
            for seg in plan.segments:
                if seg.id in target.members and seg.id not in members:
                    changes.append(Change(seg.id, seg.name, live, "entered", now))
                elif seg.id not in target.members and seg.id in members:
                    changes.append(Change(seg.id, seg.name, live, "exited", now))
            due[live] = target.due
        store.set_due_many(conn, due)
        self._apply(conn, changes, now, quiet)
        return changes

    @staticmethod
    def _since(segments: list[_Segment], definitions: list[ComputedTrait], now: datetime) -> datetime | None:
        spans = [w for s in segments for w in windows(s.condition)]
        spans += [d.window_seconds for d in definitions]
        if not spans:
            return now  # nothing looks at events
        if any(w is None for w in spans):
            return None
        return now - timedelta(seconds=max(w for w in spans if w is not None))

    @staticmethod
    def facts(conn: Connection, live: str, since: datetime | None) -> tuple[Facts, list[str]]:
        """What evaluation needs about a live profile (computed values not yet filled in), and the
        profiles merged into it."""
        consents, restricted, family = store.consents_and_restriction(conn, live)
        facts = Facts(
            traits=store.profile_traits(conn, live),
            consents=consents,
            identifier_types=store.identifier_types(conn, live),
            events=store.profile_events(conn, live, since),
            restricted=restricted,
        )
        return facts, family

    @staticmethod
    def _target(
        facts: Facts,
        family: list[str],
        segments: list[_Segment],
        definitions: list[ComputedTrait],
        now: datetime,
    ) -> _Target:
        due: datetime | None = None

        def sooner(moment: datetime | None) -> None:
            nonlocal due
            if moment is not None and (due is None or moment < due):
                due = moment

        computed: dict[str, Any] = {}
        for trait in definitions:
            value, moment = compute(trait, facts.events, now)
            sooner(moment)
            computed[trait.name] = value
            facts.computed[trait.name] = readable(trait, value, now)
        members = set()
        for seg in segments:
            member, moment = evaluate(seg.condition, facts, now)
            sooner(moment)
            if member:
                members.add(seg.id)
        return _Target(family, computed, members, due)

    def _apply(
        self, conn: Connection, changes: list[Change], now: datetime, quiet: set[str] | None = None
    ) -> None:
        """Write membership, change rows, timeline events and tell the listeners.

        ``quiet``: profiles merged away; their exits get a change row but no timeline event (the
        timeline is the live profile's).
        """
        if not changes:
            return
        entered: dict[str, list[str]] = {}
        exited: dict[str, list[str]] = {}
        for c in changes:
            (entered if c.change == "entered" else exited).setdefault(c.segment_id, []).append(c.profile_id)
        store.add_members(
            conn,
            [
                {"segment_id": sid, "profile_id": pid, "entered_at": now}
                for sid, pids in entered.items()
                for pid in pids
            ],
        )
        for sid, pids in exited.items():
            store.remove_members(conn, sid, pids)
        txid = ingest_store.transaction_id(conn)
        store.insert_changes(
            conn,
            [
                {
                    "txid": txid,
                    "segment_id": c.segment_id,
                    "profile_id": c.profile_id,
                    "change": c.change,
                    "at": c.at,
                }
                for c in changes
            ],
        )
        store.ensure_system_source(conn, now)
        raw = Raw(conn)
        stamp = raw.time(now)
        rows = []
        for c in changes:
            if quiet and c.profile_id in quiet:
                continue
            message_id = f"seg-{uuid.uuid4()}"
            name = ENTERED if c.change == "entered" else EXITED
            payload = {
                "type": "track",
                "event": name,
                "messageId": message_id,
                "timestamp": isoformat(now),
                "properties": {"segment_id": c.segment_id, "segment_name": c.segment_name},
            }
            rows.append(
                (
                    txid,
                    store.SYSTEM_SOURCE_ID,
                    message_id,
                    c.profile_id,
                    "track",
                    name,
                    "other",
                    None,
                    None,
                    None,
                    stamp,
                    stamp,
                    stamp,
                    stamp,
                    raw.json(payload),
                )
            )
        for start in range(0, len(rows), 2000):
            ingest_store.insert_events(conn, rows[start : start + 2000])
        for listener in self.listeners:
            listener(conn, changes)


class SegmentData:
    """The person's memberships, computed traits and membership changes, for exports and erasures."""

    name = "segments"

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        return {
            "segments": [
                {"segment_id": sid, "profile_id": pid}
                for pid, ids in store.memberships(conn, profile_ids).items()
                for sid in sorted(ids)
            ],
            "computed_traits": {pid: store.stored_computed(conn, pid) for pid in profile_ids},
        }

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        return store.erase(conn, profile_ids)
