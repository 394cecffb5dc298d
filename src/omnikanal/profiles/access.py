"""What other capabilities read and write of profiles and identifiers, inside their own transaction.

The profiles' store and tables are private to the capability; a cart, a consent, a message or an
erasure that needs a profile's traits, its identifiers or its row lock asks here, and the SQL stays
with its owner. Statements on hot paths (a send, a scan) are built once, as before they moved here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, select

from omnikanal.db.rows import among
from omnikanal.profiles import store
from omnikanal.profiles.identity.tables import identities
from omnikanal.profiles.tables import profiles

# -- rows and locks ---------------------------------------------------------------------------------


def profile_row(conn: Connection, profile_id: str) -> Any:
    """The profile's id, state, merged_into and stored traits; None when there is no such profile."""
    return conn.execute(
        select(profiles.c.id, profiles.c.state, profiles.c.merged_into, profiles.c.traits).where(
            profiles.c.id == profile_id
        )
    ).first()


def lock(conn: Connection, profile_ids: Iterable[str]) -> None:
    """Take the profiles' rows FOR UPDATE in id order (PostgreSQL; SQLite's writer lock covers it)."""
    store.load(conn, profile_ids, lock=True)


def lock_ids(conn: Connection, profile_ids: Sequence[str]) -> None:
    """Take the profiles' rows FOR UPDATE, reading only their ids (an erasure: the rows go next)."""
    conn.execute(select(profiles.c.id).where(profiles.c.id.in_(profile_ids)).with_for_update())


def share_lock_existing(conn: Connection, profile_ids: Sequence[str]) -> set[str]:
    """Those of the profiles that exist, their rows shared-locked (FOR SHARE on PostgreSQL)."""
    return set(
        conn.execute(
            select(profiles.c.id).where(profiles.c.id.in_(profile_ids)).with_for_update(read=True)
        ).scalars()
    )


# Built once: enqueue runs for every step of every journey run (see messaging/service.py).
_STATES = {
    dialect: select(profiles.c.id, profiles.c.state).where(among_ids)
    for dialect, among_ids in among(profiles.c.id, "ids").items()
}


def states(conn: Connection, profile_ids: Sequence[str]) -> dict[str, str]:
    """profile id -> state (live, merged), for those that exist; one statement for all."""
    return {i: s for i, s in conn.execute(_STATES[conn.dialect.name], {"ids": list(profile_ids)})}


def live_row(conn: Connection, profile_id: str, *, lock: bool = False) -> Any:
    """The profile's id, traits and state; with ``lock`` the row is taken FOR UPDATE (PostgreSQL)."""
    stmt = select(profiles.c.id, profiles.c.traits, profiles.c.state).where(profiles.c.id == profile_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


# -- traits -----------------------------------------------------------------------------------------


def stored_traits(conn: Connection, profile_id: str) -> dict[str, Any] | None:
    """The profile's traits as stored (value with provenance); None when there is no such profile."""
    row = conn.execute(select(profiles.c.traits).where(profiles.c.id == profile_id)).first()
    return None if row is None else row.traits


def stored_traits_of(conn: Connection, profile_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """profile id -> traits as stored, for those of the profiles that exist."""
    return {
        pid: traits
        for pid, traits in conn.execute(
            select(profiles.c.id, profiles.c.traits).where(profiles.c.id.in_(profile_ids))
        )
    }


def set_traits(
    conn: Connection, profile_id: str, traits: dict[str, Any], source: str, by: str | None, now: datetime
) -> dict[str, Any]:
    """Set traits by hand (a rectification, the preference centre), with that as their provenance.

    Answers the values they had before; LookupError when there is no such profile.
    """
    return store.set_traits(conn, profile_id, traits, source, by, now)


# -- identifiers ------------------------------------------------------------------------------------


def identifiers_of(
    conn: Connection, profile_id: str, types: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """(type, value) of the profile's identifiers, of the given types only if named."""
    query = select(identities.c.type, identities.c.value).where(identities.c.profile_id == profile_id)
    if types is not None:
        query = query.where(identities.c.type.in_(types))
    return [(t, v) for t, v in conn.execute(query)]


def identifiers_of_many(conn: Connection, profile_ids: Iterable[str]) -> list[tuple[str, str, str]]:
    """(profile id, type, value) of every identifier of the given profiles."""
    return [
        (r.profile_id, r.type, r.value)
        for r in conn.execute(
            select(identities.c.profile_id, identities.c.type, identities.c.value).where(
                identities.c.profile_id.in_(profile_ids)
            )
        )
    ]


def contact_addresses(conn: Connection, profile_id: str) -> list[tuple[str, str]]:
    """(type, value) of the profile's emails and phone numbers, newest first."""
    return [
        (r.type, r.value)
        for r in conn.execute(
            select(identities.c.type, identities.c.value)
            .where(identities.c.profile_id == profile_id, identities.c.type.in_(("email", "phone")))
            .order_by(identities.c.created_at.desc())
        )
    ]


def owner(conn: Connection, identifier_type: str, value: str) -> str | None:
    """The profile an identifier is attached to (identifiers sit on live profiles), or None."""
    row = conn.execute(
        select(identities.c.profile_id).where(
            identities.c.type == identifier_type, identities.c.value == value
        )
    ).first()
    return None if row is None else str(row.profile_id)


# Built once (hot path of the scan): a user id first, else the newest anonymous id.
_ENTRY = (
    select(identities.c.type, identities.c.value)
    .where(
        identities.c.profile_id == bindparam("profile_id"), identities.c.type.in_(("user_id", "anonymous_id"))
    )
    .order_by(identities.c.type.desc(), identities.c.created_at.desc())
    .limit(1)
)


def entry_identifier(conn: Connection, profile_id: str) -> tuple[str, str] | None:
    """The (type, value) that leads ingest to the profile: its user id, else its newest anonymous id."""
    row = conn.execute(_ENTRY, {"profile_id": profile_id}).first()
    return None if row is None else (row.type, row.value)


def anonymous_inactive(
    conn: Connection, cutoff: datetime, known_types: Sequence[str], limit: int
) -> list[str]:
    """Live profiles last seen before ``cutoff`` that carry no identifier of ``known_types``."""
    known = exists().where(and_(identities.c.profile_id == profiles.c.id, identities.c.type.in_(known_types)))
    return list(
        conn.execute(
            select(profiles.c.id)
            .where(profiles.c.state == "live", profiles.c.last_seen < cutoff, ~known)
            .limit(limit)
        ).scalars()
    )
