"""The parts of a person's data held by the core hub and by consent, for exports and erasures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from omnikanal.audit.tables import access_log
from omnikanal.clock import isoformat
from omnikanal.consent.tables import consent_confirmations, consent_records, consent_state, restrictions
from omnikanal.eventlog.keys import delete_events
from omnikanal.eventlog.tables import events
from omnikanal.ingest.tables import quarantine
from omnikanal.privacy.tables import privacy_exports, privacy_requests
from omnikanal.profiles.identity.tables import identities, identity_conflicts, merge_blocks, merges
from omnikanal.profiles.tables import profiles
from omnikanal.sources.tables import sources


def person_values(conn: Connection, profile_ids: Sequence[str]) -> set[str]:
    """Every identifier value known for the person: identities and the ids on their events."""
    values = set(
        conn.execute(select(identities.c.value).where(identities.c.profile_id.in_(profile_ids))).scalars()
    )
    for user_id, anonymous_id in conn.execute(
        select(events.c.user_id, events.c.anonymous_id).where(events.c.profile_id.in_(profile_ids)).distinct()
    ):
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
        names = {r.id: r.name for r in conn.execute(select(sources.c.id, sources.c.name))}
        timeline = [
            {
                "time": isoformat(r.timestamp),
                "received_at": isoformat(r.received_at),
                "channel": r.channel,
                "source": names.get(r.source_id),
                "type": r.type,
                "event": r.event,
                "payload": r.payload,
            }
            for r in conn.execute(
                select(events)
                .where(events.c.profile_id.in_(profile_ids))
                .order_by(events.c.timestamp, events.c.seq)
            )
        ]
        return {
            "profiles": _rows(conn.execute(select(profiles).where(profiles.c.id.in_(profile_ids)))),
            "identifiers": _rows(
                conn.execute(
                    select(identities.c.type, identities.c.value, identities.c.created_at).where(
                        identities.c.profile_id.in_(profile_ids)
                    )
                )
            ),
            "events": timeline,
            "merges": _rows(
                conn.execute(
                    select(merges).where(
                        or_(merges.c.profile_id.in_(profile_ids), merges.c.merged_id.in_(profile_ids))
                    )
                )
            ),
        }

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        values = person_values(conn, profile_ids)
        removed = 0
        removed += delete_events(conn, events.c.profile_id.in_(profile_ids))
        removed += conn.execute(
            delete(identity_conflicts).where(
                or_(
                    identity_conflicts.c.profile_id.in_(profile_ids),
                    identity_conflicts.c.other_profile_id.in_(profile_ids),
                    identity_conflicts.c.identifier_value.in_(values),
                )
            )
        ).rowcount
        removed += conn.execute(
            delete(merges).where(
                or_(merges.c.profile_id.in_(profile_ids), merges.c.merged_id.in_(profile_ids))
            )
        ).rowcount
        removed += conn.execute(
            delete(merge_blocks).where(
                or_(merge_blocks.c.profile_a.in_(profile_ids), merge_blocks.c.profile_b.in_(profile_ids))
            )
        ).rowcount
        # Quarantined events never reached a profile; find the person's by their identifier values.
        for value in values:
            if len(value) >= 4:  # shorter values would match unrelated payloads
                escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                removed += conn.execute(
                    delete(quarantine).where(quarantine.c.payload.like(f"%{escaped}%", escape="\\"))
                ).rowcount
        removed += conn.execute(delete(identities).where(identities.c.profile_id.in_(profile_ids))).rowcount
        # identities of other profiles may still name one of these as their origin (after unmerges)
        conn.execute(
            update(identities)
            .where(identities.c.origin_profile_id.in_(profile_ids))
            .values(origin_profile_id=identities.c.profile_id)
        )
        removed += conn.execute(delete(profiles).where(profiles.c.id.in_(profile_ids))).rowcount
        return removed


class ConsentData:
    """The consent ledger, its state, double opt-in links and restrictions."""

    name = "consent"

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        return {
            "records": _rows(
                conn.execute(
                    select(consent_records)
                    .where(consent_records.c.profile_id.in_(profile_ids))
                    .order_by(consent_records.c.occurred_at)
                )
            ),
            "restricted": conn.execute(
                select(restrictions.c.created_at).where(restrictions.c.profile_id.in_(profile_ids))
            ).first()
            is not None,
        }

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        removed = 0
        for table in (consent_records, consent_state, consent_confirmations, restrictions):
            removed += conn.execute(delete(table).where(table.c.profile_id.in_(profile_ids))).rowcount
        return removed


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
            "staff_access": _rows(
                conn.execute(
                    select(access_log.c.actor, access_log.c.action, access_log.c.at)
                    .where(access_log.c.profile_id.in_(profile_ids))
                    .order_by(access_log.c.at)
                )
            ),
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
