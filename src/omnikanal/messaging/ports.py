"""What messaging asks of the capability that knows customers' habits (recommend), through ports
the hub wires in: channel scores for ``auto``, and the best hour for ``send_at: best_hour``.

Messaging never imports that capability; without the ports ``auto`` keeps its fixed order and a
``best_hour`` message goes out at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from omnikanal.clock import isoformat
from omnikanal.messaging.gate import zone_of
from omnikanal.messaging.model import CustomerFacts, Policy

BEST_HOUR = "best_hour"


class ChannelScores(Protocol):
    def scores(
        self, conn: Connection, profile_ids: Sequence[str]
    ) -> Mapping[str, Mapping[str, tuple[float, int]]]:
        """profile id -> channel -> (chance to act after a message, messages it rests on)."""
        ...


class SendTimes(Protocol):
    def best_hour(
        self, conn: Connection, profile_id: str, zone: ZoneInfo, channel: str | None = None
    ) -> tuple[int, str, str]:
        """The customer's best local hour (0-23) on ``channel`` (None: the channel is chosen at
        dispatch, so over all channels), what it rests on (``channel``, ``all_channels`` or
        ``fallback``) and why."""
        ...


def next_at(now: datetime, zone: ZoneInfo, hour: int) -> datetime:
    """The start of the next ``hour`` on the local clock (now, when it is that hour already)."""
    local = now.astimezone(zone)
    if local.hour == hour:
        return now
    day = local.date() if local.hour < hour else local.date() + timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def schedule(
    conn: Connection,
    rows: list[dict[str, Any]],
    traits: Mapping[str, dict[str, Any]],
    port: SendTimes | None,
    default_timezone: str,
    now: datetime,
) -> None:
    """Rows asking for the best hour get their due time and say how it was chosen (``options``).
    Quiet hours are the gate's: a best hour inside them is deferred to their end at dispatch."""
    policy = Policy(default_timezone=default_timezone)
    for row in rows:
        wanted = row["options"].get("send_time")
        if not isinstance(wanted, dict) or wanted.get("mode") != BEST_HOUR:
            continue
        zone, source = zone_of(
            CustomerFacts(row["profile_id"], traits.get(row["profile_id"], {}), {}), policy
        )
        if port is None:
            wanted.update(reason="no send-time model: at once", timezone=zone.key)
            continue
        # the hour of the channel it goes out on; ``auto`` chooses at dispatch: all channels' hour
        channel = row["channel"]
        hour, basis, reason = port.best_hour(conn, row["profile_id"], zone, channel)
        due = max(next_at(now, zone, hour), row["due_at"])
        row["due_at"] = due
        wanted.update(
            hour=hour,
            channel=channel or row["requested_channel"],
            basis=basis,
            timezone=zone.key,
            timezone_from=source,
            reason=reason,
            due_at=isoformat(due),
        )
