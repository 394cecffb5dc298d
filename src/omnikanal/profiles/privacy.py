"""The profiles' share of a person's data, for the privacy capability's exports and erasures.

Profiles, identifiers, merges, identity conflicts and merge blocks. The privacy capability's core
part (privacy/parts.py) calls these in the erasure's transaction, in the order the rows depend on
each other: links first, the identifiers and the profiles themselves last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from omnikanal.profiles.identity.tables import identities, identity_conflicts, merge_blocks, merges
from omnikanal.profiles.tables import profiles


def identifier_values(conn: Connection, profile_ids: Sequence[str]) -> set[str]:
    """Every identifier value kept for the profiles."""
    return set(
        conn.execute(select(identities.c.value).where(identities.c.profile_id.in_(profile_ids))).scalars()
    )


def export(conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
    """The profiles' rows, their identifiers and the merges they took part in (raw rows)."""
    return {
        "profiles": list(conn.execute(select(profiles).where(profiles.c.id.in_(profile_ids)))),
        "identifiers": list(
            conn.execute(
                select(identities.c.type, identities.c.value, identities.c.created_at).where(
                    identities.c.profile_id.in_(profile_ids)
                )
            )
        ),
        "merges": list(
            conn.execute(
                select(merges).where(
                    or_(merges.c.profile_id.in_(profile_ids), merges.c.merged_id.in_(profile_ids))
                )
            )
        ),
    }


def erase_links(conn: Connection, profile_ids: Sequence[str], values: set[str]) -> int:
    """Delete the identity conflicts (also those naming one of ``values``), merges and merge blocks."""
    removed = conn.execute(
        delete(identity_conflicts).where(
            or_(
                identity_conflicts.c.profile_id.in_(profile_ids),
                identity_conflicts.c.other_profile_id.in_(profile_ids),
                identity_conflicts.c.identifier_value.in_(values),
            )
        )
    ).rowcount
    removed += conn.execute(
        delete(merges).where(or_(merges.c.profile_id.in_(profile_ids), merges.c.merged_id.in_(profile_ids)))
    ).rowcount
    removed += conn.execute(
        delete(merge_blocks).where(
            or_(merge_blocks.c.profile_a.in_(profile_ids), merge_blocks.c.profile_b.in_(profile_ids))
        )
    ).rowcount
    return int(removed)


def erase_profiles(conn: Connection, profile_ids: Sequence[str]) -> int:
    """Delete the identifiers and the profiles themselves."""
    removed = conn.execute(delete(identities).where(identities.c.profile_id.in_(profile_ids))).rowcount
    # identities of other profiles may still name one of these as their origin (after unmerges)
    conn.execute(
        update(identities)
        .where(identities.c.origin_profile_id.in_(profile_ids))
        .values(origin_profile_id=identities.c.profile_id)
    )
    removed += conn.execute(delete(profiles).where(profiles.c.id.in_(profile_ids))).rowcount
    return int(removed)
