"""What other capabilities read and remove of a person's events, inside their own transaction.

The events table is the event log's; the gate's engagement figures, retention and the privacy
requests ask here, so the SQL stays with its owner.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from omnikanal.clock import isoformat
from omnikanal.eventlog.keys import delete_events
from omnikanal.eventlog.tables import events
from omnikanal.sources.service import source_names

RETENTION_KINDS = ("type", "event", "channel")


def engagement(conn: Connection, profile_id: str, channels: Collection[str]) -> list[tuple[str, int, Any]]:
    """(channel, events, newest timestamp) of the profile's events on these channels, leaving out
    the hub's own message touchpoints (events named ``Message ...``): they are not the customer's."""
    return [
        (channel, int(count), newest)
        for channel, count, newest in conn.execute(
            select(events.c.channel, func.count(), func.max(events.c.timestamp))
            .where(events.c.profile_id == profile_id, events.c.channel.in_(tuple(channels)))
            .where(or_(events.c.event.is_(None), ~events.c.event.like("Message %")))
            .group_by(events.c.channel)
        )
    ]


def ids_on_events(conn: Connection, profile_ids: Sequence[str]) -> set[tuple[str | None, str | None]]:
    """The (user id, anonymous id) pairs on the profiles' events, each once."""
    return {
        (user_id, anonymous_id)
        for user_id, anonymous_id in conn.execute(
            select(events.c.user_id, events.c.anonymous_id)
            .where(events.c.profile_id.in_(profile_ids))
            .distinct()
        )
    }


def timeline(conn: Connection, profile_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every event of the profiles, oldest first, with the name of the source it came from."""
    names = source_names(conn)
    return [
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


def erase(conn: Connection, profile_ids: Sequence[str]) -> int:
    """Delete the profiles' events (and their dedupe keys); answers how many went."""
    return delete_events(conn, events.c.profile_id.in_(profile_ids))


def expired(conn: Connection, kind: str, value: str, cutoff: datetime, limit: int) -> list[int]:
    """Up to ``limit`` seqs of events older than ``cutoff`` whose type, event name or channel
    (``kind``, one of RETENTION_KINDS) is ``value``."""
    column = {"type": events.c.type, "event": events.c.event, "channel": events.c.channel}[kind]
    return list(
        conn.execute(
            select(events.c.seq).where(column == value, events.c.timestamp < cutoff).limit(limit)
        ).scalars()
    )


def delete_seqs(conn: Connection, seqs: Sequence[int]) -> int:
    """Delete these events (and their dedupe keys)."""
    return delete_events(conn, events.c.seq.in_(seqs))
