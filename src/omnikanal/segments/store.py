"""SQL for segments, computed traits, memberships, their changes and the re-check schedule."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omnikanal.consent import store as consent_store
from omnikanal.consent.tables import consent_state, restrictions
from omnikanal.db.engine import insert_ignoring_duplicates
from omnikanal.db.types import UTCDateTime
from omnikanal.eventlog.tables import consumer_cursors, events
from omnikanal.profiles import chain
from omnikanal.profiles.identity.tables import identities
from omnikanal.profiles.tables import profiles
from omnikanal.segments.evaluate import EventFact
from omnikanal.segments.tables import (
    computed_trait_defs,
    computed_traits,
    segment_changes,
    segment_due,
    segment_members,
    segments,
)
from omnikanal.sources.tables import sources

# The source of the hub's own timeline events (Segment Entered / Exited): never enabled, no usable key.
SYSTEM_SOURCE_ID = "src_system_segments"
SYSTEM_SOURCE_NAME = "omnikanal segments (system)"
CHUNK = 500


def ensure_system_source(conn: Connection, now: datetime) -> None:
    insert_ignoring_duplicates(
        conn,
        sources,
        [
            {
                "id": SYSTEM_SOURCE_ID,
                "name": SYSTEM_SOURCE_NAME,
                "channel": "other",
                "write_key_hash": hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                "enabled": False,
                "created_at": now,
                "key_rotated_at": None,
            }
        ],
    )


def lock_processing(conn: Connection, consumer: str, now: datetime) -> None:
    """Take the segments processor's cursor row: batch recomputation and the processor take turns."""
    insert_ignoring_duplicates(
        conn, consumer_cursors, [{"name": consumer, "txid": -1, "seq": 0, "updated_at": now}]
    )
    conn.execute(
        select(consumer_cursors.c.name).where(consumer_cursors.c.name == consumer).with_for_update()
    ).first()


# --- definitions


def all_segments(conn: Connection) -> list[Any]:
    return list(conn.execute(select(segments).order_by(segments.c.name)))


def segment(conn: Connection, segment_id: str, *, lock: bool = False) -> Any:
    stmt = select(segments).where(segments.c.id == segment_id)
    return conn.execute(stmt.with_for_update() if lock else stmt).first()


def segment_by_name(conn: Connection, name: str) -> Any:
    return conn.execute(select(segments).where(segments.c.name == name)).first()


def insert_segment(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(segments), [row])


def update_segment(conn: Connection, segment_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(segments).where(segments.c.id == segment_id).values(**values))


def delete_segment(conn: Connection, segment_id: str) -> None:
    conn.execute(delete(segment_members).where(segment_members.c.segment_id == segment_id))
    conn.execute(delete(segments).where(segments.c.id == segment_id))


def anything_defined(conn: Connection) -> bool:
    """Whether any segment or computed trait exists."""
    return (
        conn.execute(select(segments.c.id).limit(1)).first() is not None
        or conn.execute(select(computed_trait_defs.c.name).limit(1)).first() is not None
    )


def computed_definitions(conn: Connection) -> list[Any]:
    return list(conn.execute(select(computed_trait_defs).order_by(computed_trait_defs.c.name)))


def upsert_definition(conn: Connection, name: str, definition: dict[str, Any], now: datetime) -> None:
    insert_for = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert_for(computed_trait_defs).values(
        name=name, definition=definition, created_at=now, updated_at=now
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"], set_={"definition": stmt.excluded.definition, "updated_at": now}
        )
    )


def delete_definition(conn: Connection, name: str) -> int:
    conn.execute(delete(computed_traits).where(computed_traits.c.name == name))
    return conn.execute(delete(computed_trait_defs).where(computed_trait_defs.c.name == name)).rowcount


# --- one profile's facts


# the owner's batch look-up of live profiles, used by the processor for a whole batch
live_ids = chain.live_ids


def profile_traits(conn: Connection, profile_id: str) -> dict[str, Any]:
    row = conn.execute(select(profiles.c.traits).where(profiles.c.id == profile_id)).first()
    traits = (row.traits if row else None) or {}
    return {k: v.get("value") if isinstance(v, dict) else None for k, v in traits.items()}


def identifier_types(conn: Connection, profile_id: str) -> set[str]:
    return set(
        conn.execute(
            select(identities.c.type).where(identities.c.profile_id == profile_id).distinct()
        ).scalars()
    )


def consents_and_restriction(conn: Connection, profile_id: str) -> tuple[dict[str, str], bool, list[str]]:
    """Consent status per purpose and restriction over the live profile and those merged into it."""
    family = chain.merge_set(conn, profile_id)
    # the newest per purpose; a tie goes to the higher record id (as compile.py decides it in SQL)
    newest: dict[str, tuple[datetime, str, str]] = {}
    for purpose, status, at, record_id in conn.execute(
        select(
            consent_state.c.purpose,
            consent_state.c.status,
            consent_state.c.occurred_at,
            consent_state.c.record_id,
        ).where(consent_state.c.profile_id.in_(family))
    ):
        if purpose not in newest or newest[purpose][:2] < (at, record_id):
            newest[purpose] = (at, record_id, status)
    consents = {purpose: status for purpose, (_, _, status) in newest.items()}
    return consents, consent_store.is_restricted(conn, family), family


def profile_events(conn: Connection, profile_id: str, since: datetime | None) -> list[EventFact]:
    stmt = select(
        events.c.seq, events.c.type, events.c.event, events.c.channel, events.c.timestamp, events.c.payload
    ).where(events.c.profile_id == profile_id, events.c.source_id != SYSTEM_SOURCE_ID)
    if since is not None:
        stmt = stmt.where(events.c.timestamp >= since)
    found = []
    for seq, type_, name, channel, at, payload in conn.execute(
        stmt.order_by(events.c.timestamp, events.c.seq)
    ):
        props = (payload or {}).get("properties") if isinstance(payload, dict) else None
        found.append(EventFact(seq, type_, name, channel, at, props if isinstance(props, dict) else {}))
    return found


def facts_many(
    conn: Connection, lives: Sequence[str], since: datetime | None
) -> dict[str, tuple[dict[str, Any], dict[str, str], bool, set[str], list[EventFact], list[str]]]:
    """What ``consents_and_restriction``, ``profile_traits``, ``identifier_types`` and
    ``profile_events`` answer, for many live profiles in a few statements (one round of the
    segments processor): traits, consents, restricted, identifier types, events, family."""
    families = chain.merge_sets(conn, lives)
    owner = {member: live for live, family in families.items() for member in family}
    members = sorted(owner)
    newest: dict[str, dict[str, tuple[datetime, str, str]]] = {live: {} for live in lives}
    restricted: set[str] = set()
    traits: dict[str, dict[str, Any]] = {live: {} for live in lives}
    types: dict[str, set[str]] = {live: set() for live in lives}
    facts: dict[str, list[EventFact]] = {live: [] for live in lives}
    for start in range(0, len(members), CHUNK):
        chunk = members[start : start + CHUNK]
        for pid, purpose, status, at, record_id in conn.execute(
            select(
                consent_state.c.profile_id,
                consent_state.c.purpose,
                consent_state.c.status,
                consent_state.c.occurred_at,
                consent_state.c.record_id,
            ).where(consent_state.c.profile_id.in_(chunk))
        ):
            best = newest[owner[pid]]
            # the newest per purpose; a tie goes to the higher record id (as compile.py decides it)
            if purpose not in best or best[purpose][:2] < (at, record_id):
                best[purpose] = (at, record_id, status)
        restricted.update(owner[pid] for pid in consent_store.restricted_among(conn, chunk))
    for start in range(0, len(lives), CHUNK):
        chunk = list(lives[start : start + CHUNK])
        for pid, stored in conn.execute(
            select(profiles.c.id, profiles.c.traits).where(profiles.c.id.in_(chunk))
        ):
            traits[pid] = {
                k: v.get("value") if isinstance(v, dict) else None for k, v in (stored or {}).items()
            }
        for pid, kind in conn.execute(
            select(identities.c.profile_id, identities.c.type)
            .where(identities.c.profile_id.in_(chunk))
            .distinct()
        ):
            types[pid].add(kind)
        stmt = select(
            events.c.profile_id,
            events.c.seq,
            events.c.type,
            events.c.event,
            events.c.channel,
            events.c.timestamp,
            events.c.payload,
        ).where(events.c.profile_id.in_(chunk), events.c.source_id != SYSTEM_SOURCE_ID)
        if since is not None:
            stmt = stmt.where(events.c.timestamp >= since)
        for pid, seq, type_, name, channel, at, payload in conn.execute(
            stmt.order_by(events.c.profile_id, events.c.timestamp, events.c.seq)
        ):
            props = (payload or {}).get("properties") if isinstance(payload, dict) else None
            facts[pid].append(
                EventFact(seq, type_, name, channel, at, props if isinstance(props, dict) else {})
            )
    return {
        live: (
            traits[live],
            {purpose: status for purpose, (_, _, status) in newest[live].items()},
            live in restricted,
            types[live],
            facts[live],
            families[live],
        )
        for live in lives
    }


def stored_computed_many(conn: Connection, profile_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``stored_computed`` of many profiles in one statement per chunk."""
    found: dict[str, dict[str, Any]] = {pid: {} for pid in profile_ids}
    for start in range(0, len(profile_ids), CHUNK):
        for pid, name, value in conn.execute(
            select(computed_traits.c.profile_id, computed_traits.c.name, computed_traits.c.value).where(
                computed_traits.c.profile_id.in_(profile_ids[start : start + CHUNK])
            )
        ):
            found[pid][name] = (value or {}).get("v")
    return found


def stored_computed(conn: Connection, profile_id: str) -> dict[str, Any]:
    return {
        name: (value or {}).get("v")
        for name, value in conn.execute(
            select(computed_traits.c.name, computed_traits.c.value).where(
                computed_traits.c.profile_id == profile_id
            )
        )
    }


def _upsert_computed(dialect: str) -> Any:
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert_for(computed_traits)
    return stmt.on_conflict_do_update(
        index_elements=["profile_id", "name"],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    )


# built once per dialect: constructing an upsert (its ``excluded`` columns) per call cost more than
# running it, on the real-time path
_UPSERTS = {name: _upsert_computed(name) for name in ("postgresql", "sqlite")}


def put_computed(conn: Connection, profile_id: str, values: dict[str, Any], now: datetime) -> None:
    """Store computed trait values of one profile, in one statement."""
    if not values:
        return
    # wrapped in an object: SQLite's JSON column has numeric affinity and would turn a bare number's text
    # into a number the JSON reader refuses
    conn.execute(
        _UPSERTS[conn.dialect.name],
        [
            {"profile_id": profile_id, "name": name, "value": {"v": value}, "updated_at": now}
            for name, value in values.items()
        ],
    )


def drop_computed(conn: Connection, profile_id: str, names: Sequence[str]) -> None:
    if names:
        conn.execute(
            delete(computed_traits).where(
                computed_traits.c.profile_id == profile_id, computed_traits.c.name.in_(names)
            )
        )


# --- membership


def memberships(conn: Connection, profile_ids: Sequence[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for segment_id, profile_id in conn.execute(
        select(segment_members.c.segment_id, segment_members.c.profile_id).where(
            segment_members.c.profile_id.in_(profile_ids)
        )
    ):
        found.setdefault(profile_id, set()).add(segment_id)
    return found


def member_ids(conn: Connection, segment_id: str) -> set[str]:
    return set(
        conn.execute(
            select(segment_members.c.profile_id).where(segment_members.c.segment_id == segment_id)
        ).scalars()
    )


def add_members(conn: Connection, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK * 10):
        conn.execute(insert(segment_members), rows[start : start + CHUNK * 10])


def remove_members(conn: Connection, segment_id: str, profile_ids: Sequence[str]) -> None:
    for start in range(0, len(profile_ids), CHUNK):
        conn.execute(
            delete(segment_members).where(
                segment_members.c.segment_id == segment_id,
                segment_members.c.profile_id.in_(profile_ids[start : start + CHUNK]),
            )
        )


def remove_all_memberships(conn: Connection, profile_ids: Sequence[str]) -> list[tuple[str, str]]:
    """Drop the memberships of profiles that are no longer live (merged away); answers what was dropped."""
    if not profile_ids:
        return []
    dropped = [
        (r.segment_id, r.profile_id)
        for r in conn.execute(
            select(segment_members.c.segment_id, segment_members.c.profile_id).where(
                segment_members.c.profile_id.in_(profile_ids)
            )
        )
    ]
    if dropped:
        conn.execute(delete(segment_members).where(segment_members.c.profile_id.in_(profile_ids)))
    return dropped


def insert_changes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK * 10):
        conn.execute(insert(segment_changes), rows[start : start + CHUNK * 10])


def members_page(conn: Connection, segment_id: str, after: str | None, limit: int) -> list[Any]:
    stmt = (
        select(segment_members.c.profile_id, segment_members.c.entered_at)
        .join(profiles, profiles.c.id == segment_members.c.profile_id)
        .where(
            segment_members.c.segment_id == segment_id,
            profiles.c.state == "live",
            ~select(restrictions.c.profile_id)
            .where(restrictions.c.profile_id == segment_members.c.profile_id)
            .exists(),
        )
        .order_by(segment_members.c.profile_id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(segment_members.c.profile_id > after)
    return list(conn.execute(stmt))


def member_count(conn: Connection, segment_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(segment_members)
            .where(segment_members.c.segment_id == segment_id)
        ).scalar_one()
    )


def segments_of(conn: Connection, profile_id: str) -> list[Any]:
    return list(
        conn.execute(
            select(segments.c.id, segments.c.name, segment_members.c.entered_at)
            .join(segment_members, segment_members.c.segment_id == segments.c.id)
            .where(segment_members.c.profile_id == profile_id)
            .order_by(segments.c.name)
        )
    )


# --- the re-check schedule


def _upsert_due(dialect: str) -> Any:
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert_for(segment_due)
    return stmt.on_conflict_do_update(index_elements=["profile_id"], set_={"due_at": stmt.excluded.due_at})


_DUE_UPSERTS = {name: _upsert_due(name) for name in ("postgresql", "sqlite")}


def set_due_many(conn: Connection, due: dict[str, datetime | None]) -> None:
    """``set_due`` of many profiles: one delete and one upsert."""
    never = sorted(pid for pid, at in due.items() if at is None)
    for start in range(0, len(never), CHUNK):
        conn.execute(delete(segment_due).where(segment_due.c.profile_id.in_(never[start : start + CHUNK])))
    rows = [{"profile_id": pid, "due_at": at} for pid, at in sorted(due.items()) if at is not None]
    if rows:
        conn.execute(_DUE_UPSERTS[conn.dialect.name], rows)


def set_due(conn: Connection, profile_id: str, due_at: datetime | None) -> None:
    """When the profile's answers may change by the passing of time (None: never); one statement,
    as this runs for every profile an event touches."""
    if due_at is None:
        conn.execute(delete(segment_due).where(segment_due.c.profile_id == profile_id))
    else:
        conn.execute(_DUE_UPSERTS[conn.dialect.name], [{"profile_id": profile_id, "due_at": due_at}])


def due_profiles(conn: Connection, now: datetime, limit: int) -> list[str]:
    return list(
        conn.execute(
            select(segment_due.c.profile_id)
            .where(segment_due.c.due_at <= now)
            .order_by(segment_due.c.due_at)
            .limit(limit)
        ).scalars()
    )


def mark_all_due(conn: Connection, now: datetime) -> None:
    """Every live profile is to be re-evaluated (a computed trait was defined or changed)."""
    conn.execute(delete(segment_due))
    conn.execute(
        insert(segment_due).from_select(
            ["profile_id", "due_at"],
            select(profiles.c.id, literal(now, UTCDateTime())).where(profiles.c.state == "live"),
        )
    )


def erase(conn: Connection, profile_ids: Sequence[str]) -> int:
    removed = 0
    for table in (segment_members, computed_traits, segment_due, segment_changes):
        removed += conn.execute(delete(table).where(table.c.profile_id.in_(profile_ids))).rowcount
    return removed
