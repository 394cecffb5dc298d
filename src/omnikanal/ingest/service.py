"""Ingest: from raw Segment envelopes to durable events on the right profile.

One call handles a group of events (a request, or several requests grouped by the writer) in one
transaction: deduplicate, stitch identities, update profiles, store events, quarantine the invalid.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, Engine

from omnikanal.clock import Clock
from omnikanal.db.engine import read_tx, run_write
from omnikanal.db.fast import db_time_converter
from omnikanal.ingest import store
from omnikanal.ingest.model import (
    EventRejected,
    Rejection,
    TrackedEvent,
    merge_batch_context,
    validate,
    without_nul,
)
from omnikanal.listeners import Listeners
from omnikanal.profiles.identity.model import Identifier, IdentityRules, extract_identifiers, normalise
from omnikanal.profiles.identity.resolver import Evidence, Resolver
from omnikanal.profiles.model import TraitRules, event_traits
from omnikanal.sources.model import Source

MAX_QUARANTINE_PAYLOAD = 64 * 1024


@dataclass(slots=True)
class Quarantined:
    index: int
    code: str
    message: str
    field: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "message": self.message, "field": self.field}


@dataclass(slots=True)
class Submission:
    """The events of one request from one source, already validated."""

    source: Source
    received_at: datetime
    valid: list[tuple[TrackedEvent, list[Identifier]]] = field(default_factory=list)
    rejected: list[tuple[int, Rejection, Any]] = field(default_factory=list)


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    # events dropped because they carry an identifier of an erased person (counted, never stored)
    suppressed: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": True,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "suppressed": self.suppressed,
            "quarantined": [q.as_dict() for q in self.quarantined],
        }


class EventHook(Protocol):
    """A capability that reacts to some events inside the ingest transaction (consent changes).

    ``check`` runs before the transaction and may reject an event to quarantine; ``apply`` runs
    inside it with the stored events, so the event and its effect commit together.
    """

    def check(self, event: TrackedEvent) -> Rejection | None: ...

    def apply(self, conn: Connection, stored: list[StoredEvent], now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event: TrackedEvent
    source: Source
    profile_id: str
    channel: str


class Suppressor(Protocol):
    def hash(self, identifier_type: str, value: str) -> str: ...

    def present(self, conn: Connection, hashes: Iterable[str]) -> set[str]: ...

    def count_drops(self, conn: Connection, counts: dict[str, int], now: datetime) -> None: ...


def _payload_text(raw: Any) -> str:
    try:
        text = orjson.dumps(raw).decode()
    except TypeError:
        text = repr(raw)
    return text[:MAX_QUARANTINE_PAYLOAD]


class IngestService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        identity_rules: IdentityRules,
        trait_rules: TraitRules,
        max_event_bytes: int,
        new_message_id: Callable[[], Any] = uuid.uuid4,
        *,
        listeners: Listeners | None = None,
        hooks: Sequence[EventHook] = (),
        suppressor: Suppressor | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._identity_rules = identity_rules
        self._trait_rules = trait_rules
        self._max_event_bytes = max_event_bytes
        self._new_message_id = new_message_id
        self._to_db_time = db_time_converter(engine.dialect.name)
        # consent changes sent as events commit with the event (consent is the one hook)
        self.hooks = tuple(hooks)
        listeners = listeners or Listeners()
        self.committed = listeners.events_committed
        self.merged = listeners.profiles_merged
        # erased persons' events are dropped before they are stored
        self.suppressor = suppressor

    @property
    def identity_rules(self) -> IdentityRules:
        return self._identity_rules

    def quarantined(self, *, source_id: str | None, before_id: int | None, limit: int) -> list[Any]:
        """The newest quarantined events (of one source), below ``before_id``."""
        with read_tx(self._engine) as conn:
            return store.list_quarantine(conn, source_id=source_id, before_id=before_id, limit=limit)

    def prepare(
        self,
        source: Source,
        items: list[Any],
        *,
        forced_type: str | None = None,
        batch_context: Any = None,
    ) -> Submission:
        """Validate a request's events; invalid ones are set aside with their reason.

        Everything that does not need the database (validation, identifiers, the stored JSON and
        times) happens here, outside the write transaction.
        """
        received_at = self._clock.now()
        submission = Submission(source=source, received_at=received_at)
        to_db = self._to_db_time
        received_db = to_db(received_at)
        for index, item in enumerate(items):
            if isinstance(item, dict):
                # Some browser libraries repeat the write key on every event: a secret is never stored.
                item.pop("writeKey", None)
            try:
                item = merge_batch_context(item, batch_context)
                event = validate(item, received_at, self._new_message_id, forced_type)
            except EventRejected as exc:
                submission.rejected.append((index, exc.rejection, item))
                continue
            # The limit applies to the event as stored (with a batch's shared context merged in).
            encoded = orjson.dumps(event.payload)
            if b"\\u0000" in encoded:  # rare: clean the object, not the text, so escapes stay right
                event.payload = without_nul(event.payload)
                encoded = orjson.dumps(event.payload)
            if len(encoded) > self._max_event_bytes:
                rejection = Rejection(
                    "event_too_large",
                    f"the event is {len(encoded)} bytes; at most {self._max_event_bytes} are allowed",
                )
                submission.rejected.append((index, rejection, item))
                continue
            event.stored = (
                to_db(event.original_timestamp),
                to_db(event.sent_at),
                received_db,
                to_db(event.timestamp),
                encoded.decode(),
            )
            rejection_by_hook = next((r for hook in self.hooks if (r := hook.check(event)) is not None), None)
            if rejection_by_hook is not None:
                submission.rejected.append((index, rejection_by_hook, item))
                continue
            identifiers = extract_identifiers(event.payload, self._identity_rules)
            if not identifiers:
                rejection = Rejection(
                    "no_usable_identifier",
                    "userId and anonymousId hold no usable value (empty, or a junk value such as 'null')",
                    "userId" if event.user_id else "anonymousId",
                )
                submission.rejected.append((index, rejection, item))
                continue
            if self.suppressor is not None:
                hashed = self.suppressor.hash
                event.suppression_keys = frozenset(hashed(t, v) for t, v in identifiers)
            submission.valid.append((event, identifiers))
        return submission

    def commit(self, submissions: list[Submission]) -> list[IngestResult]:
        """Store a group of submissions in one transaction; each gets its own result."""
        results = run_write(self._engine, lambda conn: self.write(conn, submissions))
        if any(r.accepted for r in results):
            for listener in self.committed:
                listener()
        return results

    def ingest(self, source: Source, items: list[Any], **kwargs: Any) -> IngestResult:
        """Validate and store in the caller's thread (CLI, demo, tests)."""
        return self.commit([self.prepare(source, items, **kwargs)])[0]

    def write(self, conn: Connection, submissions: list[Submission]) -> list[IngestResult]:
        """Store submissions inside the caller's transaction (commit() runs it in its own)."""
        now = self._clock.now()
        results = [IngestResult() for _ in submissions]
        quarantine_rows: list[dict[str, Any]] = []
        for result, sub in zip(results, submissions, strict=True):
            for index, rejection, raw in sub.rejected:
                result.quarantined.append(
                    Quarantined(index, rejection.code, rejection.message, rejection.field)
                )
                quarantine_rows.append(
                    {
                        "source_id": sub.source.id,
                        "received_at": sub.received_at,
                        "code": rejection.code,
                        "field": rejection.field,
                        "reason": rejection.message,
                        "payload": _payload_text(raw),
                    }
                )
        store.insert_quarantine(conn, quarantine_rows)

        # Deduplicate on (source, messageId): against what is stored and within the group.
        keys = {(sub.source.id, ev.message_id) for sub in submissions for ev, _ in sub.valid}
        seen = store.existing_message_ids(conn, keys)
        work: list[tuple[int, Source, TrackedEvent, list[Identifier], str | None]] = []
        all_identifiers: set[Identifier] = set()
        rules = self._identity_rules
        for position, sub in enumerate(submissions):
            for ev, identifiers in sub.valid:
                key = (sub.source.id, ev.message_id)
                if key in seen:
                    results[position].duplicates += 1
                    continue
                seen.add(key)
                all_identifiers.update(identifiers)
                previous = None
                if ev.type == "alias":
                    previous = normalise("anonymous_id", ev.payload.get("previousId"), rules)
                    if previous:
                        all_identifiers.add(("anonymous_id", previous))
                        all_identifiers.add(("user_id", previous))
                work.append((position, sub.source, ev, identifiers, previous))

        if self.suppressor is not None and work:
            work = self._drop_suppressed(conn, work, results, now)

        resolver = Resolver(conn, rules, self._trait_rules, now)
        resolver.prefetch(all_identifiers)
        assigned: list[tuple[TrackedEvent, Source, str, str]] = []
        for position, source, ev, identifiers, previous in work:
            evidence = Evidence(source.id, ev.message_id)
            user_id = next((v for t, v in identifiers if t == "user_id"), None)
            if previous and user_id:
                others = [i for i in identifiers if i != ("user_id", user_id)]
                state = resolver.alias(previous, user_id, others, evidence)
            else:
                state = resolver.resolve(identifiers, evidence)
            channel = ev.touchpoint_channel or source.channel
            state.observe(
                channel=channel,
                event_type=ev.type,
                at=ev.timestamp,
                traits=event_traits(ev.type, ev.payload),
                source_id=source.id,
                source_name=source.name,
                rules=self._trait_rules,
            )
            assigned.append((ev, source, state.id, channel))
            results[position].accepted += 1

        resolver.flush()
        if self.merged and (made := resolver.merges_made()):
            touched = sorted({pid for pair in made for pid in pair})
            for listener in self.merged:
                listener(conn, touched, now)
        txid = store.transaction_id(conn)
        store.insert_events(
            conn,
            [
                (
                    txid,
                    source.id,
                    ev.message_id,
                    resolver.live(pid),
                    ev.type,
                    ev.event,
                    channel,
                    ev.lib_channel,
                    ev.user_id,
                    ev.anonymous_id,
                    *ev.stored,
                )
                for ev, source, pid, channel in assigned
            ],
        )
        if self.hooks and assigned:
            stored = [
                StoredEvent(ev, source, resolver.live(pid), channel) for ev, source, pid, channel in assigned
            ]
            for hook in self.hooks:
                hook.apply(conn, stored, now)
        return results

    def _drop_suppressed(
        self,
        conn: Connection,
        work: list[tuple[int, Source, TrackedEvent, list[Identifier], str | None]],
        results: list[IngestResult],
        now: datetime,
    ) -> list[tuple[int, Source, TrackedEvent, list[Identifier], str | None]]:
        """Events carrying an erased person's identifier are counted and dropped, never stored."""
        assert self.suppressor is not None
        per_item = [item[2].suppression_keys for item in work]
        present = self.suppressor.present(conn, frozenset().union(*per_item))
        if not present:
            return work
        kept = []
        drops: dict[str, int] = {}
        for item, hashes in zip(work, per_item, strict=True):
            hit = hashes & present
            if hit:
                results[item[0]].suppressed += 1
                for h in hit:
                    drops[h] = drops.get(h, 0) + 1
            else:
                kept.append(item)
        self.suppressor.count_drops(conn, drops, now)
        return kept
