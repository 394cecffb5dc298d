"""The parts of a person's data held by the core hub and by consent, for exports and erasures.

Each owner's rows are read and removed by the owner's functions (profiles/privacy.py,
eventlog/access.py, consent/privacy.py, audit/service.py); the parts here put them in the export's
shape and in the order an erasure must follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, update

from omnikanal.audit.service import staff_access
from omnikanal.clock import isoformat
from omnikanal.consent import privacy as consent_data
from omnikanal.eventlog import access as eventlog
from omnikanal.ingest.tables import quarantine
from omnikanal.privacy.tables import privacy_exports, privacy_requests
from omnikanal.profiles import privacy as profile_data


def person_values(conn: Connection, profile_ids: Sequence[str]) -> set[str]:
    """Every identifier value known for the person: identities and the ids on their events."""
    values = profile_data.identifier_values(conn, profile_ids)
    for user_id, anonymous_id in eventlog.ids_on_events(conn, profile_ids):
        values.update(v for v in (user_id, anonymous_id) if v)
    return values


def _rows(result: Any) -> list[dict[str, Any]]:
    # column names come as quoted_name (a str subclass), which orjson refuses as a key
    return [
        {
            str(key): (isoformat(value) if hasattr(value, "tzinfo") else value)
            for key, value in r._mapping.items()
        }
        for r in result
    ]


class CoreData:
    """Profiles, identifiers, the timeline, merges and the quarantine."""

    name = "core"

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        held = profile_data.export(conn, profile_ids)
        return {
            "profiles": _rows(held["profiles"]),
            "identifiers": _rows(held["identifiers"]),
            "events": eventlog.timeline(conn, profile_ids),
            "merges": _rows(held["merges"]),
        }

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        values = person_values(conn, profile_ids)
        removed = 0
        removed += eventlog.erase(conn, profile_ids)
        removed += profile_data.erase_links(conn, profile_ids, values)
        # Quarantined events never reached a profile; find the person's by their identifier values.
        for value in values:
            if len(value) >= 4:  # shorter values would match unrelated payloads
                escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                removed += conn.execute(
                    delete(quarantine).where(quarantine.c.payload.like(f"%{escaped}%", escape="\\"))
                ).rowcount
        removed += profile_data.erase_profiles(conn, profile_ids)
        return removed


class ConsentData:
    """The consent ledger, its state, double opt-in links and restrictions."""

    name = "consent"

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        return {
            "records": _rows(consent_data.records(conn, profile_ids)),
            "restricted": consent_data.restricted(conn, profile_ids),
        }

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        return consent_data.erase(conn, profile_ids)


class PrivacyData:
    """Earlier requests of the person (kept without personal data) and their downloadable exports;
    and who on the staff looked at the person's data."""

    name = "privacy"

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        return {
            "requests": _rows(
                conn.execute(
                    select(
                        privacy_requests.c.id,
                        privacy_requests.c.type,
                        privacy_requests.c.status,
                        privacy_requests.c.created_at,
                        privacy_requests.c.completed_at,
                    ).where(privacy_requests.c.profile_id.in_(profile_ids))
                )
            ),
            "staff_access": _rows(staff_access(conn, profile_ids)),
        }

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        removed = conn.execute(
            delete(privacy_exports).where(privacy_exports.c.profile_id.in_(profile_ids))
        ).rowcount
        # The requests stay as a record that they were honoured, naming nobody and holding no values.
        removed += conn.execute(
            update(privacy_requests)
            .where(privacy_requests.c.profile_id.in_(profile_ids))
            .values(profile_id=None, details={})
        ).rowcount
        return removed
