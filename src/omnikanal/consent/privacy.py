"""The consent share of a person's data, for the privacy capability's exports and erasures: the
ledger, its state, double opt-in links and restrictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from omnikanal.consent.tables import consent_confirmations, consent_records, consent_state, restrictions


def records(conn: Connection, profile_ids: Sequence[str]) -> list[Any]:
    """The profiles' consent records (raw rows), oldest first."""
    return list(
        conn.execute(
            select(consent_records)
            .where(consent_records.c.profile_id.in_(profile_ids))
            .order_by(consent_records.c.occurred_at)
        )
    )


def restricted(conn: Connection, profile_ids: Sequence[str]) -> bool:
    """Whether any of the profiles carries a restriction."""
    return (
        conn.execute(
            select(restrictions.c.created_at).where(restrictions.c.profile_id.in_(profile_ids))
        ).first()
        is not None
    )


def erase(conn: Connection, profile_ids: Sequence[str]) -> int:
    """Delete the profiles' records, state, confirmations and restrictions."""
    removed = 0
    for table in (consent_records, consent_state, consent_confirmations, restrictions):
        removed += conn.execute(delete(table).where(table.c.profile_id.in_(profile_ids))).rowcount
    return removed
